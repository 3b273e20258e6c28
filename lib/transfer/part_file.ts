/**
 * The receiver's side of the disk (docs/TRANSFER.md §4): a download lives in
 * `NAME.part` beside a small state file `NAME.part.state` (the offer and the
 * bitmap of verified chunks) until every chunk is verified; then the data is
 * made durable, the whole file checked, and it is linked into place under a
 * name that overwrites nothing (unless asked to).
 *
 * The state only ever claims chunks whose bytes were made durable first
 * (`fdatasync` before the state is written), so after a crash or a kill the
 * claims hold and the next run asks only for the rest.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { statfsSync } from "node:fs";
import { join } from "node:path";
import { ChunkSet } from "./chunk_set.ts";
import { chunkCount, HASH_SIZE } from "./constants.ts";
import { numberedName } from "./file_name.ts";
import type { Offer } from "./frames.ts";

/** The file operations a part file needs; tests wrap them to fail on cue. */
export interface PartHandle {
  seekSync(offset: number, whence: Deno.SeekMode): number;
  writeSync(bytes: Uint8Array): number;
  read(into: Uint8Array): Promise<number | null>;
  syncData(): Promise<void>;
  truncateSync(length?: number): void;
  tryLockSync(exclusive?: boolean): boolean;
  close(): void;
}

/** A write or sync failed: the disk is full or broken. */
export class DiskError extends Error {
  /** Whether the cause was a full disk (ENOSPC, EDQUOT). */
  readonly full: boolean;
  constructor(message: string, options: { full: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = "DiskError";
    this.full = options.full;
  }
}

/** The part file is in use by another transfer (another process, say). */
export class PartBusyError extends Error {
  constructor(path: string) {
    super(`Cannot use a partial download another transfer holds: ${path}`);
    this.name = "PartBusyError";
  }
}

/** Options of {@linkcode openPartFile}. */
export interface OpenPartOptions {
  /** The sender's name, kept in the state for people reading it. */
  from?: string;
  /** Test-only: wraps the opened file to inject failures. */
  wrapHandleForTestingOnly?: (file: Deno.FsFile) => PartHandle;
}

const STATE_MARK = "altnet-transfer-state";
const STATE_VERSION = 1;
/** A state file larger than this is not ours (the hash list is ≤ 512 KiB). */
const MAX_STATE_BYTES = 2 * 1024 * 1024;
/** Give up numbering names after this many. */
const MAX_NUMBERED = 1000;

interface StateDocument {
  kind: typeof STATE_MARK;
  version: number;
  name: string;
  size: number;
  chunkSize: number;
  sha256: string;
  chunkHashes: string;
  verified: string;
  from?: string;
  updated: string;
}

/** Free bytes for an unprivileged user on the file system holding `dir`. */
export function freeSpace(dir: string): number {
  const stats = statfsSync(dir);
  return Number(stats.bavail) * Number(stats.bsize);
}

function sameContent(a: Offer, doc: StateDocument): boolean {
  return doc.size === a.size && doc.chunkSize === a.chunkSize &&
    doc.sha256 === a.sha256.toHex() &&
    doc.chunkHashes === a.chunkHashes.toBase64();
}

function readState(path: string): StateDocument | undefined {
  try {
    const info = Deno.statSync(path);
    if (!info.isFile || info.size > MAX_STATE_BYTES) return undefined;
    const doc = JSON.parse(Deno.readTextFileSync(path));
    if (doc?.kind !== STATE_MARK || doc.version !== STATE_VERSION) {
      return undefined;
    }
    return doc as StateDocument;
  } catch {
    return undefined;
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function isFull(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === "ENOSPC" || code === "EDQUOT" ||
    /No space left|quota exceeded/i.test(String(error));
}

/**
 * How many bytes of `offer` a partial download in `dir` already holds
 * verified (0 when there is none). Reads only.
 */
export function heldBytes(dir: string, offer: Offer): number {
  const count = chunkCount(offer.size, offer.chunkSize);
  for (let n = 0; n < MAX_NUMBERED; n++) {
    const partPath = join(dir, `${numberedName(offer.name, n)}.part`);
    const doc = readState(`${partPath}.state`);
    if (!doc) {
      if (exists(partPath)) continue;
      return 0;
    }
    if (!sameContent(offer, doc)) continue;
    try {
      const verified = new ChunkSet(count, Uint8Array.fromBase64(doc.verified));
      let bytes = verified.size * offer.chunkSize;
      if (count > 0 && verified.has(count - 1)) {
        bytes -= count * offer.chunkSize - offer.size;
      }
      return bytes;
    } catch {
      return 0;
    }
  }
  return 0;
}

/**
 * Finds the partial download of `offer` in `dir` (same size, chunk size and
 * hashes), or starts one under a free `NAME.part`. Never touches a file that
 * is not altnet's: a `NAME.part` without a matching state is skipped.
 *
 * @throws {PartBusyError} If another transfer holds the partial download.
 * @throws {DiskError} If the part file cannot be created.
 */
export function openPartFile(
  dir: string,
  offer: Offer,
  options: OpenPartOptions = {},
): PartFile {
  const count = chunkCount(offer.size, offer.chunkSize);
  for (let n = 0; n < MAX_NUMBERED; n++) {
    const partPath = join(dir, `${numberedName(offer.name, n)}.part`);
    const statePath = `${partPath}.state`;
    const doc = readState(statePath);
    if (doc) {
      if (!sameContent(offer, doc)) continue;
      let file: Deno.FsFile;
      try {
        file = Deno.openSync(partPath, { read: true, write: true });
      } catch {
        continue; // the state outlived its part: leave both alone
      }
      const handle = options.wrapHandleForTestingOnly?.(file) ?? file;
      if (!handle.tryLockSync(true)) {
        handle.close();
        throw new PartBusyError(partPath);
      }
      let verified: ChunkSet;
      try {
        verified = new ChunkSet(count, Uint8Array.fromBase64(doc.verified));
      } catch {
        verified = new ChunkSet(count);
      }
      return new PartFile(handle, {
        partPath,
        statePath,
        offer,
        verified,
        resumed: true,
        from: options.from,
      });
    }
    if (exists(partPath) || exists(statePath)) continue;
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(partPath, {
        read: true,
        write: true,
        createNew: true,
      });
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) continue;
      throw new DiskError(
        `Cannot create ${partPath}: ${(error as Error).message}`,
        { full: isFull(error), cause: error },
      );
    }
    const handle = options.wrapHandleForTestingOnly?.(file) ?? file;
    handle.tryLockSync(true);
    const part = new PartFile(handle, {
      partPath,
      statePath,
      offer,
      verified: new ChunkSet(count),
      resumed: false,
      from: options.from,
    });
    try {
      // The full length at once: a sparse file, so blocks land in place.
      handle.truncateSync(offer.size);
      part.writeStateSync();
    } catch (error) {
      part.discard();
      throw new DiskError(
        `Cannot start ${partPath}: ${(error as Error).message}`,
        { full: isFull(error), cause: error },
      );
    }
    return part;
  }
  throw new DiskError(
    `Cannot find a free name for ${offer.name} in ${dir} after ${MAX_NUMBERED} tries`,
    { full: false },
  );
}

/** An open partial download. */
export class PartFile {
  /** The `.part` file. */
  readonly partPath: string;
  /** The state file beside it. */
  readonly statePath: string;
  /** The offer it belongs to. */
  readonly offer: Offer;
  /** Chunks verified so far (some perhaps not yet durable). */
  readonly verified: ChunkSet;
  /** Whether an earlier run started it. */
  readonly resumed: boolean;
  readonly #handle: PartHandle;
  readonly #from: string | undefined;
  #position = 0;
  #closed = false;
  /** The checkpoint being written, if any. */
  #checkpoint: Promise<void> | undefined;

