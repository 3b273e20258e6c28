/**
 * The forwarding capacity of a relay, measured from outside: a real server
 * process on loopback, sender processes that pace pre-built datagrams at a
 * stepped offered rate, and a receiver process that counts what comes out.
 * altnet's relay and coturn get the same load, step for step, in one run.
 *
 * Per step it records what was offered, sent and delivered, the server's CPU
 * time and RSS from `/proc`, and where datagrams were lost: in the kernel at
 * the server's sockets (receive buffer full), inside the server (altnet's
 * own drop counters), or at the receiver's sockets.
 *
 * @module
 */

import {
  type CoreForwardCost,
  measureCoreForwardInChild,
} from "./in_process_relay.ts";
import { describeMachine, type MachineInfo } from "./machine.ts";
import {
  busyPercent,
  cpuNames,
  cpuPercent,
  dropsSince,
  readCpuTimes,
  sampleProcess,
  udpReceiveDrops,
} from "./process_usage.ts";
import {
  altnetDatagramSize,
  killStartedProcesses,
  LoadProcess,
  type Placement,
  turnDatagramSize,
} from "./relay_load.ts";
import {
  type RelayMetrics,
  startAltnetRelay,
  startCoturn,
} from "./relay_servers.ts";
import {
  raiseReceiveBuffer,
  readReceiveBuffer,
  type ReceiveBufferChange,
  restoreReceiveBuffer,
} from "./socket_buffer.ts";
import type { Endpoint } from "../lib/wire/mod.ts";

/** What to offer, how long, and on which cores. */
export interface CapacitySettings {
  /** Offered rates, datagrams per second, one step each. */
  rates: number[];
  /** How long each step sends, in ms. */
  stepMs: number;
  /** How long the generator-only control sends at each rate (0 = none). */
  controlMs: number;
  /** How long to wait for stragglers after the last send, in ms. */
  drainMs: number;
  /** End-to-end payload bytes per datagram. */
  payloadSize: number;
  /** Sender processes. */
  generators: number;
  /** Sender/receiver pairs (circuits, channel pairs) per sender process. */
  pairsPerGenerator: number;
  /** Measure coturn too. */
  coturn: boolean;
  /** Set `net.core.rmem_default` to this for the run; undefined = leave it. */
  rmemBytes?: number;
  /** Pin the server to CPU 0 and the load to the other CPUs. */
  pin: boolean;
}

/**
 * The largest end-to-end packet a FORWARD can carry
 * (`MAX_FORWARD_PACKET_SIZE`, docs/PROTOCOL.md §1.2): a relayed altnet
 * packet cannot be 1,200 bytes, so both servers carry 1,193.
 */
export const MAX_PAYLOAD = 1193;

/**
 * About 100 s on a 2-core machine: 9 steps of 3 s per server, each altnet
 * step after a 1 s control and the pre-sealing of its batch. The steps are
 * dense around altnet's knee (15–30k/s on one core) and go up to coturn's.
 */
export const DEFAULT_CAPACITY_SETTINGS: CapacitySettings = {
  rates: [
    5_000,
    10_000,
    15_000,
    20_000,
    25_000,
    30_000,
    40_000,
    60_000,
    80_000,
  ],
  stepMs: 3000,
  controlMs: 1000,
  drainMs: 400,
  payloadSize: MAX_PAYLOAD,
  generators: 2,
  pairsPerGenerator: 2,
  coturn: true,
  rmemBytes: 4 * 1024 * 1024,
  pin: true,
};

/** `--quick`: two short steps, for a smoke run; figures are rough. */
export const QUICK_CAPACITY_SETTINGS: CapacitySettings = {
  ...DEFAULT_CAPACITY_SETTINGS,
  rates: [2_000, 10_000],
  stepMs: 500,
  controlMs: 300,
  drainMs: 200,
  generators: 1,
  pairsPerGenerator: 1,
};

/**
 * One step of the control: the senders alone, pacing the same batch size to
 * a socket that nobody reads, so nothing but the generator is measured.
 */
export interface ControlRow {
  offeredPps: number;
  sent: number;
  sentPps: number;
  /** How far one sender fell behind its schedule at worst, in ms. */
  maxLagMs: number;
  /** How busy the load's CPUs were. */
  loadCoresBusyPercent: number;
}

