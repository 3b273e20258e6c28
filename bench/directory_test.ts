import assert from "node:assert/strict";
import {
  parseBenchArgs,
  QUICK_SETTINGS,
  runDirectoryBench,
  summarize,
} from "./directory.ts";

// Tiny settings: this checks the bench still runs and reports sane figures,
// not how fast anything is.
Deno.test("directory bench runs end to end and reports every figure", async () => {
  const report = await runDirectoryBench({
    ...QUICK_SETTINGS,
    relays: 40,
    rate: 50,
    seconds: 1,
  });
  assert.equal(report.registration.latency.count, 40);
  assert.ok(report.heartbeats.latency.count >= 40);
  assert.equal(report.heartbeats.errors, 0);
  assert.ok(report.list.latency.count >= 1);
  assert.ok(report.list.bytes > 40 * 500);
  assert.ok(report.directory.rssAfterRegistrationMb > 0);
});

Deno.test("bench percentiles are nearest-rank and flags parse", () => {
  const samples = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.deepEqual(summarize(samples), {
    count: 100,
    p50: 50,
    p90: 90,
    p99: 99,
    max: 100,
  });
  assert.equal(
    parseBenchArgs(["--quick"]).settings.relays,
    QUICK_SETTINGS.relays,
  );
  assert.equal(parseBenchArgs(["--relays", "5"]).settings.relays, 5);
});
