import assert from "node:assert/strict";
import { REJECT_AFTER_TIME_MS } from "./constants.ts";
import { type DataPacket, KeyRing } from "./keyring.ts";
import { TransportSession } from "./session.ts";

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** A hand-moved clock shared by both peers. */
const time = { t: 0 };
const now = () => time.t;

let nextIndex = 100;

/**
 * The two sessions one handshake between Alice (initiator) and Bob
 * (responder) yields, with fresh receiver indices.
 */
function handshake(createdAt = time.t) {
  const k1 = crypto.getRandomValues(new Uint8Array(32));
  const k2 = crypto.getRandomValues(new Uint8Array(32));
  const aliceIndex = nextIndex++, bobIndex = nextIndex++;
  const alice = new TransportSession({
    sendKey: k1,
    receiveKey: k2,
    isInitiator: true,
    createdAt,
    localIndex: aliceIndex,
    remoteIndex: bobIndex,
    now,
  });
  const bob = new TransportSession({
    sendKey: k2.slice(),
    receiveKey: k1.slice(),
    isInitiator: false,
    createdAt,
    localIndex: bobIndex,
    remoteIndex: aliceIndex,
    now,
  });
  return { alice, bob };
}

/**
 * Seals with the keyring's sending session and frames a packet. The header,
 * shaped like altnet's TRANSPORT header (version, type, receiver index,
 * counter), is the associated data, so it needs the counter before sealing.
 */
function send(keyring: KeyRing, text: string): DataPacket {
  const session = keyring.sendingSession();
  assert.ok(session, "a session to send with");
  const ad = new Uint8Array(14);
  const view = new DataView(ad.buffer);
  view.setUint8(0, 0xa1);
  view.setUint8(1, 0x04);
  view.setUint32(2, session.remoteIndex);
  view.setBigUint64(6, session.nextSendCounter);
  const { counter, ciphertext } = session.seal(encode(text), ad);
  assert.equal(view.getBigUint64(6), counter);
  return { receiverIndex: session.remoteIndex, counter, ciphertext, ad };
}

function receive(keyring: KeyRing, packet: DataPacket): string {
  const result = keyring.open(packet);
  assert.ok(result.ok, `opened: ${result.ok ? "" : result.reason}`);
  return decode(result.plaintext);
}

/** Two keyrings after one handshake and Alice's first packet. */
function connected() {
  time.t = 0;
  const aliceRing = new KeyRing({ now });
  const bobRing = new KeyRing({ now });
  const first = handshake();
  aliceRing.install(first.alice);
  bobRing.install(first.bob);
  receive(bobRing, send(aliceRing, "confirm"));
  return { aliceRing, bobRing, first };
}

Deno.test("keyring makes the initiator's new session current at once", () => {
  time.t = 0;
  const ring = new KeyRing({ now });
  const { alice } = handshake();
  ring.install(alice);
  assert.equal(ring.current, alice);
  assert.equal(ring.next, undefined);
  assert.equal(ring.sendingSession(), alice);
});

Deno.test("keyring holds the responder's new session as next until the first packet arrives", () => {
  time.t = 0;
  const aliceRing = new KeyRing({ now });
  const bobRing = new KeyRing({ now });
  const { alice, bob } = handshake();
  aliceRing.install(alice);
  bobRing.install(bob);
  assert.equal(bobRing.next, bob);
  assert.equal(bobRing.current, undefined);
  // The responder must not send before the initiator confirmed.
  assert.equal(bobRing.sendingSession(), undefined);

  const first = bobRing.open(send(aliceRing, "first"));
  assert.ok(first.ok);
  assert.equal(first.confirmed, true);
  assert.equal(first.session, bob);
  assert.equal(bobRing.current, bob);
  assert.equal(bobRing.next, undefined);
  assert.equal(bobRing.sendingSession(), bob);

  const second = bobRing.open(send(aliceRing, "second"));
  assert.ok(second.ok);
  assert.equal(second.confirmed, false);
  assert.equal(receive(aliceRing, send(bobRing, "reply")), "reply");
});

