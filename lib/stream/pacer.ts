/**
 * Pacing: spreading a congestion window's worth of segments over a round
 * trip instead of sending them in one burst (RFC 9002 §7.7), so that a
 * bottleneck queue sees a smooth arrival rate.
 *
 * @module
 */

/**
 * Tuning: a burst may hold this many milliseconds of the pacing rate, so a
 * driver whose timers fire every millisecond or two still reaches the rate.
 */
export const PACING_BURST_MS = 2;

/** Tuning: the smallest burst, in segments (a delayed ACK's worth). */
export const MIN_BURST_SEGMENTS = 2;

/**
 * Tuning: the largest burst, in segments: the RFC 6928 initial window, which
 * is also what an idle sender may send at once.
 */
export const MAX_BURST_SEGMENTS = 10;

/**
 * A token bucket filled at `gain × cwnd / SRTT` bytes per millisecond, of
 * capacity {@linkcode PACING_BURST_MS} of that rate (between
 * {@linkcode MIN_BURST_SEGMENTS} and {@linkcode MAX_BURST_SEGMENTS}
 * segments). Before the first RTT sample nothing is paced: the initial window
 * goes out at once, as RFC 9002 §7.7 allows.
 *
 * @example Usage
 * ```ts
 * import { Pacer } from "./pacer.ts";
 *
 * const pacer = new Pacer(1000);
 * const rate = { window: 20_000, srtt: 100, gain: 1 }; // 200 bytes/ms
 * pacer.sendTime(1000, 0, rate); // 0: the bucket starts full
 * ```
 */
export class Pacer {
  readonly #mss: number;
  #tokens: number;
  #last: number | undefined;

  /**
   * Makes a pacer with a full bucket.
   *
   * @param maxDataSize The segment payload size, in bytes.
   */
  constructor(maxDataSize: number) {
    this.#mss = maxDataSize;
    this.#tokens = MAX_BURST_SEGMENTS * maxDataSize;
  }

  /**
   * The earliest time at which a segment of `bytes` may be sent: `now` when
   * it may go at once.
   *
   * @param bytes Size of the segment.
   * @param now The current time, in milliseconds.
   * @param rate The congestion window (bytes), SRTT (ms) and pacing gain.
   */
  sendTime(
    bytes: number,
    now: number,
    rate: { window: number; srtt: number | undefined; gain: number },
  ): number {
    if (rate.srtt === undefined || rate.srtt <= 0) return now;
    const bytesPerMs = rate.gain * rate.window / rate.srtt;
    const capacity = this.#capacity(bytesPerMs);
    this.#refill(now, bytesPerMs, capacity);
    const need = Math.min(bytes, capacity);
    // The tolerance absorbs rounding, so that waking at the returned time
    // always finds enough tokens.
    if (this.#tokens >= need - 1e-6) return now;
    return now + (need - this.#tokens) / bytesPerMs;
  }

  /** Call after sending a segment of `bytes`. */
  onSent(bytes: number, now: number): void {
    if (this.#last === undefined) this.#last = now;
    // May go below zero when a segment went out unpaced (before any sample);
    // the debt is repaid before the next one.
    this.#tokens -= bytes;
    const floor = -MAX_BURST_SEGMENTS * this.#mss;
    if (this.#tokens < floor) this.#tokens = floor;
  }

  /** Call when the path changes: a full bucket, no rate history. */
  reset(): void {
    this.#tokens = MAX_BURST_SEGMENTS * this.#mss;
    this.#last = undefined;
  }

  #capacity(bytesPerMs: number): number {
    return Math.min(
      MAX_BURST_SEGMENTS * this.#mss,
      Math.max(MIN_BURST_SEGMENTS * this.#mss, bytesPerMs * PACING_BURST_MS),
    );
  }

  #refill(now: number, bytesPerMs: number, capacity: number): void {
    if (this.#last !== undefined && now > this.#last) {
      this.#tokens += (now - this.#last) * bytesPerMs;
    }
    if (this.#last === undefined || now > this.#last) this.#last = now;
    if (this.#tokens > capacity) this.#tokens = capacity;
  }
}
