/**
 * Chat messages over one reliable stream of one connection. The stream
 * starts with a 12-byte header, the sender's chat instance (8 random bytes,
 * the same on every connection of one chat) and the number of the first
 * message on this stream (4 bytes, big-endian); then each message is a
 * 2-byte length and UTF-8 text, numbered on from the header's. A message is
 * delivered when the peer acknowledged its last byte (delivery receipts come
 * from the stream's acknowledgements).
 *
 * A new connection (the peer restarted, the relay closed the circuit) gets a
 * new channel, and the sender writes every message not yet acknowledged
 * again, under its old number. The receiver shows a message only when its
 * number is above the highest it showed from that chat instance (the
 * {@linkcode ReceivedLog} its channels share), so within one run of the
 * receiver every message is shown once, in order. A receiver that restarted
 * starts with an empty log: it may show again the messages its previous run
 * showed without their acknowledgement reaching the sender (at most those
 * in flight when it stopped), never an acknowledged one.
 *
 * @module
 */

import type { Stream } from "../stream/mod.ts";

/** The stream id chat uses. */
export const CHAT_STREAM_ID = 0;
/** Longest message, in UTF-8 bytes. */
export const MAX_CHAT_MESSAGE = 4096;
/** Bytes of the chat instance id in the stream header. */
export const CHAT_INSTANCE_LENGTH = 8;
/** The stream header: instance id and first message number. */
export const CHAT_HEADER_LENGTH = CHAT_INSTANCE_LENGTH + 4;

/**
 * The highest message number shown, by the sender's chat instance (hex):
 * shared by the channels of one chat, so a message sent again on a new
 * connection is not shown twice.
 */
export type ReceivedLog = Map<string, number>;

/** Options of {@linkcode ChatChannel}. */
export interface ChatChannelOptions {
  /** Our chat instance: 8 random bytes, the same on every connection. */
  instance: Uint8Array;
  /** The number of the first message sent on this stream; default 1. */
  firstNumber?: number;
  /** Shared by every channel of the chat; default a log of its own. */
  received?: ReceivedLog;
}

/**
 * Encodes `text` as a message body.
 *
 * @throws {RangeError} When it is longer than {@linkcode MAX_CHAT_MESSAGE}
 * bytes.
 */
export function encodeChatText(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > MAX_CHAT_MESSAGE) {
    throw new RangeError(
      `Cannot send a message this long: ${bytes.length} bytes (limit ${MAX_CHAT_MESSAGE})`,
    );
  }
  return bytes;
}

/** One chat conversation on a stream of one connection. */
export class ChatChannel {
  readonly #stream: Stream;
  readonly #decoder = new TextDecoder("utf-8", { fatal: false });
  readonly #received: ReceivedLog;
  /** Unsent bytes (the stream's send buffer was full). */
  #backlog: Uint8Array[] = [];
  /** End offset of each message not yet acknowledged, with its number. */
  readonly #unacked: { number: number; end: number }[] = [];
  #written = 0;
  #nextNumber: number;
  #buffer = new Uint8Array(0);
  /** The peer's instance (hex) once its header arrived. */
  #peer: string | undefined;
  #peerNext = 0;
  #duplicates = 0;

  constructor(stream: Stream, options: ChatChannelOptions) {
    if (options.instance.length !== CHAT_INSTANCE_LENGTH) {
      throw new RangeError(
        `Cannot use a chat instance of this length: ${options.instance.length} bytes (expected ${CHAT_INSTANCE_LENGTH})`,
      );
    }
    this.#stream = stream;
    this.#received = options.received ?? new Map();
    this.#nextNumber = options.firstNumber ?? 1;
    const header = new Uint8Array(CHAT_HEADER_LENGTH);
    header.set(options.instance);
    new DataView(header.buffer).setUint32(
      CHAT_INSTANCE_LENGTH,
      this.#nextNumber,
    );
    this.#backlog.push(header);
    this.#written = header.length;
    this.flush();
  }

  /**
   * Queues `text`; returns its number (for the delivery receipt): one more
   * than the last, starting at `firstNumber`.
   */
  send(text: string): number {
    const bytes = encodeChatText(text);
    const frame = new Uint8Array(2 + bytes.length);
    new DataView(frame.buffer).setUint16(0, bytes.length);
    frame.set(bytes, 2);
    const number = this.#nextNumber++;
    this.#written += frame.length;
    this.#unacked.push({ number, end: this.#written });
    this.#backlog.push(frame);
    this.flush();
    return number;
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

  /**
   * Messages received since the last call, in order, without those the
   * shared log shows were received before.
   */
  receive(): string[] {
    for (let chunk; (chunk = this.#stream.read());) {
      const joined = new Uint8Array(this.#buffer.length + chunk.length);
      joined.set(this.#buffer);
      joined.set(chunk, this.#buffer.length);
      this.#buffer = joined;
    }
    let offset = 0;
    if (this.#peer === undefined) {
      if (this.#buffer.length < CHAT_HEADER_LENGTH) return [];
      this.#peer = this.#buffer.subarray(0, CHAT_INSTANCE_LENGTH).toHex();
      this.#peerNext = new DataView(
        this.#buffer.buffer,
        this.#buffer.byteOffset,
      ).getUint32(CHAT_INSTANCE_LENGTH);
      offset = CHAT_HEADER_LENGTH;
    }
    const out: string[] = [];
    while (this.#buffer.length - offset >= 2) {
      const length = (this.#buffer[offset] << 8) | this.#buffer[offset + 1];
      if (this.#buffer.length - offset - 2 < length) break;
      const number = this.#peerNext++;
      if (number > (this.#received.get(this.#peer) ?? 0)) {
        this.#received.set(this.#peer, number);
        out.push(
          this.#decoder.decode(
            this.#buffer.subarray(offset + 2, offset + 2 + length),
          ),
        );
      } else {
        this.#duplicates++;
      }
      offset += 2 + length;
    }
    this.#buffer = this.#buffer.slice(offset);
    return out;
  }

  /** Numbers of messages the peer acknowledged since the last call. */
  delivered(): number[] {
    const acked = this.#stream.acknowledged;
    const out: number[] = [];
    while (this.#unacked.length > 0 && this.#unacked[0].end <= acked) {
      out.push(this.#unacked.shift()!.number);
    }
    return out;
  }

  /** Messages sent but not yet acknowledged. */
  get pending(): number {
    return this.#unacked.length;
  }

  /** Messages received again and not shown (sent again after a reconnect). */
  get duplicates(): number {
    return this.#duplicates;
  }
}
