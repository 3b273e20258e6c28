/**
 * Memory per registered peer of the altnet relay, two ways in one run:
 *
 * 1. **process**: a real `altnet relay` process on loopback; peers with
 *    distinct keys register through real sockets (many peers share each
 *    socket, one after the other); the relay's RSS from `/proc` before and
 *    after. RSS includes garbage V8 has not collected yet and heap slack,
 *    so it is an upper bound.
 * 2. **in-process**: a `RelayCore` in a child process run with
 *    `--v8-flags=--expose-gc`; peers register through the real handshake
 *    code, each from its own synthetic IPv4 address (so per-IP rate-limit
 *    buckets are counted too); V8 heap + external memory after a full GC,
 *    before and after: the live bytes a peer costs.
 *
 * Both first register a few warm-up peers, so that code compiled on first use
 * and tables' initial growth are not charged to the measured peers.
 *
 * @module
 */

import { DH_25519 } from "../lib/crypto/noise/mod.ts";
import { RelayClient } from "../lib/peer/relay_client.ts";
import type { Endpoint } from "../lib/wire/mod.ts";
import { InProcessRelay, syntheticAddress } from "./in_process_relay.ts";
import { describeMachine, type MachineInfo } from "./machine.ts";
import { sampleProcess } from "./process_usage.ts";
import { readLines } from "./relay_load.ts";
import { startAltnetRelay } from "./relay_servers.ts";

/** How many peers, and over how many sockets. */
export interface MemorySettings {
  /** Peers registered and measured. */
  peers: number;
  /** Peers registered first and not measured. */
  warmupPeers: number;
  /** Sockets the process method registers through, side by side. */
  sockets: number;
  /** Run the real-process method (the in-process one always runs). */
  process: boolean;
  /** How long the relay process is left alone before each RSS reading. */
  settleMs: number;
}

/** 10,000 peers, as the brief asks: about 40 s on a 2-core machine. */
export const DEFAULT_MEMORY_SETTINGS: MemorySettings = {
  peers: 10_000,
  warmupPeers: 200,
  sockets: 64,
  process: true,
  settleMs: 1000,
};

/** `--quick --memory`: a smoke run. */
export const QUICK_MEMORY_SETTINGS: MemorySettings = {
  peers: 500,
  warmupPeers: 50,
  sockets: 16,
  process: true,
  settleMs: 500,
};

/** Method 1: RSS of a real relay process. */
export interface ProcessMemoryResult {
  method: "process";
  /** Peers the relay reported holding (its `/metrics`) at the end. */
  peersAtRelay: number;
  /** RSS right after start, after warm-up, and after all peers. */
  rssIdleBytes: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  /** (after − before) / peers. */
  bytesPerPeer: number;
  /** Registrations per second the run achieved (both sides' handshakes). */
  registrationsPerSecond: number;
}

/** Method 2: V8 heap of an in-process `RelayCore`, after GC. */
export interface HeapMemoryResult {
  method: "in-process";
  peersAtRelay: number;
  heapUsedBeforeBytes: number;
  heapUsedAfterBytes: number;
  externalBeforeBytes: number;
  externalAfterBytes: number;
  /** (Δ heapUsed + Δ external) / peers. */
  bytesPerPeer: number;
  registrationsPerSecond: number;
}

/** Everything one memory run measured. */
export interface MemoryReport {
  machine: MachineInfo;
  settings: MemorySettings;
  process?: ProcessMemoryResult;
  inProcess: HeapMemoryResult;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// Method 1: a real relay process

/** One socket of the registrar and the peer currently registering on it. */
interface Lane {
  conn: Deno.DatagramConn;
  current?: RelayClient;
  registered?: () => void;
}

function netAddr(endpoint: Endpoint): Deno.NetAddr {
  return { transport: "udp", hostname: endpoint.address, port: endpoint.port };
}

/**
 * Registers many peers at a relay through a few sockets, one peer at a time
 * per socket, and keeps them alive with keepalives until closed.
 */
class Registrar {
  readonly #relay: Endpoint;
  readonly #relayKey: Uint8Array;
  readonly #lanes: Lane[];
  readonly #alive: { client: RelayClient; lane: Lane }[] = [];
  readonly #keepalive: ReturnType<typeof setInterval>;

