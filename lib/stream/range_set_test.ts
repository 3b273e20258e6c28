import assert from "node:assert/strict";
import { RangeSet } from "./range_set.ts";

Deno.test("range set merges overlapping and touching ranges and reports new parts", () => {
  const set = new RangeSet();
  assert.deepEqual(set.add(10, 20), [{ start: 10, end: 20 }]);
  assert.deepEqual(set.add(30, 40), [{ start: 30, end: 40 }]);
  assert.deepEqual(set.add(5, 45), [
    { start: 5, end: 10 },
    { start: 20, end: 30 },
    { start: 40, end: 45 },
  ]);
  assert.deepEqual(set.ranges(), [{ start: 5, end: 45 }]);
  assert.deepEqual(set.add(45, 50), [{ start: 45, end: 50 }]);
  assert.deepEqual(set.ranges(), [{ start: 5, end: 50 }]);
  assert.deepEqual(set.add(7, 9), []);
  assert.deepEqual(set.add(9, 9), []);
});

Deno.test("range set keeps disjoint ranges sorted and answers coverage", () => {
  const set = new RangeSet();
  set.add(50, 60);
  set.add(10, 20);
  set.add(30, 40);
  assert.equal(set.count, 3);
  assert.equal(set.first, 10);
  assert.equal(set.last, 60);
  assert.equal(set.covers(12, 20), true);
  assert.equal(set.covers(12, 21), false);
  assert.equal(set.covers(20, 30), false);
  assert.equal(set.indexOf(35), 1);
  assert.equal(set.indexOf(40), -1);
  set.removeBelow(35);
  assert.deepEqual(set.ranges(), [{ start: 35, end: 40 }, {
    start: 50,
    end: 60,
  }]);
  set.removeBelow(60);
  assert.equal(set.count, 0);
});

Deno.test("range set agrees with a bitmap on random additions", () => {
  let seed = 7;
  const random = () => (seed = (seed * 48271) % 0x7fffffff) / 0x7fffffff;
  const set = new RangeSet();
  const bits = new Uint8Array(500);
  for (let i = 0; i < 300; i++) {
    const start = Math.floor(random() * 480);
    const end = start + 1 + Math.floor(random() * 20);
    const fresh = set.add(start, end);
    let freshCount = 0;
    for (const r of fresh) {
      for (let x = r.start; x < r.end; x++) {
        assert.equal(bits[x], 0);
        freshCount++;
      }
    }
    let expected = 0;
    for (let x = start; x < end; x++) if (!bits[x]) expected++, bits[x] = 1;
    assert.equal(freshCount, expected);
    const ranges = set.ranges();
    for (let k = 1; k < ranges.length; k++) {
      assert.ok(ranges[k].start > ranges[k - 1].end);
    }
  }
});
