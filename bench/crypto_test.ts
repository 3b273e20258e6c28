import assert from "node:assert/strict";
import {
  countX25519,
  DEFAULT_SETTINGS,
  parseBenchArgs,
  QUICK_SETTINGS,
  runCryptoBench,
} from "./crypto.ts";
import { formatCryptoReport, formatTable } from "./crypto_report.ts";
import { cpuModelFromCpuinfo } from "./machine.ts";
import { measureRate, measureRates, median } from "./timing.ts";

// Tiny budgets: this checks the bench still runs and reports sane figures,
// not how fast anything is.
const TINY = { budgetMs: 4, warmupMs: 1, repeats: 2, sizes: [64, 1200, 65536] };

Deno.test("crypto bench measures every cell with a positive rate", () => {
  const report = runCryptoBench(TINY);

  assert.equal(report.x25519.length, 7);
  for (const row of report.x25519) {
    assert.ok(row.opsPerSecond > 0, `${row.cell} ops/s`);
    assert.equal(row.runs.length, TINY.repeats);
  }

  assert.deepEqual(report.handshakes.map((row) => row.pattern), [
    "IK",
    "XX",
    "NK",
  ]);
  for (const row of report.handshakes) {
    assert.ok(row.handshakesPerSecond > 0, `${row.pattern} handshakes/s`);
    assert.ok(row.ceiling > 0 && row.ceilingNoble > 0);
    assert.ok(row.ceilingDhOnly > row.ceiling, "keygens lower the ceiling");
  }

  assert.equal(report.throughput.length, 6 * TINY.sizes.length);
  for (const row of report.throughput) {
    const where = `(${row.cell}) at ${row.size} B`;
    if (row.cell === "e" && row.size === 65536) {
      // Bigger than any altnet packet: the wire decoder must refuse it.
      assert.match(row.skipped ?? "", /too-large/, where);
      continue;
    }
    assert.ok(row.figures, where);
    assert.ok(row.figures.packetsPerSecond > 0, where);
    assert.ok(row.figures.megabytesPerSecond > 0, where);
    assert.ok(row.figures.costVsRaw > 0, where);
  }
  const baselines = report.throughput.filter((row) => row.cell === "a");
  for (const row of baselines) assert.equal(row.figures?.costVsRaw, 1);

  const text = formatCryptoReport(report);
  for (
    const heading of ["1. X25519", "2. Noise handshakes", "3. Seal + open"]
  ) {
    assert.ok(text.includes(heading), heading);
  }
  assert.ok(text.includes(`Deno ${Deno.version.deno}`));
  assert.doesNotMatch(text, /NaN|Infinity|undefined/);
  assert.deepEqual(JSON.parse(JSON.stringify(report)).settings, TINY);
});

Deno.test("countX25519 follows the Noise patterns altnet uses", () => {
  // Noise §7.5: IK is e, es, s, ss / e, ee, se; XX e / e, ee, s, es / s, se;
  // NK e, es / e, ee.
  assert.deepEqual(countX25519("IK"), { dhPerSide: 4, dhTotal: 8, keygens: 2 });
  assert.deepEqual(countX25519("XX"), { dhPerSide: 3, dhTotal: 6, keygens: 2 });
  assert.deepEqual(countX25519("NK"), { dhPerSide: 2, dhTotal: 4, keygens: 2 });
});

Deno.test("measureRate reports the median rate of time-boxed runs", () => {
  let clock = 0;
  const rate = measureRate(() => clock += 2, {
    budgetMs: 100,
    warmupMs: 10,
    repeats: 3,
    now: () => clock,
  });
  // Each operation takes 2 ms on this clock: 500 per second, exactly.
  assert.deepEqual(rate.runs, [500, 500, 500]);
  assert.equal(rate.opsPerSecond, 500);
  assert.equal(rate.batch, 4);
  assert.throws(
    () => measureRate(() => {}, { budgetMs: 0, warmupMs: 0, repeats: 1 }),
    RangeError,
  );
});

Deno.test("measureRates times compared operations in interleaved rounds", () => {
  let clock = 0;
  const log: string[] = [];
  const op = (name: string, ms: number) => () => {
    if (log.at(-1) !== name) log.push(name);
    clock += ms;
  };
  const [fast, slow] = measureRates([op("fast", 1), op("slow", 4)], {
    budgetMs: 40,
    warmupMs: 0,
    repeats: 3,
    now: () => clock,
  });
  // Warm-up of each, then three rounds of one run each.
  assert.deepEqual(
    log,
    ["fast", "slow", ...Array(3).fill(["fast", "slow"])].flat(),
  );
  assert.equal(fast.opsPerSecond, 1000);
  assert.equal(slow.opsPerSecond, 250);
});

Deno.test("median takes the middle value or the mean of the middle two", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), RangeError);
});

Deno.test("bench arguments select the settings and reject unknown flags", () => {
  assert.deepEqual(parseBenchArgs([]), {
    help: false,
    json: false,
    settings: DEFAULT_SETTINGS,
  });
  const quick = parseBenchArgs(["--quick", "--json", "--repeats", "5"]);
  assert.equal(quick.json, true);
  assert.deepEqual(quick.settings, { ...QUICK_SETTINGS, repeats: 5 });
  assert.equal(parseBenchArgs(["--budget-ms", "250"]).settings.budgetMs, 250);
  assert.throws(() => parseBenchArgs(["--repeats", "0"]), TypeError);
  assert.throws(() => parseBenchArgs(["--fast"]));
});

Deno.test("cpu model is read from x86 and Raspberry Pi cpuinfo", () => {
  assert.equal(
    cpuModelFromCpuinfo("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n"),
    "AMD EPYC 7B13",
  );
  assert.equal(
    cpuModelFromCpuinfo(
      "CPU part\t: 0xd08\n\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n",
    ),
    "Raspberry Pi 4 Model B Rev 1.4",
  );
  assert.equal(cpuModelFromCpuinfo("flags: fpu\n"), undefined);
});

Deno.test("formatTable aligns columns", () => {
  assert.equal(
    formatTable(
      [
        "name",
        "n",
      ],
      [["a", "1"], ["bcdef", "22"]],
      ["left", "right"],
    ),
    "name    n\na       1\nbcdef  22",
  );
});
