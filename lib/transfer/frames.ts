/**
 * The frames of the file transfer protocol (docs/TRANSFER.md §2): constants,
 * strict codecs, and {@linkcode FrameReader}, which cuts a stream's bytes
 * into frames. Frames travel inside one reliable stream per transfer; they
 * are no new packet type.
 *
 * Every frame is `kind (1) | length (4) | body (length)`, big-endian. Each
 * kind has a largest body, so a peer can never make us buffer more than
 * that. Decoders never throw: bad input comes back as a reason.
 *
 * @module
 */

import {
  FRAME_HEADER_SIZE,
  HASH_SIZE,
  MAX_BLOCK_SIZE,
  MAX_CHUNK_SIZE,
  MAX_CHUNKS,
  MAX_NAME_BYTES,
  MAX_REASON_BYTES,
  MIN_CHUNK_SIZE,
  TRANSFER_VERSION,
} from "./constants.ts";

/** Frame kinds (docs/TRANSFER.md §2). */
export const FrameKind = {
  /** sender → receiver: name, size, hashes. */
  OFFER: 0x01,
  /** receiver → sender: the chunks still needed. */
  ACCEPT: 0x02,
  /** receiver → sender: the offer is refused, with a reason. */
  DECLINE: 0x03,
  /** sender → receiver: file bytes at an offset. */
  DATA: 0x04,
  /** receiver → sender: the file is verified and in place. */
  DONE: 0x05,
  /** either way: the transfer stops, with a reason. */
  ERROR: 0x06,
} as const;

/** A frame kind. */
export type FrameKind = typeof FrameKind[keyof typeof FrameKind];

/**
 * Why a transfer was declined or stopped (docs/TRANSFER.md §3). Unknown
 * codes from a newer peer are kept as numbers; the text says what happened.
 */
export const Reason = {
  /** The person receiving said no. */
  DECLINED: 1,
  /** Nobody to ask: the receiver has no terminal and no `--yes`. */
  NO_TERMINAL: 2,
  /** The file name is unsafe (path, device name, control characters…). */
  BAD_NAME: 3,
  /** The file is larger than the receiver's limit or free space. */
  TOO_LARGE: 4,
  /** The offer is malformed (chunk size, hash list). */
  BAD_OFFER: 5,
  /** The receiver has another key pinned for the sender's name. */
  UNTRUSTED: 6,
  /** The same file is being received from another peer right now. */
  BUSY: 7,
  /** A frame that the protocol does not allow at this point. */
  PROTOCOL: 8,
  /** A chunk or the whole file did not match its hash. */
  VERIFY_FAILED: 9,
  /** The receiver cannot write: disk full or an I/O error. */
  DISK: 10,
  /** The person at either end stopped the transfer. */
  CANCELLED: 11,
  /** The sender's file changed while it was being sent. */
  FILE_CHANGED: 12,
  /** The sender cannot read its file. */
  SOURCE: 13,
} as const;

/** A reason code. */
export type Reason = number;

/** What a sender offers (docs/TRANSFER.md §2.1). */
export interface Offer {
  /** The file name, one path component (checked by `checkFileName`). */
  name: string;
  /** The file size in bytes. */
  size: number;
  /** The chunk size, a power of two. */
  chunkSize: number;
  /** SHA-256 of the whole file. */
  sha256: Uint8Array;
  /** SHA-256 of each chunk, concatenated: 32 × chunk count bytes. */
  chunkHashes: Uint8Array;
}

/** Chunks `[start, end)` by index. */
export interface ChunkRange {
  start: number;
  end: number;
}

/** A decoded frame. */
export type Frame =
  | { kind: typeof FrameKind.OFFER; offer: Offer }
  | { kind: typeof FrameKind.ACCEPT; ranges: ChunkRange[] }
  | { kind: typeof FrameKind.DECLINE; reason: Reason; text: string }
  | { kind: typeof FrameKind.DATA; offset: number; data: Uint8Array }
  | { kind: typeof FrameKind.DONE; sha256: Uint8Array }
  | { kind: typeof FrameKind.ERROR; reason: Reason; text: string };

