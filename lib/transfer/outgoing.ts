/**
 * The sending side of one transfer on one stream (docs/TRANSFER.md §3):
 * `OFFER`, then on `ACCEPT` the chunks the receiver still needs, in
 * `DATA` blocks of at most 64 KiB that never cross a chunk, then a wait
 * for `DONE`. No timers and no sockets: the owner calls
 * {@linkcode OutgoingTransfer.pump} whenever the stream may have moved.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import type { Stream } from "../stream/mod.ts";
import { chunkCount, HASH_SIZE, MAX_BLOCK_SIZE } from "./constants.ts";
import {
  type ChunkRange,
  encodeDataHeader,
  encodeError,
  encodeOffer,
  type Frame,
  FrameKind,
  FrameReader,
  type Offer,
  Reason,
} from "./frames.ts";
import type { ChunkSource } from "./source_file.ts";

/** What happened to an outgoing transfer. */
export type OutgoingEvent =
  | {
    type: "accepted";
    /** Bytes the receiver already holds (a resume). */
    have: number;
    /** Bytes to send now. */
    need: number;
  }
  | { type: "declined"; reason: Reason; text: string }
  | { type: "done"; sha256: Uint8Array }
  | { type: "failed"; reason: Reason; text: string; by: "peer" | "us" };

/** Where an outgoing transfer is. */
export type OutgoingState =
  | "offered"
  | "sending"
  | "sent"
  | "done"
  | "declined"
  | "failed";

/** Send space kept free before another block is read, so blocks go whole. */
const BLOCK_FRAME = MAX_BLOCK_SIZE + 13;

/** One transfer from us. */
export class OutgoingTransfer {
  readonly stream: Stream;
  readonly offer: Offer;
  readonly #source: ChunkSource;
  readonly #onEvent: (event: OutgoingEvent) => void;
  readonly #reader = new FrameReader();
  readonly #block = new Uint8Array(MAX_BLOCK_SIZE);
  readonly #count: number;
  #state: OutgoingState = "offered";
  /** Bytes waiting to go into the stream, in order. */
  #outbox: Uint8Array[] = [];
  #ranges: ChunkRange[] = [];
  #rangeIndex = 0;
  #chunk = 0;
  #offsetInChunk = 0;
  #chunkHash: Hash | undefined;
  /** Stream offsets at which each block sent so far ends, with its file bytes. */
  #marks: { end: number; bytes: number }[] = [];
  #marksHead = 0;
  #have = 0;
  #need = 0;
  #delivered = 0;
  #sentBytes = 0;

  /**
   * Writes the `OFFER` of `offer` on `stream` at once.
   *
   * @param stream A fresh stream of the connection.
   * @param offer What `hashFile` made of the file.
   * @param source Where the file's bytes are read.
   * @param onEvent Called on acceptance, refusal, completion, failure.
   */
  constructor(
    stream: Stream,
    offer: Offer,
    source: ChunkSource,
    onEvent: (event: OutgoingEvent) => void,
  ) {
    this.stream = stream;
    this.offer = offer;
    this.#source = source;
    this.#onEvent = onEvent;
    this.#count = chunkCount(offer.size, offer.chunkSize);
    this.#outbox.push(encodeOffer(offer));
    this.#flush();
  }

  /** Where the transfer is. */
  get state(): OutgoingState {
    return this.#state;
  }

  /** Whether it ended (done, declined or failed). */
  get finished(): boolean {
    return this.#state === "done" || this.#state === "declined" ||
      this.#state === "failed";
  }

  /**
   * File bytes the receiver holds: those it had before, plus those of this
   * run its stream acknowledged.
   */
  get delivered(): number {
    return this.#have + this.#delivered;
  }

  /** Bytes the receiver had before this run (0 until accepted). */
  get resumedFrom(): number {
    return this.#have;
  }

  /** File bytes this run must send (0 until accepted). */
  get need(): number {
    return this.#need;
  }

