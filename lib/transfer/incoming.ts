/**
 * The receiving side of one transfer on one stream (docs/TRANSFER.md §3):
 * read the `OFFER`, let the owner decide, answer `ACCEPT` with the chunks
 * still missing (a resume asks for less) or `DECLINE`, then take `DATA`
 * strictly in the order asked for, verify each chunk before counting it,
 * checkpoint, and at the end check the whole file, put it in place and say
 * `DONE`. No sockets and no timers: the owner calls
 * {@linkcode IncomingTransfer.pump} whenever the stream may have moved.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import type { Stream } from "../stream/mod.ts";
import { CHECKPOINT_INTERVAL_MS, chunkCount } from "./constants.ts";
import {
  type ChunkRange,
  encodeAccept,
  encodeDecline,
  encodeDone,
  encodeError,
  type Frame,
  FrameKind,
  FrameReader,
  type Offer,
  Reason,
} from "./frames.ts";
import { DiskError, type PartFile } from "./part_file.ts";

/** What happened to an incoming transfer. */
export type IncomingEvent =
  | { type: "offer"; offer: Offer }
  | { type: "accepted"; have: number; need: number; partPath: string }
  | { type: "declined"; reason: Reason; text: string }
  | { type: "verifying" }
  | { type: "done"; path: string; sha256: Uint8Array }
  | { type: "failed"; reason: Reason; text: string; by: "peer" | "us" };

/** Where an incoming transfer is. */
export type IncomingState =
  | "awaiting-offer"
  | "deciding"
  | "receiving"
  | "finishing"
  | "done"
  | "declined"
  | "failed";

/** Options of {@linkcode IncomingTransfer}. */
export interface IncomingOptions {
  /** Where the file goes. */
  outDir: string;
  /** Replace an existing file of the same name. */
  force?: boolean;
  /** Opens (or resumes) the partial download of an accepted offer. */
  openPart: (offer: Offer) => PartFile;
  /** The clock, in milliseconds. */
  now: () => number;
  onEvent: (event: IncomingEvent) => void;
}

/** One transfer to us. */
export class IncomingTransfer {
  readonly stream: Stream;
  readonly #options: IncomingOptions;
  readonly #reader = new FrameReader();
  #state: IncomingState = "awaiting-offer";
  #offer: Offer | undefined;
  #part: PartFile | undefined;
  #count = 0;
  #ranges: ChunkRange[] = [];
  #rangeIndex = 0;
  #chunk = 0;
  #offsetInChunk = 0;
  #chunkHash: Hash | undefined;
  /** SHA-256 of the whole file, when this run receives it from byte 0. */
  #wholeHash: Hash | undefined;
  #have = 0;
  #receivedThisRun = 0;
  #verifiedSinceCheckpoint = 0;
  #lastCheckpoint: number;
  #lastActivity: number;
  #suspending: Promise<void> | undefined;
  #suspended = false;
  #finishing: Promise<void> | undefined;
  #closing = false;

  constructor(stream: Stream, options: IncomingOptions) {
    this.stream = stream;
    this.#options = options;
    this.#lastCheckpoint = options.now();
    this.#lastActivity = options.now();
  }

  /** Where the transfer is. */
  get state(): IncomingState {
    return this.#state;
  }

  /** The offer, once it arrived. */
  get offer(): Offer | undefined {
    return this.#offer;
  }

  /** The partial download, once accepted. */
  get part(): PartFile | undefined {
    return this.#part;
  }

  /** Whether it ended (done, declined or failed). */
  get finished(): boolean {
    return this.#state === "done" || this.#state === "declined" ||
      this.#state === "failed";
  }

  /** File bytes held: from earlier runs, plus those received in this one. */
  get received(): number {
    return this.#have + this.#receivedThisRun;
  }

  /** Bytes held before this run (0 until accepted). */
  get resumedFrom(): number {
    return this.#have;
  }

