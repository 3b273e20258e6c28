/**
 * Chat messages over one reliable stream: each message is a 2-byte length
 * and UTF-8 text; a message is delivered when the peer acknowledged its last
 * byte (delivery receipts come from the stream's acknowledgements).
 *
 * @module
 */

import type { Stream } from "../stream/mod.ts";

/** The stream id chat uses. */
export const CHAT_STREAM_ID = 0;
/** Longest message, in UTF-8 bytes. */
export const MAX_CHAT_MESSAGE = 4096;

/** One chat conversation on a stream. */
export class ChatChannel {
  readonly #stream: Stream;
  readonly #encoder = new TextEncoder();
  readonly #decoder = new TextDecoder("utf-8", { fatal: false });
  /** Unsent bytes (the stream's send buffer was full). */
  #backlog: Uint8Array[] = [];
  /** End offset of each message not yet acknowledged, with its id. */
  readonly #unacked: { id: number; end: number }[] = [];
  #written = 0;
  #nextId = 1;
  #received = new Uint8Array(0);

  constructor(stream: Stream) {
    this.#stream = stream;
  }

  /** Queues `text`; returns its id (for the delivery receipt). */
  send(text: string): number {
    let bytes = this.#encoder.encode(text);
    if (bytes.length > MAX_CHAT_MESSAGE) {
      throw new RangeError(
        `Cannot send a message this long: ${bytes.length} bytes (limit ${MAX_CHAT_MESSAGE})`,
      );
    }
    const frame = new Uint8Array(2 + bytes.length);
    new DataView(frame.buffer).setUint16(0, bytes.length);
    frame.set(bytes, 2);
    bytes = frame;
    const id = this.#nextId++;
    this.#written += frame.length;
    this.#unacked.push({ id, end: this.#written });
    this.#backlog.push(frame);
    this.flush();
    return id;
  }

  /** Writes queued bytes as far as the stream's buffer allows. */
  flush(): void {
    while (this.#backlog.length > 0) {
      const head = this.#backlog[0];
      const taken = this.#stream.write(head);
      if (taken === head.length) this.#backlog.shift();
      else {
        this.#backlog[0] = head.subarray(taken);
        return;
      }
    }
  }

  /** Messages received since the last call, in order. */
  receive(): string[] {
    for (let chunk; (chunk = this.#stream.read());) {
      const joined = new Uint8Array(this.#received.length + chunk.length);
      joined.set(this.#received);
      joined.set(chunk, this.#received.length);
      this.#received = joined;
    }
    const out: string[] = [];
    let offset = 0;
    while (this.#received.length - offset >= 2) {
      const length = (this.#received[offset] << 8) | this.#received[offset + 1];
      if (this.#received.length - offset - 2 < length) break;
      out.push(
        this.#decoder.decode(
          this.#received.subarray(offset + 2, offset + 2 + length),
        ),
      );
      offset += 2 + length;
    }
    this.#received = this.#received.slice(offset);
    return out;
  }

  /** Ids of messages the peer acknowledged since the last call. */
  delivered(): number[] {
    const acked = this.#stream.acknowledged;
    const out: number[] = [];
    while (this.#unacked.length > 0 && this.#unacked[0].end <= acked) {
      out.push(this.#unacked.shift()!.id);
    }
    return out;
  }

  /** Messages sent but not yet acknowledged. */
  get pending(): number {
    return this.#unacked.length;
  }
}