/** A frame, or why the bytes are no valid frame. */
export type DecodeResult =
  | { ok: true; frame: Frame }
  | { ok: false; reason: Reason; error: string };

/** Fixed part of an `OFFER` body before the name. */
const OFFER_FIXED_SIZE = 1 + 8 + 4 + 4 + HASH_SIZE + 1;
/** The most ranges an `ACCEPT` may list: every other chunk. */
export const MAX_ACCEPT_RANGES = MAX_CHUNKS / 2 + 1;
/** Fixed part of a `DATA` body: the offset. */
export const DATA_OFFSET_SIZE = 8;

/** The largest body of each kind: a longer frame is refused unread. */
export const MAX_BODY_SIZE: Readonly<Record<FrameKind, number>> = {
  [FrameKind.OFFER]: OFFER_FIXED_SIZE + MAX_NAME_BYTES + HASH_SIZE * MAX_CHUNKS,
  [FrameKind.ACCEPT]: 4 + 8 * MAX_ACCEPT_RANGES,
  [FrameKind.DECLINE]: 3 + MAX_REASON_BYTES,
  [FrameKind.DATA]: DATA_OFFSET_SIZE + MAX_BLOCK_SIZE,
  [FrameKind.DONE]: HASH_SIZE,
  [FrameKind.ERROR]: 3 + MAX_REASON_BYTES,
};

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

function frame(kind: FrameKind, bodyLength: number) {
  const bytes = new Uint8Array(FRAME_HEADER_SIZE + bodyLength);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, kind);
  view.setUint32(1, bodyLength);
  return { bytes, view, at: FRAME_HEADER_SIZE };
}

/** Truncates `text` to at most `max` UTF-8 bytes, on a character boundary. */
function utf8Within(text: string, max: number): Uint8Array {
  let bytes = encoder.encode(text);
  while (bytes.length > max) {
    text = text.slice(0, -1);
    bytes = encoder.encode(text);
  }
  return bytes;
}

/**
 * Encodes an `OFFER`.
 *
 * @throws {RangeError} If the offer breaks a protocol limit.
 */
export function encodeOffer(offer: Offer): Uint8Array {
  const name = encoder.encode(offer.name);
  const count = Math.ceil(offer.size / offer.chunkSize);
  if (name.length < 1 || name.length > MAX_NAME_BYTES) {
    throw new RangeError(
      `Cannot offer a name outside 1–${MAX_NAME_BYTES} UTF-8 bytes: ${name.length}`,
    );
  }
  if (
    !isValidChunkSize(offer.chunkSize) || count > MAX_CHUNKS ||
    offer.chunkHashes.length !== count * HASH_SIZE ||
    offer.sha256.length !== HASH_SIZE || !Number.isSafeInteger(offer.size) ||
    offer.size < 0
  ) {
    throw new RangeError(
      `Cannot encode an offer with inconsistent sizes: size ${offer.size}, chunk size ${offer.chunkSize}, ${offer.chunkHashes.length} hash bytes`,
    );
  }
  const f = frame(
    FrameKind.OFFER,
    OFFER_FIXED_SIZE + name.length + offer.chunkHashes.length,
  );
  f.view.setUint8(f.at, TRANSFER_VERSION);
  f.view.setBigUint64(f.at + 1, BigInt(offer.size));
  f.view.setUint32(f.at + 9, offer.chunkSize);
  f.view.setUint32(f.at + 13, count);
  f.bytes.set(offer.sha256, f.at + 17);
  f.view.setUint8(f.at + 17 + HASH_SIZE, name.length);
  f.bytes.set(name, f.at + OFFER_FIXED_SIZE);
  f.bytes.set(offer.chunkHashes, f.at + OFFER_FIXED_SIZE + name.length);
  return f.bytes;
}

