import assert from "node:assert/strict";
import { ChunkSet } from "./chunk_set.ts";

Deno.test("missing ranges list what is not verified, ascending", () => {
  const set = new ChunkSet(10);
  assert.deepEqual(set.missingRanges(), [{ start: 0, end: 10 }]);
  for (const i of [0, 1, 4, 9]) set.add(i);
  assert.deepEqual(set.missingRanges(), [
    { start: 2, end: 4 },
    { start: 5, end: 9 },
  ]);
  assert.equal(set.size, 4);
  set.add(4);
  assert.equal(set.size, 4);
  set.delete(4);
  assert.equal(set.size, 3);
  assert.equal(new ChunkSet(0).complete, true);
  assert.deepEqual(new ChunkSet(0).missingRanges(), []);
});

Deno.test("a bitmap survives a round trip and a wrong one is refused", () => {
  const set = new ChunkSet(13);
  for (const i of [0, 7, 8, 12]) set.add(i);
  const copy = new ChunkSet(13, set.toBytes());
  assert.deepEqual(copy.missingRanges(), set.missingRanges());
  assert.equal(copy.size, 4);
  assert.throws(() => new ChunkSet(13, new Uint8Array(3)), RangeError);
  assert.throws(() => set.add(13), RangeError);
});
