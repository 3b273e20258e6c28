/**
 * Congestion control behind a small interface, with CUBIC (RFC 9438) as the
 * implementation: standard slow start, the cubic window function with fast
 * convergence, and the Reno-friendly region. A different controller (BBR)
 * can be swapped in by implementing {@linkcode CongestionController}.
 *
 * The sender, not the controller, decides what counts as one congestion
 * event (at most one per window of data, RFC 6675 §5 / RFC 9002 §7.3.2),
 * whether an ACK may grow the window (not while recovering, not while
 * application-limited, RFC 7661 spirit), and when a timeout happened.
 *
 * Windows are in bytes of stream payload; times in milliseconds.
 *
 * @module
 */

import {
  CUBIC_ALPHA,
  CUBIC_BETA,
  CUBIC_C,
  initialCongestionWindow,
  LOSS_WINDOW_SEGMENTS,
  MIN_WINDOW_SEGMENTS,
} from "./constants.ts";
import type { RttView } from "./rtt.ts";

/**
 * Tuning: pacing rate = gain × cwnd / SRTT. RFC 9002 §7.7 suggests a gain
 * of 1.25 so that pacing does not itself limit a window-limited sender; in
 * slow start the window doubles every round trip, so pacing at twice the
 * current rate keeps up (Linux uses 2 and 1.2).
 */
export const SLOW_START_PACING_GAIN = 2;

/** Tuning: pacing gain in congestion avoidance; see {@linkcode SLOW_START_PACING_GAIN}. */
export const CONGESTION_AVOIDANCE_PACING_GAIN = 1.25;

/** The interface the sender drives. */
export interface CongestionController {
  /** The congestion window in bytes. */
  readonly window: number;
  /** The slow-start threshold in bytes; `Infinity` until the first loss. */
  readonly slowStartThreshold: number;
  /** Whether the window grows exponentially. */
  readonly inSlowStart: boolean;
  /** Multiplier of `window / SRTT` for the pacing rate. */
  readonly pacingGain: number;
  /**
   * Call when an ACK newly acknowledges `bytes` sent after the last
   * congestion event, while the sender was limited by the window.
   */
  onAcknowledged(bytes: number, now: number, rtt: RttView): void;
  /** Call when a loss is detected, at most once per window of data. */
  onCongestionEvent(now: number): void;
  /**
   * Call when the retransmission timer expires; `first` is false for the
   * further expiries of one backoff series (RFC 5681 §3.1: ssthresh is set
   * only on the first).
   */
  onRetransmissionTimeout(now: number, first: boolean): void;
  /** Call when the path changes: the capacity is unknown again. */
  onPathChange(now: number): void;
}

/** A function making a controller for a given segment size. */
export type CongestionControllerFactory = (
  maxDataSize: number,
) => CongestionController;

/**
 * CUBIC congestion control (RFC 9438) counted in bytes.
 *
 * - Slow start (RFC 5681 §3.1, RFC 9438 §4.10): cwnd grows by the bytes
 *   acknowledged, from the RFC 6928 initial window, up to ssthresh. HyStart++
 *   is not implemented.
 * - Congestion avoidance: cwnd moves toward `W_cubic(t + SRTT)` (§4.2, §4.4,
 *   §4.5), but never below the Reno estimate `W_est` (§4.3).
 * - Congestion event: fast convergence (§4.7), then ssthresh = cwnd = β × cwnd
 *   and never below 2 MSS (§4.6).
 * - Timeout (§4.8): ssthresh as for a loss, cwnd = 1 MSS, and the next cubic
 *   epoch starts with K = 0 and W_max = the cwnd at its start.
 *
 * @example Usage
 * ```ts
 * import { Cubic } from "./congestion.ts";
 *
 * const cc = new Cubic(1151);
 * cc.window; // 11510: the initial window of RFC 6928
 * cc.onCongestionEvent(0);
 * cc.window; // 8057: β = 0.7
 * ```
 */
export class Cubic implements CongestionController {
  readonly #mss: number;
  #cwnd: number;
  #ssthresh = Infinity;
  /** W_max: the window just before the last reduction (bytes), §4.1.2. */
  #wMax: number | undefined;
  /** cwnd_prior: cwnd before the last reduction, for α of §4.3. */
  #cwndPrior = 0;
  /** Start of the current congestion-avoidance epoch, ms. */
  #epochStart: number | undefined;
  /** K of §4.2, in seconds. */
  #k = 0;
  /** W_est of §4.3, bytes. */
  #wEst = 0;
  /** §4.8: the next epoch uses K = 0 and W_max = cwnd at its start. */
  #afterTimeout = false;

  /**
   * Makes a controller in slow start with the RFC 6928 initial window.
   *
   * @param maxDataSize The segment payload size (MSS), in bytes.
   */
  constructor(maxDataSize: number) {
    if (!(Number.isInteger(maxDataSize) && maxDataSize > 0)) {
      throw new RangeError(
        `Cannot use a segment size that is not a positive integer: ${maxDataSize}`,
      );
    }
    this.#mss = maxDataSize;
    this.#cwnd = initialCongestionWindow(maxDataSize);
  }

  /** The congestion window in bytes. */
  get window(): number {
    return this.#cwnd;
  }

  /** The slow-start threshold in bytes. */
  get slowStartThreshold(): number {
    return this.#ssthresh;
  }

  /** Whether cwnd is below ssthresh. */
  get inSlowStart(): boolean {
    return this.#cwnd < this.#ssthresh;
  }

