import assert from "node:assert/strict";
import { Stream } from "../stream/mod.ts";
import { ChatChannel, MAX_CHAT_MESSAGE } from "./chat_channel.ts";

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
  const alice = new ChatChannel(a);
  const bob = new ChatChannel(b);
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
  const alice = new ChatChannel(new Stream(0));
  assert.throws(() => alice.send("x".repeat(MAX_CHAT_MESSAGE + 1)), RangeError);
});
