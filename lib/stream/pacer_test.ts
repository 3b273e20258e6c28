import assert from "node:assert/strict";
import { MAX_BURST_SEGMENTS, Pacer } from "./pacer.ts";

const MSS = 1000;

Deno.test("pacer sends a burst, then spreads segments at gain × cwnd / SRTT", () => {
  const pacer = new Pacer(MSS);
  // 100 segments per 100 ms, gain 1: one segment per millisecond.
  const rate = { window: 100 * MSS, srtt: 100, gain: 1 };
  let now = 0;
  let sent = 0;
  const times: number[] = [];
  while (sent < 50) {
    const at = pacer.sendTime(MSS, now, rate);
    if (at > now) {
      now = at;
      continue;
    }
    pacer.onSent(MSS, now);
    times.push(now);
    sent++;
  }
  // The burst is bounded by max(2 ms of rate, 2 segments) = 2 segments here.
  const burst = times.filter((t) => t === 0).length;
  assert.equal(burst, 2);
  // Then one per millisecond: 48 more segments take 48 ms.
  assert.ok(Math.abs(times.at(-1)! - 48) < 1e-6, `${times.at(-1)}`);
});

Deno.test("pacer does not pace before an RTT sample", () => {
  const pacer = new Pacer(MSS);
  const rate = { window: 10 * MSS, srtt: undefined, gain: 2 };
  for (let i = 0; i < MAX_BURST_SEGMENTS * 3; i++) {
    assert.equal(pacer.sendTime(MSS, 0, rate), 0);
    pacer.onSent(MSS, 0);
  }
});
