/**
 * The sending half of a stream: segmentation, flow control, loss recovery,
 * the retransmission timer, congestion control and pacing.
 *
 * Loss detection (RFC 9002 §6.1, which is RACK's idea, on a sender-side
 * number). The sender numbers every transmission internally (a transmission
 * sequence number, "tsn", never sent). A segment in flight is lost once a
 * segment sent after it was delivered and either {@linkcode DUP_THRESH}
 * segments sent after it were delivered (RFC 6675's DupThresh, counted in
 * transmission order) or it has been outstanding for
 * {@linkcode TIME_THRESHOLD} × max(SRTT, latest RTT). So a lost
 * retransmission is detected like any other loss, and mild reordering does
 * not trigger the time rule. Only segments sent exactly once count as
 * evidence and give RTT samples, because an ACK cannot say which copy
 * arrived (Karn, RFC 6298 §3), except that a retransmitted segment
 * acknowledged at least min RTT after its latest copy counts as evidence
 * (RFC 8985 §6.2 step 2). There is no tail loss probe: a loss with
 * nothing delivered after it (a tail) is repaired by the retransmission
 * timer.
 *
 * Recovery. One congestion event per window: a loss of a segment sent before
 * the last event does not reduce the window again (RFC 6675 §5's
 * RecoveryPoint, RFC 9002 §7.3.2), and ACKs of such segments do not grow it.
 * Lost segments go out again before new data, lowest offset first, as the
 * window allows (RFC 6675 §4 NextSeg); SACKed segments are never resent.
 *
 * Timeout (RFC 6298 §5). On expiry the RTO doubles, every segment in flight
 * is presumed lost (RFC 6675 §5.1: SACKed data stays acknowledged), and
 * the window drops to one segment.
 *
 * @module
 */

import {
  MAX_MESSAGE_SIZE,
  MAX_STREAM_OFFSET,
  MessageKind,
  STREAM_DATA_HEADER_SIZE,
  type StreamAckMessage,
  type StreamDataMessage,
} from "../wire/mod.ts";
import {
  type CongestionController,
  type CongestionControllerFactory,
  cubic,
} from "./congestion.ts";
import {
  DEFAULT_MAX_DATA_SIZE,
  DUP_THRESH,
  INITIAL_WINDOW,
  MAX_RTO_MS,
  TIME_THRESHOLD,
} from "./constants.ts";
import { Pacer } from "./pacer.ts";
import { RangeSet } from "./range_set.ts";
import { checkStreamId } from "./receive_stream.ts";
import {
  CLOCK_GRANULARITY_MS,
  RttEstimator,
  type RttEstimatorOptions,
} from "./rtt.ts";
import { SendBuffer } from "./send_buffer.ts";
import { SendTimers } from "./timers.ts";

/** Tuning: default send buffer (written, not yet acknowledged), 4 MiB. */
export const DEFAULT_SEND_BUFFER = 4 * 1024 * 1024;

/** Options of {@linkcode SendStream}. */
export interface SendStreamOptions {
  /**
   * Largest payload per `STREAM_DATA`, at most 1202 − 12 = 1190. Defaults to
   * {@linkcode DEFAULT_MAX_DATA_SIZE} (1151), which fits through a relay.
   */
  maxDataSize?: number;
  /** Most bytes written and not yet acknowledged. Defaults to 4 MiB. */
  sendBuffer?: number;
  /**
   * The peer's window before its first ACK. Both peers must agree; defaults
   * to {@linkcode INITIAL_WINDOW}. Only tests change it.
   */
  initialWindow?: number;
  /** Makes the congestion controller. Defaults to CUBIC. */
  congestionControl?: CongestionControllerFactory;
  /** RTO bounds; see {@linkcode RttEstimatorOptions}. */
  rtt?: RttEstimatorOptions;
  /** Whether to pace segments. Defaults to true. */
  pacing?: boolean;
}

