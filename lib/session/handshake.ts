/**
 * Session establishment: Noise handshakes framed in altnet packets
 * (docs/PROTOCOL.md §2), ending in a {@linkcode TransportSession}.
 *
 * Sans-I/O: the caller decodes packets, hands them in, and sends the bytes it
 * gets back. Which suite, which static keys and what to do with the payloads
 * is the caller's policy; this file only gets the bytes right.
 *
 * - IK (suite 1): the initiator knows the responder's key. Message 1 carries
 *   the initiator's static key and payload, prefixed by an 8-byte timestamp so
 *   the responder can refuse a replayed message 1 (as WireGuard's TAI64N).
 * - XX (suite 2): first contact. Message 1 is in the clear, so the initiator's
 *   payload travels in message 3, after both sides are authenticated.
 * - NK (suite 3): the initiator stays anonymous (onion hops).
 *
 * @module
 */

import {
  type HandshakeState,
  HandshakeState as Noise,
  type KeyPair,
  NoiseError,
} from "../crypto/noise/mod.ts";
import { TransportSession } from "../crypto/transport/mod.ts";
import {
  COOKIE_SIZE,
  type CookieReplyPacket,
  encodePacket,
  type HandshakeInitPacket,
  type HandshakeReplyPacket,
  PacketType,
  Suite,
} from "../wire/mod.ts";
import { initEcho } from "./cookie.ts";

/** The Noise protocol of each suite (PROTOCOL §2.1). */
export const SUITE_PROTOCOL_NAMES: Record<Suite, string> = {
  [Suite.IK]: "Noise_IK_25519_ChaChaPoly_BLAKE2s",
  [Suite.XX]: "Noise_XX_25519_ChaChaPoly_BLAKE2s",
  [Suite.NK]: "Noise_NK_25519_ChaChaPoly_BLAKE2s",
};

/**
 * The largest payload a responder may put in message 2. A responder that
 * answers without a cookie must not send more than the 256-byte init it
 * received (PROTOCOL §1.1): 12 (header) + 96 (XX tokens) + 16 (tag) + 132.
 */
export const MAX_RESPONSE_PAYLOAD = 132;

/** Size of the timestamp that starts an IK message 1 payload. */
export const TIMESTAMP_SIZE = 8;

/** The prologue: `altnet/1` and the suite byte, binding version and suite. */
export function handshakePrologue(suite: Suite): Uint8Array {
  const prologue = new Uint8Array(9);
  prologue.set(new TextEncoder().encode("altnet/1"));
  prologue[8] = suite;
  return prologue;
}

/** What a completed handshake yields. */
export interface EstablishedSession {
  /** The data-path session; the caller owns it. */
  session: TransportSession;
  /** The peer's static key; undefined when the peer stayed anonymous (NK). */
  remoteStatic: Uint8Array | undefined;
  /** The handshake hash, unique to this session (channel binding). */
  handshakeHash: Uint8Array;
  /** The application payload the peer sent during the handshake. */
  payload: Uint8Array;
  /** IK responders: the initiator's timestamp (ms since the epoch). */
  timestamp?: number;
}

/** Why a handshake packet was not accepted; the caller counts and drops. */
export type HandshakeFailure = {
  ok: false;
  reason: "unexpected" | "decrypt" | "bad-payload";
};

const fail = (reason: HandshakeFailure["reason"]): HandshakeFailure => ({
  ok: false,
  reason,
});

/** Options shared by both roles. */
export interface HandshakeClock {
  /** Monotonic clock in ms for session timers. Defaults to `performance.now()`. */
  now?: () => number;
  /** Randomness for ephemeral keys. Defaults to `crypto.getRandomValues`. */
  randomBytes?: (bytes: Uint8Array) => Uint8Array;
}

/** Options of {@linkcode HandshakeInitiator}. */
export interface InitiatorOptions extends HandshakeClock {
  suite: Suite;
  /** Our static key pair (IK, XX); not used by NK. */
  staticKeyPair?: KeyPair;
  /** The responder's static key (IK, NK). */
  remoteStatic?: Uint8Array;
  /** The u32 index the responder will address us by. */
  senderIndex: number;
  /** Our application payload (in message 1 for IK/NK, message 3 for XX). */
  payload?: Uint8Array;
  /** Wall clock for the IK timestamp, ms since the epoch. Defaults to `Date.now()`. */
  wallClock?: () => number;
}

/**
 * The initiator's side of one handshake attempt.
 *
 * @example
 * ```ts ignore
 * const hs = new HandshakeInitiator({ suite: Suite.IK, staticKeyPair, remoteStatic, senderIndex: 7 });
 * socket.send(hs.packet, relay);
 * // … a HANDSHAKE_REPLY arrives:
 * const result = hs.receiveReply(reply);
 * if (result.ok) use(result.established.session);
 * ```
 */