Deno.test("keyring does not promote next on a forged packet", () => {
  time.t = 0;
  const bobRing = new KeyRing({ now });
  const { bob } = handshake();
  bobRing.install(bob);
  const forged = bobRing.open({
    receiverIndex: bob.localIndex,
    counter: 0n,
    ciphertext: new Uint8Array(32),
    ad: new Uint8Array(0),
  });
  assert.deepEqual(forged, { ok: false, reason: "auth" });
  assert.equal(bobRing.next, bob);
  assert.equal(bobRing.current, undefined);
});

Deno.test("keyring still opens packets of the previous session during a rekey", () => {
  const { aliceRing, bobRing, first } = connected();
  time.t = 60_000;
  // Packets in flight under the old session, both ways.
  const oldFromAlice = [send(aliceRing, "old a1"), send(aliceRing, "old a2")];
  const oldFromBob = send(bobRing, "old b1");

  const second = handshake();
  aliceRing.install(second.alice);
  bobRing.install(second.bob);
  assert.equal(aliceRing.current, second.alice);
  assert.equal(aliceRing.previous, first.alice);
  assert.equal(bobRing.current, first.bob);
  assert.equal(bobRing.next, second.bob);

  // Until confirmed, Bob keeps sending with the old session, and Alice can
  // still open it as her previous one.
  const stillOld = send(bobRing, "old b2");
  assert.equal(stillOld.receiverIndex, first.alice.localIndex);
  assert.equal(receive(aliceRing, oldFromBob), "old b1");
  assert.equal(receive(aliceRing, stillOld), "old b2");

  // Alice's first new packet overtakes her old ones.
  const confirming = bobRing.open(send(aliceRing, "new a1"));
  assert.ok(confirming.ok && confirming.confirmed);
  assert.equal(bobRing.current, second.bob);
  assert.equal(bobRing.previous, first.bob);
  assert.equal(receive(bobRing, oldFromAlice[1]), "old a2");
  assert.equal(receive(bobRing, oldFromAlice[0]), "old a1");

  // Bob now sends with the new session.
  const fresh = send(bobRing, "new b1");
  assert.equal(fresh.receiverIndex, second.alice.localIndex);
  assert.equal(receive(aliceRing, fresh), "new b1");
});

Deno.test("keyring drops sessions once they reach the reject-after time", () => {
  const dropped: TransportSession[] = [];
  time.t = 0;
  const aliceRing = new KeyRing({ now, onDrop: (s) => dropped.push(s) });
  const bobRing = new KeyRing({ now });
  const first = handshake();
  aliceRing.install(first.alice);
  bobRing.install(first.bob);
  receive(bobRing, send(aliceRing, "confirm"));

  time.t = 100_000;
  const oldFromBob = send(bobRing, "old");
  const second = handshake();
  aliceRing.install(second.alice);
  assert.equal(aliceRing.nextExpiry(), REJECT_AFTER_TIME_MS);

  time.t = REJECT_AFTER_TIME_MS - 1;
  aliceRing.expire();
  assert.equal(aliceRing.previous, first.alice);

  time.t = REJECT_AFTER_TIME_MS;
  // Before expire() runs, the session itself already refuses.
  assert.deepEqual(aliceRing.open(oldFromBob), {
    ok: false,
    reason: "expired",
  });
  aliceRing.expire();
  assert.equal(aliceRing.previous, undefined);
  assert.equal(aliceRing.current, second.alice);
  assert.deepEqual(dropped, [first.alice]);
  assert.equal(first.alice.destroyed, true);
  assert.deepEqual(aliceRing.open(oldFromBob), {
    ok: false,
    reason: "unknown-index",
  });
  assert.equal(aliceRing.nextExpiry(), 100_000 + REJECT_AFTER_TIME_MS);

  time.t = 100_000 + REJECT_AFTER_TIME_MS;
  assert.equal(aliceRing.sendingSession(), undefined);
  aliceRing.expire();
  assert.equal(aliceRing.current, undefined);
  assert.equal(aliceRing.nextExpiry(), undefined);
});

