/**
 * One transport session: the pair of keys a Noise handshake's `Split()`
 * produced, used to seal and open data packets that carry an explicit
 * counter, as WireGuard does over UDP.
 *
 * @module
 */

import type { Aead } from "./aead.ts";
import { nodeChaCha20Poly1305 } from "./aead_node.ts";
import { KEY_SIZE, MAX_COUNTER } from "./constants.ts";
import { NonceBuffer } from "./nonce.ts";
import { ReplayWindow } from "./replay_window.ts";
import {
  isPastRejectAfterMessages,
  isPastRejectAfterTime,
  rekeyDueAfterReceiving,
  rekeyDueAfterSending,
} from "./timers.ts";

/** Options of {@linkcode TransportSession}. */
export interface TransportSessionOptions {
  /**
   * Our sending key from the handshake's `Split()`. The session takes
   * ownership and zeroes it in {@linkcode TransportSession.destroy}.
   */
  sendKey: Uint8Array;
  /** Our receiving key; owned and zeroed like `sendKey`. */
  receiveKey: Uint8Array;
  /** Whether we sent the handshake initiation that made this session. */
  isInitiator: boolean;
  /** When the handshake completed, in milliseconds on the `now` clock. */
  createdAt: number;
  /**
   * The u32 index we chose for this session: the peer puts it in the
   * receiver field of every packet it sends us, so that we find the session.
   */
  localIndex: number;
  /** The u32 index the peer chose: we put it in every packet we send. */
  remoteIndex: number;
  /** The clock, in milliseconds. Defaults to `performance.now()`. */
  now?: () => number;
  /** The AEAD. Defaults to `node:crypto`'s ChaCha20-Poly1305. */
  aead?: Aead;
  /**
   * Test-only: start the send counter here instead of at 0, to reach the
   * message limits without sending 2^60 packets. Never set it in production:
   * a counter that restarts below one already used under the same key
   * reuses a nonce, which breaks ChaCha20-Poly1305 completely.
   */
  initialSendCounterForTestingOnly?: bigint;
}

/** A sealed data packet, ready for framing. */
export interface SealedPacket {
  /** The counter to put in the packet's header; also the AEAD nonce. */
  counter: bigint;
  /** The ciphertext followed by the 16-byte tag. */
  ciphertext: Uint8Array;
}

/**
 * Why {@linkcode TransportSession.open} refused a packet:
 * - `"replay"`: the counter was already accepted;
 * - `"too-old"`: the counter is behind the replay window;
 * - `"expired"`: the session is past {@linkcode REJECT_AFTER_TIME_MS} or was
 *   destroyed;
 * - `"auth"`: the tag did not verify (forged, corrupted, or another key);
 * - `"counter-limit"`: the counter is at or above
 *   {@linkcode REJECT_AFTER_MESSAGES}.
 */
export type OpenFailureReason =
  | "replay"
  | "too-old"
  | "expired"
  | "auth"
  | "counter-limit";

/** The outcome of {@linkcode TransportSession.open}. */
export type OpenResult =
  | { ok: true; plaintext: Uint8Array }
  | { ok: false; reason: OpenFailureReason };

/**
 * A sans-I/O transport session: seals outgoing packets with a fresh counter,
 * opens incoming ones with replay protection, and says when it must be
 * rekeyed or refused. It never reads the network or a timer itself; every
 * time-dependent call takes `now`, defaulting to the injected clock.
 *
 * Data packets carry their counter explicitly because UDP loses and reorders
 * them; the counter doubles as the AEAD nonce (Noise §12.3 layout), so it is
 * authenticated even if the associated data leaves it out.
 *
 * Not guaranteed: constant-time behaviour beyond what the AEAD provides (the
 * replay check branches on public counters only); wiping of key copies made
 * inside the AEAD implementation; wiping of plaintexts, which belong to the
 * caller.
 *
 * @example Usage
 * ```ts
 * import { TransportSession } from "./session.ts";
 *
 * const a = new Uint8Array(32).fill(1), b = new Uint8Array(32).fill(2);
 * const alice = new TransportSession({ sendKey: a, receiveKey: b, isInitiator: true, createdAt: 0, localIndex: 1, remoteIndex: 2, now: () => 0 });
 * const bob = new TransportSession({ sendKey: b.slice(), receiveKey: a.slice(), isInitiator: false, createdAt: 0, localIndex: 2, remoteIndex: 1, now: () => 0 });
 * const header = new Uint8Array([4, 0, 0, 0]);
 * const { counter, ciphertext } = alice.seal(new TextEncoder().encode("hi"), header);
 * const result = bob.open(counter, ciphertext, header);
 * if (result.ok) new TextDecoder().decode(result.plaintext); // "hi"
 * ```
 */