/** One step against a server. */
export interface StepRow {
  offeredPps: number;
  /** Datagrams the senders handed to the kernel, and sends that failed. */
  sent: number;
  failedSends: number;
  /** How long sending took (the slowest sender). */
  seconds: number;
  sentPps: number;
  /** Payload datagrams the receiver counted. */
  delivered: number;
  deliveredPps: number;
  lossPercent: number;
  /** Server CPU over the sending time, % of one core. */
  serverCpuPercent: number;
  /** How busy the server's CPUs were (its own work and anything else). */
  serverCoresBusyPercent: number;
  /** How busy the load's CPUs were: near 100 %, the load is the limit. */
  loadCoresBusyPercent: number;
  /** Server resident memory at the end of the step. */
  serverRssBytes: number;
  /** Datagrams the kernel dropped at the server's sockets (buffer full). */
  serverSocketDrops: number;
  /** Datagrams the kernel dropped at the receiver's sockets. */
  receiverSocketDrops: number;
  /** altnet only: datagrams the relay read, relayed, and dropped itself. */
  relay?: {
    received: number;
    relayed: number;
    dropped: Record<string, number>;
  };
  /** Receiver sockets that got a payload, and how many of those verified. */
  samples: number;
  verified: number;
  /** How long pre-building the batch took (before the step). */
  prepareMs: number;
  /** The largest burst one sender sent at once (pacing check). */
  maxBurst: number;
  /** How far one sender fell behind its schedule at worst, in ms. */
  maxLagMs: number;
  /** Runs of this step: a disturbed step is run once more. */
  attempts: number;
  /**
   * Whether other work still took more than {@linkcode DISTURBANCE_PERCENT}
   * of the server's (pinned) core in the last attempt: figures to distrust.
   */
  disturbed: boolean;
}

/**
 * How much of the server's pinned core may go to anything but the server
 * (its busy % minus the server's CPU %) before a step counts as disturbed
 * by other work on the machine and is run again.
 */
export const DISTURBANCE_PERCENT = 15;
/** Runs of one step at most, when other work keeps disturbing it. */
export const MAX_ATTEMPTS = 2;

/** The measurements of one server. */
export interface ServerResult {
  server: "altnet" | "coturn";
  /** Command line or version and configuration. */
  description: string;
  /** Set when the server could not be measured. */
  skipped?: string;
  /** UDP payload bytes of one relayed datagram. */
  datagramBytes: number;
  steps: StepRow[];
  /** The highest offered rate with < 1 % loss; 0 when none. */
  bestRatePps: number;
}

/** Everything one capacity run measured. */
export interface CapacityReport {
  machine: MachineInfo;
  settings: CapacitySettings;
  /** CPU lists used (`taskset -c`), or undefined where not pinned. */
  placement: { server?: string; load?: string };
  socketBuffer: ReceiveBufferChange;
  /** `/proc/loadavg` before and after: other work on the machine. */
  loadAverage: { before: string; after: string };
  /** The relay's protocol work per FORWARD with no sockets, this run. */
  inProcess: CoreForwardCost;
  controls: ControlRow[];
  servers: ServerResult[];
}

function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3)
      .join(" ");
  } catch {
    return "unknown";
  }
}