Deno.test("keyring drops an unconfirmed next session when it expires", () => {
  time.t = 0;
  const bobRing = new KeyRing({ now });
  const { bob } = handshake();
  bobRing.install(bob);
  time.t = REJECT_AFTER_TIME_MS;
  bobRing.expire();
  assert.equal(bobRing.next, undefined);
  assert.equal(bob.destroyed, true);
});

Deno.test("keyring as responder replaces a pending next and drops the previous", () => {
  time.t = 0;
  const dropped: TransportSession[] = [];
  const ring = new KeyRing({ now, onDrop: (s) => dropped.push(s) });
  const a = handshake(), b = handshake(), c = handshake(), d = handshake();
  ring.install(a.bob);
  receive(ring, send(keyringOf(a.alice), "confirm a")); // current a
  ring.install(b.bob);
  receive(ring, send(keyringOf(b.alice), "confirm b")); // current b, previous a
  assert.equal(ring.previous, a.bob);

  ring.install(c.bob); // next c; previous a dropped
  assert.deepEqual(dropped, [a.bob]);
  assert.equal(ring.previous, undefined);
  assert.equal(ring.current, b.bob);
  ring.install(d.bob); // next d replaces c
  assert.deepEqual(dropped, [a.bob, c.bob]);
  assert.equal(ring.next, d.bob);
  assert.equal(ring.current, b.bob);
});

Deno.test("keyring as initiator demotes a pending next to previous and drops the current", () => {
  time.t = 0;
  const dropped: TransportSession[] = [];
  const ring = new KeyRing({ now, onDrop: (s) => dropped.push(s) });
  const a = handshake(), b = handshake(), c = handshake();
  ring.install(a.alice); // current a
  ring.install(b.bob); // next b, as responder to a crossing handshake
  // The peer may already be sending with b, so b stays to receive with.
  ring.install(c.alice);
  assert.equal(ring.current, c.alice);
  assert.equal(ring.previous, b.bob);
  assert.equal(ring.next, undefined);
  assert.deepEqual(dropped, [a.alice]);
});

/** A keyring holding just `session`, to send from. */
function keyringOf(session: TransportSession): KeyRing {
  const ring = new KeyRing({ now });
  ring.install(session);
  return ring;
}

Deno.test("keyring refuses a session whose local index is already in use", () => {
  time.t = 0;
  const ring = new KeyRing({ now });
  const { alice } = handshake();
  ring.install(alice);
  assert.throws(() => ring.install(alice), RangeError);
  const clash = new TransportSession({
    sendKey: new Uint8Array(32),
    receiveKey: new Uint8Array(32),
    isInitiator: true,
    createdAt: 0,
    localIndex: alice.localIndex,
    remoteIndex: 1,
    now,
  });
  assert.throws(() => ring.install(clash), RangeError);
});

Deno.test("keyring reports packets for an unknown receiver index", () => {
  const { bobRing } = connected();
  assert.deepEqual(
    bobRing.open({
      receiverIndex: 7,
      counter: 0n,
      ciphertext: new Uint8Array(16),
      ad: new Uint8Array(0),
    }),
    { ok: false, reason: "unknown-index" },
  );
});

Deno.test("keyring destroy drops and wipes every session", () => {
  const { bobRing, first } = connected();
  const second = handshake();
  bobRing.install(second.bob);
  bobRing.destroy();
  assert.equal(bobRing.current, undefined);
  assert.equal(bobRing.next, undefined);
  assert.equal(first.bob.destroyed, true);
  assert.equal(second.bob.destroyed, true);
});
