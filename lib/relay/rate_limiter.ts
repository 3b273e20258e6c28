/**
 * Per-source token buckets, bounded in memory.
 *
 * @module
 */

/**
 * A token bucket per key (a source IP), refilled at `rate` tokens per second
 * up to `burst`. The table is bounded: when full, the least recently used
 * bucket is forgotten (which can only make that source's limit more lenient
 * for a moment, never block an innocent one).
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ rate: 5, burst: 10 });
 * limiter.take("192.0.2.1", 0); // true
 * ```
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #capacity: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    options: { rate: number; burst: number; capacity?: number },
  ) {
    this.#rate = options.rate;
    this.#burst = Math.max(1, options.burst);
    this.#capacity = options.capacity ?? 100_000;
  }

  /** Takes one token for `key` at time `now` (ms); false when empty. */
  take(key: string, now: number): boolean {
    let bucket = this.#buckets.get(key);
    if (bucket) {
      this.#buckets.delete(key);
      const refill = ((now - bucket.at) / 1000) * this.#rate;
      bucket.tokens = Math.min(this.#burst, bucket.tokens + refill);
      bucket.at = now;
    } else {
      bucket = { tokens: this.#burst, at: now };
      if (this.#buckets.size >= this.#capacity) {
        this.#buckets.delete(this.#buckets.keys().next().value!);
      }
    }
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Buckets currently tracked. */
  get size(): number {
    return this.#buckets.size;
  }
}