  /** Whether it ended and let go of its file (progress saved). */
  get settled(): boolean {
    return (this.finished && this.#suspending === undefined &&
      this.#state !== "failed") || this.#suspended;
  }

  /** When data or a frame last arrived. */
  get lastActivity(): number {
    return this.#lastActivity;
  }

  /** Moves the transfer: reads frames, writes data, checkpoints. */
  pump(): void {
    if (this.#closing) this.#endStream();
    if (this.finished || this.#state === "finishing") return;
    let any = false;
    for (let bytes; (bytes = this.stream.read());) {
      this.#reader.push(bytes);
      any = true;
    }
    if (any) this.#lastActivity = this.#options.now();
    while (
      this.#state === "awaiting-offer" || this.#state === "deciding" ||
      this.#state === "receiving"
    ) {
      const result = this.#reader.next();
      if (!result) break;
      if (!result.ok) {
        if (
          this.#state === "awaiting-offer" && result.reason !== Reason.PROTOCOL
        ) {
          // A well-framed but unacceptable offer: a refusal, not a fault.
          this.#state = "declined";
          this.#send(encodeDecline(result.reason, result.error));
          this.#endStream();
          this.#options.onEvent({
            type: "declined",
            reason: result.reason,
            text: result.error,
          });
          return;
        }
        return this.#fail(Reason.PROTOCOL, result.error, "us");
      }
      this.#onFrame(result.frame);
    }
    // (#onFrame moves the state; TypeScript cannot see it.)
    if (this.finished || (this.#state as IncomingState) === "finishing") return;
    if (this.stream.isReceiveFinished && this.#reader.atBoundary) {
      this.#fail(
        Reason.PROTOCOL,
        this.#state === "awaiting-offer" || this.#state === "deciding"
          ? "the sender closed the transfer before the answer"
          : "the sender stopped before sending everything",
        "peer",
      );
      return;
    }
    const now = this.#options.now();
    if (
      this.#part && this.#verifiedSinceCheckpoint > 0 &&
      now - this.#lastCheckpoint >= CHECKPOINT_INTERVAL_MS
    ) {
      this.#lastCheckpoint = now;
      this.#verifiedSinceCheckpoint = 0;
      this.#part.checkpoint().catch((error) => this.#onDiskError(error));
    }
  }

  /**
   * Accepts the offer: opens (or resumes) the partial download and asks for
   * the chunks it lacks. A part that cannot be opened declines instead.
   */
  accept(): void {
    if (this.#state !== "deciding" || !this.#offer) return;
    let part: PartFile;
    try {
      part = this.#options.openPart(this.#offer);
    } catch (error) {
      const disk = error instanceof DiskError;
      this.decline(
        disk ? Reason.DISK : Reason.BUSY,
        disk
          ? `the receiver cannot store the file: ${(error as Error).message}`
          : `the receiver is already receiving this file`,
      );
      return;
    }
    this.#part = part;
    this.#ranges = part.verified.missingRanges();
    this.#have = part.verifiedBytes;
    const need = this.#offer.size - this.#have;
    if (this.#ranges.length === 1 && this.#ranges[0].start === 0) {
      this.#wholeHash = createHash("sha256");
    }
    this.#state = "receiving";
    this.#lastActivity = this.#options.now();
    this.#send(encodeAccept(this.#ranges));
    this.#options.onEvent({
      type: "accepted",
      have: this.#have,
      need,
      partPath: part.partPath,
    });
    if (this.#ranges.length === 0) {
      // Everything was verified by an earlier run: just finish.
      this.#finishing = this.#finish();
      return;
    }
    this.#startChunk(this.#ranges[0].start);
    this.pump();
  }

  /** Declines the offer with a reason the sender is shown. */
  decline(reason: Reason, text: string): void {
    if (this.finished || this.#state === "receiving") return;
    this.#state = "declined";
    this.#send(encodeDecline(reason, text));
    this.#endStream();
    this.#options.onEvent({ type: "declined", reason, text });
  }

  /**
   * Stops the transfer, tells the sender why, and keeps what was verified
   * for a resume.
   */
  cancel(reason: Reason, text: string): Promise<void> {
    if (this.#state === "deciding" || this.#state === "awaiting-offer") {
      this.decline(reason, text);
      return Promise.resolve();
    }
    this.#fail(reason, text, "us");
    return this.#suspending ?? Promise.resolve();
  }

  /**
   * Saves progress and closes the file without a word to the sender (its
   * connection is gone). Idempotent.
   */
  suspend(): Promise<void> {
    if (this.#suspending) return this.#suspending;
    if (this.#state === "finishing") {
      // Everything arrived: let the file be put in place.
      this.#suspending = this.#finishing!.then(() => {
        this.#suspended = true;
      });
      return this.#suspending;
    }
    if (!this.finished) {
      this.#state = "failed";
    }
    this.#suspending = (this.#part?.suspend().catch(() => {}) ??
      Promise.resolve()).then(() => {
        this.#suspended = true;
      });
    return this.#suspending;
  }