/** Options of {@linkcode runCapacityBench}. */
export interface CapacityRunOptions {
  /** Progress lines, e.g. to stderr. */
  onProgress?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The load processes of a run. */
interface Load {
  /** A socket nobody reads: where the control sends. */
  sink: Endpoint;
  /** `/proc/stat` names of the CPUs of the server and of the load. */
  cpus: { server: string[]; load: string[] };
  receiver: LoadProcess;
  senders: LoadProcess[];
  settings: CapacitySettings;
}

/** Splits `total` into `parts` whole shares that add up to it. */
function split(total: number, parts: number): number[] {
  return Array.from(
    { length: parts },
    (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0),
  );
}

/** Pinning on a machine with `cores` logical CPUs. */
export function choosePlacement(
  pin: boolean,
  cores: number,
): { server: Placement; load: Placement } {
  if (!pin || cores < 2) return { server: {}, load: {} };
  return {
    server: { cpus: "0" },
    load: { cpus: cores === 2 ? "1" : `1-${cores - 1}` },
  };
}

/** The highest offered rate with < 1 % loss, or 0. */
export function bestRate(steps: readonly StepRow[]): number {
  return Math.max(
    0,
    ...steps.filter((s) => s.lossPercent < 1).map((s) => s.offeredPps),
  );
}

async function runControl(
  load: Load,
  rate: number,
  sink: Endpoint,
): Promise<ControlRow> {
  const { settings, senders } = load;
  const counts = split(
    Math.round(rate * settings.controlMs / 1000),
    senders.length,
  );
  await Promise.all(senders.map((sender, g) =>
    sender.request({
      cmd: "prepare",
      count: counts[g],
      payloadSize: settings.payloadSize,
      direct: {
        to: [sink],
        datagramSize: altnetDatagramSize(settings.payloadSize),
      },
    })
  ));
  const coresBefore = readCpuTimes();
  const results = await Promise.all(
    senders.map((sender) =>
      sender.request({ cmd: "send", rate: rate / senders.length })
    ),
  );
  const coresAfter = readCpuTimes();
  const sent = results.reduce((sum, r) => sum + r.sent!, 0);
  const seconds = Math.max(...results.map((r) => r.seconds!));
  return {
    offeredPps: rate,
    sent,
    sentPps: sent / seconds,
    maxLagMs: Math.max(...results.map((r) => r.maxLagMs!)),
    loadCoresBusyPercent: busyPercent(coresBefore, coresAfter, load.cpus.load),
  };
}

async function runStep(
  load: Load,
  rate: number,
  server: { pid: number; metrics?: () => Promise<RelayMetrics> },
): Promise<StepRow> {
  const { settings, senders, receiver } = load;
  const counts = split(
    Math.round(rate * settings.stepMs / 1000),
    senders.length,
  );
  const prepared = await Promise.all(senders.map((sender, g) =>
    sender.request({
      cmd: "prepare",
      count: counts[g],
      payloadSize: settings.payloadSize,
    })
  ));
  await receiver.request({
    cmd: "count-start",
    payloadSize: settings.payloadSize,
  });
  const metricsBefore = await server.metrics?.();
  const serverDropsBefore = udpReceiveDrops(server.pid);
  const receiverDropsBefore = udpReceiveDrops(receiver.pid);
  const before = sampleProcess(server.pid);
  const coresBefore = readCpuTimes();
  const start = performance.now();
  const results = await Promise.all(
    senders.map((sender) =>
      sender.request({ cmd: "send", rate: rate / senders.length })
    ),
  );
  const wall = (performance.now() - start) / 1000;
  const after = sampleProcess(server.pid);
  const coresAfter = readCpuTimes();
  await sleep(settings.drainMs);
  const counted = await receiver.request({ cmd: "count-stop" });
  const metricsAfter = await server.metrics?.();
  const sent = results.reduce((sum, r) => sum + r.sent!, 0);
  const seconds = Math.max(...results.map((r) => r.seconds!));
  const delivered = counted.received!;
  const row: StepRow = {
    offeredPps: rate,
    sent,
    failedSends: results.reduce((sum, r) => sum + r.failed!, 0),
    seconds,
    sentPps: sent / seconds,
    delivered,
    deliveredPps: delivered / seconds,
    lossPercent: sent > 0 ? (sent - delivered) / sent * 100 : 0,
    serverCpuPercent: cpuPercent(before, after, wall),
    serverCoresBusyPercent: busyPercent(
      coresBefore,
      coresAfter,
      load.cpus.server,
    ),
    loadCoresBusyPercent: busyPercent(coresBefore, coresAfter, load.cpus.load),
    serverRssBytes: sampleProcess(server.pid).rssBytes,
    serverSocketDrops: dropsSince(
      serverDropsBefore,
      udpReceiveDrops(server.pid),
    ),
    receiverSocketDrops: dropsSince(
      receiverDropsBefore,
      udpReceiveDrops(receiver.pid),
    ),
    samples: counted.samples!,
    verified: counted.verified!,
    prepareMs: Math.max(...prepared.map((p) => p.prepareMs!)),
    maxBurst: Math.max(...results.map((r) => r.maxBurst!)),
    maxLagMs: Math.max(...results.map((r) => r.maxLagMs!)),
    attempts: 1,
    disturbed: false,
  };
  row.disturbed = load.cpus.server[0] !== "cpu" &&
    row.serverCoresBusyPercent - row.serverCpuPercent > DISTURBANCE_PERCENT;
  if (metricsBefore && metricsAfter) {
    const dropped: Record<string, number> = {};
    for (const [reason, n] of Object.entries(metricsAfter.dropped)) {
      const delta = n - (metricsBefore.dropped[reason] ?? 0);
      if (delta > 0) dropped[reason] = delta;
    }
    row.relay = {
      received: metricsAfter.packetsIn - metricsBefore.packetsIn,
      relayed: metricsAfter.packetsRelayed - metricsBefore.packetsRelayed,
      dropped,
    };
  }
  return row;
}

/** How one server's step is prepared: peers and circuits, or allocations. */
interface StepHooks {
  /** Fresh peers and circuits (or allocations) for attempt `attempt`. */
  setup(attempt: number): Promise<void>;
  /** Runs once, after the first setup (the control). */
  afterFirstSetup?(): Promise<void>;
}

/**
 * Runs a step on fresh peers; while other work took the server's core (a
 * shared machine), runs it again on fresh peers, up to
 * {@linkcode MAX_ATTEMPTS} times in all.
 */
async function runSettledStep(
  load: Load,
  rate: number,
  server: { pid: number; metrics?: () => Promise<RelayMetrics> },
  hooks: StepHooks,
  onProgress: (line: string) => void,
): Promise<StepRow> {
  for (let attempt = 1;; attempt++) {
    await hooks.setup(attempt);
    if (attempt === 1) await hooks.afterFirstSetup?.();
    const row = await runStep(load, rate, server);
    await teardown(load);
    row.attempts = attempt;
    if (!row.disturbed || attempt === MAX_ATTEMPTS) return row;
    onProgress(
      `  other work took ${
        Math.round(row.serverCoresBusyPercent - row.serverCpuPercent)
      } % of the server's core: running the ${rate} pps step again`,
    );
  }
}

async function teardown(load: Load): Promise<void> {
  await Promise.all(
    [load.receiver, ...load.senders].map((p) => p.request({ cmd: "teardown" })),
  );
}

/** A line for the progress output. */
function describeStep(server: string, row: StepRow): string {
  return `${server} ${row.offeredPps} pps: delivered ${
    Math.round(row.deliveredPps)
  } pps, loss ${row.lossPercent.toFixed(2)} %, server CPU ${
    Math.round(row.serverCpuPercent)
  } %`;
}

async function measureAltnet(
  load: Load,
  placement: Placement,
  controls: ControlRow[],
  onProgress: (line: string) => void,
): Promise<ServerResult> {
  const { settings, senders, receiver } = load;
  // Limits out of the way: the benchmark measures forwarding, not policing.
  const relay = await startAltnetRelay([
    "--packet-rate",
    "10000000",
    "--registration-rate",
    "1000",
    "--max-circuit-bytes",
    "100GB",
    "--max-reservations",
    "100000",
    "--max-circuits",
    "100000",
  ], { placement });
  const steps: StepRow[] = [];
  try {
    const address = { address: "127.0.0.1", port: relay.port };
    for (const [step, rate] of settings.rates.entries()) {
      const setup = async (attempt: number) => {
        const receiverNames = senders.map((_, g) =>
          Array.from(
            { length: settings.pairsPerGenerator },
            (_, i) => `r${step}.${attempt}-${g}-${i}`,
          )
        );
        await receiver.request({
          cmd: "register",
          relay: address,
          relayKey: relay.key,
          names: receiverNames.flat(),
        });
        await Promise.all(senders.map((sender, g) =>
          sender.request({
            cmd: "register",
            relay: address,
            relayKey: relay.key,
            names: receiverNames[g].map((name) => `s${name.slice(1)}`),
            connectTo: receiverNames[g],
          })
        ));
      };
      const control = async () => {
        if (settings.controlMs === 0) return;
        const row = await runControl(load, rate, load.sink);
        controls.push(row);
        onProgress(
          `control ${rate} pps: the senders alone sent ${
            Math.round(row.sentPps)
          } pps`,
        );
      };
      const row = await runSettledStep(load, rate, relay, {
        setup,
        afterFirstSetup: control,
      }, onProgress);
      steps.push(row);
      onProgress(describeStep("altnet", row));
    }
  } finally {
    await relay.stop();
  }
  return {
    server: "altnet",
    description: relay.commandLine,
    datagramBytes: altnetDatagramSize(settings.payloadSize),
    steps,
    bestRatePps: bestRate(steps),
  };
}

async function measureCoturn(
  load: Load,
  placement: Placement,
  onProgress: (line: string) => void,
): Promise<ServerResult> {
  const { settings, senders, receiver } = load;
  const datagramBytes = turnDatagramSize(settings.payloadSize);
  let coturn;
  try {
    coturn = await startCoturn({ placement });
  } catch (error) {
    return {
      server: "coturn",
      description: "turnserver",
      skipped: (error as Error).message,
      datagramBytes,
      steps: [],
      bestRatePps: 0,
    };
  }
  const steps: StepRow[] = [];
  let skipped: string | undefined;
  try {
    const server = { address: "127.0.0.1", port: coturn.port };
    for (const rate of settings.rates) {
      // Allocation B (receiver) ↔ allocation A (sender), one channel each
      // way: A's ChannelData leaves A's relayed address as plain UDP to B's,
      // and reaches B's client as ChannelData again.
      const setup = async () => {
        const { relayed: relayedB } = await receiver.request({
          cmd: "allocate",
          server,
          account: coturn.account,
          count: senders.length * settings.pairsPerGenerator,
        });
        const relayedA = [];
        for (const [g, sender] of senders.entries()) {
          const { relayed } = await sender.request({
            cmd: "allocate",
            server,
            account: coturn.account,
            count: settings.pairsPerGenerator,
          });
          await sender.request({
            cmd: "bind",
            peers: relayedB!.slice(
              g * settings.pairsPerGenerator,
              (g + 1) * settings.pairsPerGenerator,
            ),
          });
          relayedA.push(...relayed!);
        }
        await receiver.request({ cmd: "bind", peers: relayedA });
      };
      const row = await runSettledStep(
        load,
        rate,
        coturn,
        { setup },
        onProgress,
      );
      steps.push(row);
      onProgress(describeStep("coturn", row));
    }
  } catch (error) {
    skipped = `coturn stopped answering: ${(error as Error).message}`;
  } finally {
    await coturn.stop();
  }
  return {
    server: "coturn",
    description:
      `coturn ${coturn.version} (turnserver, default relay threads): ${
        coturn.config.split("\n").filter((l) =>
          !l.startsWith("log-file") &&
          !l.startsWith("pidfile")
        ).join(", ")
      }`,
    skipped,
    datagramBytes,
    steps,
    bestRatePps: bestRate(steps),
  };
}

/**
 * Runs the capacity benchmark: the control, altnet's relay, then coturn,
 * at every offered rate. Raises `net.core.rmem_default` for the run when
 * asked (and restores it, even on Ctrl-C).
 *
 * @example
 * ```ts ignore
 * import { QUICK_CAPACITY_SETTINGS, runCapacityBench } from "./relay_capacity.ts";
 *
 * const report = await runCapacityBench(QUICK_CAPACITY_SETTINGS);
 * ```
 */
export async function runCapacityBench(
  settings: CapacitySettings,
  options: CapacityRunOptions = {},
): Promise<CapacityReport> {
  const onProgress = options.onProgress ?? (() => {});
  const machine = describeMachine();
  const loadBefore = loadAverage();
  const placement = choosePlacement(settings.pin, machine.cores);
  onProgress("measuring RelayCore in process…");
  const inProcess = await measureCoreForwardInChild(settings.payloadSize, {
    packetsPerRun: Math.max(500, Math.min(5000, settings.stepMs * 2)),
    cpus: placement.server.cpus,
  });
  let socketBuffer: ReceiveBufferChange;
  if (settings.rmemBytes === undefined) {
    let current = { rmemDefault: 0, rmemMax: 0 };
    try {
      current = readReceiveBuffer();
    } catch { /* not Linux */ }
    socketBuffer = { original: current, used: current, changed: false };
  } else {
    socketBuffer = raiseReceiveBuffer(settings.rmemBytes);
  }
  // Put the sysctl back and end our servers even if the run is interrupted.
  const interrupted = () => {
    restoreReceiveBuffer(socketBuffer);
    killStartedProcesses();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", interrupted);
  Deno.addSignalListener("SIGTERM", interrupted);
  // Never read: the kernel drops what overflows it, as the control wants.
  const sinkSocket = Deno.listenDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: 0,
  });
  const load: Load = {
    settings,
    sink: {
      address: "127.0.0.1",
      port: (sinkSocket.addr as Deno.NetAddr).port,
    },
    cpus: {
      server: cpuNames(placement.server.cpus),
      load: cpuNames(placement.load.cpus),
    },
    receiver: LoadProcess.spawn(placement.load),
    senders: Array.from(
      { length: settings.generators },
      () => LoadProcess.spawn(placement.load),
    ),
  };
  const controls: ControlRow[] = [];
  const servers: ServerResult[] = [];
  try {
    onProgress("measuring altnet relay…");
    servers.push(
      await measureAltnet(load, placement.server, controls, onProgress),
    );
    if (settings.coturn) {
      onProgress("measuring coturn…");
      servers.push(await measureCoturn(load, placement.server, onProgress));
    }
  } finally {
    await Promise.all(
      [load.receiver, ...load.senders].map((p) => p.close()),
    );
    sinkSocket.close();
    restoreReceiveBuffer(socketBuffer);
    Deno.removeSignalListener("SIGINT", interrupted);
    Deno.removeSignalListener("SIGTERM", interrupted);
  }
  return {
    machine,
    settings,
    placement: { server: placement.server.cpus, load: placement.load.cpus },
    socketBuffer,
    loadAverage: { before: loadBefore, after: loadAverage() },
    inProcess,
    controls,
    servers,
  };
}
