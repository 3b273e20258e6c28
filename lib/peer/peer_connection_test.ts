import assert from "node:assert/strict";
import { DH_25519 } from "../crypto/noise/mod.ts";
import {
  type Endpoint,
  type Message,
  MessageKind,
  type StreamAckMessage,
  type StreamDataMessage,
} from "../wire/mod.ts";
import {
  type ConnectionEvent,
  PeerConnection,
  type StreamMux,
} from "./peer_connection.ts";
import { DIRECT_PATH_TIMEOUT_MS } from "./path_manager.ts";

/** Records what arrives and sends what it is told to. */
class RecordingMux implements StreamMux {
  readonly received: (StreamDataMessage | StreamAckMessage)[] = [];
  readonly toSend: Message[] = [];
  pathChanges = 0;
  receive(m: StreamDataMessage | StreamAckMessage) {
    this.received.push(m);
  }
  pollTransmit() {
    return this.toSend.shift();
  }
  nextTimeout() {
    return undefined;
  }
  onTimeout() {}
  onPathChange() {
    this.pathChanges++;
  }
}

const A: Endpoint = { address: "198.51.100.1", port: 1111 };
const B: Endpoint = { address: "198.51.100.2", port: 2222 };

function pair(options: { pinned?: boolean } = {}) {
  let now = 0;
  const aliceKeys = DH_25519.generateKeyPair();
  const bobKeys = DH_25519.generateKeyPair();
  const aliceMux = new RecordingMux();
  const bobMux = new RecordingMux();
  let wall = 1_700_000_000_000;
  const alice = new PeerConnection({
    staticKeyPair: aliceKeys,
    pinnedKey: options.pinned ? bobKeys.publicKey : undefined,
    initiator: true,
    streams: aliceMux,
    now: () => now,
    wallClock: () => wall++,
  });
  const bob = new PeerConnection({
    staticKeyPair: bobKeys,
    initiator: false,
    streams: bobMux,
    now: () => now,
  });
  const events = {
    alice: [] as ConnectionEvent[],
    bob: [] as ConnectionEvent[],
  };
  const links = { direct: true, relay: true };
  const sent = { relay: 0, direct: 0 };
  const flush = () => {
    for (let round = 0; round < 50; round++) {
      let moved = false;
      for (
        const [from, to, fromAddress, name] of [
          [alice, bob, A, "alice"],
          [bob, alice, B, "bob"],
        ] as const
      ) {
        for (let out; (out = from.pollTransmit(now));) {
          moved = true;
          sent[out.via]++;
          if (out.via === "relay") {
            if (links.relay) to.receive(out.data, { via: "relay" }, now);
          } else if (links.direct) {
            const target = out.to.port === (name === "alice" ? B : A).port;
            if (target) {
              to.receive(out.data, { via: "direct", from: fromAddress }, now);
            }
          }
        }
      }
      for (let e; (e = alice.pollEvent());) events.alice.push(e);
      for (let e; (e = bob.pollEvent());) events.bob.push(e);
      if (!moved) return;
    }
  };
  const advance = (ms: number) => {
    const end = now + ms;
    while (now < end) {
      now = Math.min(end, now + 100);
      alice.onTimeout(now);
      bob.onTimeout(now);
      flush();
    }
  };
  return {
    alice,
    bob,
    aliceKeys,
    bobKeys,
    aliceMux,
    bobMux,
    events,
    links,
    sent,
    flush,
    advance,
    now: () => now,
  };
}

const viaOf = (c: PeerConnection): string => c.paths.path.via;

const data = (text: string): StreamDataMessage => ({
  kind: MessageKind.STREAM_DATA,
  streamId: 0,
  fin: false,
  offset: 0,
  data: new TextEncoder().encode(text),
});

Deno.test("first contact runs XX over the relay and both learn the other's key", () => {
  const t = pair();
  t.alice.start();
  t.flush();
  assert.ok(t.alice.established && t.bob.established);
  assert.deepEqual(t.alice.remoteStatic, t.bobKeys.publicKey);
  assert.deepEqual(t.bob.remoteStatic, t.aliceKeys.publicKey);
  t.aliceMux.toSend.push(data("hi bob"));
  t.flush();
  assert.equal(
    new TextDecoder().decode((t.bobMux.received[0] as StreamDataMessage).data),
    "hi bob",
  );
  assert.equal(t.sent.direct, 0, "nothing direct before punching");
});

