import assert from "node:assert/strict";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { nobleChaCha20Poly1305 } from "./aead_noble.ts";
import { nodeChaCha20Poly1305 } from "./aead_node.ts";
import {
  MAX_COUNTER,
  REJECT_AFTER_MESSAGES,
  REJECT_AFTER_TIME_MS,
  REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME_MS,
} from "./constants.ts";
import { REPLAY_WINDOW_SIZE } from "./replay_window.ts";
import { TransportSession, type TransportSessionOptions } from "./session.ts";

const T0 = 1_000_000; // handshake completion, on an arbitrary clock
const HEADER = new Uint8Array([4, 0, 0, 0, 2, 0, 0, 0]);
const encode = (text: string) => new TextEncoder().encode(text);

/** A hand-moved clock. */
function clock(start = T0) {
  const state = { t: start, now: () => state.t };
  return state;
}

/** Both ends of one session, keys as a Noise Split() would give them. */
function pair(
  options: {
    now?: () => number;
    initiator?: Partial<TransportSessionOptions>;
    responder?: Partial<TransportSessionOptions>;
  } = {},
) {
  const k1 = crypto.getRandomValues(new Uint8Array(32));
  const k2 = crypto.getRandomValues(new Uint8Array(32));
  const now = options.now ?? (() => T0);
  const initiator = new TransportSession({
    sendKey: k1,
    receiveKey: k2,
    isInitiator: true,
    createdAt: T0,
    localIndex: 1,
    remoteIndex: 2,
    now,
    ...options.initiator,
  });
  const responder = new TransportSession({
    sendKey: k2.slice(),
    receiveKey: k1.slice(),
    isInitiator: false,
    createdAt: T0,
    localIndex: 2,
    remoteIndex: 1,
    now,
    ...options.responder,
  });
  return { initiator, responder, k1, k2 };
}

Deno.test("session seals with counters from 0 and the peer opens them", () => {
  const { initiator, responder } = pair();
  const first = initiator.seal(encode("hello"), HEADER);
  const second = initiator.seal(encode("world"), HEADER);
  assert.equal(first.counter, 0n);
  assert.equal(second.counter, 1n);
  assert.equal(initiator.nextSendCounter, 2n);
  assert.equal(first.ciphertext.length, 5 + 16);
  assert.deepEqual(
    responder.open(second.counter, second.ciphertext, HEADER),
    { ok: true, plaintext: encode("world") },
  );
  assert.deepEqual(
    responder.open(first.counter, first.ciphertext, HEADER),
    { ok: true, plaintext: encode("hello") },
  );
  assert.equal(responder.highestReceivedCounter, 1n);
  // And the other way.
  const reply = responder.seal(encode("hi"), HEADER);
  assert.deepEqual(
    initiator.open(reply.counter, reply.ciphertext, HEADER),
    { ok: true, plaintext: encode("hi") },
  );
});

Deno.test("session uses the Noise nonce: four zero bytes then the counter little-endian", () => {
  const { initiator, k1 } = pair({
    initiator: { initialSendCounterForTestingOnly: 0x0102030405060708n },
  });
  const { counter, ciphertext } = initiator.seal(encode("nonce"), HEADER);
  const nonce = new Uint8Array([0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1]);
  assert.equal(counter, 0x0102030405060708n);
  assert.deepEqual(
    chacha20poly1305(k1.slice(), nonce, HEADER).decrypt(ciphertext),
    encode("nonce"),
  );
});

Deno.test("session opens reordered packets once each and refuses replays", () => {
  const { initiator, responder } = pair();
  const packets = Array.from(
    { length: 50 },
    (_, i) => initiator.seal(encode(`packet ${i}`), HEADER),
  );
  const order = [...packets].reverse();
  for (const { counter, ciphertext } of order) {
    const result = responder.open(counter, ciphertext, HEADER);
    assert.deepEqual(result, {
      ok: true,
      plaintext: encode(`packet ${counter}`),
    });
  }
  for (const { counter, ciphertext } of packets) {
    assert.deepEqual(responder.open(counter, ciphertext, HEADER), {
      ok: false,
      reason: "replay",
    });
  }
});

Deno.test("session refuses packets behind the replay window as too old", () => {
  const { initiator, responder, k1, k2 } = pair();
  const late = initiator.seal(encode("late"), HEADER);
  // A second sender on the same keys stands in for the initiator once it has
  // moved far ahead (the nonce reuse is harmless in a test).
  const ahead = new TransportSession({
    sendKey: k1.slice(),
    receiveKey: k2.slice(),
    isInitiator: true,
    createdAt: T0,
    localIndex: 1,
    remoteIndex: 2,
    now: () => T0,
    initialSendCounterForTestingOnly: BigInt(REPLAY_WINDOW_SIZE) + 1n,
  });
  const far = ahead.seal(encode("far"), HEADER);
  assert.equal(responder.open(far.counter, far.ciphertext, HEADER).ok, true);
  assert.deepEqual(responder.open(late.counter, late.ciphertext, HEADER), {
    ok: false,
    reason: "too-old",
  });
});