/** Encodes an `ACCEPT` of `ranges` (ascending, disjoint, not adjacent). */
export function encodeAccept(ranges: readonly ChunkRange[]): Uint8Array {
  if (ranges.length > MAX_ACCEPT_RANGES) {
    throw new RangeError(
      `Cannot accept more than ${MAX_ACCEPT_RANGES} ranges: ${ranges.length}`,
    );
  }
  const f = frame(FrameKind.ACCEPT, 4 + 8 * ranges.length);
  f.view.setUint32(f.at, ranges.length);
  ranges.forEach((range, i) => {
    f.view.setUint32(f.at + 4 + 8 * i, range.start);
    f.view.setUint32(f.at + 8 + 8 * i, range.end);
  });
  return f.bytes;
}

function encodeReasonFrame(
  kind: typeof FrameKind.DECLINE | typeof FrameKind.ERROR,
  reason: Reason,
  text: string,
): Uint8Array {
  const bytes = utf8Within(text, MAX_REASON_BYTES);
  const f = frame(kind, 3 + bytes.length);
  f.view.setUint8(f.at, reason);
  f.view.setUint16(f.at + 1, bytes.length);
  f.bytes.set(bytes, f.at + 3);
  return f.bytes;
}

/** Encodes a `DECLINE`; a text over 500 bytes is cut. */
export function encodeDecline(reason: Reason, text: string): Uint8Array {
  return encodeReasonFrame(FrameKind.DECLINE, reason, text);
}

/** Encodes an `ERROR`; a text over 500 bytes is cut. */
export function encodeError(reason: Reason, text: string): Uint8Array {
  return encodeReasonFrame(FrameKind.ERROR, reason, text);
}

/** Encodes a `DONE`. */
export function encodeDone(sha256: Uint8Array): Uint8Array {
  const f = frame(FrameKind.DONE, HASH_SIZE);
  f.bytes.set(sha256, f.at);
  return f.bytes;
}

/**
 * The header of a `DATA` frame carrying `length` bytes at `offset`: the
 * sender writes it, then the bytes themselves, so a block is never copied
 * into a frame.
 */
export function encodeDataHeader(offset: number, length: number): Uint8Array {
  if (length < 1 || length > MAX_BLOCK_SIZE) {
    throw new RangeError(
      `Cannot send a block outside 1–${MAX_BLOCK_SIZE} bytes: ${length}`,
    );
  }
  const f = frame(FrameKind.DATA, DATA_OFFSET_SIZE + length);
  f.view.setBigUint64(f.at, BigInt(offset));
  return f.bytes.subarray(0, FRAME_HEADER_SIZE + DATA_OFFSET_SIZE);
}

/** Encodes a whole `DATA` frame (tests; the sender uses the header). */
export function encodeData(offset: number, data: Uint8Array): Uint8Array {
  const header = encodeDataHeader(offset, data.length);
  const bytes = new Uint8Array(header.length + data.length);
  bytes.set(header);
  bytes.set(data, header.length);
  return bytes;
}

/** Whether a chunk size is a power of two within the protocol's bounds. */
export function isValidChunkSize(chunkSize: number): boolean {
  return Number.isInteger(chunkSize) && chunkSize >= MIN_CHUNK_SIZE &&
    chunkSize <= MAX_CHUNK_SIZE && (chunkSize & (chunkSize - 1)) === 0;
}

const fail = (reason: Reason, error: string): DecodeResult => ({
  ok: false,
  reason,
  error,
});

/**
 * Decodes the body of a frame of `kind`. Never throws.
 *
 * An `OFFER` whose size exceeds what the protocol carries is refused as
 * {@linkcode Reason.TOO_LARGE} (before its hash list is looked at), so a
 * hostile size gets the right answer.
 */
