/**
 * The NAT traversal benchmark: how fast two `altnet chat` processes behind
 * real Linux NATs (tests/netlab) first talk, and how fast and how often
 * they get off the relay onto a direct path.
 *
 * For each NAT pair and each run, on a lab built for that run alone:
 *
 * 1. the relay starts on the lab's internet, with `--stun-port` and
 *    `--public-address`, so its STUN answers carry OTHER-ADDRESS and each
 *    chat learns its NAT's mapping from it (PROTOCOL §6.2, §8);
 * 2. bob's chat starts behind site 1 and registers at the relay;
 * 3. alice's chat starts behind site 0; the clock starts at her `registered`
 *    event, so Deno's start-up is left out (it is reported apart, as the
 *    time from spawn to `ready` and to `registered`);
 * 4. alice sends one line at once; the run records when alice sees it
 *    `delivered` and when bob prints it, and when alice's path turns
 *    `direct` (within a cap of 12 s; otherwise "never");
 * 5. after a direct path the run watches on for a settle time, then reads
 *    the last path each side reported: the run ended direct when both
 *    did; alice's RTT; and the probes alice and bob had sent by their last
 *    path events (every technique: candidates, openers, birthday sockets
 *    and spray).
 *
 * Run it as root: `deno run -A bench/nat_traversal.ts` (add `--quick`,
 * `--runs N`, `--pair ID` or `--json`); see `bench/README.md`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  checkLabPrerequisites,
  createLab,
  denoCommand,
  type Lab,
  type NatType,
} from "../tests/netlab/lab.ts";
import { type CodeSnapshot, snapshotCode } from "./code_snapshot.ts";
import { describeMachine, type MachineInfo } from "./machine.ts";
import {
  collectTimedJsonLines,
  type TimedEvent,
  type TimedJsonLines,
} from "./timed_json_lines.ts";
import {
  formatNatReport,
  formatSeconds,
  summarizePair,
} from "./nat_traversal_report.ts";

const MAIN = new URL("../main.ts", import.meta.url);
const REPOSITORY = new URL("..", import.meta.url).pathname;
const RELAY_PORT = 8000;
/** The relay's alternate STUN port: its answers then carry OTHER-ADDRESS. */
const RELAY_STUN_PORT = 8001;
const CHAT_PORT = 9000;
/** The line alice sends; its delivery is the first-message time. */
const FIRST_MESSAGE = "hello from alice";
/** How long a process may take to report `ready` or `registered` at all. */
const START_TIMEOUT_MS = 15_000;
const secondsOf = (ms: number) => `${ms / 1000} s`;
/** The reason of the `path` event a chat prints when its session starts. */
const INITIAL_PATH_REASON = "the session starts over the relay while punching";
/** How long a chat may take to exit once its stdin is closed. */
const EXIT_TIMEOUT_MS = 5_000;

/** One pair of NATs: alice is behind the first, bob behind the second. */
export interface NatPair {
  /** The name on the command line, e.g. `cone-symmetric`. */
  id: string;
  /** The name in the report, e.g. `cone ↔ symmetric`. */
  label: string;
  /** Alice's NAT (site 0) and bob's (site 1). */
  nats: readonly [NatType, NatType];
  /** Random loss set with `setLoss` on both sites' links, both ways. */
  loss: number;
  /** What altnet is expected to end on today; the report flags surprises. */
  expected: "direct" | "relay";
}

/**
 * The pairs, in report order. Birthday probing takes cone ↔ symmetric
 * direct, low-TTL opening probes bare ↔ bare; only symmetric ↔ symmetric
 * is expected to stay relayed (PROTOCOL §6.1, §6.2).
 */