Deno.test("session does not let a forged packet advance the replay window", () => {
  const { initiator, responder } = pair();
  const genuine = Array.from(
    { length: 3 },
    () => initiator.seal(encode("genuine"), HEADER),
  );
  // A forger picks a counter far ahead, and one a genuine packet will use.
  for (const counter of [REJECT_AFTER_MESSAGES - 1n, 1n << 40n, 1n]) {
    const forged = crypto.getRandomValues(new Uint8Array(7 + 16));
    assert.deepEqual(responder.open(counter, forged, HEADER), {
      ok: false,
      reason: "auth",
    });
  }
  assert.equal(responder.highestReceivedCounter, -1n);
  // A genuine packet with its tag flipped is refused, and the real one
  // still opens afterwards.
  const tampered = genuine[2].ciphertext.slice();
  tampered[tampered.length - 1] ^= 0x80;
  assert.deepEqual(responder.open(2n, tampered, HEADER), {
    ok: false,
    reason: "auth",
  });
  for (const { counter, ciphertext } of genuine) {
    assert.equal(responder.open(counter, ciphertext, HEADER).ok, true);
  }
});

Deno.test("session refuses a packet whose header or length was changed", () => {
  const { initiator, responder } = pair();
  const { counter, ciphertext } = initiator.seal(encode("payload"), HEADER);
  const otherHeader = HEADER.slice();
  otherHeader[4] = 3;
  assert.deepEqual(responder.open(counter, ciphertext, otherHeader), {
    ok: false,
    reason: "auth",
  });
  assert.deepEqual(
    responder.open(counter, ciphertext.subarray(0, 10), HEADER),
    { ok: false, reason: "auth" },
  );
  assert.deepEqual(responder.open(counter, new Uint8Array(0), HEADER), {
    ok: false,
    reason: "auth",
  });
  // The counter is bound through the nonce even though the header omits it.
  assert.deepEqual(responder.open(counter + 1n, ciphertext, HEADER), {
    ok: false,
    reason: "auth",
  });
  assert.equal(responder.open(counter, ciphertext, HEADER).ok, true);
});

Deno.test("session initiator needs a rekey at 120 s, not at 119.999 s", () => {
  const time = clock();
  const { initiator, responder } = pair({ now: time.now });
  time.t = T0 + REKEY_AFTER_TIME_MS - 1;
  assert.equal(initiator.needsRekey(), false);
  time.t = T0 + REKEY_AFTER_TIME_MS;
  assert.equal(initiator.needsRekey(), true);
  assert.equal(initiator.needsRekey(T0 + 119_999), false);
  // WireGuard: the responder never rekeys on age, only on message count.
  assert.equal(responder.needsRekey(T0 + REJECT_AFTER_TIME_MS - 1), false);
});

Deno.test("session needs a rekey after 2^60 messages, for either role", () => {
  const { initiator, responder } = pair({
    initiator: { initialSendCounterForTestingOnly: REKEY_AFTER_MESSAGES - 1n },
    responder: { initialSendCounterForTestingOnly: REKEY_AFTER_MESSAGES - 1n },
  });
  for (const session of [initiator, responder]) {
    assert.equal(session.needsRekey(), false);
    const { counter } = session.seal(encode("x"), HEADER);
    assert.equal(counter, REKEY_AFTER_MESSAGES - 1n);
    assert.equal(session.nextSendCounter, REKEY_AFTER_MESSAGES);
    assert.equal(session.needsRekey(), true);
    assert.equal(session.canSend(), true);
  }
});

Deno.test("session initiator needs a last-minute rekey when receiving at 165 s", () => {
  const { initiator, responder } = pair();
  assert.equal(initiator.needsRekeyAfterReceiving(T0 + 164_999), false);
  assert.equal(initiator.needsRekeyAfterReceiving(T0 + 165_000), true);
  assert.equal(responder.needsRekeyAfterReceiving(T0 + 179_999), false);
});

