import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Offer } from "./frames.ts";
import {
  DiskError,
  heldBytes,
  openPartFile,
  PartBusyError,
  type PartHandle,
} from "./part_file.ts";

const CHUNK = 16_384;

function offerFor(name: string, bytes: Uint8Array): Offer {
  const count = Math.ceil(bytes.length / CHUNK);
  const chunkHashes = new Uint8Array(32 * count);
  for (let i = 0; i < count; i++) {
    chunkHashes.set(
      createHash("sha256").update(bytes.subarray(i * CHUNK, (i + 1) * CHUNK))
        .digest(),
      32 * i,
    );
  }
  return {
    name,
    size: bytes.length,
    chunkSize: CHUNK,
    sha256: new Uint8Array(createHash("sha256").update(bytes).digest()),
    chunkHashes,
  };
}

function content(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * seed + (i >> 8)) & 0xff;
  return bytes;
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "altnet-part-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a partial download resumes with only the chunks made durable", () =>
  withDir(async (dir) => {
    const bytes = content(50_000, 3);
    const offer = offerFor("data.bin", bytes);
    const part = openPartFile(dir, offer, { from: "alice" });
    assert.equal(part.partPath, join(dir, "data.bin.part"));
    assert.equal(part.resumed, false);
    assert.equal((await Deno.stat(part.partPath)).size, 50_000);
    part.write(0, bytes.subarray(0, CHUNK));
    part.verified.add(0);
    await part.checkpoint();
    // Verified after the last checkpoint: not claimed by the state.
    part.write(CHUNK, bytes.subarray(CHUNK, 2 * CHUNK));
    part.verified.add(1);
    part.close();
    assert.equal(heldBytes(dir, offer), CHUNK);

    const again = openPartFile(dir, offer);
    assert.equal(again.resumed, true);
    assert.deepEqual(again.verified.missingRanges(), [{ start: 1, end: 4 }]);
    again.write(CHUNK, bytes.subarray(CHUNK));
    for (let i = 1; i < 4; i++) again.verified.add(i);
    assert.equal(again.verifiedBytes, 50_000);
    assert.deepEqual(await again.hashOnDisk(), offer.sha256);
    const path = await again.finalize(dir);
    assert.equal(path, join(dir, "data.bin"));
    assert.deepEqual(await Deno.readFile(path), bytes);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [
      "data.bin",
    ]);
  }));

Deno.test("an existing file is never replaced without force", () =>
  withDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "a.tar.gz"), "mine");
    const bytes = content(100, 5);
    const first = openPartFile(dir, offerFor("a.tar.gz", bytes));
    first.write(0, bytes);
    assert.equal(await first.finalize(dir), join(dir, "a (1).tar.gz"));
    const second = openPartFile(dir, offerFor("a.tar.gz", bytes));
    second.write(0, bytes);
    assert.equal(await second.finalize(dir), join(dir, "a (2).tar.gz"));
    assert.equal(await Deno.readTextFile(join(dir, "a.tar.gz")), "mine");
    const forced = openPartFile(dir, offerFor("a.tar.gz", bytes));
    forced.write(0, bytes);
    assert.equal(
      await forced.finalize(dir, { force: true }),
      join(dir, "a.tar.gz"),
    );
    assert.deepEqual(await Deno.readFile(join(dir, "a.tar.gz")), bytes);
  }));

Deno.test("files that are not this download's are left alone", () =>
  withDir(async (dir) => {
    // A user's own file that happens to end in .part, and another
    // download of the same name but other content.
    await Deno.writeTextFile(join(dir, "x.bin.part"), "not altnet's");
    const other = openPartFile(dir, offerFor("x.bin", content(10, 1)));
    assert.equal(other.partPath, join(dir, "x (1).bin.part"));
    other.close();
    const mine = openPartFile(dir, offerFor("x.bin", content(10, 2)));
    assert.equal(mine.partPath, join(dir, "x (2).bin.part"));
    mine.close();
    assert.equal(
      await Deno.readTextFile(join(dir, "x.bin.part")),
      "not altnet's",
    );
  }));

Deno.test("a download another transfer holds is busy", () =>
  withDir((dir) => {
    const offer = offerFor("y.bin", content(10, 1));
    const first = openPartFile(dir, offer);
    assert.throws(() => openPartFile(dir, offer), PartBusyError);
    first.close();
    openPartFile(dir, offer).close();
    return Promise.resolve();
  }));

Deno.test("a full disk is a DiskError that says so", () =>
  withDir(async (dir) => {
    const bytes = content(40_000, 7);
    const offer = offerFor("big.bin", bytes);
    let budget = 20_000;
    const part = openPartFile(dir, offer, {
      wrapHandleForTestingOnly: (file): PartHandle => ({
        seekSync: (o, w) => file.seekSync(o, w),
        writeSync: (b) => {
          if (budget < b.length) {
            throw Object.assign(
              new Error("No space left on device (os error 28)"),
              { code: "ENOSPC" },
            );
          }
          budget -= b.length;
          return file.writeSync(b);
        },
        read: (b) => file.read(b),
        syncData: () => file.syncData(),
        truncateSync: (n) => file.truncateSync(n),
        tryLockSync: (e) => file.tryLockSync(e),
        close: () => file.close(),
      }),
    });
    part.write(0, bytes.subarray(0, CHUNK));
    part.verified.add(0);
    assert.throws(
      () => part.write(CHUNK, bytes.subarray(CHUNK, 2 * CHUNK)),
      (e: unknown) =>
        e instanceof DiskError && e.full && /disk is full/.test(e.message),
    );
    await part.suspend();
    // What was verified before the failure is kept for a resume.
    assert.equal(heldBytes(dir, offer), CHUNK);
  }));