export const NAT_PAIRS: readonly NatPair[] = [
  {
    id: "cone-cone",
    label: "cone ↔ cone",
    nats: ["cone", "cone"],
    loss: 0,
    expected: "direct",
  },
  {
    id: "cone-symmetric",
    label: "cone ↔ symmetric",
    nats: ["cone", "symmetric"],
    loss: 0,
    expected: "direct",
  },
  {
    id: "bare-bare",
    label: "bare ↔ bare",
    nats: ["bare", "bare"],
    loss: 0,
    expected: "direct",
  },
  {
    id: "symmetric-symmetric",
    label: "symmetric ↔ symmetric",
    nats: ["symmetric", "symmetric"],
    loss: 0,
    expected: "relay",
  },
  {
    id: "cone-cone-loss5",
    label: "cone ↔ cone, 5 % loss",
    nats: ["cone", "cone"],
    loss: 0.05,
    expected: "direct",
  },
];

/** The figures the issue gives as the state of the art on cone ↔ cone. */
export const STATE_OF_THE_ART = {
  pair: "cone-cone",
  firstMessageMs: 400,
  directMs: 3_000,
} as const;

/** What to run. */
export interface NatBenchSettings {
  /** Runs per pair. */
  runs: number;
  /** The pairs to measure, by id, in report order. */
  pairs: readonly string[];
  /** From alice's `registered`: how long to wait for a direct path and for the message. */
  capMs: number;
  /** How long to keep watching after alice's path went direct. */
  settleMs: number;
}

/**
 * Ten runs of every pair. The settle time is two of the direct path's
 * 1 s probe intervals. A relayed run waits out the 12 s cap, so
 * symmetric ↔ symmetric costs half the run: about 5 min in all, 2.3 of
 * them for it. The cap leaves room for one birthday round (about 3 s) but
 * not for the next, 30 s later.
 */
export const DEFAULT_SETTINGS: NatBenchSettings = {
  runs: 10,
  pairs: NAT_PAIRS.map((pair) => pair.id),
  capMs: 12_000,
  settleMs: 2_000,
};

/** `--quick`: one run of cone ↔ cone, about 3 s. */
export const QUICK_SETTINGS: NatBenchSettings = {
  ...DEFAULT_SETTINGS,
  runs: 1,
  pairs: ["cone-cone"],
};

/** Milliseconds from a process's spawn to its first events. */
export interface StartupTimes {
  /** Spawn to `ready`: Deno's start-up, loading altnet, the identity, the socket. */
  readyMs: number | null;
  /** Spawn to `registered`: the above plus the handshake with the relay. */
  registeredMs: number | null;
}

/** One event on a run's timeline. */
export interface TimelineEntry {
  /** Whose event it is. */
  peer: "relay" | "alice" | "bob";
  /** Milliseconds from alice's `registered` (negative before it). */
  atMs: number;
  /** The event as the process printed it. */
  event: Record<string, unknown>;
}

/** What one run measured. Times are milliseconds from alice's `registered`; null is never. */
export interface RunRecord {
  /** 1-based. */
  run: number;
  /** Why the run measured nothing (a process did not start or register), if so. */
  failure?: string;
  startup: { alice: StartupTimes; bob: StartupTimes };
  /** Until alice's `peer`: her session with bob is up (over the relay). */
  sessionMs: number | null;
  /** Until alice's `delivered` for her first line. */
  firstDeliveredMs: number | null;
  /** Until bob printed that line. */
  messageAtBobMs: number | null;
  /** Until alice's first `path` with `via: "direct"`. */
  directMs: number | null;
  /** Until bob's first `path` with `via: "direct"`. */
  bobDirectMs: number | null;
  /** Whether alice's and bob's last reported paths, when the run ended, were both direct. */
  endedDirect: boolean;
  /**
   * The `probes` of alice's and bob's last `path` events when the run
   * ended: what each had sent, every technique counted, until its final
   * path. Null for a side whose last path is the initial relayed one (it
   * carries no count).
   */
  probes: { alice: number | null; bob: number | null };
  /** The `reason` of alice's and bob's last `path` events. */
  finalReasons: { alice: string | null; bob: string | null };
  /** The `rtt_ms` of alice's last path when direct: the probe round trip that chose it. */
  finalRttMs: number | null;
  /** How long after alice's `registered` the run was watched. */
  watchedMs: number;
  /** Exit codes once stdin was closed (0: every message acknowledged); null if killed. */
  exitCodes: { alice: number | null; bob: number | null };
  /** Error lines the chats wrote on stderr, if any. */
  stderr: string[];
  /** Every event of the run, in time order. */
  timeline: TimelineEntry[];
}

