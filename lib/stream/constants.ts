/**
 * Constants the reliable stream layer takes from its specifications: the RFC
 * values of the RTT estimator, loss detection, congestion control and
 * acknowledgement policy, and the stream values both peers must agree on.
 * They are not knobs. Tuning constants (minimum RTO, delayed-ACK time,
 * buffer sizes, pacing gains) live beside the code they tune.
 *
 * Times are in milliseconds, like the injected clock `now`.
 *
 * @module
 */

import {
  MAX_RELAYED_MESSAGE_SIZE,
  STREAM_DATA_HEADER_SIZE,
} from "../wire/mod.ts";

/**
 * The largest `STREAM_DATA` payload that still fits through a relay
 * (1163 − 12 = 1151 bytes): the default segment size, so that a stream
 * survives a switch from a direct to a relayed path without re-segmenting.
 */
export const DEFAULT_MAX_DATA_SIZE: number = MAX_RELAYED_MESSAGE_SIZE -
  STREAM_DATA_HEADER_SIZE;

/**
 * altnet stream rule: before its first `STREAM_ACK` arrives, a sender may send
 * bytes `[0, INITIAL_WINDOW)` of a stream, and every receiver accepts them.
 * (64 KiB, as TCP's largest unscaled window.) A receive buffer must be at
 * least this large.
 */
export const INITIAL_WINDOW = 65_536;

/** §1.2 `STREAM_ACK`: the window field is a 32-bit unsigned integer. */
export const MAX_WINDOW_FIELD = 0xffff_ffff;

/** RFC 6298 §2.1: the RTO before any RTT sample is 1 s. */
export const INITIAL_RTO_MS = 1_000;

/** RFC 6298 §2.5: a maximum RTO may be placed, at least 60 s. */
export const MAX_RTO_MS = 60_000;

/** RFC 6298 §2.3: alpha = 1/8, the SRTT gain. */
export const RTT_ALPHA = 1 / 8;

/** RFC 6298 §2.3: beta = 1/4, the RTTVAR gain. */
export const RTT_BETA = 1 / 4;

/** RFC 6298 §2: K = 4, the RTTVAR multiplier of the RTO. */
export const RTT_K = 4;

/**
 * RFC 6675 §2 DupThresh = 3: a segment is lost once three segments sent
 * after it were delivered (RFC 9002 §6.1.1 kPacketThreshold, the same rule
 * in transmission order).
 */
export const DUP_THRESH = 3;

/**
 * RFC 9002 §6.1.2 kTimeThreshold = 9/8: a segment is also lost once a
 * segment sent after it was delivered and it has been outstanding for 9/8 of
 * the larger of SRTT and the latest RTT.
 */
export const TIME_THRESHOLD = 9 / 8;

/** RFC 9438 §4.1.1: C = 0.4, the CUBIC scaling constant (segments/s³). */
export const CUBIC_C = 0.4;

/** RFC 9438 §4.1.1: beta_cubic = 0.7, the multiplicative decrease factor. */
export const CUBIC_BETA = 0.7;

/**
 * RFC 9438 §4.3: alpha_cubic = 3 × (1 − β) / (1 + β), the additive increase
 * (segments per RTT) that makes CUBIC as aggressive as Reno in the
 * Reno-friendly region.
 */
export const CUBIC_ALPHA: number = 3 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA);

/**
 * RFC 6928 §2: initial window = min(10 × MSS, max(2 × MSS, 14600)) bytes.
 *
 * @param mss The largest segment payload, in bytes.
 */
export function initialCongestionWindow(mss: number): number {
  return Math.min(10 * mss, Math.max(2 * mss, 14_600));
}

/** RFC 5681 §3.1 (and RFC 9438 §4.6): cwnd never drops below 2 × MSS after a loss. */
export const MIN_WINDOW_SEGMENTS = 2;

/** RFC 5681 §3.1: after a retransmission timeout cwnd is one segment (the loss window). */
export const LOSS_WINDOW_SEGMENTS = 1;

/** RFC 5681 §4.2: acknowledge at least every second full-sized segment. */
export const ACK_EVERY_SEGMENTS = 2;