export class TransportSession {
  /** Whether we sent the handshake initiation that made this session. */
  readonly isInitiator: boolean;
  /** When the handshake completed, in milliseconds. */
  readonly createdAt: number;
  /** Our u32 index: incoming packets name it as their receiver. */
  readonly localIndex: number;
  /** The peer's u32 index: outgoing packets name it as their receiver. */
  readonly remoteIndex: number;

  #sendKey: Uint8Array;
  #receiveKey: Uint8Array;
  #now: () => number;
  #aead: Aead;
  #sendCounter: bigint;
  #window = new ReplayWindow();
  // One nonce buffer per direction, rewritten per packet: the AEAD copies it.
  #sendNonce = new NonceBuffer();
  #receiveNonce = new NonceBuffer();
  #destroyed = false;

  /**
   * Creates a session from a completed handshake, taking ownership of the
   * two keys.
   *
   * @param options The keys, role, creation time and indices.
   * @throws {RangeError} If a key is not 32 bytes, an index is not a u32, or
   * the test-only counter is out of range.
   * @throws {TypeError} If `createdAt` is not a finite number.
   */
  constructor(options: TransportSessionOptions) {
    const {
      sendKey,
      receiveKey,
      isInitiator,
      createdAt,
      localIndex,
      remoteIndex,
      now = () => performance.now(),
      aead = nodeChaCha20Poly1305,
      initialSendCounterForTestingOnly = 0n,
    } = options;
    assertKey("send", sendKey);
    assertKey("receive", receiveKey);
    assertIndex("local", localIndex);
    assertIndex("remote", remoteIndex);
    if (!Number.isFinite(createdAt)) {
      throw new TypeError(
        `Cannot create a session with a creation time that is not a finite number: ${createdAt}`,
      );
    }
    if (
      initialSendCounterForTestingOnly < 0n ||
      initialSendCounterForTestingOnly > MAX_COUNTER
    ) {
      throw new RangeError(
        `Cannot start the send counter outside 64 unsigned bits: ${initialSendCounterForTestingOnly}`,
      );
    }
    this.#sendKey = sendKey;
    this.#receiveKey = receiveKey;
    this.isInitiator = isInitiator;
    this.createdAt = createdAt;
    this.localIndex = localIndex;
    this.remoteIndex = remoteIndex;
    this.#now = now;
    this.#aead = aead;
    this.#sendCounter = initialSendCounterForTestingOnly;
  }

  /**
   * The counter the next {@linkcode TransportSession.seal} will use, which
   * is also the number of packets sent so far. Read it first if the header
   * given as associated data must contain the counter.
   */
  get nextSendCounter(): bigint {
    return this.#sendCounter;
  }

  /** The highest counter received and authenticated so far, or `-1n`. */
  get highestReceivedCounter(): bigint {
    return this.#window.highest;
  }

  /** Whether {@linkcode TransportSession.destroy} was called. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /**
   * Whether the keys are refused in both directions: the session is
   * {@linkcode REJECT_AFTER_TIME_MS} old or more, or destroyed.
   *
   * @param now The current time in milliseconds; defaults to the clock.
   */
  isExpired(now: number = this.#now()): boolean {
    return this.#destroyed || isPastRejectAfterTime(this.createdAt, now);
  }