export function decodeBody(kind: number, body: Uint8Array): DecodeResult {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  switch (kind) {
    case FrameKind.OFFER:
      return decodeOffer(body, view);
    case FrameKind.ACCEPT: {
      if (body.length < 4) return fail(Reason.PROTOCOL, "truncated ACCEPT");
      const count = view.getUint32(0);
      if (body.length !== 4 + 8 * count) {
        return fail(Reason.PROTOCOL, "ACCEPT length does not match its count");
      }
      const ranges: ChunkRange[] = [];
      let previousEnd = -1;
      for (let i = 0; i < count; i++) {
        const start = view.getUint32(4 + 8 * i);
        const end = view.getUint32(8 + 8 * i);
        // Canonical: ascending, non-empty, neither overlapping nor adjacent.
        if (start >= end || start <= previousEnd) {
          return fail(
            Reason.PROTOCOL,
            "ACCEPT ranges are not ascending and disjoint",
          );
        }
        ranges.push({ start, end });
        previousEnd = end;
      }
      return { ok: true, frame: { kind: FrameKind.ACCEPT, ranges } };
    }
    case FrameKind.DECLINE:
    case FrameKind.ERROR: {
      if (body.length < 3) return fail(Reason.PROTOCOL, "truncated reason");
      const length = view.getUint16(1);
      if (body.length !== 3 + length || length > MAX_REASON_BYTES) {
        return fail(Reason.PROTOCOL, "reason text length is wrong");
      }
      let text: string;
      try {
        text = strictDecoder.decode(body.subarray(3));
      } catch {
        return fail(Reason.PROTOCOL, "reason text is not UTF-8");
      }
      return {
        ok: true,
        frame: { kind, reason: view.getUint8(0), text },
      };
    }
    case FrameKind.DATA: {
      if (body.length <= DATA_OFFSET_SIZE) {
        return fail(Reason.PROTOCOL, "DATA without bytes");
      }
      const offset = view.getBigUint64(0);
      if (offset > BigInt(Number.MAX_SAFE_INTEGER)) {
        return fail(Reason.PROTOCOL, "DATA offset out of range");
      }
      return {
        ok: true,
        frame: {
          kind: FrameKind.DATA,
          offset: Number(offset),
          data: body.subarray(DATA_OFFSET_SIZE),
        },
      };
    }
    case FrameKind.DONE:
      if (body.length !== HASH_SIZE) {
        return fail(Reason.PROTOCOL, "DONE length is wrong");
      }
      return {
        ok: true,
        frame: { kind: FrameKind.DONE, sha256: body.slice() },
      };
    default:
      return fail(Reason.PROTOCOL, `unknown frame kind ${kind}`);
  }
}

function decodeOffer(body: Uint8Array, view: DataView): DecodeResult {
  if (body.length < OFFER_FIXED_SIZE) {
    return fail(Reason.BAD_OFFER, "the offer is truncated");
  }
  const version = view.getUint8(0);
  if (version !== TRANSFER_VERSION) {
    return fail(
      Reason.BAD_OFFER,
      `the offer uses transfer protocol version ${version}, this receiver speaks ${TRANSFER_VERSION}`,
    );
  }
  const size = view.getBigUint64(1);
  const chunkSize = view.getUint32(9);
  const count = view.getUint32(13);
  const nameLength = view.getUint8(17 + HASH_SIZE);
  if (size > BigInt(MAX_CHUNK_SIZE * MAX_CHUNKS)) {
    return fail(
      Reason.TOO_LARGE,
      `the declared size (${size} bytes) is beyond what altnet transfers (1 TiB)`,
    );
  }
  if (!isValidChunkSize(chunkSize)) {
    return fail(
      Reason.BAD_OFFER,
      `the chunk size ${chunkSize} is not a power of two from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}`,
    );
  }
  const sizeNumber = Number(size);
  if (count !== Math.ceil(sizeNumber / chunkSize) || count > MAX_CHUNKS) {
    return fail(
      Reason.BAD_OFFER,
      `the chunk count ${count} does not match the size and chunk size`,
    );
  }
  if (
    nameLength < 1 ||
    body.length !== OFFER_FIXED_SIZE + nameLength + HASH_SIZE * count
  ) {
    return fail(
      Reason.BAD_OFFER,
      "the offer's length does not match its name and hash list",
    );
  }
  let name: string;
  try {
    name = strictDecoder.decode(
      body.subarray(OFFER_FIXED_SIZE, OFFER_FIXED_SIZE + nameLength),
    );
  } catch {
    return fail(Reason.BAD_NAME, "the file name is not valid UTF-8");
  }
  return {
    ok: true,
    frame: {
      kind: FrameKind.OFFER,
      offer: {
        name,
        size: sizeNumber,
        chunkSize,
        sha256: body.slice(17, 17 + HASH_SIZE),
        chunkHashes: body.slice(OFFER_FIXED_SIZE + nameLength),
      },
    },
  };
}