  constructor(relay: Endpoint, relayKey: Uint8Array, sockets: number) {
    this.#relay = relay;
    this.#relayKey = relayKey;
    this.#lanes = Array.from({ length: sockets }, () => {
      const lane: Lane = {
        conn: Deno.listenDatagram({
          transport: "udp",
          hostname: "127.0.0.1",
          port: 0,
        }),
      };
      void this.#receiveLoop(lane);
      return lane;
    });
    // Under the relay's 45 s lifetime, in case a run is slow.
    this.#keepalive = setInterval(() => this.#sendKeepalives(), 10_000);
  }

  async #receiveLoop(lane: Lane): Promise<void> {
    const buffer = new Uint8Array(2048);
    for (;;) {
      let data;
      try {
        [data] = await lane.conn.receive(buffer);
      } catch (error) {
        if (error instanceof Deno.errors.ConnectionRefused) continue;
        return; // closed
      }
      const client = lane.current;
      if (!client) continue;
      client.receive(data);
      await this.#flush(lane, client);
      for (let event; (event = client.pollEvent());) {
        if (event.type === "registered") lane.registered?.();
      }
    }
  }

  async #flush(lane: Lane, client: RelayClient): Promise<void> {
    for (let out; (out = client.pollTransmit());) {
      await lane.conn.send(out.data, netAddr(out.to)).catch(() => {});
    }
  }

  async #sendKeepalives(): Promise<void> {
    for (const { client, lane } of this.#alive) {
      client.sendKeepalive();
      await this.#flush(lane, client);
    }
  }

  /** Registers `count` peers named `prefix0`, `prefix1`, …. */
  async register(prefix: string, count: number): Promise<void> {
    let next = 0;
    await Promise.all(this.#lanes.map(async (lane) => {
      while (next < count) {
        const name = `${prefix}${next++}`;
        const client = new RelayClient({
          staticKeyPair: DH_25519.generateKeyPair(),
          relay: this.#relay,
          relayKey: this.#relayKey,
          name,
        });
        const done = new Promise<void>((resolve) => lane.registered = resolve);
        lane.current = client;
        client.start();
        await this.#flush(lane, client);
        for (let waited = 0;; waited++) {
          let timer: ReturnType<typeof setTimeout> | undefined;
          const ok = await Promise.race([
            done.then(() => true),
            new Promise<false>((r) => timer = setTimeout(() => r(false), 250)),
          ]);
          clearTimeout(timer);
          if (ok) break;
          if (waited > 60) throw new Error(`Cannot register ${name}`);
          // A lost datagram: the client retries on its own schedule.
          const due = client.nextTimeout();
          if (due !== undefined && performance.now() >= due) {
            client.onTimeout();
            await this.#flush(lane, client);
          }
        }
        lane.current = undefined;
        lane.registered = undefined;
        this.#alive.push({ client, lane });
      }
    }));
  }

  close(): void {
    clearInterval(this.#keepalive);
    for (const lane of this.#lanes) lane.conn.close();
  }
}

/** Method 1: registers peers at a real relay process and reads its RSS. */
export async function measureProcessMemory(
  settings: MemorySettings,
  onProgress: (line: string) => void = () => {},
): Promise<ProcessMemoryResult> {
  const total = settings.warmupPeers + settings.peers;
  const relay = await startAltnetRelay([
    "--max-reservations",
    String(total + 100),
    "--registration-rate",
    "1000000",
    "--packet-rate",
    "10000000",
  ]);
  const registrar = new Registrar(
    { address: "127.0.0.1", port: relay.port },
    Uint8Array.fromBase64(relay.key),
    settings.sockets,
  );
  try {
    await sleep(settings.settleMs);
    const rssIdleBytes = sampleProcess(relay.pid).rssBytes;
    await registrar.register("w", settings.warmupPeers);
    await sleep(settings.settleMs);
    const rssBeforeBytes = sampleProcess(relay.pid).rssBytes;
    onProgress(`registering ${settings.peers} peers at a relay process…`);
    const start = performance.now();
    await registrar.register("p", settings.peers);
    const seconds = (performance.now() - start) / 1000;
    await sleep(settings.settleMs);
    const rssAfterBytes = sampleProcess(relay.pid).rssBytes;
    const metrics = await relay.metrics();
    return {
      method: "process",
      peersAtRelay: metrics.peers,
      rssIdleBytes,
      rssBeforeBytes,
      rssAfterBytes,
      bytesPerPeer: (rssAfterBytes - rssBeforeBytes) / settings.peers,
      registrationsPerSecond: settings.peers / seconds,
    };
  } finally {
    registrar.close();
    await relay.stop();
  }
}

// ---------------------------------------------------------------------------
// Method 2: an in-process RelayCore, heap after GC

/**
 * Runs in a child started with `--expose-gc`: registers the peers into an
 * in-process `RelayCore`, dropping each client at once so that only the
 * relay's side stays reachable.
 *
 * @throws {Error} If `gc` is not exposed.
 */
export function measureHeapInThisProcess(
  settings: Pick<MemorySettings, "peers" | "warmupPeers">,
): HeapMemoryResult {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    throw new Error("Cannot measure the heap without --v8-flags=--expose-gc");
  }
  const collect = () => {
    for (let i = 0; i < 3; i++) gc();
  };
  const total = settings.warmupPeers + settings.peers;
  const relay = new InProcessRelay({ maxReservations: total + 100 });
  const register = (n: number) => {
    const address = syntheticAddress(n);
    relay.register(`p${n}`, address);
    relay.detach(address);
  };
  for (let n = 0; n < settings.warmupPeers; n++) register(n);
  collect();
  const before = Deno.memoryUsage();
  const start = performance.now();
  for (let n = settings.warmupPeers; n < total; n++) register(n);
  const seconds = (performance.now() - start) / 1000;
  collect();
  const after = Deno.memoryUsage();
  const grown = (after.heapUsed - before.heapUsed) +
    (after.external - before.external);
  return {
    method: "in-process",
    peersAtRelay: relay.core.snapshot().peers,
    heapUsedBeforeBytes: before.heapUsed,
    heapUsedAfterBytes: after.heapUsed,
    externalBeforeBytes: before.external,
    externalAfterBytes: after.external,
    bytesPerPeer: grown / settings.peers,
    registrationsPerSecond: settings.peers / seconds,
  };
}

