import assert from "node:assert/strict";
import { Stream } from "../stream/mod.ts";
import {
  ChatChannel,
  MAX_CHAT_MESSAGE,
  type ReceivedLog,
} from "./chat_channel.ts";

const ALICE = new Uint8Array(8).fill(0xa1);
const BOB = new Uint8Array(8).fill(0xb0);

function exchange(a: Stream, b: Stream, rounds = 50) {
  let now = 0;
  for (let i = 0; i < rounds; i++) {
    for (let m = a.pollTransmit(now); m; m = a.pollTransmit(now)) {
      b.receive(m, now);
    }
    for (let m = b.pollTransmit(now); m; m = b.pollTransmit(now)) {
      a.receive(m, now);
    }
    now += 30;
    a.onTimeout(now);
    b.onTimeout(now);
  }
}

Deno.test("chat messages arrive whole and in order, with delivery receipts", () => {
  const a = new Stream(0);
  const b = new Stream(0);
  const alice = new ChatChannel(a, { instance: ALICE });
  const bob = new ChatChannel(b, { instance: BOB });
  const texts = ["hi", "", "ünïcødé ✓", "x".repeat(MAX_CHAT_MESSAGE)];
  const ids = texts.map((t) => alice.send(t));
  assert.equal(alice.pending, 4);
  assert.deepEqual(alice.delivered(), []);
  exchange(a, b);
  assert.deepEqual(bob.receive(), texts);
  assert.deepEqual(alice.delivered(), ids);
  assert.equal(alice.pending, 0);
  assert.deepEqual(bob.receive(), []);
});

Deno.test("a message over the limit is refused", () => {
  const alice = new ChatChannel(new Stream(0), { instance: ALICE });
  assert.throws(() => alice.send("x".repeat(MAX_CHAT_MESSAGE + 1)), RangeError);
});

Deno.test("messages sent again on a new connection are shown once, in order", () => {
  const log: ReceivedLog = new Map();
  // First connection: bob receives 1 and 2, but alice never hears the
  // acknowledgement of 2 (the connection is replaced first).
  const a1 = new Stream(0);
  const b1 = new Stream(0);
  const alice1 = new ChatChannel(a1, { instance: ALICE });
  const bob1 = new ChatChannel(b1, { instance: BOB, received: log });
  alice1.send("one");
  exchange(a1, b1);
  assert.deepEqual(alice1.delivered(), [1]);
  alice1.send("two");
  for (let m = a1.pollTransmit(0); m; m = a1.pollTransmit(0)) b1.receive(m, 0);
  assert.deepEqual(bob1.receive(), ["one", "two"]);
  assert.equal(alice1.pending, 1);

  // Second connection: alice sends 2 again under its number, then 3.
  const a2 = new Stream(0);
  const b2 = new Stream(0);
  const alice2 = new ChatChannel(a2, { instance: ALICE, firstNumber: 2 });
  const bob2 = new ChatChannel(b2, { instance: BOB, received: log });
  assert.equal(alice2.send("two"), 2);
  assert.equal(alice2.send("three"), 3);
  exchange(a2, b2);
  assert.deepEqual(bob2.receive(), ["three"]);
  assert.equal(bob2.duplicates, 1);
  assert.deepEqual(alice2.delivered(), [2, 3]);

  // A restarted bob (empty log) shows what it is sent again.
  const a3 = new Stream(0);
  const b3 = new Stream(0);
  const alice3 = new ChatChannel(a3, { instance: ALICE, firstNumber: 3 });
  const bob3 = new ChatChannel(b3, { instance: BOB, received: new Map() });
  alice3.send("three");
  exchange(a3, b3);
  assert.deepEqual(bob3.receive(), ["three"]);
});

Deno.test("a new chat instance of the peer starts its own numbering", () => {
  const log: ReceivedLog = new Map();
  for (const instance of [ALICE, new Uint8Array(8).fill(0xa2)]) {
    const a = new Stream(0);
    const b = new Stream(0);
    const alice = new ChatChannel(a, { instance });
    const bob = new ChatChannel(b, { instance: BOB, received: log });
    alice.send("hello");
    exchange(a, b);
    assert.deepEqual(bob.receive(), ["hello"]);
  }
});