export class HandshakeInitiator {
  readonly suite: Suite;
  readonly senderIndex: number;
  readonly #noise: HandshakeState;
  readonly #noiseMessage: Uint8Array;
  readonly #payload: Uint8Array;
  readonly #now: () => number;
  #packet: Uint8Array;
  #cookie: Uint8Array = new Uint8Array(COOKIE_SIZE);
  #done = false;

  constructor(options: InitiatorOptions) {
    this.suite = options.suite;
    this.senderIndex = options.senderIndex;
    this.#now = options.now ?? (() => performance.now());
    this.#payload = options.payload ?? new Uint8Array(0);
    this.#noise = new Noise({
      protocolName: SUITE_PROTOCOL_NAMES[options.suite],
      initiator: true,
      prologue: handshakePrologue(options.suite),
      s: options.suite === Suite.NK ? undefined : options.staticKeyPair,
      rs: options.suite === Suite.XX ? undefined : options.remoteStatic,
      randomBytes: options.randomBytes,
    });
    let firstPayload: Uint8Array = new Uint8Array(0);
    if (options.suite === Suite.IK) {
      firstPayload = withTimestamp(
        (options.wallClock ?? Date.now)(),
        this.#payload,
      );
    } else if (options.suite === Suite.NK) {
      firstPayload = this.#payload;
    }
    this.#noiseMessage = this.#noise.writeMessage(firstPayload);
    this.#packet = this.#encodeInit();
  }

  /** The `HANDSHAKE_INIT` to send (carrying the cookie once one arrived). */
  get packet(): Uint8Array {
    return this.#packet;
  }

  /**
   * Takes a `COOKIE_REPLY`. Returns true when it answers our current init
   * (then {@linkcode packet} carries the cookie and should be sent again).
   */
  acceptCookie(reply: CookieReplyPacket): boolean {
    if (this.#done || reply.receiverIndex !== this.senderIndex) return false;
    if (!equalBytes(reply.echo, initEcho(this.#packet))) return false;
    this.#cookie = reply.cookie.slice();
    this.#packet = this.#encodeInit();
    return true;
  }

  /**
   * Takes the responder's `HANDSHAKE_REPLY`. On success, XX also returns the
   * third message to send (`finalPacket`).
   */
  receiveReply(
    reply: HandshakeReplyPacket,
    now: number = this.#now(),
  ):
    | { ok: true; established: EstablishedSession; finalPacket?: Uint8Array }
    | HandshakeFailure {
    if (this.#done || reply.receiverIndex !== this.senderIndex) {
      return fail("unexpected");
    }
    let responderPayload: Uint8Array;
    try {
      responderPayload = this.#noise.readMessage(reply.noise);
    } catch (error) {
      if (error instanceof NoiseError) {
        this.#done = true;
        return fail("decrypt");
      }
      throw error;
    }
    let finalPacket: Uint8Array | undefined;
    if (this.suite === Suite.XX) {
      finalPacket = encodePacket({
        type: PacketType.HANDSHAKE_REPLY,
        senderIndex: this.senderIndex,
        receiverIndex: reply.senderIndex,
        noise: this.#noise.writeMessage(this.#payload),
      });
    }
    this.#done = true;
    return {
      ok: true,
      finalPacket,
      established: establish(this.#noise, {
        isInitiator: true,
        localIndex: this.senderIndex,
        remoteIndex: reply.senderIndex,
        createdAt: now,
        payload: responderPayload,
        now: this.#now,
      }),
    };
  }

  /** Forgets the handshake's secrets. */
  destroy(): void {
    this.#done = true;
    this.#noise.destroy();
  }

  #encodeInit(): Uint8Array {
    return encodePacket({
      type: PacketType.HANDSHAKE_INIT,
      senderIndex: this.senderIndex,
      cookie: this.#cookie,
      suite: this.suite,
      noise: this.#noiseMessage,
    });
  }
}

/** Options of {@linkcode respondToInit}. */
export interface ResponderOptions extends HandshakeClock {
  /** Our static key pair (every suite). */
  staticKeyPair: KeyPair;
  /** The u32 index the initiator will address us by. */
  senderIndex: number;
  /** Our payload in message 2, at most {@linkcode MAX_RESPONSE_PAYLOAD} bytes. */
  payload?: Uint8Array;
}

/** The responder's answer to a `HANDSHAKE_INIT`. */
export type ResponderResult =
  | {
    ok: true;
    /** The `HANDSHAKE_REPLY` to send back. */
    replyPacket: Uint8Array;
    /** IK, NK: the session is ready (the initiator confirms it by using it). */
    established?: EstablishedSession;
    /** XX: waits for message 3. */
    pending?: PendingResponder;
  }
  | HandshakeFailure;

/**
 * Answers a `HANDSHAKE_INIT` whose cookie (if required) the caller already
 * checked. Never throws on hostile input.
 */
export function respondToInit(
  init: HandshakeInitPacket,
  options: ResponderOptions,
): ResponderResult {
  const payload = options.payload ?? new Uint8Array(0);
  if (payload.length > MAX_RESPONSE_PAYLOAD) {
    throw new RangeError(
      `Cannot respond with a payload this large: ${payload.length} bytes (limit ${MAX_RESPONSE_PAYLOAD})`,
    );
  }
  const now = options.now ?? (() => performance.now());
  const noise = new Noise({
    protocolName: SUITE_PROTOCOL_NAMES[init.suite],
    initiator: false,
    prologue: handshakePrologue(init.suite),
    s: options.staticKeyPair,
    randomBytes: options.randomBytes,
  });
  let initiatorPayload: Uint8Array;
  try {
    initiatorPayload = noise.readMessage(init.noise);
  } catch (error) {
    if (error instanceof NoiseError) return fail("decrypt");
    throw error;
  }
  let timestamp: number | undefined;
  if (init.suite === Suite.IK) {
    if (initiatorPayload.length < TIMESTAMP_SIZE) {
      noise.destroy();
      return fail("bad-payload");
    }
    timestamp = readTimestamp(initiatorPayload);
    initiatorPayload = initiatorPayload.subarray(TIMESTAMP_SIZE);
  }
  const replyPacket = encodePacket({
    type: PacketType.HANDSHAKE_REPLY,
    senderIndex: options.senderIndex,
    receiverIndex: init.senderIndex,
    noise: noise.writeMessage(payload),
  });
  if (init.suite === Suite.XX) {
    return {
      ok: true,
      replyPacket,
      pending: new PendingResponder(noise, {
        localIndex: options.senderIndex,
        remoteIndex: init.senderIndex,
        now,
      }),
    };
  }
  return {
    ok: true,
    replyPacket,
    established: {
      ...establish(noise, {
        isInitiator: false,
        localIndex: options.senderIndex,
        remoteIndex: init.senderIndex,
        createdAt: now(),
        payload: initiatorPayload,
        now,
      }),
      timestamp,
    },
  };
}

/** An XX responder waiting for message 3. */
export class PendingResponder {
  readonly localIndex: number;
  readonly remoteIndex: number;
  readonly #noise: HandshakeState;
  readonly #now: () => number;
  #done = false;

  constructor(
    noise: HandshakeState,
    indices: { localIndex: number; remoteIndex: number; now: () => number },
  ) {
    this.#noise = noise;
    this.localIndex = indices.localIndex;
    this.remoteIndex = indices.remoteIndex;
    this.#now = indices.now;
  }

  /** Takes message 3; on success the session is ready. */
  receiveFinal(
    reply: HandshakeReplyPacket,
    now: number = this.#now(),
  ): { ok: true; established: EstablishedSession } | HandshakeFailure {
    if (
      this.#done || reply.receiverIndex !== this.localIndex ||
      reply.senderIndex !== this.remoteIndex
    ) {
      return fail("unexpected");
    }
    this.#done = true;
    let payload: Uint8Array;
    try {
      payload = this.#noise.readMessage(reply.noise);
    } catch (error) {
      if (error instanceof NoiseError) return fail("decrypt");
      throw error;
    }
    return {
      ok: true,
      established: establish(this.#noise, {
        isInitiator: false,
        localIndex: this.localIndex,
        remoteIndex: this.remoteIndex,
        createdAt: now,
        payload,
        now: this.#now,
      }),
    };
  }

  /** Forgets the handshake's secrets. */
  destroy(): void {
    this.#done = true;
    this.#noise.destroy();
  }
}