const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** Method 2, in a fresh child process with `--expose-gc`. */
export async function measureHeapMemory(
  settings: MemorySettings,
): Promise<HeapMemoryResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-all",
      "--config",
      CONFIG,
      "--v8-flags=--expose-gc",
      new URL(import.meta.url).pathname,
      "--heap-child",
      String(settings.peers),
      String(settings.warmupPeers),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let result: HeapMemoryResult | undefined;
  for await (const line of readLines(child.stdout)) result = JSON.parse(line);
  const status = await child.status;
  if (!status.success || !result) {
    throw new Error(
      `The in-process memory measurement failed: exit code ${status.code}`,
    );
  }
  return result;
}

/**
 * Runs both methods (the process one unless `settings.process` is false).
 *
 * @example
 * ```ts ignore
 * import { QUICK_MEMORY_SETTINGS, runMemoryBench } from "./relay_memory.ts";
 *
 * const report = await runMemoryBench(QUICK_MEMORY_SETTINGS);
 * ```
 */
export async function runMemoryBench(
  settings: MemorySettings,
  options: { onProgress?: (line: string) => void } = {},
): Promise<MemoryReport> {
  const onProgress = options.onProgress ?? (() => {});
  const machine = describeMachine();
  let process: ProcessMemoryResult | undefined;
  if (settings.process) {
    onProgress("memory, method 1: a relay process…");
    process = await measureProcessMemory(settings, onProgress);
  }
  onProgress(
    `memory, method 2: ${settings.peers} peers into an in-process RelayCore…`,
  );
  const inProcess = await measureHeapMemory(settings);
  return { machine, settings, process, inProcess };
}

if (import.meta.main && Deno.args[0] === "--heap-child") {
  const result = measureHeapInThisProcess({
    peers: Number(Deno.args[1]),
    warmupPeers: Number(Deno.args[2]),
  });
  console.log(JSON.stringify(result));
}
