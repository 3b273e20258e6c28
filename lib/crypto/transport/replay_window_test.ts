import assert from "node:assert/strict";
import { MAX_COUNTER } from "./constants.ts";
import {
  REPLAY_WINDOW_SIZE,
  type ReplayVerdict,
  ReplayWindow,
} from "./replay_window.ts";

const W = BigInt(REPLAY_WINDOW_SIZE);

/** Deterministic test randomness (mulberry32), so failures reproduce. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** The obvious, slow definition the window must agree with. */
class ModelWindow {
  seen = new Set<bigint>();
  highest = -1n;
  verdict(counter: bigint): ReplayVerdict {
    if (counter > this.highest) return "fresh";
    if (this.highest - counter > W) return "too-old";
    return this.seen.has(counter) ? "replay" : "fresh";
  }
  update(counter: bigint): boolean {
    if (this.verdict(counter) !== "fresh") return false;
    this.seen.add(counter);
    if (counter > this.highest) this.highest = counter;
    return true;
  }
}

Deno.test("replay window covers at least 8192 packets of reordering", () => {
  assert.ok(REPLAY_WINDOW_SIZE >= 8192);
  const window = new ReplayWindow();
  assert.equal(window.update(8192n), true);
  assert.equal(window.update(0n), true);
});

Deno.test("replay window accepts counter 0 once", () => {
  const window = new ReplayWindow();
  assert.equal(window.highest, -1n);
  assert.equal(window.check(0n), true);
  assert.equal(window.update(0n), true);
  assert.equal(window.check(0n), false);
  assert.equal(window.verdict(0n), "replay");
  assert.equal(window.update(0n), false);
  assert.equal(window.highest, 0n);
});

Deno.test("replay window check does not record the counter", () => {
  const window = new ReplayWindow();
  assert.equal(window.check(5n), true);
  assert.equal(window.check(5n), true);
  assert.equal(window.highest, -1n);
  assert.equal(window.update(5n), true);
});

Deno.test("replay window accepts packets reordered within the window once each", () => {
  const random = seeded(1);
  const window = new ReplayWindow();
  // Shuffle within chunks of 8192: no packet lags the highest by more.
  const chunk = 8192;
  for (let start = 0; start < 4 * chunk; start += chunk) {
    const order = shuffle(
      Array.from({ length: chunk }, (_, i) => BigInt(start + i)),
      random,
    );
    for (const counter of order) {
      assert.equal(window.update(counter), true, `counter ${counter}`);
    }
    for (const counter of order.slice(0, 100)) {
      assert.equal(window.update(counter), false, `duplicate ${counter}`);
    }
  }
});

Deno.test("replay window rejects duplicates, including interleaved ones", () => {
  const window = new ReplayWindow();
  for (const counter of [3n, 1n, 2n, 1n, 3n, 0n, 2n]) window.update(counter);
  for (const counter of [0n, 1n, 2n, 3n]) {
    assert.equal(window.verdict(counter), "replay");
    assert.equal(window.update(counter), false);
  }
  assert.equal(window.check(4n), true);
});

Deno.test("replay window accepts exactly the oldest counter in the window and refuses one older", () => {
  // Several highest values, so that the edge falls at different positions
  // within a 32-bit block and around the ring's wrap.
  for (
    const highest of [
      W + 1n,
      W + 2n,
      W + 31n,
      W + 32n,
      100_000n,
      100_031n,
      100_032n,
      (1n << 32n) + 5n,
      MAX_COUNTER,
    ]
  ) {
    const window = new ReplayWindow();
    assert.equal(window.update(highest), true);
    const oldest = highest - W;
    assert.equal(window.verdict(oldest - 1n), "too-old", `below ${highest}`);
    assert.equal(window.update(oldest - 1n), false);
    assert.equal(window.verdict(oldest), "fresh", `oldest below ${highest}`);
    assert.equal(window.update(oldest), true);
    assert.equal(window.update(oldest), false);
    assert.equal(window.verdict(oldest), "replay");
  }
});

