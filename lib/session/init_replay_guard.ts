/**
 * Refusing replayed IK first messages.
 *
 * Noise IK's first message can be replayed by anyone who recorded it; the
 * responder would redo the Diffie-Hellman work and create a session nobody
 * uses. As WireGuard does with TAI64N, the initiator puts its wall-clock time
 * in the message, and the responder accepts a key's message only when its
 * time is later than the last one accepted for that key.
 *
 * @module
 */

/** How many keys the guard remembers by default. */
export const DEFAULT_GUARD_CAPACITY = 65_536;

/** Remembers the latest accepted timestamp per initiator key. */
export class InitReplayGuard {
  readonly #latest = new Map<string, number>();
  readonly #capacity: number;

  constructor(options: { capacity?: number } = {}) {
    this.#capacity = options.capacity ?? DEFAULT_GUARD_CAPACITY;
  }

  /**
   * Accepts `timestamp` for `initiatorKey` when it is later than any accepted
   * before, and records it. Call only after the handshake message
   * authenticated, so nobody but the key holder can move a key's clock.
   */
  accept(initiatorKey: Uint8Array, timestamp: number): boolean {
    const id = initiatorKey.toHex();
    const last = this.#latest.get(id);
    if (last !== undefined && timestamp <= last) return false;
    // Map keeps insertion order: re-insert so the oldest entry comes first.
    this.#latest.delete(id);
    this.#latest.set(id, timestamp);
    if (this.#latest.size > this.#capacity) {
      // Forgetting a key re-opens a replay window for it only until its
      // next accepted handshake; the capacity keeps memory bounded.
      this.#latest.delete(this.#latest.keys().next().value!);
    }
    return true;
  }

  /** Number of keys remembered. */
  get size(): number {
    return this.#latest.size;
  }
}
