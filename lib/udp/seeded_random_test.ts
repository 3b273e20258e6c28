import assert from "node:assert/strict";
import { seededRandom } from "./seeded_random.ts";

Deno.test("the same seed gives the same sequence and another seed another", () => {
  const a = seededRandom(42), b = seededRandom(42), c = seededRandom(43);
  const first = Array.from({ length: 8 }, a);
  assert.deepEqual(Array.from({ length: 8 }, b), first);
  assert.notDeepEqual(Array.from({ length: 8 }, c), first);
});

Deno.test("seeded numbers lie in [0, 1) and are spread evenly", () => {
  const random = seededRandom(1);
  const buckets = new Array<number>(10).fill(0);
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    const x = random();
    assert.ok(x >= 0 && x < 1);
    buckets[Math.floor(x * 10)]++;
  }
  // Each bucket holds 10 000 ± 3σ (σ = 95) for a fair generator.
  for (const count of buckets) {
    assert.ok(Math.abs(count - n / 10) < 300, `${count}`);
  }
});

Deno.test("a non-finite seed is rejected", () => {
  assert.throws(() => seededRandom(NaN), TypeError);
});