/** Counters and estimates of the sending half. */
export interface SendStats {
  /** SRTT in milliseconds, or undefined before the first sample. */
  srtt: number | undefined;
  /** RTTVAR in milliseconds, or undefined before the first sample. */
  rttvar: number | undefined;
  /** Smallest RTT sample since the last path change, or undefined. */
  minRtt: number | undefined;
  /** Current RTO in milliseconds, backoff included. */
  rto: number;
  /** Congestion window in bytes. */
  cwnd: number;
  /** Slow-start threshold in bytes (`Infinity` before the first loss). */
  ssthresh: number;
  /** Bytes sent and neither acknowledged nor deemed lost. */
  bytesInFlight: number;
  /** Segments sent again. */
  retransmits: number;
  /** Segments deemed lost (by the SACK rule or a timeout). */
  lostPackets: number;
  /** Times the retransmission timer expired. */
  timeouts: number;
  /** Window reductions from detected loss. */
  congestionEvents: number;
  /** `STREAM_DATA` messages sent, first copies and retransmissions. */
  segmentsSent: number;
  /** Payload bytes sent, first copies and retransmissions. */
  bytesSent: number;
  /** Zero-length window probes sent. */
  windowProbes: number;
  /** ACKs ignored for acknowledging bytes never sent. */
  invalidAcks: number;
  /** Every offset below this may be sent as far as the peer's window goes. */
  peerWindowEnd: number;
}

const IN_FLIGHT = 0;
const LOST = 1;
const ACKED = 2;

/** A run of bytes sent as one `STREAM_DATA`; its bounds never change. */
interface Segment {
  readonly start: number;
  readonly end: number;
  readonly fin: boolean;
  /** Transmission number of the latest copy. */
  tsn: number;
  /** When the latest copy was sent. */
  sentAt: number;
  /** Sent more than once, or before a path change: no RTT sample (Karn). */
  ambiguous: boolean;
  state: typeof IN_FLIGHT | typeof LOST | typeof ACKED;
}

/** One past the segment's last position in acknowledgement space. */
function ackEnd(segment: Segment): number {
  return segment.end + (segment.fin ? 1 : 0);
}

/**
 * The sending half of a stream. Sans-I/O: the application calls
 * {@linkcode SendStream.write} and {@linkcode SendStream.finish}; the driver
 * feeds ACKs to {@linkcode SendStream.receive}, sends whatever
 * {@linkcode SendStream.pollTransmit} returns until it returns undefined, and
 * calls {@linkcode SendStream.onTimeout} at {@linkcode SendStream.nextTimeout}.
 *
 * @example Usage
 * ```ts
 * import { SendStream } from "./send_stream.ts";
 *
 * const tx = new SendStream(7);
 * tx.write(new TextEncoder().encode("hello"));
 * tx.finish();
 * const message = tx.pollTransmit(0); // offset 0, 5 bytes, fin
 * ```
 */
export class SendStream {
  /** The 16-bit stream id. */
  readonly streamId: number;
  readonly #mss: number;
  readonly #bufferLimit: number;
  readonly #pacingEnabled: boolean;
  readonly #buffer = new SendBuffer();
  readonly #rtt: RttEstimator;
  readonly #cc: CongestionController;
  readonly #pacer: Pacer;
  readonly #timers = new SendTimers();

  #finRequested = false;
  /** Next byte never sent. */
  #nextOffset = 0;
  #finSent = false;
  /** Every position below this is acknowledged (acknowledgement space). */
  #ackCumulative = 0;
  /** Positions above #ackCumulative that some ACK reported. */
  #sacked = new RangeSet();
  /** The peer accepts bytes below this offset. */
  #peerEdge: number;

  /** Segments by offset; those before #segmentsHead are acknowledged. */
  #segments: Segment[] = [];
  #segmentsHead = 0;
  /** Transmissions in tsn order (stale entries skipped lazily). */
  #flight: Segment[] = [];
  #flightTsn: number[] = [];
  #flightHead = 0;
  /** Lost segments awaiting retransmission, by offset (stale skipped). */
  #lost: Segment[] = [];
  #lostHead = 0;

  #nextTsn = 0;
  /** The three highest tsns delivered on first transmission, highest first. */
  #delivered = [-1, -1, -1];
  /** Segments with a tsn below this were sent before the last window cut. */
  #recoveryTsn = 0;
  #bytesInFlight = 0;
  /** Segments sent and not acknowledged (in flight or lost). */
  #outstanding = 0;
  #consecutiveTimeouts = 0;
  /** Last time the window or the pacer held back a segment. */
  #lastBlockedAt = -Infinity;
  #probeDue = false;
  /** A path change happened and the new path has no RTT sample yet. */
  #measuringPath = false;
  #persistBackoff = 0;

