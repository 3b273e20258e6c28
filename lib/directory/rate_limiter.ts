/**
 * Per-IP token buckets that also say when to come back (`Retry-After`).
 *
 * @module
 */

/**
 * A token bucket per key (a client IP), refilled at `rate` tokens per second
 * up to `burst`. The table is bounded: when full, the least recently used
 * bucket is forgotten, which can only make that client's limit more lenient
 * for a moment, never block an innocent one.
 *
 * @example
 * ```ts
 * const limiter = new TokenBuckets({ rate: 0.1, burst: 5 });
 * limiter.take("192.0.2.1", 0); // 0: allowed
 * ```
 */
export class TokenBuckets {
  readonly #rate: number;
  readonly #burst: number;
  readonly #capacity: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(options: { rate: number; burst: number; capacity?: number }) {
    if (!(options.rate > 0)) {
      throw new RangeError(
        `Cannot limit at a rate that is not positive: ${options.rate}`,
      );
    }
    this.#rate = options.rate;
    this.#burst = Math.max(1, options.burst);
    this.#capacity = options.capacity ?? 65_536;
  }

  /**
   * Takes one token for `key` at `now` (ms). Returns 0 when allowed, else
   * the milliseconds until a token will be there (nothing is taken).
   */
  take(key: string, now: number): number {
    let bucket = this.#buckets.get(key);
    if (bucket) {
      this.#buckets.delete(key);
      const refill = (Math.max(0, now - bucket.at) / 1000) * this.#rate;
      bucket.tokens = Math.min(this.#burst, bucket.tokens + refill);
      bucket.at = now;
    } else {
      bucket = { tokens: this.#burst, at: now };
      if (this.#buckets.size >= this.#capacity) {
        this.#buckets.delete(this.#buckets.keys().next().value!);
      }
    }
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) {
      return Math.ceil(((1 - bucket.tokens) / this.#rate) * 1000);
    }
    bucket.tokens -= 1;
    return 0;
  }

  /** Buckets currently tracked. */
  get size(): number {
    return this.#buckets.size;
  }
}