/** The measured results of one pair. */
export interface PairResult {
  pair: NatPair;
  runs: RunRecord[];
}

/** The whole benchmark. */
export interface NatBenchReport {
  machine: MachineInfo;
  settings: NatBenchSettings;
  /** The lab's round trip is below a millisecond; no delay is added. */
  reference: typeof STATE_OF_THE_ART;
  results: PairResult[];
  /** Wall-clock time of the whole benchmark. */
  durationMs: number;
  /**
   * `/proc/loadavg` (1, 5, 15 min) before and after, or null off Linux: other
   * work on the machine slows process start-up and the first message.
   */
  load: { before: number[] | null; after: number[] | null };
  /**
   * The altnet source before and after: every run spawns `main.ts` from the
   * working tree, so an edit mid-run would change what later runs measure.
   */
  code: { before: CodeSnapshot; after: CodeSnapshot };
}

/** The load averages of `/proc/loadavg`, or null where it cannot be read. */
export function readLoadAverage(): number[] | null {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).map(
      Number,
    );
  } catch {
    return null;
  }
}

/** A chat (or relay) process and what it prints. */
interface LabProcess {
  child: Deno.ChildProcess;
  spawnedAt: number;
  out: TimedJsonLines;
  stderr: Promise<string>;
  home: string;
}

async function readText(stream: ReadableStream<Uint8Array>): Promise<string> {
  try {
    return await new Response(stream).text();
  } catch {
    return ""; // killed mid-read
  }
}

/** A fresh config dir, so every run is a first contact with a new identity. */
async function freshHome(role: string): Promise<string> {
  return await Deno.makeTempDir({ prefix: `altnet-bench-${role}-` });
}

function spawnInLab(
  lab: Lab,
  ns: string,
  home: string,
  args: string[],
): LabProcess {
  const spawnedAt = performance.now();
  const child = lab.spawn(
    ns,
    denoCommand(MAIN, [...args, "--identity", `${home}/altnet/identity`]),
    {
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { XDG_CONFIG_HOME: home, NO_COLOR: "1" },
    },
  );
  return {
    child,
    spawnedAt,
    out: collectTimedJsonLines(child.stdout),
    stderr: readText(child.stderr),
    home,
  };
}

function startChat(
  lab: Lab,
  site: number,
  home: string,
  names: { self: string; peer: string },
): LabProcess {
  return spawnInLab(lab, lab.sites[site].peers[0].ns, home, [
    "chat",
    names.self,
    String(CHAT_PORT),
    names.peer,
    "--relay",
    `${lab.relay.address}:${RELAY_PORT}`,
    "--json",
  ]);
}

const isEvent = (name: string) => (event: Record<string, unknown>) =>
  event.event === name;
const isDirect = (event: Record<string, unknown>) =>
  event.event === "path" && event.via === "direct";

function startupTimes(running: LabProcess): StartupTimes {
  const at = (name: string) => {
    const found = running.out.events.find((timed) =>
      timed.event.event === name
    );
    return found ? found.at - running.spawnedAt : null;
  };
  return { readyMs: at("ready"), registeredMs: at("registered") };
}

/** Closes stdin, waits for a clean exit, kills what does not exit. */
async function stopProcess(running: LabProcess): Promise<number | null> {
  await running.child.stdin.close().catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), EXIT_TIMEOUT_MS);
  });
  const outcome = await Promise.race([running.child.status, timeout]);
  clearTimeout(timer);
  if (outcome !== "timeout") return outcome.code;
  try {
    running.child.kill("SIGKILL");
  } catch {
    // exited meanwhile
  }
  await running.child.status;
  return null;
}

const sleepUntil = (at: number) =>
  new Promise((resolve) =>
    setTimeout(resolve, Math.max(0, at - performance.now()))
  );

