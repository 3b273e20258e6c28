/**
 * How far one directory goes: a real `altnet serve-directory` process holding
 * N registered relays (10,000 by default) while this process, the load
 * generator, sends signed heartbeats at a steady rate (1,000/s) and fetches
 * the signed relay list over and over. Reports p50/p99 latency of
 * `GET /v1/relays` and of a heartbeat, the directory's CPU and memory.
 *
 * ```sh
 * deno run -A bench/directory.ts              # 10,000 relays, 1,000 heartbeats/s for 60 s
 * deno run -A bench/directory.ts --quick      # 300 relays, 200/s for 3 s: a smoke run
 * deno run -A bench/directory.ts --relays 20000 --rate 2000 --seconds 30 --json
 * ```
 *
 * docs/DIRECTORY.md §9 has the method and the figures.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { generateIdentity, type Identity } from "../lib/identity/mod.ts";
import {
  createHeartbeat,
  type DirectoryInfo,
  fetchDirectoryInfo,
  registerRelay,
} from "../lib/directory/mod.ts";
import { describeMachine, type MachineInfo } from "./machine.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
/** Heartbeats awaiting an answer at most; beyond, they are not sent (shed). */
const MAX_IN_FLIGHT = 2000;

/** What one run does. */
export interface DirectoryBenchSettings {
  relays: number;
  /** Heartbeats per second during the measured phase. */
  rate: number;
  /** Length of the measured phase. */
  seconds: number;
  /** Pause between two list fetches (one at a time); -1: no fetches. */
  listPauseMs: number;
  /** Registrations in flight at once. */
  registrationConcurrency: number;
}

/** Defaults: the 10,000 relays and 1,000 heartbeats per second. */
export const DEFAULT_SETTINGS: DirectoryBenchSettings = {
  relays: 10_000,
  rate: 1000,
  seconds: 60,
  listPauseMs: 250,
  registrationConcurrency: 32,
};

/** A smoke run of a few seconds. */
export const QUICK_SETTINGS: DirectoryBenchSettings = {
  relays: 300,
  rate: 200,
  seconds: 3,
  listPauseMs: 100,
  registrationConcurrency: 16,
};

/** Latency summary, milliseconds. */
export interface Latency {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** The report. */
export interface DirectoryBenchReport {
  machine: MachineInfo;
  settings: DirectoryBenchSettings;
  placement: string;
  identitiesMs: number;
  registration: { seconds: number; perSecond: number; latency: Latency };
  heartbeats: {
    offeredPerSecond: number;
    completedPerSecond: number;
    errors: number;
    /** Heartbeats not sent because MAX_IN_FLIGHT were unanswered. */
    shed: number;
    maxLagMs: number;
    latency: Latency;
  };
  list: {
    bytes: number;
    gzipBytes: number;
    latency: Latency;
    notModifiedLatency: Latency;
  };
  directory: {
    rssStartMb: number;
    rssAfterRegistrationMb: number;
    rssPeakMb: number;
    rssEndMb: number;
    cpuPercentDuringLoad: number;
  };
  loadAverage: { before: string; after: string };
}

/** Parses the command line. */
export function parseBenchArgs(args: string[]): {
  settings: DirectoryBenchSettings;
  json: boolean;
  pin: boolean;
} {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean" },
      json: { type: "boolean" },
      relays: { type: "string" },
      rate: { type: "string" },
      seconds: { type: "string" },
      "no-list": { type: "boolean" },
      pin: { type: "boolean" },
    },
    strict: true,
  });
  const base = values.quick ? QUICK_SETTINGS : DEFAULT_SETTINGS;
  const number = (text: string | undefined, fallback: number) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!(n > 0)) throw new Error(`Not a positive number: ${text}`);
    return n;
  };
  return {
    json: values.json ?? false,
    pin: values.pin ?? false,
    settings: {
      ...base,
      relays: number(values.relays, base.relays),
      rate: number(values.rate, base.rate),
      seconds: number(values.seconds, base.seconds),
      listPauseMs: values["no-list"] ? -1 : base.listPauseMs,
    },
  };
}

