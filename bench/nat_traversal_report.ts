/**
 * The figures and text report of the NAT traversal benchmark: each pair's
 * runs reduced to medians and p95s, then one table of every pair,
 * the comparison with the state of the art on cone ↔ cone, and notes on
 * whatever did not go as expected.
 *
 * @module
 */

import { formatTable } from "./crypto_report.ts";
import type {
  NatBenchReport,
  NatPair,
  PairResult,
  StartupTimes,
} from "./nat_traversal.ts";
import { median } from "./timing.ts";

/** The median and 95th percentile of a time over a pair's runs; null is never. */
export interface TimeSummary {
  /** Runs in which it happened within the cap. */
  reached: number;
  medianMs: number | null;
  /** Nearest rank: with 10 runs, the slowest. */
  p95Ms: number | null;
}

/** A pair's figures, as the report shows them. */
export interface PairSummary {
  id: string;
  label: string;
  loss: number;
  expected: NatPair["expected"];
  runs: number;
  /** Runs that registered both chats and so measured something. */
  measured: number;
  /** Runs that ended on a direct path (both sides). */
  endedDirect: number;
  /**
   * Probes spent until the final path, over the runs that ended direct:
   * medians of alice's, bob's and their sum (from the `probes` of each
   * side's last `path` event); null when no run ended direct.
   */
  probes: {
    aliceMedian: number | null;
    bobMedian: number | null;
    totalMedian: number | null;
  };
  /** Runs that ended direct with either side's final path won by a birthday probe. */
  birthdayWins: number;
  session: TimeSummary;
  firstDelivered: TimeSummary;
  messageAtBob: TimeSummary;
  direct: TimeSummary;
  /** The median RTT of the runs that ended direct. */
  finalRttMs: number | null;
  /** Medians over alice's and bob's start-ups. */
  startup: StartupTimes;
  /** Runs whose first message took over {@linkcode SLOW_FIRST_MESSAGE_MS} (or never came). */
  slowFirstMessages: {
    run: number;
    firstDeliveredMs: number | null;
    sessionMs: number | null;
  }[];
  /** Why runs failed, and what chats wrote on stderr, by run. */
  problems: string[];
}

/** A first message slower than this gets a note saying where the time went. */
export const SLOW_FIRST_MESSAGE_MS = 1_000;

/**
 * The nearest-rank percentile `p` (0–100) of `values`; `Infinity` stands
 * for "never".
 *
 * @example
 * ```ts
 * import { percentile } from "./nat_traversal_report.ts";
 *
 * percentile([3, 1, 2, 4], 50); // 2
 * percentile([1, 2, Infinity], 95); // Infinity
 * ```
 *
 * @throws {RangeError} If `values` is empty or `p` is outside 0–100.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) {
    throw new RangeError("Cannot take a percentile of no values");
  }
  if (!(p >= 0 && p <= 100)) {
    throw new RangeError(`Cannot take a percentile outside 0-100: ${p}`);
  }
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p / 100 * sorted.length) - 1)];
}

const finiteOrNull = (value: number) => Number.isFinite(value) ? value : null;

function summarizeTimes(values: readonly (number | null)[]): TimeSummary {
  if (values.length === 0) return { reached: 0, medianMs: null, p95Ms: null };
  const times = values.map((value) => value ?? Infinity);
  return {
    reached: values.filter((value) => value !== null).length,
    medianMs: finiteOrNull(median(times)),
    p95Ms: finiteOrNull(percentile(times, 95)),
  };
}

function medianOrNull(values: readonly (number | null)[]): number | null {
  const present = values.filter((value): value is number => value !== null);
  return present.length ? median(present) : null;
}

/** Reduces a pair's runs to the figures of the report. */
export function summarizePair(result: PairResult): PairSummary {
  const { pair, runs } = result;
  const measured = runs.filter((run) => run.failure === undefined);
  const direct = runs.filter((run) => run.endedDirect);
  const startups = runs.flatMap((run) => [
    run.startup.alice,
    run.startup.bob,
  ]);
  const problems = runs.flatMap((run) =>
    [
      ...(run.failure ? [`failed, ${run.failure}`] : []),
      ...run.stderr,
    ].map((problem) => `run ${run.run}: ${problem}`)
  );
  return {
    id: pair.id,
    label: pair.label,
    loss: pair.loss,
    expected: pair.expected,
    runs: runs.length,
    measured: measured.length,
    endedDirect: direct.length,
    probes: {
      aliceMedian: medianOrNull(direct.map((run) => run.probes.alice)),
      bobMedian: medianOrNull(direct.map((run) => run.probes.bob)),
      totalMedian: medianOrNull(
        direct.map((run) =>
          run.probes.alice === null || run.probes.bob === null
            ? null
            : run.probes.alice + run.probes.bob
        ),
      ),
    },
    birthdayWins:
      direct.filter((run) =>
        [run.finalReasons.alice, run.finalReasons.bob].some((reason) =>
          reason?.includes("birthday")
        )
      ).length,
    session: summarizeTimes(measured.map((run) => run.sessionMs)),
    firstDelivered: summarizeTimes(measured.map((run) => run.firstDeliveredMs)),
    messageAtBob: summarizeTimes(measured.map((run) => run.messageAtBobMs)),
    direct: summarizeTimes(measured.map((run) => run.directMs)),
    finalRttMs: medianOrNull(
      direct.map((run) => run.finalRttMs),
    ),
    startup: {
      readyMs: medianOrNull(startups.map((s) => s.readyMs)),
      registeredMs: medianOrNull(startups.map((s) => s.registeredMs)),
    },
    slowFirstMessages: measured
      .filter((run) =>
        run.firstDeliveredMs === null ||
        run.firstDeliveredMs > SLOW_FIRST_MESSAGE_MS
      )
      .map(({ run, firstDeliveredMs, sessionMs }) => ({
        run,
        firstDeliveredMs,
        sessionMs,
      })),
    problems,
  };
}