/** Builds a lab for one run, measures it, and tears it all down. */
async function measureRun(
  pair: NatPair,
  run: number,
  settings: NatBenchSettings,
): Promise<RunRecord> {
  const lab = await createLab({ sites: pair.nats.map((nat) => ({ nat })) });
  const processes: { peer: TimelineEntry["peer"]; running: LabProcess }[] = [];
  const record: RunRecord = {
    run,
    startup: {
      alice: { readyMs: null, registeredMs: null },
      bob: { readyMs: null, registeredMs: null },
    },
    sessionMs: null,
    firstDeliveredMs: null,
    messageAtBobMs: null,
    directMs: null,
    bobDirectMs: null,
    endedDirect: false,
    probes: { alice: null, bob: null },
    finalReasons: { alice: null, bob: null },
    finalRttMs: null,
    watchedMs: 0,
    exitCodes: { alice: null, bob: null },
    stderr: [],
    timeline: [],
  };
  let origin: number | undefined;
  try {
    if (pair.loss > 0) {
      for (const site of pair.nats.keys()) {
        await lab.setLoss(site, pair.loss);
      }
    }
    const relay = spawnInLab(lab, lab.relay.ns, await freshHome("relay"), [
      "relay",
      "--port",
      String(RELAY_PORT),
      "--stun-port",
      String(RELAY_STUN_PORT),
      "--public-address",
      lab.relay.address,
      "--json",
    ]);
    processes.push({ peer: "relay", running: relay });
    if (
      !await relay.out.waitFor(
        isEvent("ready"),
        relay.spawnedAt + START_TIMEOUT_MS,
      )
    ) {
      record.failure = `the relay did not report ready within ${
        secondsOf(START_TIMEOUT_MS)
      }`;
      return record;
    }

    const bob = startChat(lab, 1, await freshHome("bob"), {
      self: "bob",
      peer: "alice",
    });
    processes.push({ peer: "bob", running: bob });
    const bobRegistered = await bob.out.waitFor(
      isEvent("registered"),
      bob.spawnedAt + START_TIMEOUT_MS,
    );
    if (!bobRegistered) {
      record.failure = `bob did not register at the relay within ${
        secondsOf(START_TIMEOUT_MS)
      }`;
      return record;
    }

    const alice = startChat(lab, 0, await freshHome("alice"), {
      self: "alice",
      peer: "bob",
    });
    processes.push({ peer: "alice", running: alice });
    const registered = await alice.out.waitFor(
      isEvent("registered"),
      alice.spawnedAt + START_TIMEOUT_MS,
    );
    if (!registered) {
      record.failure = `alice did not register at the relay within ${
        secondsOf(START_TIMEOUT_MS)
      }`;
      return record;
    }
    origin = registered.at;
    const writer = alice.child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(FIRST_MESSAGE + "\n"));
    writer.releaseLock();

    const cap = origin + settings.capMs;
    const [session, delivered, atBob, direct, bobDirect] = await Promise.all([
      alice.out.waitFor(isEvent("peer"), cap),
      alice.out.waitFor(isEvent("delivered"), cap),
      bob.out.waitFor(
        (e) => e.event === "message" && e.text === FIRST_MESSAGE,
        cap,
      ),
      alice.out.waitFor(isDirect, cap),
      bob.out.waitFor(isDirect, cap),
    ]);
    // A direct path is watched for the settle time (from the later of the
    // two sides' switches): a path that flaps back to the relay at once
    // does not count as ended direct.
    const end = direct
      ? Math.min(
        cap,
        Math.max(
          direct.at + settings.settleMs,
          (bobDirect?.at ?? cap) + settings.settleMs,
          delivered?.at ?? cap,
          atBob?.at ?? cap,
        ),
      )
      : cap;
    await sleepUntil(end);
    const since = (timed: TimedEvent | undefined) =>
      timed ? timed.at - origin! : null;
    record.sessionMs = since(session);
    record.firstDeliveredMs = since(delivered);
    record.messageAtBobMs = since(atBob);
    record.directMs = since(direct);
    record.bobDirectMs = since(bobDirect);
    record.watchedMs = end - origin;
    const finalPath = (running: LabProcess) =>
      running.out.events.findLast((timed) =>
        timed.event.event === "path" && timed.at <= end
      )?.event;
    const lastPath = finalPath(alice);
    const bobPath = finalPath(bob);
    record.endedDirect = lastPath?.via === "direct" &&
      bobPath?.via === "direct";
    const probesOf = (path: Record<string, unknown> | undefined) =>
      path?.reason !== INITIAL_PATH_REASON && typeof path?.probes === "number"
        ? path.probes
        : null;
    record.probes = { alice: probesOf(lastPath), bob: probesOf(bobPath) };
    const reasonOf = (path: Record<string, unknown> | undefined) =>
      typeof path?.reason === "string" ? path.reason : null;
    record.finalReasons = {
      alice: reasonOf(lastPath),
      bob: reasonOf(bobPath),
    };
    const rtt = lastPath?.rtt_ms;
    record.finalRttMs = record.endedDirect && typeof rtt === "number"
      ? rtt
      : null;
    return record;
  } finally {
    // Chats first, by closing stdin: alice then waits for her receipt and
    // says goodbye to the relay, as a user's chat would.
    const chats = processes.filter(({ peer }) => peer !== "relay");
    const codes = await Promise.all(
      chats.map(({ running }) => stopProcess(running)),
    );
    chats.forEach(({ peer }, index) => {
      if (peer === "alice" || peer === "bob") {
        record.exitCodes[peer] = codes[index];
      }
    });
    await lab.teardown();
    for (const { peer, running } of processes) {
      await running.out.ended;
      const text = (await running.stderr).trim();
      if (text && peer !== "relay") {
        record.stderr.push(
          ...text.split("\n").map((line) => `${peer}: ${line}`),
        );
      }
      if (peer === "alice" || peer === "bob") {
        record.startup[peer] = startupTimes(running);
      }
      await Deno.remove(running.home, { recursive: true }).catch(() => {});
    }
    const zero = origin ??
      processes.find(({ peer }) => peer === "alice")?.running.spawnedAt ??
      0;
    record.timeline = processes
      .flatMap(({ peer, running }) =>
        running.out.events.map((timed) => ({
          peer,
          atMs: Math.round((timed.at - zero) * 10) / 10,
          event: timed.event,
        }))
      )
      .sort((a, b) => a.atMs - b.atMs);
  }
}

