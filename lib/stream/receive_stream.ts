/**
 * The receiving half of a stream: reassembles `STREAM_DATA` that arrives in
 * any order, delivers it once and in order, enforces the advertised window
 * and the final size, and decides when to send a `STREAM_ACK`.
 *
 * Acknowledgement space. A FIN takes one position after the last byte, as
 * in TCP (RFC 9293 §3.4): `cumulative` reaches `finalSize + 1` only once every
 * byte and the FIN arrived, and a range may end at `finalSize + 1`, so the
 * sender learns that its FIN arrived without ambiguity. The window counts
 * from `cumulative`: the receiver accepts bytes below `cumulative + window`,
 * and that right edge never moves back.
 *
 * Ranges. At most {@linkcode MAX_ACK_RANGES} are reported. When there are
 * more, the receiver picks them by recency, as RFC 2018 §4 asks (the range
 * holding the latest segment first, then those holding the segments before
 * it), and fills the remaining places with the lowest ranges; they go on the
 * wire ascending, as §1.2 requires. A receiver never discards data it
 * reported (no reneging), so a sender may trust every range it ever saw.
 *
 * @module
 */

import {
  type AckRange,
  MAX_ACK_RANGES,
  MessageKind,
  type StreamAckMessage,
  type StreamDataMessage,
} from "../wire/mod.ts";
import {
  ACK_EVERY_SEGMENTS,
  INITIAL_WINDOW,
  MAX_WINDOW_FIELD,
} from "./constants.ts";
import { RangeSet } from "./range_set.ts";
import { AckTimer } from "./timers.ts";

/** Tuning: default receive buffer (the most a stream buffers), 4 MiB. */
export const DEFAULT_RECEIVE_BUFFER = 4 * 1024 * 1024;

/**
 * Tuning: after the application reads, an ACK goes out at once when the
 * right edge moved by this fraction of the buffer since last advertised, so
 * a sender stalled on a closed window resumes without waiting.
 */
export const WINDOW_UPDATE_FRACTION = 1 / 4;

/**
 * Tuning: after a loss sign or a window-limited round, this many segments
 * are acknowledged every second one even when `ackEverySegments` is larger.
 */
export const QUICK_ACK_SEGMENTS = 256;

/** How many recent arrivals are remembered to choose ACK ranges by recency. */
const RECENT_ARRIVALS = 2 * MAX_ACK_RANGES;

/** Options of {@linkcode ReceiveStream}. */
export interface ReceiveStreamOptions {
  /**
   * Most bytes buffered at once, in order or not, read or not. At least
   * `initialWindow`, at most 2^32 − 1. Defaults to
   * {@linkcode DEFAULT_RECEIVE_BUFFER}.
   */
  receiveBuffer?: number;
  /**
   * The window the peer assumes before our first ACK. Both peers must agree;
   * defaults to {@linkcode INITIAL_WINDOW}. Only tests change it.
   */
  initialWindow?: number;
  /**
   * Acknowledge in-order data at least every this many segments (RFC 5681
   * §4.2's 2 by default). A bulk receiver may ask for fewer ACKs: each one
   * costs both ends a sealed datagram. Out-of-order data, gap fills,
   * duplicates and FINs are still acknowledged at once, and the delayed-ACK
   * timer still bounds the wait. Whenever the path shows loss (a gap, a
   * duplicate) or the sender ran short of window (the delayed-ACK timer
   * fired with data unacknowledged), the next
   * {@linkcode QUICK_ACK_SEGMENTS} segments are acknowledged every second
   * one again: a sender whose window is smaller than the threshold would
   * otherwise wait for the timer every round trip.
   */
  ackEverySegments?: number;
}

/** Counters of the receiving half. */
export interface ReceiveStats {
  /** Bytes accepted for the first time. */
  bytesReceived: number;
  /** Bytes that arrived again, already held or delivered. */
  duplicateBytes: number;
  /** Messages refused: beyond the window, beyond or contradicting the FIN. */
  refusedMessages: number;
  /** Bytes in refused messages. */
  refusedBytes: number;
  /** `STREAM_ACK`s produced. */
  acksSent: number;
}