// ---------------------------------------------------------------------------
// Text

/** Milliseconds as seconds with two decimals; null as "never". */
export function formatSeconds(ms: number | null): string {
  return ms === null ? "never" : `${(ms / 1000).toFixed(2)} s`;
}

function formatLoad(load: number[] | null): string {
  return load ? load.map((value) => value.toFixed(2)).join(" ") : "unknown";
}

function describeCode(code: NatBenchReport["code"]): string {
  const { before, after } = code;
  const changed = before.uncommitted.length;
  const line = `Code: ${before.commit ? `commit ${before.commit}` : "no git"}${
    changed ? ` + ${plural(changed, "uncommitted source file")}` : ""
  }, source hash ${before.sourceHash.slice(0, 12)}`;
  return before.sourceHash === after.sourceHash
    ? line
    : `${line}; WARNING: the source changed during the run (now ${
      after.commit ?? "no git"
    }, hash ${
      after.sourceHash.slice(0, 12)
    }), so the runs did not all measure the same code`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function formatCount(count: number | null): string {
  return count === null ? "-" : String(Math.round(count));
}

function formatMs(ms: number | null): string {
  return ms === null ? "-" : `${Math.round(ms)} ms`;
}

function formatRatio(measured: number | null, reference: number): string {
  return measured === null
    ? "n/a"
    : `${(measured / reference).toFixed(2)} × the reference`;
}

/**
 * Renders a report as text for a terminal.
 *
 * @example
 * ```ts ignore
 * import { QUICK_SETTINGS, runNatBench } from "./nat_traversal.ts";
 * import { formatNatReport } from "./nat_traversal_report.ts";
 *
 * console.log(formatNatReport(await runNatBench(QUICK_SETTINGS)));
 * ```
 */
export function formatNatReport(report: NatBenchReport): string {
  const { machine, settings, reference } = report;
  const summaries = report.results.map(summarizePair);
  const out: string[] = [];
  out.push(
    "altnet NAT traversal benchmark",
    `Deno ${machine.deno} (V8 ${machine.v8}), ${machine.target}`,
    `CPU: ${machine.cpuModel}, ${machine.cores} logical cores; load average ${
      formatLoad(report.load.before)
    } before, ${formatLoad(report.load.after)} after; took ${
      formatSeconds(report.durationMs)
    }`,
    describeCode(report.code),
    `Method: ${
      plural(settings.runs, "run")
    } per pair, each on a fresh netns lab (relay on the lab's internet, alice behind site 0, bob behind site 1, new identities);`,
    `  bob starts and registers first; times run from alice's "registered" (process start-up excluded); she sends one line at once;`,
    `  a direct path is waited for up to ${
      settings.capMs / 1000
    } s, then watched for ${
      settings.settleMs / 1000
    } s. The lab adds no delay: round trips are under 1 ms.`,
    "",
  );
  out.push(formatTable(
    [
      "pair",
      "direct",
      "session",
      "1st msg",
      "p95",
      "at bob",
      "to direct",
      "p95",
      "rtt",
      "probes",
      "alice / bob",
      "ready",
      "registered",
    ],
    summaries.map((s) => [
      s.label,
      `${s.endedDirect}/${s.runs}`,
      formatSeconds(s.session.medianMs),
      formatSeconds(s.firstDelivered.medianMs),
      formatSeconds(s.firstDelivered.p95Ms),
      formatSeconds(s.messageAtBob.medianMs),
      formatSeconds(s.direct.medianMs),
      formatSeconds(s.direct.p95Ms),
      formatMs(s.finalRttMs),
      formatCount(s.probes.totalMedian),
      `${formatCount(s.probes.aliceMedian)} / ${
        formatCount(s.probes.bobMedian)
      }`,
      formatSeconds(s.startup.readyMs),
      formatSeconds(s.startup.registeredMs),
    ]),
    ["left", ...Array<"right">(12).fill("right")],
  ));
  out.push(
    `  direct:     runs that ended on a direct path, on both sides (success rate)`,
    `  session:    alice's "registered" to her "peer": the end-to-end session is up over the relay (median)`,
    `  1st msg:    alice's "registered" to her "delivered" for the first line (median, then p95); at bob: to bob printing it (median)`,
    `  to direct:  alice's "registered" to her first "path" via direct (median, p95); never = not within ${
      settings.capMs / 1000
    } s`,
    `  rtt:        median rtt_ms of the final direct path (the probe round trip that chose it)`,
    `  probes:     probes alice and bob sent until their final path (every technique: candidate probes, TTL-2 openers,`,
    `              birthday sockets and spray), median of the sum over the runs that ended direct; alice / bob: each side's median`,
    `  ready, registered: start-up, median from spawn over alice and bob (Deno start-up, identity, socket; then the relay handshake)`,
    `  p95 is the nearest rank: with ${plural(settings.runs, "run")}, the ${
      settings.runs <= 20 ? "slowest run" : "95th percentile"
    }; a "never" counts as slower than any time`,
    "",
  );

  const soa = summaries.find((s) => s.id === reference.pair);
  out.push(
    `State of the art on cone ↔ cone (the issue's figures): first message ≈ ${
      formatSeconds(reference.firstMessageMs)
    }, direct ≈ ${formatSeconds(reference.directMs)}`,
  );
  if (soa) {
    out.push(
      `  altnet: first message ${formatSeconds(soa.firstDelivered.medianMs)} (${
        formatRatio(soa.firstDelivered.medianMs, reference.firstMessageMs)
      }), direct ${formatSeconds(soa.direct.medianMs)} (${
        formatRatio(soa.direct.medianMs, reference.directMs)
      }), medians of ${plural(soa.measured, "run")}`,
      "  The lab has sub-millisecond round trips; on a real network every round trip of the relay",
      "  exchange and of the punch adds the path's RTT, so read these as altnet's own timers and work.",
    );
  } else {
    out.push("  (cone-cone was not measured in this run)");
  }
  out.push(
    "",
    "Expected: direct everywhere but symmetric ↔ symmetric (birthday probing needs one side with a stable",
    "mapping; PROTOCOL §6.2). The relay runs with --stun-port, so every chat learns its NAT's mapping.",
  );
  for (const s of summaries.filter((s) => s.birthdayWins > 0)) {
    out.push(
      `  ${s.label}: a birthday probe won the final path in ${s.birthdayWins} of the ${
        plural(s.endedDirect, "run")
      } that ended direct`,
    );
  }

  const notes = summaries.flatMap(noteSurprises);
  if (notes.length > 0) out.push("", "Notes:", ...notes);
  return out.join("\n");
}

/** Lines about what did not go as expected for one pair. */
function noteSurprises(s: PairSummary): string[] {
  const notes: string[] = [];
  const relayed = s.runs - s.endedDirect;
  if (s.expected === "direct" && relayed > 0) {
    notes.push(
      `  ${s.label}: ${relayed} of ${s.runs} runs did not end direct (expected direct)`,
    );
  }
  if (s.expected === "relay" && s.endedDirect > 0) {
    notes.push(
      `  ${s.label}: ${s.endedDirect} of ${s.runs} runs ended direct (expected relayed)`,
    );
  }
  const undelivered = s.measured - s.firstDelivered.reached;
  if (undelivered > 0) {
    notes.push(
      `  ${s.label}: the first message was not delivered within the cap in ${undelivered} run(s)`,
    );
  }
  if (s.direct.reached > s.endedDirect) {
    notes.push(
      `  ${s.label}: ${
        s.direct.reached - s.endedDirect
      } run(s) went direct and fell back to the relay`,
    );
  }
  if (s.slowFirstMessages.length > 0) {
    const runs = s.slowFirstMessages.map((slow) =>
      `run ${slow.run}: ${formatSeconds(slow.firstDeliveredMs)}, ${
        slow.sessionMs === null
          ? "no session"
          : `session up at ${formatSeconds(slow.sessionMs)}`
      }`
    );
    notes.push(
      `  ${s.label}: first message over ${
        formatSeconds(SLOW_FIRST_MESSAGE_MS)
      } in ${plural(runs.length, "run")} (${runs.join("; ")})`,
    );
  }
  for (const problem of s.problems) notes.push(`  ${s.label}: ${problem}`);
  return notes;
}
