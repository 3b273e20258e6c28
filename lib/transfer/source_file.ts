/**
 * The sender's side of the disk: hashing a file into an offer (SHA-256 of
 * the whole file and of every chunk, in one streaming pass) and reading its
 * chunks back while sending.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { basename } from "node:path";
import { chooseChunkSize, chunkCount, HASH_SIZE } from "./constants.ts";
import type { Offer } from "./frames.ts";

/** Where a sender reads the bytes it sends. */
export interface ChunkSource {
  /**
   * Fills `into` with the file's bytes from `offset`; returns how many were
   * read (fewer only at the end of the file).
   */
  readAt(offset: number, into: Uint8Array): number;
  close(): void;
}

/** Options of {@linkcode hashFile}. */
export interface HashFileOptions {
  /** The chunk size; default {@linkcode chooseChunkSize} of the size. */
  chunkSize?: number;
  /** Called after each block with the bytes hashed so far. */
  onProgress?: (bytes: number) => void;
}

const READ_BLOCK = 1024 * 1024;

/**
 * Reads `path` once and returns the offer for it (its base name, size,
 * SHA-256, chunk size and chunk hashes). Memory stays constant: one 1 MiB
 * block at a time.
 *
 * @throws {Deno.errors.NotFound} and other file errors.
 * @throws {Error} If the file changed size while it was read.
 */
export async function hashFile(
  path: string,
  options: HashFileOptions = {},
): Promise<Offer> {
  using file = await Deno.open(path, { read: true });
  const size = (await file.stat()).size;
  const chunkSize = options.chunkSize ?? chooseChunkSize(size);
  const count = chunkCount(size, chunkSize);
  const chunkHashes = new Uint8Array(count * HASH_SIZE);
  const whole = createHash("sha256");
  let chunk = createHash("sha256");
  let chunkIndex = 0;
  let chunkFill = 0;
  let total = 0;
  const buffer = new Uint8Array(Math.min(READ_BLOCK, chunkSize));
  for (;;) {
    const n = await file.read(buffer);
    if (n === null) break;
    let at = 0;
    while (at < n) {
      const take = Math.min(n - at, chunkSize - chunkFill);
      const piece = buffer.subarray(at, at + take);
      whole.update(piece);
      chunk.update(piece);
      chunkFill += take;
      at += take;
      if (chunkFill === chunkSize) {
        if (chunkIndex >= count) throw grew(path, size);
        chunkHashes.set(chunk.digest(), chunkIndex * HASH_SIZE);
        chunk = createHash("sha256");
        chunkIndex++;
        chunkFill = 0;
      }
    }
    total += n;
    if (total > size) throw grew(path, size);
    options.onProgress?.(total);
  }
  if (chunkFill > 0) {
    if (chunkIndex >= count) throw grew(path, size);
    chunkHashes.set(chunk.digest(), chunkIndex * HASH_SIZE);
    chunkIndex++;
  }
  if (total !== size || chunkIndex !== count) {
    throw new Error(
      `Cannot hash a file that changed while it was read: ${path} was ${size} bytes, read ${total}`,
    );
  }
  return {
    name: basename(path),
    size,
    chunkSize,
    sha256: new Uint8Array(whole.digest()),
    chunkHashes,
  };
}

function grew(path: string, size: number) {
  return new Error(
    `Cannot hash a file that grew while it was read: ${path} was ${size} bytes`,
  );
}

/** A {@linkcode ChunkSource} on an open file (synchronous reads). */
export class FileSource implements ChunkSource {
  readonly #file: Deno.FsFile;
  #position = 0;
  #closed = false;

  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Opens `path` for reading. */
  static async open(path: string): Promise<FileSource> {
    return new FileSource(await Deno.open(path, { read: true }));
  }

  readAt(offset: number, into: Uint8Array): number {
    if (offset !== this.#position) {
      this.#file.seekSync(offset, Deno.SeekMode.Start);
      this.#position = offset;
    }
    let filled = 0;
    while (filled < into.length) {
      const n = this.#file.readSync(into.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    this.#position += filled;
    return filled;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
  }
}
