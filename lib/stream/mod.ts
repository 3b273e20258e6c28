/**
 * Reliable, ordered, flow-controlled byte streams over an altnet session
 * (docs/PROTOCOL.md §1.2 `STREAM_DATA` and `STREAM_ACK`), sans-I/O.
 *
 * - {@linkcode Stream} joins a {@linkcode SendStream} and a
 *   {@linkcode ReceiveStream} under one stream id: `receive(message, now)`,
 *   `pollTransmit(now)`, `nextTimeout()`, `onTimeout(now)`,
 *   `onPathChange(now)`.
 * - Loss recovery: SACK scoreboard; a segment is lost once a later-sent one
 *   was delivered and either three later-sent ones were (RFC 6675 DupThresh)
 *   or 9/8 RTT passed (RFC 9002 §6.1); RFC 6298 retransmission timer (200 ms
 *   floor, exponential backoff) with Karn's algorithm.
 * - Acknowledgements: cumulative + up to 16 ranges chosen by recency,
 *   ascending on the wire; ACK every second segment or after 25 ms, at once
 *   on reordering, gap fill or duplicates. The FIN takes one position.
 * - Congestion control: CUBIC (RFC 9438) behind
 *   {@linkcode CongestionController}, paced at 2× (slow start) or 1.25×
 *   cwnd/SRTT.
 *
 * @example Usage
 * ```ts
 * import { Stream } from "./mod.ts";
 *
 * const stream = new Stream(1);
 * stream.write(new TextEncoder().encode("hello"));
 * const message = stream.pollTransmit(performance.now()); // STREAM_DATA
 * ```
 *
 * @module
 */

// The wire types this API takes and returns, for convenience.
export {
  type AckRange,
  MessageKind,
  type StreamAckMessage,
  type StreamDataMessage,
} from "../wire/mod.ts";
export * from "./constants.ts";
export {
  CONGESTION_AVOIDANCE_PACING_GAIN,
  type CongestionController,
  type CongestionControllerFactory,
  Cubic,
  cubic,
  SLOW_START_PACING_GAIN,
} from "./congestion.ts";
export {
  MAX_BURST_SEGMENTS,
  MIN_BURST_SEGMENTS,
  Pacer,
  PACING_BURST_MS,
} from "./pacer.ts";
export { RangeSet } from "./range_set.ts";
export {
  DEFAULT_RECEIVE_BUFFER,
  QUICK_ACK_SEGMENTS,
  type ReceiveStats,
  ReceiveStream,
  type ReceiveStreamOptions,
  WINDOW_UPDATE_FRACTION,
} from "./receive_stream.ts";
export {
  CLOCK_GRANULARITY_MS,
  DEFAULT_MIN_RTO_MS,
  RttEstimator,
  type RttEstimatorOptions,
  type RttView,
} from "./rtt.ts";
export { SendBuffer } from "./send_buffer.ts";
export {
  DEFAULT_SEND_BUFFER,
  type SendStats,
  SendStream,
  type SendStreamOptions,
} from "./send_stream.ts";
export { Stream, type StreamOptions, type StreamStats } from "./stream.ts";
export { AckTimer, DELAYED_ACK_MS, SendTimers } from "./timers.ts";
