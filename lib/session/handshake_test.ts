import assert from "node:assert/strict";
import { DH_25519 } from "../crypto/noise/mod.ts";
import {
  COOKIE_REPLY_SIZE,
  decodePacket,
  decodeTransport,
  encodeTransportHeader,
  type HandshakeInitPacket,
  INIT_MIN_SIZE,
  type Packet,
  PacketType,
  Suite,
  TRANSPORT_HEADER_SIZE,
} from "../wire/mod.ts";
import { CookieChecker, encodeCookieReply } from "./cookie.ts";
import {
  type EstablishedSession,
  HandshakeInitiator,
  MAX_RESPONSE_PAYLOAD,
  respondToInit,
} from "./handshake.ts";

const alice = DH_25519.generateKeyPair();
const bob = DH_25519.generateKeyPair();
const text = (s: string) => new TextEncoder().encode(s);
const clock = () => 1000;

function decode<T extends Packet["type"]>(
  bytes: Uint8Array,
  type: T,
): Extract<Packet, { type: T }> {
  const result = decodePacket(bytes);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.error));
  assert.equal(result.value.type, type);
  return result.value as Extract<Packet, { type: T }>;
}

/** Seals `message` on `from`, frames it, decodes it and opens it on `to`. */
function carry(
  from: EstablishedSession,
  to: EstablishedSession,
  message: string,
) {
  const plaintext = text(message);
  const header = new Uint8Array(TRANSPORT_HEADER_SIZE);
  encodeTransportHeader(header, {
    receiverIndex: from.session.remoteIndex,
    counter: from.session.nextSendCounter,
  });
  const sealed = from.session.seal(plaintext, header, 1000);
  const packet = new Uint8Array(header.length + sealed.ciphertext.length);
  packet.set(header);
  packet.set(sealed.ciphertext, header.length);
  const view = decodeTransport(packet);
  assert.ok(view.ok);
  assert.equal(view.value.receiverIndex, to.session.localIndex);
  const opened = to.session.open(
    view.value.counter,
    view.value.ciphertext,
    view.value.header,
    1000,
  );
  assert.ok(opened.ok, !opened.ok ? opened.reason : "");
  assert.equal(new TextDecoder().decode(opened.plaintext), message);
}

Deno.test("an IK handshake gives both sides working sessions and keys", () => {
  const initiator = new HandshakeInitiator({
    suite: Suite.IK,
    staticKeyPair: alice,
    remoteStatic: bob.publicKey,
    senderIndex: 11,
    payload: text("register alice"),
    wallClock: () => 1_700_000_000_000,
    now: clock,
  });
  const init = decode(initiator.packet, PacketType.HANDSHAKE_INIT);
  assert.ok(initiator.packet.length >= INIT_MIN_SIZE);
  const answer = respondToInit(init, {
    staticKeyPair: bob,
    senderIndex: 22,
    payload: text("welcome"),
    now: clock,
  });
  assert.ok(answer.ok && answer.established);
  assert.deepEqual(answer.established.remoteStatic, alice.publicKey);
  assert.deepEqual(answer.established.payload, text("register alice"));
  assert.equal(answer.established.timestamp, 1_700_000_000_000);
  const done = initiator.receiveReply(
    decode(answer.replyPacket, PacketType.HANDSHAKE_REPLY),
  );
  assert.ok(done.ok);
  assert.equal(done.finalPacket, undefined);
  assert.deepEqual(done.established.remoteStatic, bob.publicKey);
  assert.deepEqual(done.established.payload, text("welcome"));
  assert.deepEqual(
    done.established.handshakeHash,
    answer.established.handshakeHash,
  );
  carry(done.established, answer.established, "hello bob");
  carry(answer.established, done.established, "hello alice");
});

Deno.test("an XX handshake authenticates both keys on first contact", () => {
  const initiator = new HandshakeInitiator({
    suite: Suite.XX,
    staticKeyPair: alice,
    senderIndex: 1,
    payload: text("secret hello"),
    now: clock,
  });
  // XX message 1 is in the clear, so the payload must not be in it.
  assert.ok(!initiator.packet.toHex().includes(text("secret hello").toHex()));
  const answer = respondToInit(
    decode(initiator.packet, PacketType.HANDSHAKE_INIT),
    { staticKeyPair: bob, senderIndex: 2, now: clock },
  );
  assert.ok(answer.ok && answer.pending && !answer.established);
  const second = initiator.receiveReply(
    decode(answer.replyPacket, PacketType.HANDSHAKE_REPLY),
  );
  assert.ok(second.ok && second.finalPacket);
  assert.deepEqual(second.established.remoteStatic, bob.publicKey);
  const third = answer.pending.receiveFinal(
    decode(second.finalPacket, PacketType.HANDSHAKE_REPLY),
  );
  assert.ok(third.ok);
  assert.deepEqual(third.established.remoteStatic, alice.publicKey);
  assert.deepEqual(third.established.payload, text("secret hello"));
  carry(second.established, third.established, "over xx");
  carry(third.established, second.established, "and back");
});

Deno.test("an NK initiator stays anonymous to the responder", () => {
  const initiator = new HandshakeInitiator({
    suite: Suite.NK,
    remoteStatic: bob.publicKey,
    senderIndex: 5,
    payload: text("extend"),
    now: clock,
  });
  const answer = respondToInit(
    decode(initiator.packet, PacketType.HANDSHAKE_INIT),
    { staticKeyPair: bob, senderIndex: 6, now: clock },
  );
  assert.ok(answer.ok && answer.established);
  assert.equal(answer.established.remoteStatic, undefined);
  assert.deepEqual(answer.established.payload, text("extend"));
  const done = initiator.receiveReply(
    decode(answer.replyPacket, PacketType.HANDSHAKE_REPLY),
  );
  assert.ok(done.ok);
  carry(done.established, answer.established, "cell");
});

