/**
 * The streams of one connection: a {@linkcode StreamMux} over the reliable
 * {@linkcode Stream}s of `lib/stream`, created on first use on either side.
 *
 * @module
 */

import { Stream, type StreamOptions } from "../stream/mod.ts";
import type {
  Message,
  StreamAckMessage,
  StreamDataMessage,
} from "../wire/mod.ts";
import type { StreamMux } from "./peer_connection.ts";

/** How many streams a peer may open on one connection. */
export const MAX_STREAMS = 64;

/** Streams by id, multiplexed over one connection. */
export class StreamSet implements StreamMux {
  readonly #streams = new Map<number, Stream>();
  readonly #options: StreamOptions;
  /** Messages for streams beyond {@linkcode MAX_STREAMS}, dropped. */
  refused = 0;
  #next = 0;

  constructor(options: StreamOptions = {}) {
    this.#options = options;
  }

  /** The stream with this id, created if new. */
  get(streamId: number): Stream {
    let stream = this.#streams.get(streamId);
    if (!stream) {
      stream = new Stream(streamId, this.#options);
      this.#streams.set(streamId, stream);
    }
    return stream;
  }

  /**
   * Every stream of the connection, in creation order: how an application
   * finds the streams its peer opened (file transfers, say).
   */
  streams(): IterableIterator<Stream> {
    return this.#streams.values();
  }

  receive(message: StreamDataMessage | StreamAckMessage, now: number): void {
    if (
      !this.#streams.has(message.streamId) &&
      this.#streams.size >= MAX_STREAMS
    ) {
      this.refused++;
      return;
    }
    this.get(message.streamId).receive(message, now);
  }

  pollTransmit(now: number): Message | undefined {
    // Round-robin so one bulk stream cannot starve the others.
    const streams = [...this.#streams.values()];
    for (let i = 0; i < streams.length; i++) {
      const stream = streams[(this.#next + i) % streams.length];
      const message = stream.pollTransmit(now);
      if (message) {
        this.#next = (this.#next + i + 1) % streams.length;
        return message;
      }
    }
    return undefined;
  }

  nextTimeout(): number | undefined {
    let earliest: number | undefined;
    for (const stream of this.#streams.values()) {
      const t = stream.nextTimeout();
      if (t !== undefined && (earliest === undefined || t < earliest)) {
        earliest = t;
      }
    }
    return earliest;
  }

  onTimeout(now: number): void {
    for (const stream of this.#streams.values()) stream.onTimeout(now);
  }

  onPathChange(now: number): void {
    for (const stream of this.#streams.values()) stream.onPathChange(now);
  }
}