  #retransmits = 0;
  #lostPackets = 0;
  #timeouts = 0;
  #congestionEvents = 0;
  #segmentsSent = 0;
  #bytesSent = 0;
  #windowProbes = 0;
  #invalidAcks = 0;

  /**
   * Makes the sending half of stream `streamId`.
   *
   * @param streamId The 16-bit stream id.
   * @param options Segment size, buffer, congestion control, pacing.
   */
  constructor(streamId: number, options: SendStreamOptions = {}) {
    checkStreamId(streamId);
    this.streamId = streamId;
    this.#mss = options.maxDataSize ?? DEFAULT_MAX_DATA_SIZE;
    const maxPayload = MAX_MESSAGE_SIZE - STREAM_DATA_HEADER_SIZE;
    if (
      !Number.isInteger(this.#mss) || this.#mss < 1 || this.#mss > maxPayload
    ) {
      throw new RangeError(
        `Cannot use a data size outside [1, ${maxPayload}]: ${this.#mss}`,
      );
    }
    this.#bufferLimit = options.sendBuffer ?? DEFAULT_SEND_BUFFER;
    if (!(this.#bufferLimit >= 1)) {
      throw new RangeError(
        `Cannot use a send buffer smaller than 1 byte: ${this.#bufferLimit}`,
      );
    }
    this.#peerEdge = options.initialWindow ?? INITIAL_WINDOW;
    this.#pacingEnabled = options.pacing ?? true;
    this.#rtt = new RttEstimator(options.rtt);
    this.#cc = (options.congestionControl ?? cubic)(this.#mss);
    this.#pacer = new Pacer(this.#mss);
  }

  /** Bytes the application wrote so far (the final size once finished). */
  get written(): number {
    return this.#buffer.end;
  }

  /**
   * Every byte below this offset is acknowledged: the application's delivery
   * receipt (a message written at offsets `[a, b)` arrived once this is ≥ b).
   */
  get acknowledged(): number {
    return Math.min(this.#ackCumulative, this.#buffer.end);
  }

  /** Bytes {@linkcode write} would accept now. */
  get writable(): number {
    if (this.#finRequested) return 0;
    return Math.max(0, this.#bufferLimit - this.#buffer.size);
  }

  /** Whether {@linkcode finish} was called. */
  get isFinishing(): boolean {
    return this.#finRequested;
  }

  /** Whether the FIN and every byte before it were acknowledged. */
  get isFinished(): boolean {
    return this.#finSent && this.#ackCumulative > this.#buffer.end;
  }

  /** The congestion controller, for inspection. */
  get congestionController(): CongestionController {
    return this.#cc;
  }

  /** A snapshot of the counters and estimates. */
  get stats(): SendStats {
    return {
      srtt: this.#rtt.smoothed,
      rttvar: this.#rtt.variation,
      minRtt: this.#rtt.min,
      rto: this.#rtt.rto,
      cwnd: this.#cc.window,
      ssthresh: this.#cc.slowStartThreshold,
      bytesInFlight: this.#bytesInFlight,
      retransmits: this.#retransmits,
      lostPackets: this.#lostPackets,
      timeouts: this.#timeouts,
      congestionEvents: this.#congestionEvents,
      segmentsSent: this.#segmentsSent,
      bytesSent: this.#bytesSent,
      windowProbes: this.#windowProbes,
      invalidAcks: this.#invalidAcks,
      peerWindowEnd: this.#peerEdge,
    };
  }

  /**
   * Accepts up to {@linkcode writable} bytes of `bytes` (copied) and returns
   * how many; fewer than given means the send buffer is full (backpressure):
   * write the rest once ACKs freed space.
   *
   * @param bytes The bytes to append to the stream.
   */
  write(bytes: Uint8Array): number {
    if (this.#finRequested) {
      throw new TypeError("Cannot write to a stream after finish()");
    }
    const n = Math.min(bytes.length, this.writable);
    if (n <= 0) return 0;
    if (this.#buffer.end + n >= MAX_STREAM_OFFSET) {
      throw new RangeError(
        `Cannot write beyond stream offset 2^53 − 2: ${this.#buffer.end + n}`,
      );
    }
    this.#buffer.append(n === bytes.length ? bytes : bytes.subarray(0, n));
    return n;
  }

  /** Ends the stream after the bytes written so far (sends a FIN). */
  finish(): void {
    this.#finRequested = true;
  }

  /** When {@linkcode onTimeout} should next be called, if at all. */
  nextTimeout(): number | undefined {
    return this.#timers.next();
  }

  /**
   * Call at or after {@linkcode nextTimeout}: runs the expired timers. Then
   * call {@linkcode pollTransmit} again.
   *
   * @param now The current time, in milliseconds.
   */
  onTimeout(now: number): void {
    const t = this.#timers;
    if (t.pacing !== undefined && t.pacing <= now) t.onPacingCleared();
    if (t.loss !== undefined && t.loss <= now) this.#detectLosses(now);
    if (t.persist !== undefined && t.persist <= now) {
      t.onWindowOpened();
      this.#probeDue = true;
    }
    if (t.retransmission !== undefined && t.retransmission <= now) {
      this.#onRetransmissionTimeout(now);
    }
  }

  /**
   * The next `STREAM_DATA` to send (a retransmission, new data, a FIN or a
   * window probe), or undefined when nothing may go now: nothing to send,
   * the peer's window is full, the congestion window is full (an ACK will
   * open it), or the pacer holds it back ({@linkcode nextTimeout} says
   * until when). The `data` is a view that is never modified.
   *
   * @param now The current time, in milliseconds.
   */
  pollTransmit(now: number): StreamDataMessage | undefined {
    if (this.#probeDue) {
      // RFC 9293 §3.8.6.1: a zero-window probe, here with no data: any
      // STREAM_DATA makes the receiver ACK, and the ACK carries its window.
      this.#probeDue = false;
      this.#persistBackoff++;
      this.#windowProbes++;
      return this.#message(this.#nextOffset, EMPTY, false);
    }
    // Until the new path has an RTT sample, new data (sent once, so it can
    // be measured) goes before the resends of what the old path carried.
    const newDataFirst = this.#measuringPath && this.#nextOffset <
        Math.min(this.#buffer.end, this.#peerEdge);
    const lost = newDataFirst ? undefined : this.#nextLost();
    let size: number;
    if (lost !== undefined) {
      size = lost.end - lost.start;
    } else {
      const limit = Math.min(this.#buffer.end, this.#peerEdge);
      const available = limit - this.#nextOffset;
      const finPending = this.#finRequested && !this.#finSent &&
        this.#nextOffset === this.#buffer.end;
      if (available > 0) {
        size = Math.min(this.#mss, available);
      } else if (finPending) {
        size = 0;
      } else {
        if (this.#nextOffset < this.#buffer.end && this.#outstanding === 0) {
          // Blocked by the peer's window with nothing outstanding: if its
          // window update was lost only a probe will bring another.
          this.#timers.onWindowBlocked(now, this.#persistTimeout());
        }
        this.#timers.onPacingCleared();
        return undefined;
      }
    }

    if (
      size > 0 && this.#bytesInFlight > 0 &&
      this.#bytesInFlight + size > this.#cc.window
    ) {
      this.#lastBlockedAt = now;
      this.#timers.onPacingCleared();
      return undefined;
    }
    if (this.#pacingEnabled && size > 0) {
      const at = this.#pacer.sendTime(size, now, {
        window: this.#cc.window,
        srtt: this.#rtt.smoothed,
        gain: this.#cc.pacingGain,
      });
      if (at > now) {
        this.#lastBlockedAt = now;
        this.#timers.onPacingDelay(at);
        return undefined;
      }
    }

    let segment: Segment;
    if (lost !== undefined) {
      segment = lost;
      this.#lostHead++;
      segment.ambiguous = true;
      this.#retransmits++;
    } else {
      const start = this.#nextOffset;
      const end = start + size;
      segment = {
        start,
        end,
        fin: this.#finRequested && end === this.#buffer.end,
        tsn: 0,
        sentAt: now,
        ambiguous: false,
        state: IN_FLIGHT,
      };
      this.#segments.push(segment);
      this.#nextOffset = end;
      if (segment.fin) this.#finSent = true;
      this.#outstanding++;
    }
    segment.state = IN_FLIGHT;
    segment.tsn = this.#nextTsn++;
    segment.sentAt = now;
    this.#flight.push(segment);
    this.#flightTsn.push(segment.tsn);
    this.#bytesInFlight += size;
    this.#segmentsSent++;
    this.#bytesSent += size;
    if (size > 0) this.#pacer.onSent(size, now);
    this.#timers.onSegmentSent(now, this.#rtt.rto);
    this.#timers.onWindowOpened();
    return this.#message(
      segment.start,
      this.#buffer.slice(segment.start, segment.end),
      segment.fin,
    );
  }

  #message(offset: number, data: Uint8Array, fin: boolean): StreamDataMessage {
    return {
      kind: MessageKind.STREAM_DATA,
      streamId: this.streamId,
      fin,
      offset,
      data,
    };
  }

  #persistTimeout(): number {
    return Math.min(MAX_RTO_MS, this.#rtt.rto * 2 ** this.#persistBackoff);
  }

  #nextLost(): Segment | undefined {
    while (this.#lostHead < this.#lost.length) {
      const segment = this.#lost[this.#lostHead];
      if (segment.state === LOST) return segment;
      this.#lostHead++;
    }
    if (this.#lostHead > 0) {
      this.#lost = [];
      this.#lostHead = 0;
    }
    return undefined;
  }

  /**
   * Takes one `STREAM_ACK` for this stream. Never throws on peer input: an
   * ACK for bytes never sent is ignored and counted.
   *
   * @param message A decoded `STREAM_ACK`.
   * @param now The current time, in milliseconds.
   */
  receive(message: StreamAckMessage, now: number): void {
    const sentEnd = this.#nextOffset + (this.#finSent ? 1 : 0);
    const ranges = message.ranges;
    if (
      message.cumulative > sentEnd ||
      (ranges.length > 0 && ranges[ranges.length - 1].end > sentEnd)
    ) {
      this.#invalidAcks++;
      return;
    }
    // The right edge only grows; an ACK that arrives late says less.
    const edge = message.cumulative + message.window;
    if (edge > this.#peerEdge) {
      this.#peerEdge = edge;
      this.#persistBackoff = 0;
      this.#timers.onWindowOpened();
    }

    const acked: AckedSummary = {
      now,
      any: false,
      growth: 0,
      newest: undefined,
    };
    if (message.cumulative > this.#ackCumulative) {
      this.#ackCumulative = message.cumulative;
      const segments = this.#segments;
      while (
        this.#segmentsHead < segments.length &&
        ackEnd(segments[this.#segmentsHead]) <= this.#ackCumulative
      ) {
        this.#markAcked(segments[this.#segmentsHead], acked);
        this.#segmentsHead++;
      }
      this.#sacked.removeBelow(this.#ackCumulative);
      // A peer that acknowledges part of a segment cumulatively (ours never
      // do) may still cover the rest with a range.
      const straddling = segments[this.#segmentsHead];
      if (straddling !== undefined && this.#isAcknowledged(straddling)) {
        this.#markAcked(straddling, acked);
      }
      if (
        this.#segmentsHead > 1024 && this.#segmentsHead * 2 > segments.length
      ) {
        this.#segments = segments.slice(this.#segmentsHead);
        this.#segmentsHead = 0;
      }
      // Keep whole segments: a peer that acknowledged part of one may still
      // need it resent.
      this.#buffer.releaseBelow(
        Math.min(
          this.acknowledged,
          this.#segments[this.#segmentsHead]?.start ?? Infinity,
        ),
      );
      this.#consecutiveTimeouts = 0;
    }
    for (const range of ranges) {
      const start = Math.max(range.start, this.#ackCumulative);
      if (start >= range.end) continue;
      for (const piece of this.#sacked.add(start, range.end)) {
        this.#markCovered(piece.start, piece.end, acked);
      }
    }
    if (!acked.any) return;

    if (acked.newest !== undefined && !acked.newest.ambiguous) {
      // Karn (RFC 6298 §3), and RFC 9002 §5.1: sample only when the newest
      // segment this ACK covers was sent once. An ACK prompted by a
      // retransmission may also cover older segments sent once whose own
      // ACKs were lost; timing those would measure the loss, not the path.
      this.#rtt.onSample(now - acked.newest.sentAt);
      this.#measuringPath = false;
    }
    if (acked.growth > 0 && this.#wasWindowLimited(now)) {
      this.#cc.onAcknowledged(acked.growth, now, this.#rtt);
    }
    this.#detectLosses(now);
    // RFC 6298 §5.2–5.3 (with SACKed bytes counting as new data).
    if (this.#outstanding > 0) {
      this.#timers.onNewDataAcknowledged(now, this.#rtt.rto);
    } else {
      this.#timers.onAllAcknowledged();
    }
  }

  /** Marks every segment inside `[start, end)` that is now fully acknowledged. */
  #markCovered(start: number, end: number, acked: AckedSummary): void {
    const segments = this.#segments;
    // Last segment starting at or before `start`.
    let lo = this.#segmentsHead, hi = segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (segments[mid].start <= start) lo = mid;
      else hi = mid - 1;
    }
    for (let i = lo; i < segments.length && segments[i].start < end; i++) {
      const segment = segments[i];
      if (segment.state !== ACKED && this.#isAcknowledged(segment)) {
        this.#markAcked(segment, acked);
      }
    }
  }

  /** Whether every position of `segment` is below the cumulative point or SACKed. */
  #isAcknowledged(segment: Segment): boolean {
    const end = ackEnd(segment);
    return end <= this.#ackCumulative ||
      this.#sacked.covers(Math.max(segment.start, this.#ackCumulative), end);
  }

  #markAcked(segment: Segment, acked: AckedSummary): void {
    if (segment.state === ACKED) return;
    const size = segment.end - segment.start;
    if (segment.state === IN_FLIGHT) this.#bytesInFlight -= size;
    segment.state = ACKED;
    this.#outstanding--;
    acked.any = true;
    // RFC 9002 §7.3.2: ACKs of segments sent before the last window cut do
    // not grow the window.
    if (segment.tsn >= this.#recoveryTsn) acked.growth += size;
    if (acked.newest === undefined || segment.tsn > acked.newest.tsn) {
      acked.newest = segment;
    }
    if (!segment.ambiguous) {
      this.#noteDelivered(segment.tsn);
    } else if (
      this.#rtt.min !== undefined && acked.now - segment.sentAt >= this.#rtt.min
    ) {
      // RFC 8985 §6.2 step 2: an ACK no sooner than min RTT after the
      // latest copy plausibly acknowledges that copy, so it is evidence for
      // loss detection (never an RTT sample). Without this, after a timeout
      // (when everything is a retransmission) only timeouts would find loss.
      this.#noteDelivered(segment.tsn);
    }
  }

  #noteDelivered(tsn: number): void {
    const d = this.#delivered;
    if (tsn > d[0]) {
      d[2] = d[1];
      d[1] = d[0];
      d[0] = tsn;
    } else if (tsn > d[1] && tsn !== d[0]) {
      d[2] = d[1];
      d[1] = tsn;
    } else if (tsn > d[2] && tsn !== d[1] && tsn !== d[0]) {
      d[2] = tsn;
    }
  }

  /** Whether the window or the pacer held data back within the last RTT. */
  #wasWindowLimited(now: number): boolean {
    return now - this.#lastBlockedAt <= (this.#rtt.smoothed ?? 0);
  }

  #detectLosses(now: number): void {
    const largest = this.#delivered[0];
    if (largest < 0) {
      this.#timers.onLossDetection(undefined);
      return;
    }
    // DupThresh segments sent later were delivered: every transmission
    // before the DupThresh-th highest delivered tsn is lost.
    const packetThreshold = this.#delivered[DUP_THRESH - 1];
    const srtt = this.#rtt.smoothed, latest = this.#rtt.latest;
    // RFC 9002 §6.1.2: 9/8 × max(SRTT, latest RTT), at least the granularity.
    const lossDelay = srtt === undefined || latest === undefined
      ? Infinity
      : Math.max(TIME_THRESHOLD * Math.max(srtt, latest), CLOCK_GRANULARITY_MS);
    let lossTime: number | undefined;
    // Both rules hold for a prefix of the transmissions in tsn order (tsn
    // and send time grow together), so the scan stops at the first survivor.
    while (this.#flightHead < this.#flight.length) {
      const segment = this.#flight[this.#flightHead];
      const tsn = this.#flightTsn[this.#flightHead];
      if (segment.tsn === tsn && segment.state === IN_FLIGHT) {
        if (tsn >= largest) break;
        if (tsn >= packetThreshold && segment.sentAt + lossDelay > now) {
          if (lossDelay !== Infinity) lossTime = segment.sentAt + lossDelay;
          break;
        }
        this.#markLost(segment);
        this.#lostPackets++;
        if (tsn >= this.#recoveryTsn) {
          this.#cc.onCongestionEvent(now);
          this.#congestionEvents++;
          this.#recoveryTsn = this.#nextTsn;
        }
      }
      this.#flightHead++;
    }
    this.#compactFlight();
    this.#timers.onLossDetection(lossTime);
  }

