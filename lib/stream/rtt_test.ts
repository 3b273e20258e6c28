import assert from "node:assert/strict";
import { INITIAL_RTO_MS, MAX_RTO_MS } from "./constants.ts";
import { DEFAULT_MIN_RTO_MS, RttEstimator } from "./rtt.ts";

Deno.test("RTO is 1 s before any sample (RFC 6298 §2.1)", () => {
  assert.equal(new RttEstimator().rto, INITIAL_RTO_MS);
  assert.equal(INITIAL_RTO_MS, 1000);
});

Deno.test("first and later samples follow RFC 6298 §2.2–2.3", () => {
  const rtt = new RttEstimator({ minRto: 1 });
  rtt.onSample(100);
  assert.equal(rtt.smoothed, 100);
  assert.equal(rtt.variation, 50);
  assert.equal(rtt.rto, 300);
  rtt.onSample(200);
  // RTTVAR = 3/4 × 50 + 1/4 × |100 − 200| = 62.5; SRTT = 7/8 × 100 + 1/8 × 200
  assert.equal(rtt.variation, 62.5);
  assert.equal(rtt.smoothed, 112.5);
  assert.equal(rtt.rto, 112.5 + 4 * 62.5);
  assert.equal(rtt.min, 100);
  assert.equal(rtt.latest, 200);
});

Deno.test("RTO never drops below the 200 ms floor", () => {
  assert.equal(DEFAULT_MIN_RTO_MS, 200);
  const rtt = new RttEstimator();
  for (let i = 0; i < 50; i++) rtt.onSample(10);
  assert.equal(rtt.rto, 200);
});

Deno.test("each timeout doubles the RTO up to 60 s, and a valid sample ends the backoff", () => {
  const rtt = new RttEstimator();
  rtt.onSample(100); // RTO 300
  const seen: number[] = [];
  for (let i = 0; i < 10; i++) {
    rtt.onRetransmissionTimeout();
    seen.push(rtt.rto);
  }
  assert.deepEqual(seen.slice(0, 5), [600, 1200, 2400, 4800, 9600]);
  assert.equal(seen.at(-1), MAX_RTO_MS);
  rtt.onSample(100);
  assert.equal(rtt.backoffCount, 0);
  assert.ok(rtt.rto < 600);
});

Deno.test("reset forgets the path's RTT", () => {
  const rtt = new RttEstimator();
  rtt.onSample(80);
  rtt.onRetransmissionTimeout();
  rtt.reset();
  assert.equal(rtt.smoothed, undefined);
  assert.equal(rtt.min, undefined);
  assert.equal(rtt.rto, INITIAL_RTO_MS);
});

Deno.test("a minimum RTO above the maximum is refused", () => {
  assert.throws(
    () => new RttEstimator({ minRto: 70_000 }),
    RangeError,
  );
});
