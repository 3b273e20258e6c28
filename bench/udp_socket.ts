/**
 * The two UDP drivers side by side over loopback: `openUdpSocket`
 * (`Deno.listenDatagram`) and `openNodeUdpSocket` (`node:dgram`, which can
 * set a datagram's TTL). For each driver a sender process pushes datagrams
 * (default 200 000 of 1200 bytes) to a receiver process through the
 * `DatagramSocket` interface, both ends on the same driver, in interleaved
 * rounds; the median round is reported.
 *
 * ```sh
 * deno task bench:udp                    # 3 rounds, about 15 s
 * deno task bench:udp --count 1000000 --rounds 5
 * deno task bench:udp --json > udp.json
 * ```
 *
 * - The sender issues `--window` sends (default 64) without waiting, as
 *   `PeerNode` does, then waits for them all before the next batch; `send`
 *   rates are from its first send to the last one resolved.
 * - The receiver reads until nothing came for 300 ms; `receive` rates are
 *   from its first datagram to its last. A receiver slower than its sender
 *   loses datagrams in the kernel (`delivered` below 100 %); its rate is
 *   then its capacity.
 * - CPU is each process's user + system time over the same span
 *   (`process.cpuUsage()`, every thread), per datagram sent or received.
 * - `reordered` counts datagrams that arrived after a later-numbered one.
 * - As root the run raises `net.core.rmem_default` to 8 MiB so the
 *   receiver's kernel buffer absorbs bursts, and puts it back afterwards.
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import {
  type DatagramSocket,
  openNodeUdpSocket,
  openUdpSocket,
} from "../lib/udp/mod.ts";
import { describeMachine, type MachineInfo } from "./machine.ts";
import {
  raiseReceiveBuffer,
  type ReceiveBufferChange,
  restoreReceiveBuffer,
} from "./socket_buffer.ts";
import { median } from "./timing.ts";

const SELF = new URL(import.meta.url).pathname;
const MB = 1e6;
const IDLE_MS = 300;

/** The drivers compared. */
export const DRIVERS = ["deno", "node"] as const;
/** One of {@linkcode DRIVERS}. */
export type DriverName = typeof DRIVERS[number];

const OPEN: Record<
  DriverName,
  (options: { hostname: string; port: number }) => Promise<DatagramSocket>
> = {
  deno: openUdpSocket,
  node: openNodeUdpSocket,
};

/** Options of {@linkcode runUdpSocketBench}. */
export interface UdpSocketBenchOptions {
  /** Datagrams each sender pushes. */
  count: number;
  /** Payload bytes per datagram (at least 4: a sequence number). */
  size: number;
  /** Sends issued before waiting for them. */
  window: number;
  /** Rounds; each runs every driver once. */
  rounds: number;
  /** `net.core.rmem_default` for the run, or undefined to leave it. */
  rmemBytes: number | undefined;
}

/** One process's share of a run. */
export interface SideResult {
  datagrams: number;
  /** From the first datagram to the last. */
  seconds: number;
  /** User + system CPU over the same span. */
  cpuSeconds: number;
}

/** One sender → receiver run. */
export interface PairResult {
  driver: DriverName;
  send: SideResult;
  receive: SideResult & { reordered: number };
}

/** What {@linkcode runUdpSocketBench} measured. */
export interface UdpSocketBenchReport {
  machine: MachineInfo;
  options: UdpSocketBenchOptions;
  receiveBuffer: ReceiveBufferChange | undefined;
  /** Every run, round by round. */
  runs: PairResult[];
  /** The median run of each driver, by median receive rate. */
  median: Record<DriverName, PairResult>;
}

/** Datagrams per second of a side. */
export function rate(side: SideResult): number {
  return side.seconds > 0 ? side.datagrams / side.seconds : 0;
}

/** CPU microseconds per datagram of a side. */
export function cpuMicros(side: SideResult): number {
  return side.datagrams > 0 ? side.cpuSeconds * 1e6 / side.datagrams : 0;
}

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** Child process: receives and prints `{port}` then its {@linkcode SideResult}. */
async function receiveRole(driver: DriverName, count: number): Promise<void> {
  const socket = await OPEN[driver]({ hostname: "127.0.0.1", port: 0 });
  console.log(JSON.stringify({ port: socket.local.port }));
  let received = 0, reordered = 0, highest = -1;
  let firstAt = 0, lastAt = 0, cpuAtFirst = 0;
  let seen = -1, ticks = 0;
  // Done once nothing came for IDLE_MS, or if nothing ever comes.
  const idle = setInterval(() => {
    ticks++;
    if (received > 0 ? received === seen : ticks * IDLE_MS > 20_000) {
      socket.close();
    }
    seen = received;
  }, IDLE_MS);
  for (let d; (d = await socket.receive()) !== undefined;) {
    if (received === 0) {
      firstAt = performance.now();
      cpuAtFirst = cpuSeconds();
    }
    lastAt = performance.now();
    const sequence = new DataView(d.data.buffer, d.data.byteOffset, 4)
      .getUint32(0);
    if (sequence < highest) reordered++;
    else highest = sequence;
    if (++received === count) break;
  }
  const cpu = cpuSeconds() - cpuAtFirst;
  clearInterval(idle);
  socket.close();
  console.log(JSON.stringify({
    datagrams: received,
    seconds: (lastAt - firstAt) / 1000,
    cpuSeconds: cpu,
    reordered,
  }));
}