  /**
   * Whether {@linkcode TransportSession.seal} would succeed now: the session
   * is not expired and has counters left.
   *
   * @param now The current time in milliseconds; defaults to the clock.
   */
  canSend(now: number = this.#now()): boolean {
    return !this.isExpired(now) &&
      !isPastRejectAfterMessages(this.#sendCounter);
  }

  /**
   * Whether a new handshake should be started; check it after sending.
   *
   * The initiator rekeys once the session is {@linkcode REKEY_AFTER_TIME_MS}
   * old or has sent {@linkcode REKEY_AFTER_MESSAGES} packets. The responder
   * rekeys only on the message count, never on age: WireGuard leaves
   * time-based rekeying to the initiator so that both peers do not start
   * handshakes at once; a silent initiator lets the session expire instead.
   *
   * @param now The current time in milliseconds; defaults to the clock.
   */
  needsRekey(now: number = this.#now()): boolean {
    return rekeyDueAfterSending({
      isInitiator: this.isInitiator,
      createdAt: this.createdAt,
      sent: this.#sendCounter,
    }, now);
  }

  /**
   * Whether a new handshake should be started; check it after a packet was
   * opened. True only for the initiator, once the session is within a
   * keepalive and a handshake retry of expiring (165 s), so that a peer that
   * only receives still rekeys in time. WireGuard does this once per
   * session; the caller remembers that it did.
   *
   * @param now The current time in milliseconds; defaults to the clock.
   */
  needsRekeyAfterReceiving(now: number = this.#now()): boolean {
    return rekeyDueAfterReceiving(this, now);
  }

  /**
   * Encrypts `plaintext` under the next counter.
   *
   * @param plaintext The payload; empty for a keepalive.
   * @param ad Associated data, typically the packet header: authenticated,
   * not encrypted. The counter is bound as the nonce anyway; a header that
   * also carries it (altnet's `TRANSPORT` header does) is built from
   * {@linkcode TransportSession.nextSendCounter}, read just before this call.
   * @param now The current time in milliseconds; defaults to the clock.
   * @returns The counter used and the ciphertext with its tag.
   * @throws {RangeError} If the session is expired or out of counters; check
   * {@linkcode TransportSession.canSend} first and rekey instead.
   * @throws {TypeError} If the session was destroyed.
   */
  seal(
    plaintext: Uint8Array,
    ad: Uint8Array,
    now: number = this.#now(),
  ): SealedPacket {
    if (this.#destroyed) {
      throw new TypeError("Cannot seal with a destroyed session");
    }
    if (isPastRejectAfterTime(this.createdAt, now)) {
      throw new RangeError(
        `Cannot seal as the session is past its reject-after time: age is ${
          now - this.createdAt
        } ms`,
      );
    }
    const counter = this.#sendCounter;
    if (isPastRejectAfterMessages(counter)) {
      throw new RangeError(
        `Cannot seal as the session has used up its counters: next counter is ${counter}`,
      );
    }
    // Advance before encrypting so that no failure below can ever lead to
    // the same counter being used twice.
    this.#sendCounter = counter + 1n;
    const nonce = this.#sendNonce.write(counter);
    const ciphertext = this.#aead.seal(this.#sendKey, nonce, plaintext, ad);
    return { counter, ciphertext };
  }

  /**
   * Authenticates and decrypts a packet. Never throws on what the network
   * sent: any malformed, forged, stale or replayed packet is a failure
   * result, to be dropped silently.
   *
   * The replay window is consulted before decrypting (cheap rejection) but
   * only updated after the tag verified, so forged packets cannot move it.
   *
   * @param counter The counter from the packet header.
   * @param ciphertext The ciphertext followed by its tag.
   * @param ad The same associated data the sender used.
   * @param now The current time in milliseconds; defaults to the clock.
   * @returns The plaintext, or why the packet was refused.
   */
  open(
    counter: bigint,
    ciphertext: Uint8Array,
    ad: Uint8Array,
    now: number = this.#now(),
  ): OpenResult {
    // Checked first: a destroyed session's keys are zeros, which anyone
    // could encrypt to.
    if (this.isExpired(now)) return { ok: false, reason: "expired" };
    if (counter < 0n || isPastRejectAfterMessages(counter)) {
      return { ok: false, reason: "counter-limit" };
    }
    const verdict = this.#window.verdict(counter);
    if (verdict !== "fresh") return { ok: false, reason: verdict };
    const nonce = this.#receiveNonce.write(counter);
    const plaintext = this.#aead.open(this.#receiveKey, nonce, ciphertext, ad);
    if (plaintext === null) return { ok: false, reason: "auth" };
    // RFC 6479 §2: record the counter only now that the packet is genuine.
    this.#window.update(counter);
    return { ok: true, plaintext };
  }

  /**
   * Zeroes both keys and refuses any further use. Call it when the session
   * is dropped, so that the keys do not linger in memory until collected.
   */
  destroy(): void {
    this.#sendKey.fill(0);
    this.#receiveKey.fill(0);
    this.#window.reset();
    this.#destroyed = true;
  }
}

function assertKey(which: string, key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_SIZE) {
    throw new RangeError(
      `Cannot create a session with a ${which} key that is not ${KEY_SIZE} bytes: ${
        key instanceof Uint8Array ? key.length : typeof key
      }`,
    );
  }
}

function assertIndex(which: string, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > 0xffff_ffff) {
    throw new RangeError(
      `Cannot create a session with a ${which} index that is not a u32: ${index}`,
    );
  }
}