/** Hooks for progress output. */
export interface RunHooks {
  /** Called after each run. */
  onRun?: (pair: NatPair, record: RunRecord, runs: number) => void;
}

/**
 * Runs the whole benchmark: a fresh lab per run, pairs in turn. Needs root,
 * `ip` and `iptables`.
 *
 * @example
 * ```ts ignore
 * import { QUICK_SETTINGS, runNatBench } from "./nat_traversal.ts";
 *
 * const report = await runNatBench(QUICK_SETTINGS);
 * ```
 */
export async function runNatBench(
  settings: NatBenchSettings,
  hooks: RunHooks = {},
): Promise<NatBenchReport> {
  await checkLabPrerequisites();
  const started = performance.now();
  const loadBefore = readLoadAverage();
  const codeBefore = await snapshotCode(REPOSITORY);
  const results: PairResult[] = [];
  for (const id of settings.pairs) {
    const pair = NAT_PAIRS.find((candidate) => candidate.id === id);
    if (!pair) throw new TypeError(`Cannot measure an unknown NAT pair: ${id}`);
    const runs: RunRecord[] = [];
    for (let run = 1; run <= settings.runs; run++) {
      const record = await measureRun(pair, run, settings);
      runs.push(record);
      hooks.onRun?.(pair, record, settings.runs);
    }
    results.push({ pair, runs });
  }
  return {
    machine: describeMachine(),
    settings,
    reference: STATE_OF_THE_ART,
    results,
    durationMs: performance.now() - started,
    load: { before: loadBefore, after: readLoadAverage() },
    code: { before: codeBefore, after: await snapshotCode(REPOSITORY) },
  };
}

