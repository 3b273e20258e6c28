// bench/transfer.ts must not rot: a tiny run of its loopback part (TCP copy,
// altnet direct and relayed) produces positive goodput for every row.
import assert from "node:assert/strict";

const BENCH = new URL("../../bench/transfer.ts", import.meta.url).pathname;

Deno.test("bench/transfer.ts reports goodput for TCP, altnet direct and relayed", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-all",
      BENCH,
      "--json",
      "--size-mib",
      "2",
      "--memory-gib",
      "0",
      "--no-lab",
    ],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  const report = JSON.parse(new TextDecoder().decode(output.stdout));
  assert.equal(report.loopback.length, 3);
  for (const row of report.loopback) {
    assert.ok(row.mbps > 0, JSON.stringify(row));
    assert.equal(row.bytes, 2 * 1024 * 1024);
  }
  assert.equal(report.loopback[1].via, "direct");
  assert.equal(report.loopback[2].via, "relay");
  assert.ok(report.cryptoCeiling.mbps > 0);
  assert.deepEqual(report.lab, { skipped: "--no-lab" });
});
