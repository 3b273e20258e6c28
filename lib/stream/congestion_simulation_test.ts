import assert from "node:assert/strict";
import { CUBIC_BETA, CUBIC_C } from "./constants.ts";
import {
  randomBytes,
  runTransfer,
  SimulatedLink,
  StreamSimulation,
  TRANSPORT_OVERHEAD,
} from "./simulated_link_for_testing.ts";
import { Stream } from "./stream.ts";

const SEGMENT = 1151;
const CHUNK = new Uint8Array(64 * 1024);

/** Runs bulk senders (always writing) A → B over one bottleneck. */
function bulk(
  streams: number,
  link: { delayMs: number; bytesPerMs: number; bufferBytes: number },
  durationMs: number,
  options: {
    startAt?: number[];
    observe?: (now: number, a: Stream[]) => void;
  } = {},
): { received: number[][]; at: number[] } {
  const a = Array.from({ length: streams }, (_, i) => new Stream(i + 1));
  const b = Array.from({ length: streams }, (_, i) => new Stream(i + 1));
  const sim = new StreamSimulation(a, b, {
    aToB: new SimulatedLink(link),
    bToA: new SimulatedLink({ delayMs: link.delayMs }),
  });
  const received = a.map(() => [] as number[]);
  const got = a.map(() => 0);
  const at: number[] = [];
  const startAt = options.startAt ?? a.map(() => 0);
  let nextSample = 0;
  sim.run({
    tick: (now) => {
      for (let i = 0; i < streams; i++) {
        if (now >= startAt[i]) { while (a[i].write(CHUNK) > 0); }
        for (let c = b[i].read(); c; c = b[i].read()) got[i] += c.length;
      }
      options.observe?.(now, a);
      if (now >= nextSample) {
        at.push(now);
        got.forEach((g, i) => received[i].push(g));
        nextSample += 100;
      }
      return Math.min(nextSample, ...startAt.filter((t) => t > now));
    },
    done: (now) => now >= durationMs,
    limitMs: durationMs + 1000,
  });
  return { received, at };
}

/** Bytes received by stream `i` between times `from` and `to` (sampled). */
function between(
  r: { received: number[][]; at: number[] },
  i: number,
  from: number,
  to: number,
): number {
  const first = r.at.findIndex((t) => t >= from);
  const last = r.at.findLastIndex((t) => t <= to);
  return r.received[i][last] - r.received[i][first];
}

Deno.test("a bulk transfer reaches at least 80 % of the bottleneck rate at 0 % loss", () => {
  // 10 Mbit/s, 40 ms RTT, a drop-tail buffer of one bandwidth-delay product.
  const rate = 1250;
  const payload = randomBytes(8 * 1024 * 1024, 1);
  const r = runTransfer(payload, {
    link: { delayMs: 20, bytesPerMs: rate, bufferBytes: 50_000 },
    limitMs: 60_000,
  });
  assert.equal(r.received.length, payload.length);
  // Goodput counts payload only; the link also carries headers and tags.
  const goodput = payload.length / r.timeMs;
  const ceiling = rate * SEGMENT / (SEGMENT + 12 + TRANSPORT_OVERHEAD);
  assert.ok(goodput >= 0.8 * rate, `goodput ${goodput} B/ms of ${rate}`);
  assert.ok(goodput <= ceiling);
  assert.equal(r.sender.stats.timeouts, 0);
});