/** Nearest-rank percentiles of `samples` (ms). */
export function summarize(samples: number[]): Latency {
  if (samples.length === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return {
    count: sorted.length,
    p50: round(at(0.5)),
    p90: round(at(0.9)),
    p99: round(at(0.99)),
    max: round(sorted[sorted.length - 1]),
  };
}

function rssMb(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = Number(status.match(/^VmRSS:\s+(\d+) kB/m)?.[1] ?? 0);
    return Math.round(kb / 102.4) / 10;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) of `pid`, from /proc (clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(
      " ",
    );
  } catch {
    return "unknown";
  }
}

async function hasTaskset(): Promise<boolean> {
  try {
    const { code } = await new Deno.Command("taskset", { args: ["-V"] })
      .output();
    return code === 0;
  } catch {
    return false;
  }
}

async function startDirectory(home: string, pin: boolean) {
  const v8Flags = Deno.env.get("BENCH_DIRECTORY_V8_FLAGS");
  const denoArgs = [
    "run",
    "--quiet",
    "--allow-all",
    ...(v8Flags ? [`--v8-flags=${v8Flags}`] : []),
    MAIN,
    "serve-directory",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--db",
    join(home, "directory.db"),
    "--allow-private-addresses",
    "--max-relays",
    "1000000",
    "--max-relays-per-ip",
    "1000000",
    "--registration-rate",
    "1000000",
    "--heartbeat-rate",
    "1000000",
    "--json",
  ];
  const command = pin
    ? new Deno.Command("taskset", {
      args: ["-c", "0", Deno.execPath(), ...denoArgs],
      env: { XDG_CONFIG_HOME: home },
      stdout: "piped",
      stderr: "inherit",
    })
    : new Deno.Command(Deno.execPath(), {
      args: denoArgs,
      env: { XDG_CONFIG_HOME: home },
      stdout: "piped",
      stderr: "inherit",
    });
  const child = command.spawn();
  // Read its JSON Lines to the end, so its writes never block.
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const ready = Promise.withResolvers<Record<string, unknown>>();
  (async () => {
    for (let r; !(r = await lines.read()).done;) {
      buffer += r.value;
      let end;
      while ((end = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        if (line.includes('"event":"ready"')) ready.resolve(JSON.parse(line));
        else if (v8Flags && !line.startsWith("{")) console.error(line);
      }
    }
    ready.reject(new Error("The directory exited before it was ready"));
  })().catch(() => {});
  return { child, ready: await ready.promise };
}

/** Runs the benchmark; `progress` gets one line per phase. */
export async function runDirectoryBench(
  settings: DirectoryBenchSettings,
  options: { pin?: boolean; progress?: (line: string) => void } = {},
): Promise<DirectoryBenchReport> {
  const progress = options.progress ?? (() => {});
  const machine = describeMachine();
  const pin = (options.pin ?? false) && machine.cores >= 2 &&
    await hasTaskset();
  if (pin) {
    // The directory gets CPU 0; this load generator the other cores.
    await new Deno.Command("taskset", {
      args: ["-a", "-cp", `1-${machine.cores - 1}`, String(Deno.pid)],
      stdout: "null",
    }).output();
  }
  const placement = pin
    ? `directory pinned to CPU 0, load generator to CPUs 1-${machine.cores - 1}`
    : "not pinned (--pin puts the directory alone on CPU 0)";
  const before = loadAverage();
  const home = await Deno.makeTempDir({ prefix: "altnet-bench-directory-" });
  const { child, ready } = await startDirectory(home, pin);
  const url = ready.url as string;
  const pid = child.pid;
  try {
    const rssStartMb = rssMb(pid);
    progress(
      `directory ${url} (pid ${pid}), RSS ${rssStartMb} MB; ${placement}`,
    );

    let t = performance.now();
    const identities: Identity[] = [];
    for (let i = 0; i < settings.relays; i++) {
      identities.push(generateIdentity());
    }
    const identitiesMs = Math.round(performance.now() - t);
    progress(`${settings.relays} relay identities made in ${identitiesMs} ms`);

    const directory: DirectoryInfo = await fetchDirectoryInfo(url);
    const load = {
      peers: 10,
      circuits: 3,
      bytesRelayed: 1_000_000,
      uptimeSeconds: 3600,
    };
    const registrationLatency: number[] = [];
    t = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: settings.registrationConcurrency }, async () => {
        while (next < identities.length) {
          const i = next++;
          const start = performance.now();
          await registerRelay(url, identities[i], {
            directory,
            load,
            announcement: {
              name: `relay-${i}`,
              addresses: [{ host: "127.0.0.1", port: 10_000 + (i % 50_000) }],
              capabilities: ["relay", "onion"],
              bandwidth: 12_500_000,
              contact: `operator-${i}@example.org`,
            },
          });
          registrationLatency.push(performance.now() - start);
        }
      }),
    );
    const registrationSeconds = (performance.now() - t) / 1000;
    const rssAfterRegistrationMb = rssMb(pid);
    progress(
      `registered in ${registrationSeconds.toFixed(1)} s (${
        Math.round(settings.relays / registrationSeconds)
      }/s), RSS ${rssAfterRegistrationMb} MB`,
    );

    // One fetch to build the list, and its size, compressed too.
    const first = new Uint8Array(
      await (await fetch(`${url}/v1/relays`)).arrayBuffer(),
    );
    const gzipBytes = (await new Response(
      new Blob([first]).stream().pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer()).byteLength;

    progress(
      `measuring: ${settings.rate} heartbeats/s and list fetches for ${settings.seconds} s`,
    );
    const heartbeatLatency: number[] = [];
    const listLatency: number[] = [];
    const notModifiedLatency: number[] = [];
    let errors = 0;
    let shed = 0;
    let completed = 0;
    let maxLagMs = 0;
    let rssPeakMb = rssAfterRegistrationMb;
    const durationMs = settings.seconds * 1000;
    const cpuStart = cpuSeconds(pid);
    const start = performance.now();
    const end = start + durationMs;
    const sampler = setInterval(() => {
      rssPeakMb = Math.max(rssPeakMb, rssMb(pid));
    }, 250);

    const lister = (async () => {
      let etag = "";
      while (settings.listPauseMs >= 0 && performance.now() < end) {
        const s = performance.now();
        const response = await fetch(`${url}/v1/relays`, {
          headers: { "accept-encoding": Deno.env.get("BENCH_AE") ?? "gzip" },
        });
        await response.arrayBuffer();
        listLatency.push(performance.now() - s);
        etag = response.headers.get("etag") ?? "";
        const c = performance.now();
        const cached = await fetch(`${url}/v1/relays`, {
          headers: { "if-none-match": etag },
        });
        await cached.arrayBuffer();
        if (cached.status === 304) {
          notModifiedLatency.push(performance.now() - c);
        }
        await new Promise((r) => setTimeout(r, settings.listPauseMs));
      }
    })();

    const inFlight = new Set<Promise<void>>();
    let sent = 0;
    const total = Math.floor(settings.rate * settings.seconds);
    while (sent < total) {
      const now = performance.now();
      const due = Math.min(
        total,
        Math.floor(((now - start) / 1000) * settings.rate) + 1,
      );
      if (due > sent) {
        maxLagMs = Math.max(
          maxLagMs,
          now - (start + (sent / settings.rate) * 1000),
        );
      }
      while (sent < due) {
        const identity = identities[sent % identities.length];
        sent++;
        if (inFlight.size >= MAX_IN_FLIGHT) {
          shed++; // the directory is not keeping up: do not pile on
          continue;
        }
        const body = JSON.stringify(
          createHeartbeat(identity, load, {
            directory,
            timestamp: Date.now() + sent,
          }),
        );
        const s = performance.now();
        const request = fetch(`${url}/v1/relays/heartbeat`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        }).then(async (response) => {
          await response.arrayBuffer();
          if (response.ok) {
            completed++;
            heartbeatLatency.push(performance.now() - s);
          } else {
            errors++;
          }
        }, () => {
          errors++;
        }).finally(() => inFlight.delete(request));
        inFlight.add(request);
      }
      const wait = start + (sent / settings.rate) * 1000 - performance.now();
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(wait, 5))));
    }
    await Promise.all(inFlight);
    const elapsed = (performance.now() - start) / 1000;
    await lister;
    clearInterval(sampler);
    const cpuPercentDuringLoad = Math.round(
      ((cpuSeconds(pid) - cpuStart) / ((performance.now() - start) / 1000)) *
        100,
    );
    const rssEndMb = rssMb(pid);
    rssPeakMb = Math.max(rssPeakMb, rssEndMb);
    return {
      machine,
      settings,
      placement,
      identitiesMs,
      registration: {
        seconds: Math.round(registrationSeconds * 10) / 10,
        perSecond: Math.round(settings.relays / registrationSeconds),
        latency: summarize(registrationLatency),
      },
      heartbeats: {
        offeredPerSecond: settings.rate,
        completedPerSecond: Math.round(completed / elapsed),
        errors,
        shed,
        maxLagMs: Math.round(maxLagMs),
        latency: summarize(heartbeatLatency),
      },
      list: {
        bytes: first.length,
        gzipBytes,
        latency: summarize(listLatency),
        notModifiedLatency: summarize(notModifiedLatency),
      },
      directory: {
        rssStartMb,
        rssAfterRegistrationMb,
        rssPeakMb,
        rssEndMb,
        cpuPercentDuringLoad,
      },
      loadAverage: { before, after: loadAverage() },
    };
  } finally {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await Deno.remove(home, { recursive: true });
  }
}

