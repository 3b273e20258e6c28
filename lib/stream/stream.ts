/**
 * A bidirectional reliable stream: the sending and receiving halves of one
 * stream id, behind the sans-I/O interface the session driver uses.
 *
 * @module
 */

import {
  MessageKind,
  type StreamAckMessage,
  type StreamDataMessage,
} from "../wire/mod.ts";
import {
  type ReceiveStats,
  ReceiveStream,
  type ReceiveStreamOptions,
} from "./receive_stream.ts";
import {
  type SendStats,
  SendStream,
  type SendStreamOptions,
} from "./send_stream.ts";
import { earliest } from "./timers.ts";

/** Options of {@linkcode Stream}: those of both halves. */
export interface StreamOptions
  extends SendStreamOptions, ReceiveStreamOptions {}

/** Counters and estimates of both halves. */
export interface StreamStats extends SendStats, ReceiveStats {}

/**
 * One reliable, ordered, flow-controlled byte stream in each direction over
 * an unreliable datagram session. Sans-I/O: it never touches a socket or a
 * timer; every call that depends on time takes `now` in milliseconds.
 *
 * Driving it:
 * 1. hand every `STREAM_DATA` and `STREAM_ACK` of this stream id to
 *    {@linkcode Stream.receive};
 * 2. then send each message {@linkcode Stream.pollTransmit} returns, until it
 *    returns undefined;
 * 3. sleep until the earlier of the next datagram and
 *    {@linkcode Stream.nextTimeout}; at the timeout call
 *    {@linkcode Stream.onTimeout}, then go to 2.
 *
 * The application writes with {@linkcode Stream.write} (backpressure: it
 * returns how many bytes it took), ends with {@linkcode Stream.finish},
 * reads with {@linkcode Stream.read}, and learns delivery from
 * {@linkcode Stream.acknowledged}. After a write or a read, poll again.
 *
 * @example Usage
 * ```ts
 * import { Stream } from "./stream.ts";
 *
 * const alice = new Stream(1), bob = new Stream(1);
 * alice.write(new TextEncoder().encode("hello"));
 * alice.finish();
 * // A perfect link with no delay: hand each message straight over.
 * for (let now = 0; !alice.isSendFinished; now++) {
 *   for (let m = alice.pollTransmit(now); m; m = alice.pollTransmit(now)) {
 *     bob.receive(m, now);
 *   }
 *   for (let m = bob.pollTransmit(now); m; m = bob.pollTransmit(now)) {
 *     alice.receive(m, now);
 *   }
 *   alice.onTimeout(now);
 *   bob.onTimeout(now);
 * }
 * new TextDecoder().decode(bob.read()); // "hello"
 * ```
 */
export class Stream {
  /** The 16-bit stream id. */
  readonly streamId: number;
  /** The sending half. */
  readonly sender: SendStream;
  /** The receiving half. */
  readonly receiver: ReceiveStream;

  /**
   * Makes both halves of stream `streamId`.
   *
   * @param streamId The 16-bit stream id, the same at both peers.
   * @param options Options of both halves.
   */
  constructor(streamId: number, options: StreamOptions = {}) {
    this.sender = new SendStream(streamId, options);
    this.receiver = new ReceiveStream(streamId, options);
    this.streamId = streamId;
  }

  /**
   * Appends up to {@linkcode SendStream.writable} bytes; returns how many
   * were taken (fewer when the send buffer is full).
   */
  write(bytes: Uint8Array): number {
    return this.sender.write(bytes);
  }

  /** Ends our direction after the bytes written so far. */
  finish(): void {
    this.sender.finish();
  }

  /** The next in-order bytes from the peer, or undefined. */
  read(): Uint8Array | undefined {
    return this.receiver.read();
  }

  /** Every byte we wrote below this offset reached the peer. */
  get acknowledged(): number {
    return this.sender.acknowledged;
  }

  /** Our FIN and all our bytes were acknowledged. */
  get isSendFinished(): boolean {
    return this.sender.isFinished;
  }

  /** The peer's FIN and all its bytes arrived (some may be unread). */
  get isReceiveFinished(): boolean {
    return this.receiver.isFinished;
  }

  /**
   * Both directions are finished. Keep the stream a while longer (a few
   * RTOs) if the peer may still be retransmitting its FIN: our ACK of it may
   * have been lost.
   */
  get isFinished(): boolean {
    return this.sender.isFinished && this.receiver.isFinished;
  }

  /** A snapshot of both halves' counters and estimates. */
  get stats(): StreamStats {
    return { ...this.sender.stats, ...this.receiver.stats };
  }

  /**
   * Takes one message of this stream.
   *
   * @param message A decoded `STREAM_DATA` or `STREAM_ACK`.
   * @param now The current time, in milliseconds.
   * @throws {RangeError} If the message belongs to another stream.
   */
  receive(message: StreamDataMessage | StreamAckMessage, now: number): void {
    if (message.streamId !== this.streamId) {
      throw new RangeError(
        `Cannot take a message of another stream: stream id is ${message.streamId}, expected ${this.streamId}`,
      );
    }
    if (message.kind === MessageKind.STREAM_DATA) {
      this.receiver.receive(message, now);
    } else {
      this.sender.receive(message, now);
    }
  }

  /**
   * The next message to send, or undefined: an ACK of the receiving half
   * when one is due (ACKs are never held back by congestion control), else
   * a retransmission, new data, a FIN or a window probe.
   *
   * @param now The current time, in milliseconds.
   */
  pollTransmit(now: number): StreamDataMessage | StreamAckMessage | undefined {
    return this.receiver.pollAck(now) ?? this.sender.pollTransmit(now);
  }

  /** When {@linkcode onTimeout} should next be called, if at all. */
  nextTimeout(): number | undefined {
    return earliest(this.sender.nextTimeout(), this.receiver.nextTimeout());
  }

  /**
   * Call at or after {@linkcode nextTimeout}, then {@linkcode pollTransmit}.
   *
   * @param now The current time, in milliseconds.
   */
  onTimeout(now: number): void {
    this.sender.onTimeout(now);
    this.receiver.onTimeout(now);
  }

  /**
   * Call when the session's path changed (direct ↔ relayed, or the peer's
   * address moved): RTT and congestion state restart conservatively, data
   * in flight is resent on the new path unless acknowledged first, and an
   * ACK goes out at once. Nothing is lost.
   *
   * @param now The current time, in milliseconds.
   */
  onPathChange(now: number): void {
    this.sender.onPathChange(now);
    this.receiver.onPathChange();
  }
}