Deno.test("cwnd grows exponentially in slow start, then follows the CUBIC curve after a loss", () => {
  // 20 Mbit/s, 100 ms RTT, one BDP of buffer: large enough a window that
  // the cubic function, not the Reno-friendly estimate, sets cwnd.
  const samples: { t: number; cwnd: number; slowStart: boolean }[] = [];
  const events: { t: number; before: number; after: number }[] = [];
  let lastEvents = 0, lastCwnd = 0, nextSample = 0;
  bulk(1, { delayMs: 50, bytesPerMs: 2500, bufferBytes: 250_000 }, 13_000, {
    observe: (now, [a]) => {
      const s = a.stats;
      const cwnd = s.cwnd / SEGMENT;
      if (s.congestionEvents !== lastEvents) {
        events.push({ t: now, before: lastCwnd, after: cwnd });
        lastEvents = s.congestionEvents;
      }
      lastCwnd = cwnd;
      assert.equal(s.timeouts, 0);
      if (now >= nextSample) {
        samples.push({
          t: now,
          cwnd,
          slowStart: a.sender.congestionController.inSlowStart,
        });
        nextSample += 100;
      }
    },
  });
  assert.ok(events.length >= 2);
  // Slow start: from the initial window, more than doubling every 200 ms
  // (two round trips at least), until the first loss.
  const slow = samples.filter((s) => s.t < events[0].t);
  assert.equal(slow[0].cwnd, 10);
  assert.ok(slow.every((s) => s.slowStart));
  for (let i = 2; i < slow.length; i++) {
    assert.ok(slow[i].cwnd >= 2 * slow[i - 2].cwnd, `${slow[i].t}`);
  }
  assert.ok(events[0].before > 400);
  // Each loss multiplies cwnd by β = 0.7 and slow start never resumes.
  // (The ACK that reveals a loss may first grow cwnd by what it
  // acknowledges, hence the slack on the cwnd seen before it.)
  for (const e of events) {
    assert.ok(Math.abs(e.after / CUBIC_BETA - e.before) <= 3, `${e.t}`);
  }
  assert.ok(
    samples.filter((s) => s.t > events[0].t).every((s) => !s.slowStart),
  );
  // The longest epoch follows W_cubic(t) = C(t − K)³ + W_max, with W_max
  // from fast convergence (RFC 9438 §4.7).
  let wMax = 0, best = { from: 0, to: 0, wMax: 0, cwnd: 0 };
  events.forEach((e, i) => {
    const before = e.after / CUBIC_BETA;
    wMax = before < wMax ? before * (1 + CUBIC_BETA) / 2 : before;
    const to = events[i + 1]?.t ?? 13_000;
    if (to - e.t > best.to - best.from) {
      best = { from: e.t, to, wMax, cwnd: e.after };
    }
  });
  assert.ok(
    best.to - best.from > 5000,
    "an epoch long enough to see the curve",
  );
  const k = Math.cbrt((best.wMax - best.cwnd) / CUBIC_C);
  const fit = samples.filter((s) => s.t > best.from + 500 && s.t < best.to);
  for (const s of fit) {
    const t = (s.t - best.from) / 1000;
    const wCubic = CUBIC_C * (t - k) ** 3 + best.wMax;
    assert.ok(
      Math.abs(s.cwnd - wCubic) <= 0.04 * best.wMax,
      `t=${t.toFixed(2)} cwnd=${s.cwnd.toFixed(1)} W_cubic=${
        wCubic.toFixed(1)
      }`,
    );
  }
  assert.ok(fit.length > 40);
});

Deno.test("two streams sharing a bottleneck get within 2× of each other's throughput", () => {
  const link = { delayMs: 20, bytesPerMs: 1250, bufferBytes: 50_000 };
  // Started together.
  const together = bulk(2, link, 20_000);
  const t0 = between(together, 0, 3000, 20_000);
  const t1 = between(together, 1, 3000, 20_000);
  assert.ok(Math.max(t0, t1) / Math.min(t0, t1) < 2, `${t0} vs ${t1}`);
  // Utilisation stays high with two flows.
  assert.ok((t0 + t1) / 17_000 >= 0.8 * link.bytesPerMs);
  // The second starts 3 s late, into a full pipe: fast convergence makes
  // room within a few seconds.
  const late = bulk(2, link, 25_000, { startAt: [0, 3000] });
  const l0 = between(late, 0, 8000, 25_000);
  const l1 = between(late, 1, 8000, 25_000);
  assert.ok(Math.max(l0, l1) / Math.min(l0, l1) < 2, `${l0} vs ${l1}`);
});