/**
 * Cuts the bytes of a stream into frames, whatever the pieces it is given.
 * After the first bad frame it stays failed: a stream out of step cannot be
 * trusted to find the next frame boundary.
 *
 * @example
 * ```ts
 * import { encodeDone, FrameReader } from "./frames.ts";
 *
 * const reader = new FrameReader();
 * const bytes = encodeDone(new Uint8Array(32));
 * reader.push(bytes.subarray(0, 3));
 * reader.next(); // undefined: incomplete
 * reader.push(bytes.subarray(3));
 * reader.next(); // { ok: true, frame: { kind: 5, sha256 } }
 * ```
 */
export class FrameReader {
  readonly #header = new Uint8Array(FRAME_HEADER_SIZE);
  #headerFill = 0;
  #kind = 0;
  #body: Uint8Array | undefined;
  #bodyFill = 0;
  #queue: Uint8Array[] = [];
  #queueHead = 0;
  #failed: DecodeResult | undefined;

  /** Bytes received and not yet cut into frames. */
  get buffered(): number {
    let n = this.#headerFill + this.#bodyFill;
    for (let i = this.#queueHead; i < this.#queue.length; i++) {
      n += this.#queue[i].length;
    }
    return n;
  }

  /** Whether no partial frame is held. */
  get atBoundary(): boolean {
    return this.buffered === 0;
  }

  /** Appends bytes read from the stream (kept, not copied: do not reuse). */
  push(bytes: Uint8Array): void {
    if (bytes.length > 0) this.#queue.push(bytes);
  }

  /** The next complete frame, an error, or undefined when more bytes are needed. */
  next(): DecodeResult | undefined {
    if (this.#failed) return this.#failed;
    if (this.#body === undefined) {
      this.#fill(this.#header, FRAME_HEADER_SIZE, true);
      if (this.#headerFill < FRAME_HEADER_SIZE) return undefined;
      const view = new DataView(this.#header.buffer);
      this.#kind = view.getUint8(0);
      const length = view.getUint32(1);
      const max = MAX_BODY_SIZE[this.#kind as FrameKind];
      if (max === undefined) {
        return this.#fail(`Refused a frame of unknown kind ${this.#kind}`);
      }
      if (length > max) {
        return this.#fail(
          `Refused a frame of kind ${this.#kind} longer than allowed: ${length} bytes, at most ${max}`,
        );
      }
      this.#body = new Uint8Array(length);
      this.#bodyFill = 0;
    }
    this.#fill(this.#body, this.#body.length, false);
    if (this.#bodyFill < this.#body.length) return undefined;
    const body = this.#body;
    this.#body = undefined;
    this.#headerFill = 0;
    this.#bodyFill = 0;
    const result = decodeBody(this.#kind, body);
    if (!result.ok && result.reason === Reason.PROTOCOL) {
      this.#failed = result;
    }
    return result;
  }

  #fail(error: string): DecodeResult {
    this.#failed = { ok: false, reason: Reason.PROTOCOL, error };
    return this.#failed;
  }

  #fill(target: Uint8Array, want: number, header: boolean): void {
    let fill = header ? this.#headerFill : this.#bodyFill;
    while (fill < want && this.#queueHead < this.#queue.length) {
      const piece = this.#queue[this.#queueHead];
      const n = Math.min(piece.length, want - fill);
      target.set(n === piece.length ? piece : piece.subarray(0, n), fill);
      fill += n;
      if (n === piece.length) {
        this.#queue[this.#queueHead++] = EMPTY;
      } else {
        this.#queue[this.#queueHead] = piece.subarray(n);
      }
    }
    if (this.#queueHead > 64 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    if (header) this.#headerFill = fill;
    else this.#bodyFill = fill;
  }
}

const EMPTY = new Uint8Array(0);
