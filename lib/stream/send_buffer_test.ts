import assert from "node:assert/strict";
import { SendBuffer } from "./send_buffer.ts";

Deno.test("send buffer slices across chunks and copies writes", () => {
  const buffer = new SendBuffer();
  const first = new Uint8Array([0, 1, 2, 3]);
  buffer.append(first);
  buffer.append(new Uint8Array([4, 5]));
  buffer.append(new Uint8Array([6, 7, 8]));
  first[0] = 99; // the caller reuses its array
  assert.deepEqual([...buffer.slice(0, 4)], [0, 1, 2, 3]);
  assert.deepEqual([...buffer.slice(3, 8)], [3, 4, 5, 6, 7]);
  assert.deepEqual([...buffer.slice(5, 5)], []);
  assert.equal(buffer.end, 9);
});

Deno.test("send buffer releases acknowledged bytes and refuses to slice them", () => {
  const buffer = new SendBuffer();
  for (let i = 0; i < 200; i++) buffer.append(new Uint8Array([i]));
  buffer.releaseBelow(150);
  assert.equal(buffer.size, 50);
  assert.deepEqual([...buffer.slice(150, 153)], [150, 151, 152]);
  assert.throws(() => buffer.slice(149, 151), RangeError);
  assert.throws(() => buffer.slice(199, 201), RangeError);
});