  /** W_max in bytes, or undefined before the first reduction. */
  get maxWindow(): number | undefined {
    return this.#wMax;
  }

  /** Pacing gain: {@linkcode SLOW_START_PACING_GAIN} or {@linkcode CONGESTION_AVOIDANCE_PACING_GAIN}. */
  get pacingGain(): number {
    return this.inSlowStart
      ? SLOW_START_PACING_GAIN
      : CONGESTION_AVOIDANCE_PACING_GAIN;
  }

  /** Call when an ACK newly acknowledges `bytes` (see the interface). */
  onAcknowledged(bytes: number, now: number, rtt: RttView): void {
    if (bytes <= 0) return;
    let acked = bytes;
    if (this.#cwnd < this.#ssthresh) {
      // RFC 5681 §3.1: slow start adds what was acknowledged, up to ssthresh;
      // the rest of this ACK counts toward congestion avoidance.
      const growth = Math.min(acked, this.#ssthresh - this.#cwnd);
      this.#cwnd += growth;
      acked -= growth;
      if (acked <= 0) return;
    }
    this.#congestionAvoidance(acked, now, rtt.smoothed ?? 0);
  }

  #congestionAvoidance(acked: number, now: number, srtt: number): void {
    const mss = this.#mss;
    if (this.#epochStart === undefined) {
      this.#epochStart = now;
      // RFC 9438 §4.3: W_est starts at cwnd_epoch.
      this.#wEst = this.#cwnd;
      if (this.#wMax === undefined || this.#afterTimeout) {
        // §4.8 (and a first epoch with no loss yet): K = 0, W_max = cwnd.
        this.#wMax = this.#cwnd;
        this.#cwndPrior = this.#cwnd;
        this.#afterTimeout = false;
      }
      // RFC 9438 §4.2 Eq. 2: K = cbrt((W_max − cwnd_epoch) / C), in segments.
      this.#k = Math.cbrt(Math.max(0, this.#wMax - this.#cwnd) / mss / CUBIC_C);
    }
    const t = (now - this.#epochStart) / 1000;
    const rttSeconds = srtt / 1000;

    // RFC 9438 §4.3: W_est grows by α_cubic segments per window acknowledged;
    // α is 1 once W_est reaches cwnd_prior.
    const alpha = this.#wEst >= this.#cwndPrior ? 1 : CUBIC_ALPHA;
    this.#wEst += alpha * mss * (acked / this.#cwnd);

    const wCubicNow = this.#wCubic(t);
    if (wCubicNow < this.#wEst) {
      // §4.3: Reno-friendly region.
      this.#cwnd = Math.max(this.#cwnd, this.#wEst);
      return;
    }
    // §4.4–4.5: concave and convex regions. target = W_cubic(t + RTT),
    // clamped to [cwnd, 1.5 × cwnd]; cwnd += (target − cwnd) / cwnd per
    // segment acknowledged.
    const target = Math.min(
      1.5 * this.#cwnd,
      Math.max(this.#cwnd, this.#wCubic(t + rttSeconds)),
    );
    this.#cwnd += (target - this.#cwnd) * (acked / this.#cwnd);
  }

  /** RFC 9438 §4.2 Eq. 1, in bytes: C × (t − K)³ segments + W_max. */
  #wCubic(t: number): number {
    const d = t - this.#k;
    return CUBIC_C * d * d * d * this.#mss + (this.#wMax ?? this.#cwnd);
  }

  /** Call when a loss is detected, at most once per window of data. */
  onCongestionEvent(_now: number): void {
    this.#reduce();
    this.#cwnd = this.#ssthresh;
  }

  #reduce(): void {
    // RFC 9438 §4.7: fast convergence releases bandwidth to newer flows.
    if (this.#wMax !== undefined && this.#cwnd < this.#wMax) {
      this.#wMax = this.#cwnd * (1 + CUBIC_BETA) / 2;
    } else {
      this.#wMax = this.#cwnd;
    }
    this.#cwndPrior = this.#cwnd;
    // RFC 9438 §4.6: ssthresh = cwnd × β_cubic, at least 2 segments.
    this.#ssthresh = Math.max(
      this.#cwnd * CUBIC_BETA,
      MIN_WINDOW_SEGMENTS * this.#mss,
    );
    this.#epochStart = undefined;
  }

  /** Call when the retransmission timer expires. */
  onRetransmissionTimeout(_now: number, first: boolean): void {
    // RFC 9438 §4.8: follow RFC 5681 (cwnd = loss window) but set ssthresh
    // with β_cubic; RFC 5681 §3.1: only on the first expiry of a series.
    if (first) this.#reduce();
    this.#cwnd = LOSS_WINDOW_SEGMENTS * this.#mss;
    this.#epochStart = undefined;
    this.#afterTimeout = true;
  }

  /** Call when the path changes: back to the initial window and slow start. */
  onPathChange(_now: number): void {
    this.#cwnd = initialCongestionWindow(this.#mss);
    this.#ssthresh = Infinity;
    this.#wMax = undefined;
    this.#cwndPrior = 0;
    this.#epochStart = undefined;
    this.#afterTimeout = false;
  }
}

/** The default {@linkcode CongestionControllerFactory}: CUBIC. */
export const cubic: CongestionControllerFactory = (
  maxDataSize: number,
): CongestionController => new Cubic(maxDataSize);
