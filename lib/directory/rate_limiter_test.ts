import assert from "node:assert/strict";
import { TokenBuckets } from "./rate_limiter.ts";

Deno.test("a bucket allows its burst, then says how long to wait", () => {
  const buckets = new TokenBuckets({ rate: 0.5, burst: 3 });
  for (let i = 0; i < 3; i++) assert.equal(buckets.take("a", 0), 0);
  assert.equal(buckets.take("a", 0), 2000);
  assert.equal(buckets.take("a", 1000), 1000);
  assert.equal(buckets.take("a", 2000), 0);
  assert.equal(buckets.take("b", 2000), 0, "each key has its own bucket");
});

Deno.test("the table of buckets is bounded", () => {
  const buckets = new TokenBuckets({ rate: 1, burst: 1, capacity: 10 });
  for (let i = 0; i < 100; i++) buckets.take(`ip-${i}`, 0);
  assert.equal(buckets.size, 10);
  assert.throws(() => new TokenBuckets({ rate: 0, burst: 1 }), RangeError);
});
