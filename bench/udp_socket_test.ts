// Smoke test of the UDP driver benchmark: a small run through both drivers,
// so that it cannot rot unnoticed.
import assert from "node:assert/strict";
import {
  cpuMicros,
  DRIVERS,
  formatUdpSocketReport,
  parseUdpSocketBenchArgs,
  rate,
  runUdpSocketBench,
} from "./udp_socket.ts";

Deno.test("the UDP driver bench pushes datagrams through both drivers and reports each", async () => {
  const report = await runUdpSocketBench({
    count: 2000,
    size: 1200,
    window: 16,
    rounds: 1,
    rmemBytes: undefined, // never touch a sysctl from a test
  });
  assert.equal(report.runs.length, DRIVERS.length);
  for (const driver of DRIVERS) {
    const run = report.median[driver];
    assert.equal(run.send.datagrams, 2000);
    assert.ok(rate(run.send) > 0 && cpuMicros(run.send) > 0, driver);
    assert.ok(run.receive.datagrams > 0 && rate(run.receive) > 0, driver);
  }
  const text = formatUdpSocketReport(report);
  assert.match(text, /^\s+deno\s+[\d,]+/m);
  assert.match(text, /^\s+node\s+[\d,]+/m);
  assert.match(text, /node:dgram vs Deno\.listenDatagram/);
});

Deno.test("the UDP driver bench refuses bad arguments", () => {
  const parsed = parseUdpSocketBenchArgs(["--count=10", "--keep-rmem"]);
  assert.equal(parsed.options.count, 10);
  assert.equal(parsed.options.rmemBytes, undefined);
  assert.throws(() => parseUdpSocketBenchArgs(["--count=0"]), RangeError);
  assert.throws(() => parseUdpSocketBenchArgs(["--driver=x"]), TypeError);
});