/** Child process: sends and prints its {@linkcode SideResult}. */
async function sendRole(
  driver: DriverName,
  port: number,
  options: { count: number; size: number; window: number },
): Promise<void> {
  const socket = await OPEN[driver]({ hostname: "127.0.0.1", port: 0 });
  const to = { address: "127.0.0.1", port };
  // One buffer per send in flight: a driver may read it until it resolves.
  const buffers = Array.from(
    { length: options.window },
    () => new Uint8Array(options.size).fill(0xa5),
  );
  const views = buffers.map((b) => new DataView(b.buffer));
  const pending: Promise<void>[] = [];
  const start = performance.now(), cpuAtStart = cpuSeconds();
  for (let sent = 0; sent < options.count;) {
    pending.length = 0;
    for (let i = 0; i < options.window && sent < options.count; i++, sent++) {
      views[i].setUint32(0, sent);
      pending.push(socket.send(buffers[i], to));
    }
    await Promise.all(pending);
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = cpuSeconds() - cpuAtStart;
  socket.close();
  console.log(
    JSON.stringify({ datagrams: options.count, seconds, cpuSeconds: cpu }),
  );
}

/** A child's stdout, line by line. */
function lines(child: Deno.ChildProcess): () => Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return async () => {
    while (!buffer.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) {
        throw new Error(`Cannot read a line as the benchmark child exited`);
      }
      buffer += value;
    }
    const at = buffer.indexOf("\n");
    const line = buffer.slice(0, at);
    buffer = buffer.slice(at + 1);
    return line;
  };
}

function child(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--unstable-net", SELF, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

async function runPair(
  driver: DriverName,
  options: UdpSocketBenchOptions,
): Promise<PairResult> {
  const common = [`--driver=${driver}`, `--count=${options.count}`];
  const receiver = child(["--role=receive", ...common]);
  const fromReceiver = lines(receiver);
  const { port } = JSON.parse(await fromReceiver());
  const sender = child([
    "--role=send",
    ...common,
    `--port=${port}`,
    `--size=${options.size}`,
    `--window=${options.window}`,
  ]);
  const send: SideResult = JSON.parse(await lines(sender)());
  const receive = JSON.parse(await fromReceiver());
  const [sent, received] = await Promise.all([sender.status, receiver.status]);
  if (!sent.success || !received.success) {
    throw new Error(
      `Cannot finish a ${driver} run as a child failed: sender ${sent.code}, receiver ${received.code}`,
    );
  }
  return { driver, send, receive };
}

/**
 * Runs every driver `rounds` times, interleaved, in child processes.
 *
 * @example
 * ```ts ignore
 * const report = await runUdpSocketBench({
 *   count: 2000, size: 1200, window: 64, rounds: 1, rmemBytes: undefined,
 * });
 * console.log(formatUdpSocketReport(report));
 * ```
 */
export async function runUdpSocketBench(
  options: UdpSocketBenchOptions,
): Promise<UdpSocketBenchReport> {
  if (!(options.size >= 4 && options.size <= 65507)) {
    throw new RangeError(
      `Cannot run the UDP benchmark with a datagram size outside 4–65507: ${options.size}`,
    );
  }
  const receiveBuffer = options.rmemBytes === undefined
    ? undefined
    : raiseReceiveBuffer(options.rmemBytes);
  const runs: PairResult[] = [];
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const driver of DRIVERS) runs.push(await runPair(driver, options));
    }
  } finally {
    if (receiveBuffer) restoreReceiveBuffer(receiveBuffer);
  }
  const medianRun = (driver: DriverName): PairResult => {
    const mine = runs.filter((r) => r.driver === driver);
    const middle = median(mine.map((r) => rate(r.receive)));
    return mine.find((r) => rate(r.receive) === middle) ??
      mine.reduce((a, b) =>
        Math.abs(rate(a.receive) - middle) <= Math.abs(rate(b.receive) - middle)
          ? a
          : b
      );
  };
  return {
    machine: describeMachine(),
    options,
    receiveBuffer,
    runs,
    median: { deno: medianRun("deno"), node: medianRun("node") },
  };
}

