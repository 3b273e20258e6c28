import assert from "node:assert/strict";
import { Cubic } from "./congestion.ts";
import {
  CUBIC_ALPHA,
  CUBIC_BETA,
  CUBIC_C,
  initialCongestionWindow,
} from "./constants.ts";

const MSS = 1000;

/** Acknowledges one segment at a time, a window's worth per RTT, for `ms`. */
function ackFor(
  cc: Cubic,
  from: number,
  ms: number,
  srtt: number,
  sample?: (t: number) => void,
): number {
  let now = from;
  const rtt = { smoothed: srtt, min: srtt, latest: srtt };
  while (now < from + ms) {
    cc.onAcknowledged(MSS, now, rtt);
    sample?.(now);
    now += srtt / (cc.window / MSS);
  }
  return now;
}

Deno.test("CUBIC constants are RFC 9438's", () => {
  assert.equal(CUBIC_C, 0.4);
  assert.equal(CUBIC_BETA, 0.7);
  assert.ok(Math.abs(CUBIC_ALPHA - 3 * 0.3 / 1.7) < 1e-12);
});

Deno.test("initial window is RFC 6928's", () => {
  assert.equal(initialCongestionWindow(1151), 11_510);
  assert.equal(initialCongestionWindow(1460), 14_600);
  assert.equal(initialCongestionWindow(2000), 14_600);
  assert.equal(initialCongestionWindow(500), 5_000);
  assert.equal(new Cubic(1151).window, 11_510);
});

Deno.test("slow start grows by the bytes acknowledged, up to ssthresh", () => {
  const cc = new Cubic(MSS);
  const rtt = { smoothed: 100, min: 100, latest: 100 };
  assert.equal(cc.inSlowStart, true);
  cc.onAcknowledged(10 * MSS, 0, rtt);
  assert.equal(cc.window, 20 * MSS); // one round trip: doubled
  cc.onCongestionEvent(0);
  assert.equal(cc.window, 14 * MSS);
  assert.equal(cc.slowStartThreshold, 14 * MSS);
  assert.equal(cc.inSlowStart, false);
});

Deno.test("a congestion event multiplies by β and fast convergence lowers W_max", () => {
  const cc = new Cubic(MSS);
  const rtt = { smoothed: 100, min: 100, latest: 100 };
  cc.onAcknowledged(90 * MSS, 0, rtt); // cwnd 100 segments
  cc.onCongestionEvent(0);
  assert.equal(cc.maxWindow, 100 * MSS);
  assert.equal(cc.window, 70 * MSS);
  cc.onCongestionEvent(1); // again below W_max: release bandwidth
  assert.equal(cc.maxWindow, 70 * MSS * (1 + 0.7) / 2);
  assert.equal(cc.window, 49 * MSS);
  for (let i = 0; i < 20; i++) cc.onCongestionEvent(2 + i);
  assert.equal(cc.window, 2 * MSS); // RFC 9438 §4.6 floor
});

Deno.test("congestion avoidance follows W_cubic(t) = C(t − K)³ + W_max", () => {
  const cc = new Cubic(MSS);
  const srtt = 100;
  cc.onAcknowledged(90 * MSS, 0, { smoothed: srtt, min: srtt, latest: srtt });
  cc.onCongestionEvent(0); // W_max 100, cwnd 70
  const k = Math.cbrt((100 - 70) / CUBIC_C); // 4.22 s
  const wCubic = (t: number) => CUBIC_C * (t - k) ** 3 + 100;
  let checked = 0;
  ackFor(cc, 0, 5000, srtt, (now) => {
    const t = now / 1000;
    if (t < 0.5) return;
    // cwnd aims at W_cubic one RTT ahead and reaches it within an RTT.
    const segments = cc.window / MSS;
    assert.ok(
      segments >= wCubic(t) - 1 && segments <= wCubic(t + 0.1) + 1,
      `t=${t.toFixed(2)} cwnd=${segments.toFixed(2)} W_cubic=${
        wCubic(t).toFixed(2)
      }`,
    );
    checked++;
  });
  assert.ok(checked > 100);
  // Concave below W_max, plateau near K, then convex.
  const atK = cc.window / MSS;
  assert.ok(Math.abs(atK - 100) < 2, `${atK}`);
});

Deno.test("on a short RTT the Reno-friendly estimate sets cwnd (RFC 9438 §4.3)", () => {
  const cc = new Cubic(MSS);
  const srtt = 10;
  cc.onAcknowledged(90 * MSS, 0, { smoothed: srtt, min: srtt, latest: srtt });
  cc.onCongestionEvent(0); // W_max 100, cwnd 70
  const k = Math.cbrt(30 / CUBIC_C);
  const end = ackFor(cc, 0, 500, srtt);
  const t = end / 1000;
  const wCubic = CUBIC_C * (t + 0.01 - k) ** 3 + 100;
  // W_est: 70 + α × (RTTs elapsed), with α = 1 once W_est reaches 100.
  const segments = cc.window / MSS;
  assert.ok(segments > wCubic + 10, `${segments} vs W_cubic ${wCubic}`);
  const rtts = 500 / srtt;
  const renoLow = 70 + CUBIC_ALPHA * rtts * 0.9;
  assert.ok(segments >= renoLow, `${segments} < ${renoLow}`);
});

Deno.test("a timeout drops cwnd to one segment; only the first of a series sets ssthresh", () => {
  const cc = new Cubic(MSS);
  const rtt = { smoothed: 100, min: 100, latest: 100 };
  cc.onAcknowledged(30 * MSS, 0, rtt); // cwnd 40
  cc.onRetransmissionTimeout(0, true);
  assert.equal(cc.window, MSS);
  assert.equal(cc.slowStartThreshold, 28 * MSS);
  cc.onRetransmissionTimeout(1, false);
  assert.equal(cc.window, MSS);
  assert.equal(cc.slowStartThreshold, 28 * MSS);
  // Slow start back to ssthresh, then cubic growth from K = 0 (§4.8).
  cc.onAcknowledged(27 * MSS, 2, rtt);
  assert.equal(cc.window, 28 * MSS);
  ackFor(cc, 2, 1000, 100);
  assert.ok(cc.window > 28 * MSS);
});

Deno.test("a path change restarts slow start from the initial window", () => {
  const cc = new Cubic(MSS);
  cc.onAcknowledged(50 * MSS, 0, { smoothed: 10, min: 10, latest: 10 });
  cc.onCongestionEvent(0);
  cc.onPathChange(1);
  assert.equal(cc.window, 10 * MSS);
  assert.equal(cc.slowStartThreshold, Infinity);
  assert.equal(cc.inSlowStart, true);
});