  constructor(
    handle: PartHandle,
    init: {
      partPath: string;
      statePath: string;
      offer: Offer;
      verified: ChunkSet;
      resumed: boolean;
      from?: string;
    },
  ) {
    this.#handle = handle;
    this.partPath = init.partPath;
    this.statePath = init.statePath;
    this.offer = init.offer;
    this.verified = init.verified;
    this.resumed = init.resumed;
    this.#from = init.from;
  }

  /** Bytes of the file held in verified chunks. */
  get verifiedBytes(): number {
    const { size, chunkSize } = this.offer;
    const count = this.verified.count;
    let bytes = this.verified.size * chunkSize;
    // The last chunk may be short.
    if (count > 0 && this.verified.has(count - 1)) {
      bytes -= count * chunkSize - size;
    }
    return bytes;
  }

  /** The expected SHA-256 of chunk `index`. */
  chunkHash(index: number): Uint8Array {
    return this.offer.chunkHashes.subarray(
      index * HASH_SIZE,
      (index + 1) * HASH_SIZE,
    );
  }

  /**
   * Writes `bytes` at `offset` (synchronously: the data path stays in
   * order without awaiting).
   *
   * @throws {DiskError} On a full disk or a write error.
   */
  write(offset: number, bytes: Uint8Array): void {
    try {
      if (offset !== this.#position) {
        this.#handle.seekSync(offset, Deno.SeekMode.Start);
        this.#position = offset;
      }
      let done = 0;
      while (done < bytes.length) {
        done += this.#handle.writeSync(bytes.subarray(done));
      }
      this.#position += done;
    } catch (error) {
      this.#position = -1;
      throw new DiskError(
        isFull(error)
          ? `The disk is full while writing ${this.partPath}`
          : `Cannot write ${this.partPath}: ${(error as Error).message}`,
        { full: isFull(error), cause: error },
      );
    }
  }

