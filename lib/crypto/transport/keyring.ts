/**
 * The sessions of one peer across rekeys: current, previous and next, so that
 * packets in flight while the keys change still open (after wireguard-go
 * `device/keypair.go` and `BeginSymmetricSession`, `ReceivedWithKeypair` in
 * `device/noise-protocol.go`).
 *
 * @module
 */

import { REJECT_AFTER_TIME_MS } from "./constants.ts";
import type { OpenFailureReason, TransportSession } from "./session.ts";

/** An incoming data packet as the framing layer decoded it. */
export interface DataPacket {
  /** The receiver index from the header: one of our sessions' `localIndex`. */
  receiverIndex: number;
  /** The packet counter from the header. */
  counter: bigint;
  /** The ciphertext followed by its tag. */
  ciphertext: Uint8Array;
  /** The associated data the sender used, typically the header bytes. */
  ad: Uint8Array;
}

/**
 * The outcome of {@linkcode KeyRing.open}. On success, `session` is the one
 * that opened the packet and `confirmed` tells whether this packet confirmed
 * a pending `next` session, which is now current: the moment to send what
 * was queued while waiting. `"unknown-index"` means no session of this
 * keyring has the packet's receiver index.
 */
export type KeyRingOpenResult =
  | {
    ok: true;
    plaintext: Uint8Array;
    session: TransportSession;
    confirmed: boolean;
  }
  | { ok: false; reason: OpenFailureReason | "unknown-index" };

/** Options of {@linkcode KeyRing}. */
export interface KeyRingOptions {
  /** The clock, in milliseconds. Defaults to `performance.now()`. */
  now?: () => number;
  /**
   * Called with each session the keyring drops, after destroying it: the
   * place to release its `localIndex` from a device-wide index table.
   */
  onDrop?: (session: TransportSession) => void;
}

/**
 * Holds a peer's sessions across rekeys, sans-I/O.
 *
 * - `current` is the session we send with.
 * - `previous` is the one before, kept so that packets the peer sent before
 *   switching still open; it goes when it expires
 *   ({@linkcode REJECT_AFTER_TIME_MS}) or when a later rotation needs its
 *   slot.
 * - `next` exists only on the responder: a session from a completed handshake
 *   that the initiator has not yet confirmed. WireGuard's rule (wireguard-go
 *   `ReceivedWithKeypair`): the responder must not send with it until a
 *   packet arrives under it, since until then it cannot know that the
 *   initiator received the handshake response. The first packet that opens
 *   with `next` makes it current. The initiator should therefore send
 *   something, if only a keepalive, right after the handshake.
 *
 * Incoming packets are matched to a session by their receiver index.
 *
 * @example Usage
 * ```ts
 * import { KeyRing } from "./keyring.ts";
 * import { TransportSession } from "./session.ts";
 *
 * const keyring = new KeyRing({ now: () => 0 });
 * keyring.install(new TransportSession({
 *   sendKey: new Uint8Array(32), receiveKey: new Uint8Array(32),
 *   isInitiator: true, createdAt: 0, localIndex: 7, remoteIndex: 9,
 * }));
 * const session = keyring.sendingSession();
 * if (session) session.seal(new Uint8Array(0), new Uint8Array(0));
 * ```
 */
export class KeyRing {
  #current: TransportSession | undefined;
  #previous: TransportSession | undefined;
  #next: TransportSession | undefined;
  #now: () => number;
  #onDrop: (session: TransportSession) => void;

  /**
   * Creates an empty keyring.
   *
   * @param options The clock and the drop callback.
   */
  constructor(options: KeyRingOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#onDrop = options.onDrop ?? (() => {});
  }

  /** The session we send with, if any. */
  get current(): TransportSession | undefined {
    return this.#current;
  }

  /** The session before `current`, still accepted for receiving. */
  get previous(): TransportSession | undefined {
    return this.#previous;
  }

  /** The responder's session awaiting its first packet from the initiator. */
  get next(): TransportSession | undefined {
    return this.#next;
  }