Deno.test("IK toward the wrong key, or a tampered reply, fails cleanly", () => {
  const mallory = DH_25519.generateKeyPair();
  const wrong = new HandshakeInitiator({
    suite: Suite.IK,
    staticKeyPair: alice,
    remoteStatic: mallory.publicKey,
    senderIndex: 1,
  });
  const refused = respondToInit(
    decode(wrong.packet, PacketType.HANDSHAKE_INIT),
    { staticKeyPair: bob, senderIndex: 2 },
  );
  assert.deepEqual(refused, { ok: false, reason: "decrypt" });

  const initiator = new HandshakeInitiator({
    suite: Suite.IK,
    staticKeyPair: alice,
    remoteStatic: bob.publicKey,
    senderIndex: 1,
  });
  const answer = respondToInit(
    decode(initiator.packet, PacketType.HANDSHAKE_INIT),
    { staticKeyPair: bob, senderIndex: 2 },
  );
  assert.ok(answer.ok);
  const reply = decode(answer.replyPacket.slice(), PacketType.HANDSHAKE_REPLY);
  assert.deepEqual(
    initiator.receiveReply({ ...reply, receiverIndex: 99 }),
    { ok: false, reason: "unexpected" },
  );
  const tampered = reply.noise.slice();
  tampered[tampered.length - 1] ^= 1;
  assert.deepEqual(
    initiator.receiveReply({ ...reply, noise: tampered }),
    { ok: false, reason: "decrypt" },
  );
  // The attempt is over: even the genuine reply is no longer accepted.
  assert.equal(initiator.receiveReply(reply).ok, false);
});

Deno.test("garbage Noise bytes in an init never throw", () => {
  for (let i = 0; i < 300; i++) {
    const noise = crypto.getRandomValues(new Uint8Array(i % 200));
    for (const suite of [Suite.IK, Suite.XX, Suite.NK]) {
      const init: HandshakeInitPacket = {
        type: PacketType.HANDSHAKE_INIT,
        senderIndex: i,
        cookie: new Uint8Array(16),
        suite,
        noise,
      };
      const result = respondToInit(init, {
        staticKeyPair: bob,
        senderIndex: 1,
      });
      if (suite !== Suite.XX) assert.equal(result.ok, false);
    }
  }
});

Deno.test("a cookie round trip: only the matching reply is taken", () => {
  let now = 0;
  const cookies = new CookieChecker({ now: () => now });
  const from = { address: "198.51.100.7", port: 40000 };
  const initiator = new HandshakeInitiator({
    suite: Suite.IK,
    staticKeyPair: alice,
    remoteStatic: bob.publicKey,
    senderIndex: 77,
  });
  const first = decode(initiator.packet, PacketType.HANDSHAKE_INIT);
  assert.equal(cookies.verify(first.cookie, from), false);
  const replyBytes = encodeCookieReply(initiator.packet, {
    senderIndex: first.senderIndex,
    cookie: cookies.issue(from),
  });
  assert.equal(replyBytes.length, COOKIE_REPLY_SIZE);
  assert.ok(replyBytes.length < initiator.packet.length, "no amplification");
  const reply = decode(replyBytes, PacketType.COOKIE_REPLY);
  // A planted cookie (wrong echo or index) is ignored.
  assert.equal(
    initiator.acceptCookie({ ...reply, echo: new Uint8Array(16) }),
    false,
  );
  assert.equal(initiator.acceptCookie({ ...reply, receiverIndex: 78 }), false);
  assert.equal(initiator.acceptCookie(reply), true);
  const second = decode(initiator.packet, PacketType.HANDSHAKE_INIT);
  assert.deepEqual(second.noise, first.noise, "same Noise message, no new DH");
  assert.equal(cookies.verify(second.cookie, from), true);
  assert.equal(
    cookies.verify(second.cookie, { address: "198.51.100.8", port: 40000 }),
    false,
  );
  assert.equal(
    cookies.verify(second.cookie, { address: "198.51.100.7", port: 40001 }),
    false,
  );
  now = 121_000; // one rotation: the previous secret still counts
  assert.equal(cookies.verify(second.cookie, from), true);
  now = 242_000; // two rotations: expired
  assert.equal(cookies.verify(second.cookie, from), false);
});

Deno.test("a responder's largest reply is no larger than the smallest init", () => {
  const initiator = new HandshakeInitiator({
    suite: Suite.XX,
    staticKeyPair: alice,
    senderIndex: 1,
  });
  assert.equal(initiator.packet.length, INIT_MIN_SIZE);
  const answer = respondToInit(
    decode(initiator.packet, PacketType.HANDSHAKE_INIT),
    {
      staticKeyPair: bob,
      senderIndex: 2,
      payload: new Uint8Array(MAX_RESPONSE_PAYLOAD),
    },
  );
  assert.ok(answer.ok);
  assert.ok(answer.replyPacket.length <= INIT_MIN_SIZE);
  assert.throws(
    () =>
      respondToInit(decode(initiator.packet, PacketType.HANDSHAKE_INIT), {
        staticKeyPair: bob,
        senderIndex: 2,
        payload: new Uint8Array(MAX_RESPONSE_PAYLOAD + 1),
      }),
    RangeError,
  );
});