Deno.test("a pinned key uses IK, and a wrong pinned key never connects", () => {
  const t = pair({ pinned: true });
  t.alice.start();
  t.flush();
  assert.ok(t.bob.established);

  let now = 0;
  const wrong = new PeerConnection({
    staticKeyPair: DH_25519.generateKeyPair(),
    pinnedKey: DH_25519.generateKeyPair().publicKey,
    initiator: true,
    streams: new RecordingMux(),
    now: () => now,
  });
  const bob = new PeerConnection({
    staticKeyPair: DH_25519.generateKeyPair(),
    initiator: false,
    streams: new RecordingMux(),
    now: () => now,
  });
  wrong.start();
  for (let i = 0; i < 20; i++) {
    for (let out; (out = wrong.pollTransmit(now));) {
      bob.receive(out.data, { via: "relay" }, now);
    }
    now += 2_000;
    wrong.onTimeout(now);
  }
  assert.equal(bob.established, false);
  const failed = [];
  for (let e; (e = wrong.pollEvent());) failed.push(e);
  assert.ok(failed.some((e) => e.type === "failed"));
});

Deno.test("a direct probe round trip moves traffic off the relay", () => {
  const t = pair();
  t.alice.start();
  t.flush();
  t.alice.paths.addCandidates([B]);
  t.bob.paths.addCandidates([A]);
  t.alice.paths.startPunching(t.now());
  t.bob.paths.startPunching(t.now());
  t.advance(500);
  assert.equal(t.alice.paths.path.via, "direct");
  assert.equal(t.bob.paths.path.via, "direct");
  const path = t.events.alice.find((e) => e.type === "path");
  assert.ok(path && path.type === "path" && path.path.via === "direct");
  const relayBefore = t.sent.relay;
  t.aliceMux.toSend.push(data("direct now"));
  t.flush();
  assert.equal(t.sent.relay, relayBefore, "data no longer goes via the relay");
  assert.equal(t.bobMux.received.length, 1);
  assert.ok(t.aliceMux.pathChanges > 0, "streams are told about the new path");
});

Deno.test("a dead direct path falls back to the relay within 6.5 s, then retries", () => {
  const t = pair();
  t.alice.start();
  t.flush();
  t.alice.paths.addCandidates([B]);
  t.bob.paths.addCandidates([A]);
  t.alice.paths.startPunching(t.now());
  t.bob.paths.startPunching(t.now());
  t.advance(500);
  assert.equal(t.alice.paths.path.via, "direct");
  t.links.direct = false;
  const cut = t.now();
  while (t.alice.paths.path.via === "direct" && t.now() - cut < 10_000) {
    t.advance(100);
  }
  assert.equal(t.alice.paths.path.via, "relay");
  assert.ok(t.now() - cut <= 6_500, `fell back after ${t.now() - cut} ms`);
  assert.ok(t.now() - cut >= DIRECT_PATH_TIMEOUT_MS - 1_000);
  const fallback = t.events.alice.filter((e) => e.type === "path").at(-1);
  assert.ok(
    fallback?.type === "path" && /stopped answering/.test(fallback.reason),
  );
  // Messages keep flowing over the relay meanwhile.
  t.aliceMux.toSend.push(data("via relay again"));
  t.flush();
  assert.equal(t.bobMux.received.length, 1);
  // The direct path comes back: retried within 60 s.
  t.links.direct = true;
  t.advance(60_000);
  assert.equal(viaOf(t.alice), "direct");
});

Deno.test("garbage and replays to a connection are refused without a throw", () => {
  const t = pair();
  t.alice.start();
  t.flush();
  for (let i = 0; i < 2000; i++) {
    const junk = crypto.getRandomValues(new Uint8Array(i % 400));
    junk[0] = 0xa1;
    junk[1] = (i % 6) + 1;
    t.bob.receive(junk, { via: "relay" });
    t.bob.receive(junk, { via: "direct", from: A });
  }
  assert.ok(t.bob.established);
});

Deno.test("a repeated rendezvous makes the initiator handshake again with a restarted peer", () => {
  let now = 0;
  const aliceKeys = DH_25519.generateKeyPair();
  const bobKeys = DH_25519.generateKeyPair();
  let wall = 1_700_000_000_000;
  const alice = new PeerConnection({
    staticKeyPair: aliceKeys,
    initiator: true,
    streams: new RecordingMux(),
    now: () => now,
    wallClock: () => wall++,
  });
  const makeBob = () =>
    new PeerConnection({
      staticKeyPair: bobKeys,
      initiator: false,
      streams: new RecordingMux(),
      now: () => now,
    });
  const relay = (a: PeerConnection, b: PeerConnection) => {
    for (let i = 0; i < 10; i++) {
      for (let out; (out = a.pollTransmit(now));) {
        b.receive(out.data, { via: "relay" }, now);
      }
      for (let out; (out = b.pollTransmit(now));) {
        a.receive(out.data, { via: "relay" }, now);
      }
    }
  };
  const bob = makeBob();
  alice.start(now);
  relay(alice, bob);
  assert.ok(bob.established);
  // Bob restarts: same key, no session. Without help alice would only
  // notice at her next rekey.
  const bob2 = makeBob();
  now += 1000;
  alice.onRepeatedRendezvous(now);
  relay(alice, bob2);
  assert.ok(bob2.established, "the restarted peer has a session again");
});
