import assert from "node:assert/strict";
import {
  checkBytes,
  checkUint,
  checkUint64,
  Reader,
  Writer,
} from "./cursor.ts";

Deno.test("Reader reads big-endian fields and returns views", () => {
  const input = Uint8Array.of(
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    0,
    0,
  );
  const r = new Reader(input);
  assert.equal(r.u8(), 1);
  assert.equal(r.u16(), 0x0203);
  assert.equal(r.u32(), 0x04050607);
  assert.equal(r.u64(), 0x08090a0b0c0d0e0fn);
  const view = r.take(2);
  assert.deepEqual([...view], [16, 17]);
  assert.equal(view.buffer, input.buffer);
  assert.equal(r.zeros(2), true);
  assert.equal(r.remaining, 0);
});

Deno.test("Reader.u32 and u64 are unsigned, u53 refuses 2^53 and above", () => {
  assert.equal(new Reader(new Uint8Array(4).fill(0xff)).u32(), 0xffffffff);
  assert.equal(new Reader(new Uint8Array(8).fill(0xff)).u64(), 2n ** 64n - 1n);
  const max = Uint8Array.of(0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
  assert.equal(new Reader(max).u53(), Number.MAX_SAFE_INTEGER);
  const over = Uint8Array.of(0, 0x20, 0, 0, 0, 0, 0, 0);
  assert.equal(new Reader(over).u53(), -1);
});

Deno.test("Reader throws on a read past the end, which decoders never do", () => {
  const r = new Reader(Uint8Array.of(1, 2, 3));
  assert.equal(r.has(3), true);
  assert.equal(r.has(4), false);
  assert.throws(() => r.u32(), RangeError);
  assert.throws(() => r.take(4), RangeError);
  assert.throws(() => r.take(-1), RangeError);
  assert.equal(r.offset, 0);
});

Deno.test("Writer writes big-endian fields and checks its precomputed size", () => {
  const w = new Writer(1 + 2 + 4 + 8 + 8 + 2);
  w.u8(0xab);
  w.u16(0x0102);
  w.u32(0xfffffffe);
  w.u64(0x0102030405060708n);
  w.u53(Number.MAX_SAFE_INTEGER);
  w.put(Uint8Array.of(9));
  assert.throws(() => w.finish(), RangeError);
  w.skip(1);
  assert.deepEqual([...w.finish()], [
    0xab,
    1,
    2,
    0xff,
    0xff,
    0xff,
    0xfe,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    0,
    0x1f,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    9,
    0,
  ]);
});

Deno.test("encoder checks throw std-style errors", () => {
  assert.throws(() => checkUint("port", 65536, 16), {
    name: "RangeError",
    message: "Cannot encode port as it is not a 16-bit unsigned integer: 65536",
  });
  assert.throws(
    () => checkUint("port", "1" as unknown as number, 16),
    TypeError,
  );
  assert.throws(
    () => checkUint64("counter", 1 as unknown as bigint),
    TypeError,
  );
  assert.throws(() => checkUint64("counter", 2n ** 64n), RangeError);
  checkUint64("counter", 2n ** 64n - 1n);
  assert.throws(() => checkBytes("key", new Uint8Array(31), 32), {
    name: "RangeError",
    message: "Cannot encode key as it is not 32 bytes long: 31 bytes",
  });
  assert.throws(
    () => checkBytes("key", [] as unknown as Uint8Array, 0),
    TypeError,
  );
});