  /**
   * Moves the transfer: reads the receiver's frames, writes data while the
   * stream takes it. Call after every pass of the connection driver.
   */
  pump(): void {
    if (this.finished) {
      this.#end();
      return;
    }
    for (let bytes; (bytes = this.stream.read());) this.#reader.push(bytes);
    while (!this.finished) {
      const result = this.#reader.next();
      if (!result) break;
      if (!result.ok) {
        this.#fail(Reason.PROTOCOL, result.error, "us");
        return;
      }
      this.#onFrame(result.frame);
    }
    if (this.finished) return;
    if (this.stream.isReceiveFinished && this.#reader.atBoundary) {
      this.#fail(
        Reason.PROTOCOL,
        "the receiver closed the transfer without a word",
        "peer",
      );
      return;
    }
    this.#noteAcknowledged();
    this.#flush();
    if (this.#state === "sending") this.#fillStream();
  }

  /** Stops the transfer and tells the receiver why (it keeps what it has). */
  cancel(reason: Reason, text: string): void {
    if (this.finished) return;
    this.#fail(reason, text, "us");
  }

  #onFrame(frame: Frame): void {
    switch (frame.kind) {
      case FrameKind.ACCEPT: {
        if (this.#state !== "offered") {
          return this.#fail(Reason.PROTOCOL, "a second ACCEPT", "us");
        }
        const last = frame.ranges[frame.ranges.length - 1];
        if (last !== undefined && last.end > this.#count) {
          return this.#fail(
            Reason.PROTOCOL,
            `the receiver asked for chunks that do not exist: up to ${last.end}, the file has ${this.#count}`,
            "us",
          );
        }
        this.#ranges = frame.ranges;
        this.#need = frame.ranges.reduce(
          (sum, r) => sum + this.#rangeBytes(r),
          0,
        );
        this.#have = this.offer.size - this.#need;
        this.#state = "sending";
        if (frame.ranges.length > 0) this.#startChunk(frame.ranges[0].start);
        this.#onEvent({ type: "accepted", have: this.#have, need: this.#need });
        if (frame.ranges.length === 0) this.#state = "sent";
        return;
      }
      case FrameKind.DECLINE:
        if (this.#state !== "offered") {
          return this.#fail(Reason.PROTOCOL, "a DECLINE after ACCEPT", "us");
        }
        this.#state = "declined";
        this.#end();
        this.#onEvent({
          type: "declined",
          reason: frame.reason,
          text: frame.text,
        });
        return;
      case FrameKind.DONE: {
        if (this.#state !== "sent") {
          return this.#fail(
            Reason.PROTOCOL,
            "the receiver said DONE before it had everything",
            "us",
          );
        }
        if (!equalBytes(frame.sha256, this.offer.sha256)) {
          return this.#fail(
            Reason.VERIFY_FAILED,
            "the receiver reported another SHA-256 than the file's",
            "us",
          );
        }
        this.#state = "done";
        this.#delivered = this.#need;
        this.#end();
        this.#onEvent({ type: "done", sha256: frame.sha256 });
        return;
      }
      case FrameKind.ERROR:
        this.#state = "failed";
        this.#end();
        this.#onEvent({
          type: "failed",
          reason: frame.reason,
          text: frame.text,
          by: "peer",
        });
        return;
      default:
        return this.#fail(
          Reason.PROTOCOL,
          `a frame a receiver does not send (kind ${frame.kind})`,
          "us",
        );
    }
  }

  #rangeBytes(range: ChunkRange): number {
    const start = range.start * this.offer.chunkSize;
    const end = Math.min(range.end * this.offer.chunkSize, this.offer.size);
    return end - start;
  }

  #chunkLength(index: number): number {
    const start = index * this.offer.chunkSize;
    return Math.min(this.offer.chunkSize, this.offer.size - start);
  }

  #startChunk(index: number) {
    this.#chunk = index;
    this.#offsetInChunk = 0;
    this.#chunkHash = createHash("sha256");
  }

  /** Reads blocks into the stream while it has room for a whole one. */
  #fillStream() {
    while (
      this.#state === "sending" && this.#outbox.length === 0 &&
      this.stream.sender.writable >= BLOCK_FRAME
    ) {
      const chunkLength = this.#chunkLength(this.#chunk);
      const length = Math.min(
        MAX_BLOCK_SIZE,
        chunkLength - this.#offsetInChunk,
      );
      const offset = this.#chunk * this.offer.chunkSize + this.#offsetInChunk;
      const block = this.#block.subarray(0, length);
      let read: number;
      try {
        read = this.#source.readAt(offset, block);
      } catch (error) {
        return this.#fail(
          Reason.SOURCE,
          `cannot read the file: ${(error as Error).message}`,
          "us",
        );
      }
      if (read !== length) {
        return this.#fail(
          Reason.FILE_CHANGED,
          "the file became shorter while it was being sent",
          "us",
        );
      }
      this.#chunkHash!.update(block);
      // The stream copies what it takes: the block buffer is reused.
      this.#outbox.push(encodeDataHeader(offset, length), block);
      this.#flush();
      if (this.#outbox.length > 0) {
        // Cannot happen with BLOCK_FRAME of room, but a reused buffer must
        // never be overwritten while the stream still has to take it.
        this.#outbox = this.#outbox.map((b) => b.slice());
      }
      this.#sentBytes += length;
      this.#marks.push({
        end: this.stream.sender.written,
        bytes: this.#sentBytes,
      });
      this.#offsetInChunk += length;
      if (this.#offsetInChunk === chunkLength) {
        const digest = new Uint8Array(this.#chunkHash!.digest());
        const expected = this.offer.chunkHashes.subarray(
          this.#chunk * HASH_SIZE,
          (this.#chunk + 1) * HASH_SIZE,
        );
        if (!equalBytes(digest, expected)) {
          return this.#fail(
            Reason.FILE_CHANGED,
            `the file changed while it was being sent (chunk ${this.#chunk})`,
            "us",
          );
        }
        this.#nextChunk();
      }
    }
  }

  #nextChunk() {
    const range = this.#ranges[this.#rangeIndex];
    if (this.#chunk + 1 < range.end) {
      this.#startChunk(this.#chunk + 1);
      return;
    }
    this.#rangeIndex++;
    if (this.#rangeIndex < this.#ranges.length) {
      this.#startChunk(this.#ranges[this.#rangeIndex].start);
    } else {
      this.#chunkHash = undefined;
      this.#state = "sent";
    }
  }

  #noteAcknowledged() {
    const acknowledged = this.stream.acknowledged;
    while (
      this.#marksHead < this.#marks.length &&
      this.#marks[this.#marksHead].end <= acknowledged
    ) {
      this.#delivered = this.#marks[this.#marksHead].bytes;
      this.#marksHead++;
    }
    if (this.#marksHead > 256 && this.#marksHead * 2 > this.#marks.length) {
      this.#marks = this.#marks.slice(this.#marksHead);
      this.#marksHead = 0;
    }
  }

  #flush() {
    while (this.#outbox.length > 0) {
      const head = this.#outbox[0];
      const n = this.stream.write(head);
      if (n === head.length) this.#outbox.shift();
      else {
        this.#outbox[0] = head.subarray(n);
        return;
      }
    }
  }

  #fail(reason: Reason, text: string, by: "peer" | "us") {
    if (this.finished) return;
    this.#state = "failed";
    if (by === "us" && !this.stream.sender.isFinishing) {
      // After the data already queued: the receiver reads it in order.
      this.#outbox = this.#outbox.map((b) => b.slice());
      this.#outbox.push(encodeError(reason, text));
      this.#flush();
    }
    this.#end();
    this.#onEvent({ type: "failed", reason, text, by });
  }

  /**
   * Finishes our direction once everything queued is in the stream; until
   * then every pump tries again.
   */
  #end() {
    this.#source.close();
    if (this.stream.sender.isFinishing) return;
    this.#flush();
    if (this.#outbox.length === 0) this.stream.finish();
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