/**
 * The receiving half of a stream. Sans-I/O: feed it messages with
 * {@linkcode ReceiveStream.receive}, take ACKs from
 * {@linkcode ReceiveStream.pollAck}, and read with
 * {@linkcode ReceiveStream.read}.
 *
 * @example Usage
 * ```ts
 * import { MessageKind } from "../wire/mod.ts";
 * import { ReceiveStream } from "./receive_stream.ts";
 *
 * const rx = new ReceiveStream(7);
 * const data = new TextEncoder().encode("hi");
 * rx.receive({ kind: MessageKind.STREAM_DATA, streamId: 7, fin: true, offset: 0, data }, 0);
 * rx.read(); // the two bytes
 * rx.pollAck(0); // cumulative 3: both bytes and the FIN
 * ```
 */
export class ReceiveStream {
  /** The 16-bit stream id. */
  readonly streamId: number;
  readonly #limit: number;
  readonly #ackEvery: number;
  /** Bytes handed to the application. */
  #readOffset = 0;
  /** Every byte below this arrived; bytes [readOffset, cumulative) wait in #readable. */
  #cumulative = 0;
  #readable: Uint8Array[] = [];
  #readableHead = 0;
  /** Out-of-order bytes above #cumulative: offsets, and their bytes by start. */
  #received = new RangeSet();
  #pieces = new Map<number, Uint8Array>();
  #outOfOrderBytes = 0;
  #finalSize: number | undefined;
  #highestReceived = 0;
  /** Starts of recently arrived segments, newest last. */
  #recent: number[] = [];
  #ackNow = false;
  #unacked = 0;
  /** Segments taken so far, and below which count ACKs go every second one. */
  #segments = 0;
  #quickUntil = 0;
  #ackTimer = new AckTimer();
  #advertisedEdge: number;
  #stats: ReceiveStats = {
    bytesReceived: 0,
    duplicateBytes: 0,
    refusedMessages: 0,
    refusedBytes: 0,
    acksSent: 0,
  };

  /**
   * Makes the receiving half of stream `streamId`.
   *
   * @param streamId The 16-bit stream id.
   * @param options Buffer size and initial window.
   */
  constructor(streamId: number, options: ReceiveStreamOptions = {}) {
    checkStreamId(streamId);
    this.streamId = streamId;
    const initialWindow = options.initialWindow ?? INITIAL_WINDOW;
    this.#limit = options.receiveBuffer ?? DEFAULT_RECEIVE_BUFFER;
    if (
      !Number.isInteger(this.#limit) || this.#limit < initialWindow ||
      this.#limit > MAX_WINDOW_FIELD
    ) {
      throw new RangeError(
        `Cannot use a receive buffer outside [${initialWindow}, 2^32 − 1]: ${this.#limit}`,
      );
    }
    this.#advertisedEdge = initialWindow;
    this.#ackEvery = options.ackEverySegments ?? ACK_EVERY_SEGMENTS;
    if (!Number.isInteger(this.#ackEvery) || this.#ackEvery < 1) {
      throw new RangeError(
        `Cannot acknowledge every ${this.#ackEvery} segments: use a whole number from 1`,
      );
    }
  }

  /** The highest offset the peer may send up to: read bytes + buffer. */
  get #rightEdge(): number {
    return this.#readOffset + this.#limit;
  }

  /** Every byte below this offset has arrived. */
  get received(): number {
    return this.#cumulative;
  }

  /** Bytes handed to the application by {@linkcode read}. */
  get readOffset(): number {
    return this.#readOffset;
  }

  /** The stream's length, once a FIN arrived. */
  get finalSize(): number | undefined {
    return this.#finalSize;
  }

  /** Whether every byte up to the FIN arrived (some may be unread). */
  get isFinished(): boolean {
    return this.#finalSize !== undefined &&
      this.#cumulative === this.#finalSize;
  }

  /** Whether the application read every byte up to the FIN. */
  get isReadEnded(): boolean {
    return this.#finalSize !== undefined &&
      this.#readOffset === this.#finalSize;
  }

  /** Bytes held: in order but unread, plus out of order. */
  get bufferedBytes(): number {
    return this.#cumulative - this.#readOffset + this.#outOfOrderBytes;
  }

  /** A snapshot of the counters. */
  get stats(): ReceiveStats {
    return { ...this.#stats };
  }

  /** When a delayed ACK falls due, if one waits. */
  nextTimeout(): number | undefined {
    return this.#ackTimer.deadline;
  }

  /** Call when {@linkcode nextTimeout} passed: the delayed ACK becomes due. */
  onTimeout(now: number): void {
    if (this.#ackTimer.isDue(now)) {
      this.#ackNow = true;
      // The sender stopped short of the threshold: it is window-limited.
      if (this.#unacked > 0) {
        this.#quickUntil = this.#segments + QUICK_ACK_SEGMENTS;
      }
    }
  }

  /**
   * Takes one `STREAM_DATA` for this stream. Never throws on peer input:
   * bad data is refused and counted in {@linkcode stats}.
   *
   * @param message A decoded message whose `data` may be a view; it is copied.
   * @param now The current time, in milliseconds.
   */
  receive(message: StreamDataMessage, now: number): void {
    const start = message.offset;
    const length = message.data.length;
    const end = start + length;
    if (this.#refuses(message, end)) {
      this.#stats.refusedMessages++;
      this.#stats.refusedBytes += length;
      // Answer eventually, so that a confused peer learns our state, but
      // never at once: refused input must not buy immediate output.
      this.#ackTimer.onAckElicitingReceived(now);
      return;
    }
    let newFin = false;
    if (message.fin && this.#finalSize === undefined) {
      this.#finalSize = end;
      newFin = true;
      this.#remember(end);
    }
    if (end > this.#highestReceived) this.#highestReceived = end;
    if (length === 0 && !message.fin) {
      // A window probe: tell the sender where our window stands.
      this.#ackNow = true;
      return;
    }

    const cumulativeBefore = this.#cumulative;
    const hadGap = this.#pieces.size > 0;
    let fresh = 0;
    const from = Math.max(start, this.#cumulative);
    if (from < end) {
      for (const piece of this.#received.add(from, end)) {
        const bytes = message.data.slice(
          piece.start - start,
          piece.end - start,
        );
        this.#pieces.set(piece.start, bytes);
        this.#outOfOrderBytes += bytes.length;
        fresh += bytes.length;
      }
    }
    this.#stats.bytesReceived += fresh;
    this.#stats.duplicateBytes += length - fresh;
    if (fresh > 0) this.#remember(from);
    this.#deliverInOrder();

    // RFC 5681 §4.2: ACK at once a duplicate (our ACK may have been lost),
    // an out-of-order segment and one that fills a gap; otherwise at least
    // every second segment, or when the delayed-ACK timer fires.
    // (A segment with nothing new is a duplicate, or a repeated FIN.)
    this.#segments++;
    if (fresh === 0 || start > cumulativeBefore || hadGap || newFin) {
      this.#ackNow = true;
      if (!newFin) this.#quickUntil = this.#segments + QUICK_ACK_SEGMENTS;
    } else {
      this.#unacked++;
      const every = this.#segments < this.#quickUntil
        ? Math.min(ACK_EVERY_SEGMENTS, this.#ackEvery)
        : this.#ackEvery;
      if (this.#unacked >= every) this.#ackNow = true;
      else this.#ackTimer.onAckElicitingReceived(now);
    }
  }

  #refuses(message: StreamDataMessage, end: number): boolean {
    // Beyond the window: a hostile peer must not make us buffer more.
    if (end > this.#rightEdge) return true;
    if (this.#finalSize !== undefined) {
      // Beyond the FIN, or a second FIN elsewhere.
      return end > this.#finalSize || (message.fin && end !== this.#finalSize);
    }
    // A FIN below bytes already received.
    return message.fin && end < this.#highestReceived;
  }

  #remember(offset: number): void {
    this.#recent.push(offset);
    if (this.#recent.length > RECENT_ARRIVALS) this.#recent.shift();
  }

  #deliverInOrder(): void {
    let piece = this.#pieces.get(this.#cumulative);
    while (piece !== undefined) {
      this.#pieces.delete(this.#cumulative);
      this.#outOfOrderBytes -= piece.length;
      this.#readable.push(piece);
      this.#cumulative += piece.length;
      piece = this.#pieces.get(this.#cumulative);
    }
    this.#received.removeBelow(this.#cumulative);
  }

  /**
   * The next in-order bytes, or undefined when none wait. Reading frees
   * buffer space and so opens the window.
   */
  read(): Uint8Array | undefined {
    if (this.#readableHead >= this.#readable.length) return undefined;
    const chunk = this.#readable[this.#readableHead];
    this.#readable[this.#readableHead++] = EMPTY;
    if (
      this.#readableHead > 64 && this.#readableHead * 2 > this.#readable.length
    ) {
      this.#readable = this.#readable.slice(this.#readableHead);
      this.#readableHead = 0;
    }
    this.#readOffset += chunk.length;
    if (
      this.#finalSize === undefined &&
      this.#rightEdge - this.#advertisedEdge >=
        this.#limit * WINDOW_UPDATE_FRACTION
    ) {
      this.#ackNow = true;
    }
    return chunk;
  }

  /**
   * The ACK to send now, if one is due (immediately or by the delayed-ACK
   * timer); undefined otherwise.
   *
   * @param now The current time, in milliseconds.
   */
  pollAck(now: number): StreamAckMessage | undefined {
    if (!this.#ackNow && !this.#ackTimer.isDue(now)) return undefined;
    return this.makeAck();
  }

  /** Builds an ACK now, due or not, and counts it as sent. */
  makeAck(): StreamAckMessage {
    this.#ackNow = false;
    this.#unacked = 0;
    this.#ackTimer.onAckSent();
    this.#stats.acksSent++;
    const finArrived = this.#finalSize !== undefined;
    const cumulative = this.#cumulative +
      (finArrived && this.#cumulative === this.#finalSize ? 1 : 0);
    const edge = this.#rightEdge;
    this.#advertisedEdge = edge;
    const window = Math.min(MAX_WINDOW_FIELD, Math.max(0, edge - cumulative));
    return {
      kind: MessageKind.STREAM_ACK,
      streamId: this.streamId,
      cumulative,
      window,
      ranges: this.#chooseRanges(cumulative),
    };
  }

  #chooseRanges(cumulative: number): AckRange[] {
    const all = this.#received.ranges();
    // The FIN's position, when the FIN arrived above a gap.
    const fin = this.#finalSize;
    if (fin !== undefined && cumulative <= fin) {
      const last = all[all.length - 1];
      if (last !== undefined && last.end === fin) last.end = fin + 1;
      else all.push({ start: fin, end: fin + 1 });
    }
    if (all.length <= MAX_ACK_RANGES) return all;
    const chosen = new Set<number>();
    for (let i = this.#recent.length - 1; i >= 0; i--) {
      const index = indexContaining(all, this.#recent[i]);
      if (index >= 0) chosen.add(index);
      if (chosen.size === MAX_ACK_RANGES) break;
    }
    for (let i = 0; chosen.size < MAX_ACK_RANGES; i++) chosen.add(i);
    return [...chosen].sort((a, b) => a - b).map((i) => all[i]);
  }

  /**
   * Call when the path changed: ACK at once if anything arrived, so the
   * sender's fresh RTT estimate starts promptly.
   */
  onPathChange(): void {
    if (this.#cumulative > 0 || this.#pieces.size > 0) this.#ackNow = true;
  }
}

const EMPTY = new Uint8Array(0);

function indexContaining(ranges: AckRange[], offset: number): number {
  let lo = 0, hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ranges[mid].end <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo < ranges.length && ranges[lo].start <= offset ? lo : -1;
}

/** Throws unless `streamId` fits 16 bits. */
export function checkStreamId(streamId: number): void {
  if (!Number.isInteger(streamId) || streamId < 0 || streamId > 0xffff) {
    throw new RangeError(
      `Cannot use a stream id outside [0, 65535]: ${streamId}`,
    );
  }
}