function establish(
  noise: HandshakeState,
  context: {
    isInitiator: boolean;
    localIndex: number;
    remoteIndex: number;
    createdAt: number;
    payload: Uint8Array;
    now: () => number;
  },
): EstablishedSession {
  const handshakeHash = noise.handshakeHash.slice();
  const remoteStatic = noise.remoteStatic?.slice();
  const keys = noise.splitKeys();
  noise.destroy();
  const session = new TransportSession({
    sendKey: context.isInitiator
      ? keys.initiatorToResponder
      : keys.responderToInitiator,
    receiveKey: context.isInitiator
      ? keys.responderToInitiator
      : keys.initiatorToResponder,
    isInitiator: context.isInitiator,
    createdAt: context.createdAt,
    localIndex: context.localIndex,
    remoteIndex: context.remoteIndex,
    now: context.now,
  });
  return {
    session,
    remoteStatic,
    handshakeHash,
    payload: context.payload.slice(),
  };
}

function withTimestamp(ms: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(TIMESTAMP_SIZE + payload.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(Math.floor(ms)));
  out.set(payload, TIMESTAMP_SIZE);
  return out;
}

function readTimestamp(payload: Uint8Array): number {
  const view = new DataView(payload.buffer, payload.byteOffset, TIMESTAMP_SIZE);
  return Number(view.getBigUint64(0));
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