  /**
   * Installs the session of a handshake that just completed, rotating the
   * others as wireguard-go's `BeginSymmetricSession` does:
   * - initiator: the new session becomes current at once; the old current
   *   becomes previous, unless a `next` was pending, in which case that one
   *   becomes previous (the peer may already be sending with it) and the old
   *   current is dropped;
   * - responder: the new session becomes `next`, replacing any pending one;
   *   the previous is dropped, as confirming `next` will make the current
   *   previous.
   *
   * @param session A new session; the keyring owns it from now on.
   * @throws {RangeError} If a session still held has the same `localIndex`.
   */
  install(session: TransportSession): void {
    for (const held of this.#held()) {
      if (held === session || held.localIndex === session.localIndex) {
        throw new RangeError(
          `Cannot install a session whose local index is already in use: ${session.localIndex}`,
        );
      }
    }
    if (session.isInitiator) {
      const previous = this.#previous;
      if (this.#next !== undefined) {
        this.#drop(this.#current);
        this.#previous = this.#next;
        this.#next = undefined;
      } else {
        this.#previous = this.#current;
      }
      this.#drop(previous);
      this.#current = session;
    } else {
      this.#drop(this.#next);
      this.#drop(this.#previous);
      this.#previous = undefined;
      this.#next = session;
    }
  }

  /**
   * The session to seal outgoing packets with: `current` if it is not
   * expired and has counters left. `undefined` means queue the data and
   * start (or wait for) a handshake.
   *
   * @param now The current time in milliseconds; defaults to the clock.
   */
  sendingSession(now: number = this.#now()): TransportSession | undefined {
    const current = this.#current;
    return current !== undefined && current.canSend(now) ? current : undefined;
  }

  /**
   * The held session whose `localIndex` is `receiverIndex`, if any.
   *
   * @param receiverIndex The receiver index of an incoming packet.
   */
  find(receiverIndex: number): TransportSession | undefined {
    // Unrolled rather than iterating #held(): this runs once per packet.
    if (this.#current?.localIndex === receiverIndex) return this.#current;
    if (this.#previous?.localIndex === receiverIndex) return this.#previous;
    if (this.#next?.localIndex === receiverIndex) return this.#next;
    return undefined;
  }

  /**
   * Opens an incoming packet with the session its receiver index names, and
   * promotes a pending `next` session on its first authenticated packet.
   * Never throws on what the network sent.
   *
   * @param packet The decoded packet.
   * @param now The current time in milliseconds; defaults to the clock.
   * @returns The plaintext and the session, or why the packet was refused.
   */
  open(packet: DataPacket, now: number = this.#now()): KeyRingOpenResult {
    const session = this.find(packet.receiverIndex);
    if (session === undefined) return { ok: false, reason: "unknown-index" };
    const result = session.open(
      packet.counter,
      packet.ciphertext,
      packet.ad,
      now,
    );
    if (!result.ok) return result;
    let confirmed = false;
    // wireguard-go `ReceivedWithKeypair`: an authenticated packet under
    // `next` proves the initiator has the session, so we may send with it.
    if (session === this.#next) {
      this.#drop(this.#previous);
      this.#previous = this.#current;
      this.#current = session;
      this.#next = undefined;
      confirmed = true;
    }
    return { ok: true, plaintext: result.plaintext, session, confirmed };
  }

  /**
   * Drops every session past {@linkcode REJECT_AFTER_TIME_MS}. Call it at
   * {@linkcode KeyRing.nextExpiry}.
   *
   * @param now The current time in milliseconds; defaults to the clock.
   */
  expire(now: number = this.#now()): void {
    if (this.#previous?.isExpired(now)) {
      this.#drop(this.#previous);
      this.#previous = undefined;
    }
    if (this.#current?.isExpired(now)) {
      this.#drop(this.#current);
      this.#current = undefined;
    }
    if (this.#next?.isExpired(now)) {
      this.#drop(this.#next);
      this.#next = undefined;
    }
  }

  /**
   * When the oldest held session expires, in milliseconds on the clock, or
   * `undefined` if none is held: the time to call {@linkcode KeyRing.expire}.
   */
  nextExpiry(): number | undefined {
    let earliest: number | undefined;
    for (const session of this.#held()) {
      const at = session.createdAt + REJECT_AFTER_TIME_MS;
      if (earliest === undefined || at < earliest) earliest = at;
    }
    return earliest;
  }

  /** Drops every session, zeroing their keys. */
  destroy(): void {
    this.#drop(this.#previous);
    this.#drop(this.#current);
    this.#drop(this.#next);
    this.#previous = this.#current = this.#next = undefined;
  }

  *#held(): Generator<TransportSession> {
    if (this.#current !== undefined) yield this.#current;
    if (this.#previous !== undefined) yield this.#previous;
    if (this.#next !== undefined) yield this.#next;
  }

  #drop(session: TransportSession | undefined): void {
    if (session === undefined) return;
    session.destroy();
    this.#onDrop(session);
  }
}