// ---------------------------------------------------------------------------
// Command line

/** `deno run -A bench/nat_traversal.ts --help`. */
export const help =
  `altnet NAT traversal benchmark (needs root, ip and iptables)

Usage: deno run -A bench/nat_traversal.ts [--runs N] [--pair ID]... [--quick]
                                          [--json] [--save FILE]

Options:
  --runs N     runs per pair (default ${DEFAULT_SETTINGS.runs})
  --pair ID    measure only this pair; repeat for more. Pairs: ${
    NAT_PAIRS.map((pair) => pair.id).join(", ")
  }
  --quick      one run of cone-cone (about 3 s)
  --json       print the report as one JSON object (progress stays on stderr)
  --save FILE  also write that JSON object, with every run's events, to FILE
  -h, --help   show this help

The default run takes about 5 minutes; see bench/README.md.`;

/** Parsed command line. */
export interface NatBenchArgs {
  help: boolean;
  json: boolean;
  /** Where to write the JSON report as well, if anywhere. */
  save?: string;
  settings: NatBenchSettings;
}

/**
 * Parses the command line.
 *
 * @throws {TypeError} On an unknown flag, a bad `--runs` or an unknown pair.
 */
export function parseNatBenchArgs(args: readonly string[]): NatBenchArgs {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: "boolean", short: "h", default: false },
      json: { type: "boolean", default: false },
      quick: { type: "boolean", default: false },
      runs: { type: "string" },
      pair: { type: "string", multiple: true },
      save: { type: "string" },
    },
  });
  const base = values.quick ? QUICK_SETTINGS : DEFAULT_SETTINGS;
  let runs = base.runs;
  if (values.runs !== undefined) {
    runs = Number(values.runs);
    if (!Number.isInteger(runs) || runs < 1) {
      throw new TypeError(
        `Cannot use --runs as it is not a positive integer: ${values.runs}`,
      );
    }
  }
  const pairs = values.pair ?? base.pairs;
  for (const id of pairs) {
    if (!NAT_PAIRS.some((pair) => pair.id === id)) {
      throw new TypeError(
        `Cannot measure an unknown NAT pair, use one of ${
          NAT_PAIRS.map((pair) => pair.id).join(", ")
        }: ${id}`,
      );
    }
  }
  return {
    help: values.help,
    json: values.json,
    save: values.save,
    settings: { ...base, runs, pairs },
  };
}

function describeRun(record: RunRecord): string {
  if (record.failure) return `failed: ${record.failure}`;
  return [
    `session ${formatSeconds(record.sessionMs)}`,
    `delivered ${formatSeconds(record.firstDeliveredMs)}`,
    `direct ${formatSeconds(record.directMs)}`,
    record.endedDirect
      ? `ended direct (rtt ${record.finalRttMs} ms)`
      : "ended relayed",
    `probes ${record.probes.alice ?? "-"} + ${record.probes.bob ?? "-"}`,
    `bob: ${record.finalReasons.bob ?? "no path"}`,
  ].join(", ");
}

/** Runs the benchmark as a script; returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let parsed: NatBenchArgs;
  try {
    parsed = parseNatBenchArgs(args);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`${message}\nRun with --help to see the options.`);
    return 2;
  }
  if (parsed.help) {
    console.log(help);
    return 0;
  }
  let report: NatBenchReport;
  try {
    report = await runNatBench(parsed.settings, {
      onRun: (pair, record, runs) =>
        console.error(
          `${pair.label} run ${record.run}/${runs}: ${describeRun(record)}`,
        ),
    });
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 1;
  }
  const json = JSON.stringify(
    { ...report, summaries: report.results.map(summarizePair) },
    null,
    2,
  );
  if (parsed.save !== undefined) await Deno.writeTextFile(parsed.save, json);
  console.log(parsed.json ? json : formatNatReport(report));
  return 0;
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