  #markLost(segment: Segment): void {
    this.#bytesInFlight -= segment.end - segment.start;
    segment.state = LOST;
    // Insert by offset so the lowest goes out first.
    let lo = this.#lostHead, hi = this.#lost.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#lost[mid].start < segment.start) lo = mid + 1;
      else hi = mid;
    }
    this.#lost.splice(lo, 0, segment);
  }

  /** Marks every segment in flight lost; returns how many. */
  #presumeAllLost(ambiguous: boolean): number {
    let count = 0;
    for (let i = this.#flightHead; i < this.#flight.length; i++) {
      const segment = this.#flight[i];
      if (segment.tsn === this.#flightTsn[i] && segment.state === IN_FLIGHT) {
        this.#markLost(segment);
        count++;
      }
    }
    if (ambiguous) {
      for (let i = this.#lostHead; i < this.#lost.length; i++) {
        this.#lost[i].ambiguous = true;
      }
    }
    this.#flight = [];
    this.#flightTsn = [];
    this.#flightHead = 0;
    this.#timers.onLossDetection(undefined);
    return count;
  }

  #compactFlight(): void {
    if (this.#flightHead > 1024 && this.#flightHead * 2 > this.#flight.length) {
      this.#flight = this.#flight.slice(this.#flightHead);
      this.#flightTsn = this.#flightTsn.slice(this.#flightHead);
      this.#flightHead = 0;
    }
  }

  #onRetransmissionTimeout(now: number): void {
    if (this.#outstanding === 0) {
      this.#timers.onAllAcknowledged();
      return;
    }
    this.#timeouts++;
    // RFC 6298 §5.5: back off; Karn keeps the backed-off RTO until a
    // segment sent once is acknowledged.
    this.#rtt.onRetransmissionTimeout();
    // RFC 6675 §5.1: after a timeout resend everything not SACKed.
    this.#lostPackets += this.#presumeAllLost(false);
    this.#cc.onRetransmissionTimeout(now, this.#consecutiveTimeouts === 0);
    this.#consecutiveTimeouts++;
    this.#recoveryTsn = this.#nextTsn;
    // RFC 6298 §5.6: restart the timer with the new RTO.
    this.#timers.onRetransmissionTimeout(now, this.#rtt.rto);
  }

  /**
   * Call when the path to the peer changed (direct ↔ relayed, new address):
   * the RTT and the capacity are unknown again, so the RTT estimate and the
   * congestion controller restart from their initial state, and the segments
   * in flight are resent on the new path unless an ACK arrives for them
   * first. Nothing written is lost. Segments sent before the change give no
   * RTT samples (an ACK cannot say which path carried the copy it
   * acknowledges), so until the new path gave one, unsent data goes out
   * before those resends: it measures the new path within a round trip.
   *
   * @param now The current time, in milliseconds.
   */
  onPathChange(now: number): void {
    this.#rtt.reset();
    this.#cc.onPathChange(now);
    this.#pacer.reset();
    this.#presumeAllLost(true);
    this.#recoveryTsn = this.#nextTsn;
    this.#consecutiveTimeouts = 0;
    this.#persistBackoff = 0;
    this.#lastBlockedAt = -Infinity;
    this.#measuringPath = true;
    this.#timers.onPathChange(now, this.#rtt.rto);
  }
}

interface AckedSummary {
  now: number;
  any: boolean;
  /** Bytes acknowledged that were sent after the last window cut. */
  growth: number;
  /** The newly acknowledged segment with the highest tsn. */
  newest: Segment | undefined;
}

const EMPTY = new Uint8Array(0);