Deno.test("session refuses to seal or open from 180 s on", () => {
  const time = clock();
  const { initiator, responder } = pair({ now: time.now });
  time.t = T0 + REJECT_AFTER_TIME_MS - 1;
  assert.equal(initiator.isExpired(), false);
  assert.equal(initiator.canSend(), true);
  const last = initiator.seal(encode("last"), HEADER);
  const unread = initiator.seal(encode("unread"), HEADER);
  assert.equal(responder.open(last.counter, last.ciphertext, HEADER).ok, true);

  time.t = T0 + REJECT_AFTER_TIME_MS;
  assert.equal(initiator.isExpired(), true);
  assert.equal(initiator.canSend(), false);
  assert.throws(
    () => initiator.seal(encode("too late"), HEADER),
    RangeError,
  );
  assert.deepEqual(
    responder.open(unread.counter, unread.ciphertext, HEADER),
    { ok: false, reason: "expired" },
  );
  // An explicit `now` overrides the clock.
  assert.equal(
    responder.open(unread.counter, unread.ciphertext, HEADER, T0).ok,
    true,
  );
});

Deno.test("session stops at REJECT_AFTER_MESSAGES in both directions", () => {
  const { initiator, responder } = pair({
    initiator: {
      initialSendCounterForTestingOnly: REJECT_AFTER_MESSAGES - 1n,
    },
  });
  assert.equal(initiator.canSend(), true);
  const last = initiator.seal(encode("last"), HEADER);
  assert.equal(last.counter, REJECT_AFTER_MESSAGES - 1n);
  assert.equal(responder.open(last.counter, last.ciphertext, HEADER).ok, true);
  assert.equal(initiator.canSend(), false);
  assert.throws(() => initiator.seal(encode("one more"), HEADER), RangeError);
  // The counter did not move: nothing was sent.
  assert.equal(initiator.nextSendCounter, REJECT_AFTER_MESSAGES);

  for (const counter of [REJECT_AFTER_MESSAGES, MAX_COUNTER, 1n << 64n, -1n]) {
    assert.deepEqual(
      responder.open(counter, last.ciphertext, HEADER),
      { ok: false, reason: "counter-limit" },
      `counter ${counter}`,
    );
  }
});

Deno.test("session destroy zeroes both keys and refuses further use", () => {
  const { initiator, responder, k1, k2 } = pair();
  const pending = initiator.seal(encode("pending"), HEADER);
  initiator.destroy();
  assert.deepEqual(k1, new Uint8Array(32));
  assert.deepEqual(k2, new Uint8Array(32));
  assert.equal(initiator.destroyed, true);
  assert.equal(initiator.isExpired(), true);
  assert.equal(initiator.canSend(), false);
  assert.throws(() => initiator.seal(encode("no"), HEADER), TypeError);

  responder.destroy();
  assert.deepEqual(
    responder.open(pending.counter, pending.ciphertext, HEADER),
    {
      ok: false,
      reason: "expired",
    },
  );
  // Zeroed keys are public: a packet sealed with them must not open either.
  const underZeroKey = nodeChaCha20Poly1305.seal(
    new Uint8Array(32),
    new Uint8Array(12),
    encode("attacker"),
    HEADER,
  );
  assert.deepEqual(responder.open(0n, underZeroKey, HEADER), {
    ok: false,
    reason: "expired",
  });
});

Deno.test("session interoperates across AEAD implementations", () => {
  const { initiator, responder } = pair({
    responder: { aead: nobleChaCha20Poly1305 },
  });
  const there = initiator.seal(encode("to noble"), HEADER);
  assert.deepEqual(responder.open(there.counter, there.ciphertext, HEADER), {
    ok: true,
    plaintext: encode("to noble"),
  });
  const back = responder.seal(encode("to node"), HEADER);
  assert.deepEqual(initiator.open(back.counter, back.ciphertext, HEADER), {
    ok: true,
    plaintext: encode("to node"),
  });
});

Deno.test("session refuses bad keys, indices and creation times", () => {
  const base = {
    sendKey: new Uint8Array(32),
    receiveKey: new Uint8Array(32),
    isInitiator: true,
    createdAt: 0,
    localIndex: 1,
    remoteIndex: 2,
  };
  assert.throws(
    () => new TransportSession({ ...base, sendKey: new Uint8Array(31) }),
    RangeError,
  );
  assert.throws(
    () => new TransportSession({ ...base, receiveKey: new Uint8Array(33) }),
    RangeError,
  );
  assert.throws(
    () => new TransportSession({ ...base, localIndex: -1 }),
    RangeError,
  );
  assert.throws(
    () => new TransportSession({ ...base, remoteIndex: 2 ** 32 }),
    RangeError,
  );
  assert.throws(
    () => new TransportSession({ ...base, localIndex: 1.5 }),
    RangeError,
  );
  assert.throws(
    () => new TransportSession({ ...base, createdAt: NaN }),
    TypeError,
  );
  assert.throws(
    () =>
      new TransportSession({
        ...base,
        initialSendCounterForTestingOnly: -1n,
      }),
    RangeError,
  );
  assert.equal(
    new TransportSession({ ...base, localIndex: 0xffff_ffff }).localIndex,
    0xffff_ffff,
  );
});