Deno.test("replay window counts an old counter as too old, not replayed, once it leaves the window", () => {
  const window = new ReplayWindow();
  window.update(10n);
  window.update(10n + W);
  assert.equal(window.verdict(10n), "replay");
  window.update(11n + W);
  assert.equal(window.verdict(10n), "too-old");
});

Deno.test("replay window forgets everything behind a jump far ahead", () => {
  const window = new ReplayWindow();
  for (let c = 0n; c < 20_000n; c++) window.update(c);
  const jump = 10_000_000n;
  assert.equal(window.update(jump), true);
  assert.equal(window.verdict(19_999n), "too-old");
  assert.equal(window.verdict(jump), "replay");
  // Every counter still in the window is unseen, whatever stale bits its
  // ring slot held before the jump.
  for (let c = jump - W; c < jump; c++) {
    assert.equal(window.verdict(c), "fresh", `counter ${c}`);
  }
});

Deno.test("replay window keeps what it saw when it slides by less than a ring", () => {
  const window = new ReplayWindow();
  for (let c = 0n; c < 16_384n; c++) window.update(c);
  const highest = 16_383n + 32n * 100n;
  window.update(highest);
  for (let c = highest - W; c < 16_384n; c++) {
    assert.equal(window.verdict(c), "replay", `counter ${c}`);
  }
  for (let c = 16_384n; c < highest; c++) {
    assert.equal(window.verdict(c), "fresh", `counter ${c}`);
  }
});

Deno.test("replay window agrees with a set-based model on random traffic", () => {
  // Bases put the traffic across 32-bit, block and ring boundaries and up
  // against 2^64.
  const bases = [
    0n,
    (1n << 32n) - 20_000n,
    (1n << 53n) - 7n,
    MAX_COUNTER - 60_000n,
  ];
  for (const [i, base] of bases.entries()) {
    const random = seeded(100 + i);
    const window = new ReplayWindow();
    const model = new ModelWindow();
    let cursor = base;
    for (let step = 0; step < 20_000; step++) {
      const r = random();
      let counter: bigint;
      if (r < 0.6) counter = cursor++; // in order
      else if (r < 0.9) { // late, sometimes beyond the window
        counter = cursor -
          BigInt(Math.floor(random() * REPLAY_WINDOW_SIZE * 1.2));
      } else if (r < 0.98) counter = cursor - 1n; // duplicate-ish
      else { // jump ahead, by a little or by more than the ring
        cursor += BigInt(Math.floor(random() * REPLAY_WINDOW_SIZE * 3));
        counter = cursor;
      }
      if (counter < 0n || counter > MAX_COUNTER) continue;
      if (cursor > MAX_COUNTER) cursor = MAX_COUNTER;
      assert.equal(
        window.verdict(counter),
        model.verdict(counter),
        `check ${counter}`,
      );
      assert.equal(
        window.update(counter),
        model.update(counter),
        `update ${counter}`,
      );
    }
    assert.equal(window.highest, model.highest);
  }
});

Deno.test("replay window handles counters next to 2^64", () => {
  const window = new ReplayWindow();
  assert.equal(window.update(MAX_COUNTER - 1n), true);
  assert.equal(window.update(MAX_COUNTER), true);
  assert.equal(window.update(MAX_COUNTER - 2n), true);
  assert.equal(window.update(MAX_COUNTER), false);
  assert.equal(window.verdict(MAX_COUNTER - W), "fresh");
  assert.equal(window.verdict(MAX_COUNTER - W - 1n), "too-old");
});

Deno.test("replay window refuses counters outside 64 unsigned bits", () => {
  const window = new ReplayWindow();
  assert.throws(() => window.check(-1n), RangeError);
  assert.throws(() => window.update(1n << 64n), RangeError);
});

Deno.test("replay window reset forgets every counter", () => {
  const window = new ReplayWindow();
  window.update(42n);
  window.reset();
  assert.equal(window.highest, -1n);
  assert.equal(window.update(42n), true);
});