const pad = (text: string, width: number) => text.padStart(width);

/** The report as a table, with the verdict in one line. */
export function formatUdpSocketReport(report: UdpSocketBenchReport): string {
  const { options, machine } = report;
  const out: string[] = [];
  out.push(
    `Deno ${machine.deno}, V8 ${machine.v8}, ${machine.cpuModel}, ${machine.cores} cores`,
  );
  out.push(
    `UDP drivers over loopback: ${options.count} datagrams of ${options.size} B, window ${options.window}, median of ${options.rounds} round(s)`,
  );
  const buffer = report.receiveBuffer;
  out.push(
    buffer === undefined
      ? "net.core.rmem_default left as it is"
      : buffer.note ??
        `net.core.rmem_default ${buffer.used.rmemDefault} B for the run`,
  );
  out.push("");
  const header = [
    "driver",
    "send dgram/s",
    "send MB/s",
    "send CPU µs",
    "recv dgram/s",
    "recv MB/s",
    "recv CPU µs",
    "delivered",
    "reordered",
  ];
  const widths = header.map((h) => Math.max(h.length, 9));
  out.push(header.map((h, i) => pad(h, widths[i])).join("  "));
  for (const driver of DRIVERS) {
    const run = report.median[driver];
    const cells = [
      driver,
      Math.round(rate(run.send)).toLocaleString("en-US"),
      (rate(run.send) * options.size / MB).toFixed(1),
      cpuMicros(run.send).toFixed(2),
      Math.round(rate(run.receive)).toLocaleString("en-US"),
      (rate(run.receive) * options.size / MB).toFixed(1),
      cpuMicros(run.receive).toFixed(2),
      `${(run.receive.datagrams / run.send.datagrams * 100).toFixed(1)} %`,
      `${
        (run.receive.reordered / Math.max(1, run.receive.datagrams) * 100)
          .toFixed(1)
      } %`,
    ];
    out.push(cells.map((c, i) => pad(c, widths[i])).join("  "));
  }
  const deno = report.median.deno, node = report.median.node;
  const ratio = (a: number, b: number) => b > 0 ? a / b : 0;
  const sendRatio = ratio(rate(node.send), rate(deno.send));
  const receiveRatio = ratio(rate(node.receive), rate(deno.receive));
  const sendCpu = ratio(cpuMicros(node.send), cpuMicros(deno.send));
  const receiveCpu = ratio(cpuMicros(node.receive), cpuMicros(deno.receive));
  out.push("");
  out.push(
    `node:dgram vs Deno.listenDatagram: send rate ×${
      sendRatio.toFixed(2)
    }, receive rate ×${receiveRatio.toFixed(2)}, CPU per datagram ×${
      sendCpu.toFixed(2)
    } sending, ×${receiveCpu.toFixed(2)} receiving (below 1 = node cheaper)`,
  );
  return out.join("\n");
}

/** Parses the command line; `role` is set in the child processes only. */
export function parseUdpSocketBenchArgs(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      count: { type: "string", default: "200000" },
      size: { type: "string", default: "1200" },
      window: { type: "string", default: "64" },
      rounds: { type: "string", default: "3" },
      rmem: { type: "string", default: String(8 * 1024 * 1024) },
      "keep-rmem": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      role: { type: "string" },
      driver: { type: "string" },
      port: { type: "string" },
    },
    strict: true,
  });
  const positive = (name: string, text: string) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(
        `Cannot use --${name} as it is not a positive integer: ${text}`,
      );
    }
    return value;
  };
  const driver = values.driver;
  if (driver !== undefined && !DRIVERS.includes(driver as DriverName)) {
    throw new TypeError(`Cannot use --driver as it is unknown: ${driver}`);
  }
  return {
    options: {
      count: positive("count", values.count),
      size: positive("size", values.size),
      window: positive("window", values.window),
      rounds: positive("rounds", values.rounds),
      rmemBytes: values["keep-rmem"]
        ? undefined
        : positive("rmem", values.rmem),
    } satisfies UdpSocketBenchOptions,
    json: values.json,
    role: values.role,
    driver: driver as DriverName | undefined,
    port: values.port === undefined ? undefined : positive("port", values.port),
  };
}

if (import.meta.main) {
  const args = parseUdpSocketBenchArgs(Deno.args);
  if (args.role === "receive") {
    await receiveRole(args.driver!, args.options.count);
  } else if (args.role === "send") {
    await sendRole(args.driver!, args.port!, args.options);
  } else {
    const report = await runUdpSocketBench(args.options);
    console.log(
      args.json
        ? JSON.stringify(report, null, 2)
        : formatUdpSocketReport(report),
    );
  }
}