  /**
   * Makes the verified chunks durable: `fdatasync` of the part, then the
   * state file (written beside and renamed over). A checkpoint already
   * running is waited for instead of started twice.
   */
  checkpoint(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#checkpoint) return this.#checkpoint;
    // Claim only what was verified before the sync started.
    const claimed = this.verified.toBytes();
    this.#checkpoint = (async () => {
      try {
        await this.#handle.syncData();
        this.writeStateSync(claimed);
      } catch (error) {
        throw new DiskError(
          `Cannot save the progress of ${this.partPath}: ${
            (error as Error).message
          }`,
          { full: isFull(error), cause: error },
        );
      } finally {
        this.#checkpoint = undefined;
      }
    })();
    return this.#checkpoint;
  }

  /** Writes the state file now, claiming `bits` (default: all verified). */
  writeStateSync(bits: Uint8Array = this.verified.toBytes()): void {
    const doc: StateDocument = {
      kind: STATE_MARK,
      version: STATE_VERSION,
      name: this.offer.name,
      size: this.offer.size,
      chunkSize: this.offer.chunkSize,
      sha256: this.offer.sha256.toHex(),
      chunkHashes: this.offer.chunkHashes.toBase64(),
      verified: bits.toBase64(),
      ...(this.#from ? { from: this.#from } : {}),
      updated: new Date().toISOString(),
    };
    const temporary = `${this.statePath}.tmp`;
    Deno.writeTextFileSync(temporary, JSON.stringify(doc));
    Deno.renameSync(temporary, this.statePath);
  }

  /** SHA-256 of the part file as it is on disk. */
  async hashOnDisk(): Promise<Uint8Array> {
    const hash = createHash("sha256");
    const buffer = new Uint8Array(1024 * 1024);
    this.#handle.seekSync(0, Deno.SeekMode.Start);
    this.#position = 0;
    let total = 0;
    while (total < this.offer.size) {
      const n = await this.#handle.read(buffer);
      if (n === null) break;
      const take = Math.min(n, this.offer.size - total);
      hash.update(buffer.subarray(0, take));
      total += take;
    }
    this.#position = -1;
    return new Uint8Array(hash.digest());
  }

  /**
   * Makes the data durable, closes the part and links it into `dir` under
   * the offer's name, or `NAME (1).ext`… when that exists (replaced only
   * with `force`). Removes the state. Returns the final path.
   */
  async finalize(
    dir: string,
    options: { force?: boolean } = {},
  ): Promise<string> {
    await this.#checkpoint?.catch(() => {});
    try {
      await this.#handle.syncData();
    } catch (error) {
      throw new DiskError(
        `Cannot make ${this.partPath} durable: ${(error as Error).message}`,
        { full: isFull(error), cause: error },
      );
    }
    this.close();
    const target = place(this.partPath, dir, this.offer.name, options.force);
    Deno.removeSync(this.statePath);
    return target;
  }

  /** Saves the progress and closes (the download stays for a resume). */
  async suspend(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.checkpoint();
    } finally {
      this.close();
    }
  }

  /** Closes without saving. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#handle.close();
    } catch {
      // Already closed.
    }
  }

  /** Closes and deletes the part and its state (a download that never began). */
  discard(): void {
    this.close();
    for (const path of [this.partPath, this.statePath]) {
      try {
        Deno.removeSync(path);
      } catch {
        // Gone already.
      }
    }
  }
}

/** Links `part` into `dir` under a free variant of `name`; returns the path. */
function place(
  part: string,
  dir: string,
  name: string,
  force: boolean | undefined,
): string {
  if (force) {
    const target = join(dir, name);
    let info: Deno.FileInfo | undefined;
    try {
      info = Deno.lstatSync(target);
    } catch {
      // Free.
    }
    if (!info?.isDirectory) {
      Deno.renameSync(part, target);
      return target;
    }
  }
  for (let n = 0; n < MAX_NUMBERED; n++) {
    const target = join(dir, numberedName(name, n));
    try {
      // A hard link never replaces an existing name: no race with another
      // writer between a check and a rename.
      Deno.linkSync(part, target);
      Deno.removeSync(part);
      return target;
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) continue;
      // A file system without hard links: check, then rename.
      if (exists(target)) continue;
      Deno.renameSync(part, target);
      return target;
    }
  }
  throw new DiskError(
    `Cannot find a free name for ${name} in ${dir} after ${MAX_NUMBERED} tries`,
    { full: false },
  );
}