/** The report for people. */
export function formatReport(r: DirectoryBenchReport): string {
  const l = (x: Latency) =>
    `p50 ${x.p50} ms, p90 ${x.p90} ms, p99 ${x.p99} ms, max ${x.max} ms (${x.count} requests)`;
  return [
    `altnet directory bench: Deno ${r.machine.deno}, ${r.machine.cpuModel}, ${r.machine.cores} cores`,
    `  ${r.placement}; load average before ${r.loadAverage.before}, after ${r.loadAverage.after}`,
    `relays:             ${r.settings.relays} (identities made in ${r.identitiesMs} ms)`,
    `registration:       ${r.registration.perSecond}/s over ${r.registration.seconds} s, ${
      l(r.registration.latency)
    }`,
    `heartbeats:         offered ${r.heartbeats.offeredPerSecond}/s, completed ${r.heartbeats.completedPerSecond}/s, ${r.heartbeats.errors} errors, ${r.heartbeats.shed} shed, generator lag ≤ ${r.heartbeats.maxLagMs} ms`,
    `  latency:          ${l(r.heartbeats.latency)}`,
    `GET /v1/relays:     ${(r.list.bytes / 1e6).toFixed(2)} MB (${
      (r.list.gzipBytes / 1e6).toFixed(2)
    } MB gzipped)`,
    `  latency:          ${l(r.list.latency)}`,
    `  304 revalidation: ${l(r.list.notModifiedLatency)}`,
    `directory process:  RSS ${r.directory.rssStartMb} MB empty, ${r.directory.rssAfterRegistrationMb} MB with ${r.settings.relays} relays, peak ${r.directory.rssPeakMb} MB, end ${r.directory.rssEndMb} MB; CPU ${r.directory.cpuPercentDuringLoad} % of one core under load`,
  ].join("\n");
}

if (import.meta.main) {
  const { settings, json, pin } = parseBenchArgs(Deno.args);
  const report = await runDirectoryBench(settings, {
    pin,
    progress: (line) => console.error(line),
  });
  console.log(json ? JSON.stringify(report, null, 2) : formatReport(report));
}