  #onFrame(frame: Frame) {
    switch (frame.kind) {
      case FrameKind.OFFER:
        if (this.#state !== "awaiting-offer") {
          return this.#fail(Reason.PROTOCOL, "a second OFFER", "us");
        }
        this.#offer = frame.offer;
        this.#count = chunkCount(frame.offer.size, frame.offer.chunkSize);
        this.#state = "deciding";
        this.#options.onEvent({ type: "offer", offer: frame.offer });
        return;
      case FrameKind.DATA:
        if (this.#state !== "receiving") {
          // Before ACCEPT, a sender has no business sending data.
          return this.#fail(
            Reason.PROTOCOL,
            "Refused data sent before the offer was accepted",
            "us",
          );
        }
        return this.#onData(frame.offset, frame.data);
      case FrameKind.ERROR:
        return this.#fail(frame.reason, frame.text, "peer");
      default:
        return this.#fail(
          Reason.PROTOCOL,
          `a frame a sender does not send (kind ${frame.kind})`,
          "us",
        );
    }
  }

  #onData(offset: number, data: Uint8Array) {
    const offer = this.#offer!;
    if (this.#rangeIndex >= this.#ranges.length) {
      return this.#fail(
        Reason.PROTOCOL,
        `Refused data after every requested chunk arrived: offset ${offset}`,
        "us",
      );
    }
    const expected = this.#chunk * offer.chunkSize + this.#offsetInChunk;
    const chunkLength = Math.min(
      offer.chunkSize,
      offer.size - this.#chunk * offer.chunkSize,
    );
    if (offset + data.length > offer.size) {
      return this.#fail(
        Reason.PROTOCOL,
        `Refused data beyond the declared size: bytes ${offset}–${
          offset + data.length
        } of a ${offer.size}-byte file`,
        "us",
      );
    }
    if (offset !== expected) {
      return this.#fail(
        Reason.PROTOCOL,
        `Refused data for a range never requested: offset ${offset}, expected ${expected}`,
        "us",
      );
    }
    if (this.#offsetInChunk + data.length > chunkLength) {
      return this.#fail(
        Reason.PROTOCOL,
        `Refused a block that crosses the end of chunk ${this.#chunk}`,
        "us",
      );
    }
    try {
      this.#part!.write(offset, data);
    } catch (error) {
      return this.#onDiskError(error);
    }
    this.#chunkHash!.update(data);
    this.#wholeHash?.update(data);
    this.#offsetInChunk += data.length;
    this.#receivedThisRun += data.length;
    if (this.#offsetInChunk < chunkLength) return;
    const digest = new Uint8Array(this.#chunkHash!.digest());
    if (!equalBytes(digest, this.#part!.chunkHash(this.#chunk))) {
      this.#receivedThisRun -= chunkLength;
      return this.#fail(
        Reason.VERIFY_FAILED,
        `chunk ${this.#chunk} did not match its SHA-256 from the offer`,
        "us",
      );
    }
    this.#part!.verified.add(this.#chunk);
    this.#verifiedSinceCheckpoint++;
    const range = this.#ranges[this.#rangeIndex];
    if (this.#chunk + 1 < range.end) {
      this.#startChunk(this.#chunk + 1);
    } else if (++this.#rangeIndex < this.#ranges.length) {
      this.#startChunk(this.#ranges[this.#rangeIndex].start);
    } else {
      this.#chunkHash = undefined;
      this.#finishing = this.#finish();
    }
  }

  #startChunk(index: number) {
    this.#chunk = index;
    this.#offsetInChunk = 0;
    this.#chunkHash = createHash("sha256");
  }

  /** Every chunk is verified: check the whole file, put it in place, say DONE. */
  async #finish() {
    this.#state = "finishing";
    const offer = this.#offer!;
    const part = this.#part!;
    this.#options.onEvent({ type: "verifying" });
    try {
      const whole = this.#wholeHash
        ? new Uint8Array(this.#wholeHash.digest())
        : await part.hashOnDisk();
      if (!equalBytes(whole, offer.sha256)) {
        // Chunks matched their hashes but the file does not: the offer
        // lied, or the disk changed. Start over on the next run.
        for (let i = 0; i < this.#count; i++) part.verified.delete(i);
        this.#state = "receiving";
        return this.#fail(
          Reason.VERIFY_FAILED,
          "the file did not match the SHA-256 of the offer",
          "us",
        );
      }
      const path = await part.finalize(this.#options.outDir, {
        force: this.#options.force,
      });
      this.#state = "done";
      this.#send(encodeDone(offer.sha256));
      this.#endStream();
      this.#options.onEvent({ type: "done", path, sha256: offer.sha256 });
    } catch (error) {
      this.#state = "receiving";
      this.#onDiskError(error);
    }
  }

  #onDiskError(error: unknown) {
    if (this.finished) return;
    const full = error instanceof DiskError && error.full;
    this.#fail(
      Reason.DISK,
      full
        ? "the receiver's disk is full"
        : `the receiver cannot write the file: ${(error as Error).message}`,
      "us",
      full
        ? `The disk holding ${this.#options.outDir} is full`
        : (error as Error).message,
    );
  }

  #fail(reason: Reason, text: string, by: "peer" | "us", localText = text) {
    if (this.finished) return;
    const before = this.#state;
    this.#state = "failed";
    if (by === "us") this.#send(encodeError(reason, text));
    this.#endStream();
    if (before === "receiving" || before === "finishing") {
      this.#suspending = undefined;
      void this.suspend();
    } else {
      this.#suspended = true;
    }
    this.#options.onEvent({ type: "failed", reason, text: localText, by });
  }

  #send(bytes: Uint8Array) {
    this.#pending.push(bytes);
    this.#flushPending();
  }

  #pending: Uint8Array[] = [];

  #flushPending() {
    while (this.#pending.length > 0) {
      const head = this.#pending[0];
      const n = this.stream.write(head);
      if (n === head.length) this.#pending.shift();
      else {
        this.#pending[0] = head.subarray(n);
        return;
      }
    }
  }

  #endStream() {
    this.#closing = true;
    this.#flushPending();
    if (this.#pending.length === 0 && !this.stream.sender.isFinishing) {
      this.stream.finish();
    }
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
