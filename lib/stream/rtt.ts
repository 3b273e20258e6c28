/**
 * Round-trip time estimation and the retransmission timeout, after RFC 6298.
 *
 * @module
 */

import {
  INITIAL_RTO_MS,
  MAX_RTO_MS,
  RTT_ALPHA,
  RTT_BETA,
  RTT_K,
} from "./constants.ts";

/**
 * Tuning: the smallest RTO. RFC 6298 §2.4 says 1 s; like Linux (200 ms) and
 * QUIC (no fixed floor, RFC 9002 §6.2) we go lower, because altnet's paths
 * are often short and a stalled chat message should not wait a second. The
 * cost is an occasional spurious retransmission on a path whose RTT jumps,
 * which the receiver discards as a duplicate.
 */
export const DEFAULT_MIN_RTO_MS = 200;

/**
 * Tuning: the clock granularity G of RFC 6298 §2.2, in milliseconds. The
 * RTTVAR term of the RTO is never below it.
 */
export const CLOCK_GRANULARITY_MS = 1;

/** Options of {@linkcode RttEstimator}. */
export interface RttEstimatorOptions {
  /** Floor of the RTO in milliseconds. Defaults to {@linkcode DEFAULT_MIN_RTO_MS}. */
  minRto?: number;
  /** Ceiling of the RTO in milliseconds. Defaults to {@linkcode MAX_RTO_MS}. */
  maxRto?: number;
  /** RTO before the first sample. Defaults to {@linkcode INITIAL_RTO_MS}. */
  initialRto?: number;
}

/** What congestion control may read of the RTT estimate. */
export interface RttView {
  /** SRTT in milliseconds, or undefined before the first sample. */
  readonly smoothed: number | undefined;
  /** Smallest sample since the last reset, or undefined. */
  readonly min: number | undefined;
  /** Most recent sample, or undefined. */
  readonly latest: number | undefined;
}

/**
 * SRTT, RTTVAR and the RTO of RFC 6298, with exponential backoff.
 *
 * Callers feed only unambiguous samples: Karn's algorithm (RFC 6298 §3) is
 * the caller's job, as only the sender knows which segments were sent more
 * than once. A valid sample also ends the backoff (RFC 6298 §5.7).
 *
 * @example Usage
 * ```ts
 * import { RttEstimator } from "./rtt.ts";
 *
 * const rtt = new RttEstimator();
 * rtt.onSample(100); // SRTT 100, RTTVAR 50, RTO 300
 * rtt.onRetransmissionTimeout(); // RTO 600
 * ```
 */
export class RttEstimator implements RttView {
  readonly #minRto: number;
  readonly #maxRto: number;
  readonly #initialRto: number;
  #srtt: number | undefined;
  #rttvar: number | undefined;
  #min: number | undefined;
  #latest: number | undefined;
  #backoff = 0;

  /** Makes an estimator with no samples. */
  constructor(options: RttEstimatorOptions = {}) {
    this.#minRto = options.minRto ?? DEFAULT_MIN_RTO_MS;
    this.#maxRto = options.maxRto ?? MAX_RTO_MS;
    this.#initialRto = options.initialRto ?? INITIAL_RTO_MS;
    if (!(this.#minRto > 0 && this.#minRto <= this.#maxRto)) {
      throw new RangeError(
        `Cannot use a minimum RTO outside (0, maximum]: ${this.#minRto}`,
      );
    }
  }

  /** SRTT in milliseconds, or undefined before the first sample. */
  get smoothed(): number | undefined {
    return this.#srtt;
  }

  /** RTTVAR in milliseconds, or undefined before the first sample. */
  get variation(): number | undefined {
    return this.#rttvar;
  }

  /** Smallest sample since the last reset, or undefined. */
  get min(): number | undefined {
    return this.#min;
  }

  /** Most recent sample, or undefined. */
  get latest(): number | undefined {
    return this.#latest;
  }

  /** How many times the RTO was doubled since the last valid sample. */
  get backoffCount(): number {
    return this.#backoff;
  }

  /** The current RTO in milliseconds, backoff included. */
  get rto(): number {
    const base = this.#srtt === undefined || this.#rttvar === undefined
      ? this.#initialRto
      // RFC 6298 §2.2–2.3: RTO = SRTT + max(G, K × RTTVAR).
      : this.#srtt + Math.max(CLOCK_GRANULARITY_MS, RTT_K * this.#rttvar);
    // RFC 6298 §2.4–2.5: clamp; §5.5: double on each expiry.
    const clamped = Math.min(this.#maxRto, Math.max(this.#minRto, base));
    return Math.min(this.#maxRto, clamped * 2 ** this.#backoff);
  }

  /**
   * Call with an RTT measured on a segment sent exactly once (Karn).
   *
   * @param sample The measured round trip in milliseconds.
   */
  onSample(sample: number): void {
    const r = Math.max(sample, 0);
    this.#latest = r;
    this.#min = this.#min === undefined ? r : Math.min(this.#min, r);
    if (this.#srtt === undefined || this.#rttvar === undefined) {
      // RFC 6298 §2.2: first measurement.
      this.#srtt = r;
      this.#rttvar = r / 2;
    } else {
      // RFC 6298 §2.3: RTTVAR first, with the old SRTT.
      this.#rttvar = (1 - RTT_BETA) * this.#rttvar +
        RTT_BETA * Math.abs(this.#srtt - r);
      this.#srtt = (1 - RTT_ALPHA) * this.#srtt + RTT_ALPHA * r;
    }
    // RFC 6298 §5.7 and Karn: a valid sample recomputes the RTO unbacked.
    this.#backoff = 0;
  }

  /** Call when the retransmission timer expires: doubles the RTO (RFC 6298 §5.5). */
  onRetransmissionTimeout(): void {
    if (this.rto < this.#maxRto) this.#backoff++;
  }

  /**
   * Call when the path changes: forgets every sample, as a new path has an
   * unknown RTT (RFC 6298 §2.1 state).
   */
  reset(): void {
    this.#srtt = undefined;
    this.#rttvar = undefined;
    this.#min = undefined;
    this.#latest = undefined;
    this.#backoff = 0;
  }
}
