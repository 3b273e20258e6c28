/**
 * The load process of the relay benchmark (`bench/relay.ts`): it runs as a
 * child process and obeys one JSON command per stdin line, answering each
 * with one JSON line on stdout. The same program plays both sides:
 *
 * - **senders** register peers at an altnet relay (or allocate at a TURN
 *   server), open circuits (or bind channels), pre-build a batch of
 *   datagrams and then send it at a paced rate;
 * - **receivers** register the other ends and count the datagrams that
 *   arrive, verifying one per socket at the end (it must open to the payload
 *   that was sent).
 *
 * Sockets are plain `Deno.listenDatagram` with `receive(buf)` into one reused
 * buffer, the cheapest way Deno offers, so the load process spends as little
 * as possible of its core per datagram.
 *
 * @module
 */

import { DH_25519 } from "../lib/crypto/noise/mod.ts";
import {
  RelayClient,
  type RelayClientEvent,
} from "../lib/peer/relay_client.ts";
import {
  AEAD_TAG_SIZE,
  type Endpoint,
  TRANSPORT_HEADER_SIZE,
} from "../lib/wire/mod.ts";
import {
  ALLOCATION_MISMATCH,
  type TurnAccount,
  TurnAllocation,
  TurnError,
} from "./turn_allocation.ts";
import {
  CHANNEL_DATA_HEADER_SIZE,
  decodeStun,
  encodeChannelData,
  FIRST_CHANNEL,
  isChannelData,
  type TurnAddress,
} from "./turn_codec.ts";

/** One command to a load process. */
export type LoadCommand =
  | {
    cmd: "register";
    /** Altnet: register these names at the relay (receivers and senders). */
    relay: Endpoint;
    /** The relay's static key, base64 (IK handshakes). */
    relayKey: string;
    names: string[];
    /** Per name, the receiver to open a circuit to (senders only). */
    connectTo?: string[];
  }
  | {
    cmd: "allocate";
    /** TURN: make `count` allocations; answer with their relayed addresses. */
    server: TurnAddress;
    account: TurnAccount;
    count: number;
  }
  | {
    cmd: "bind";
    /** TURN: permission and channel from allocation i to `peers[i]`. */
    peers: TurnAddress[];
  }
  | {
    cmd: "prepare";
    /** Pre-build `count` datagrams, spread over this process's stations. */
    count: number;
    payloadSize: number;
    /**
     * Control: send `datagramSize`-byte datagrams straight to these
     * receiver sockets instead of through the server.
     */
    direct?: { to: Endpoint[]; datagramSize: number };
  }
  | { cmd: "send"; rate: number }
  | { cmd: "count-start"; payloadSize: number }
  | { cmd: "count-stop" }
  | { cmd: "teardown" }
  | { cmd: "exit" };

/** The answer to a command. */
export type LoadReply =
  | { ok: false; error: string }
  | {
    ok: true;
    /** `register`, `allocate`: the local socket of each station. */
    endpoints?: Endpoint[];
    /** `allocate`: the relayed address of each allocation. */
    relayed?: TurnAddress[];
    /** `prepare`: how long building the batch took. */
    prepareMs?: number;
    /** `send`: datagrams handed to the kernel, failed sends, and the time. */
    sent?: number;
    failed?: number;
    seconds?: number;
    /** `send`: the largest burst, and how far behind schedule it fell. */
    maxBurst?: number;
    maxLagMs?: number;
    /** `count-stop`: datagrams counted, and how many samples verified. */
    received?: number;
    samples?: number;
    verified?: number;
  };

/**
 * The end-to-end payload every relayed datagram carries, the same bytes in
 * both benchmarks so that a receiver can check what came out.
 */
export function benchPayload(size: number): Uint8Array {
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 31 + 7) & 255;
  return payload;
}

/** How many sends one pacing round may issue before yielding. */
const MAX_BURST = 256;
/** How long a peer may take to register or get a circuit. */
const SETUP_TIMEOUT_MS = 10_000;

/** One socket of this process and what speaks on it. */
interface Station {
  conn: Deno.DatagramConn;
  local: Endpoint;
  /** Where this station's traffic goes: the relay or the TURN server. */
  server: Deno.NetAddr;
  altnet?: RelayClient;
  events: RelayClientEvent[];
  circuitId?: bigint;
  turn?: TurnAllocation;
  channel?: number;
  received: number;
  sample?: Uint8Array;
  closed: boolean;
}

interface Prepared {
  conn: Deno.DatagramConn;
  data: Uint8Array;
  to: Deno.NetAddr;
}

function netAddr(endpoint: Endpoint): Deno.NetAddr {
  return { transport: "udp", hostname: endpoint.address, port: endpoint.port };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The state of one load process, driven by {@linkcode LoadWorker.handle}. */
export class LoadWorker {
  #stations: Station[] = [];
  #batch: Prepared[] = [];
  #counting = false;
  /** Datagrams at least this long are payload and get counted. */
  #countFrom = Infinity;
  #payload: Uint8Array = new Uint8Array(0);

  /** Runs one command. Never throws: errors become `{ ok: false }`. */
  async handle(command: LoadCommand): Promise<LoadReply> {
    try {
      switch (command.cmd) {
        case "register":
          return await this.#register(command);
        case "allocate":
          return await this.#allocate(command);
        case "bind":
          return await this.#bind(command.peers);
        case "prepare":
          return this.#prepare(command);
        case "send":
          return await this.#send(command.rate);
        case "count-start":
          return this.#countStart(command.payloadSize);
        case "count-stop":
          return this.#countStop();
        case "teardown":
          await this.#teardown();
          return { ok: true };
        case "exit":
          await this.#teardown();
          return { ok: true };
      }
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  }

  // --- setup ---------------------------------------------------------------

  #open(server: Endpoint): Station {
    const conn = Deno.listenDatagram({
      transport: "udp",
      hostname: "127.0.0.1",
      port: 0,
    });
    const local = conn.addr as Deno.NetAddr;
    const station: Station = {
      conn,
      local: { address: local.hostname, port: local.port },
      server: netAddr(server),
      events: [],
      received: 0,
      closed: false,
    };
    this.#stations.push(station);
    void this.#receiveLoop(station);
    return station;
  }

  async #receiveLoop(station: Station): Promise<void> {
    const buffer = new Uint8Array(2048);
    for (;;) {
      let data: Uint8Array;
      try {
        [data] = await station.conn.receive(buffer);
      } catch (error) {
        if (station.closed || error instanceof Deno.errors.BadResource) return;
        // An ICMP port-unreachable from an earlier send: nothing to read.
        if (error instanceof Deno.errors.ConnectionRefused) continue;
        throw error;
      }
      if (data.length >= this.#countFrom) {
        if (this.#counting && ++station.received === 1) {
          station.sample = data.slice();
        }
        continue;
      }
      if (station.altnet) {
        station.altnet.receive(data);
        await this.#flush(station);
      } else if (station.turn) {
        const message = decodeStun(data);
        if (message) station.turn.onStun(message);
      }
    }
  }

  async #flush(station: Station): Promise<void> {
    const client = station.altnet!;
    for (let out; (out = client.pollTransmit());) {
      await station.conn.send(out.data, netAddr(out.to)).catch(() => {});
    }
    for (let event; (event = client.pollEvent());) station.events.push(event);
  }

  async #waitFor<T extends RelayClientEvent["type"]>(
    station: Station,
    type: T,
  ): Promise<Extract<RelayClientEvent, { type: T }>> {
    const client = station.altnet!;
    const deadline = performance.now() + SETUP_TIMEOUT_MS;
    while (performance.now() < deadline) {
      const index = station.events.findIndex((e) =>
        e.type === type || e.type === "refused" || e.type === "unreachable"
      );
      if (index >= 0) {
        const [event] = station.events.splice(index, 1);
        if (event.type === type) {
          return event as Extract<RelayClientEvent, { type: T }>;
        }
        throw new Error(
          `Relay answered ${event.type} while waiting for ${type}: ${
            "text" in event ? event.text : ""
          }`,
        );
      }
      const next = client.nextTimeout();
      if (next !== undefined && performance.now() >= next) client.onTimeout();
      await this.#flush(station);
      await sleep(2);
    }
    throw new Error(`No ${type} from the relay within ${SETUP_TIMEOUT_MS} ms`);
  }

  async #register(
    command: Extract<LoadCommand, { cmd: "register" }>,
  ): Promise<LoadReply> {
    const relayKey = Uint8Array.fromBase64(command.relayKey);
    const stations = command.names.map((name) => {
      const station = this.#open(command.relay);
      station.altnet = new RelayClient({
        staticKeyPair: DH_25519.generateKeyPair(),
        relay: command.relay,
        relayKey,
        name,
      });
      station.altnet.start();
      return station;
    });
    await Promise.all(stations.map(async (station, index) => {
      await this.#flush(station);
      await this.#waitFor(station, "registered");
      const target = command.connectTo?.[index];
      if (target === undefined) return;
      station.altnet!.connect(target);
      await this.#flush(station);
      station.circuitId = (await this.#waitFor(station, "rendezvous"))
        .circuitId;
    }));
    return { ok: true, endpoints: stations.map((s) => s.local) };
  }

  async #allocate(
    command: Extract<LoadCommand, { cmd: "allocate" }>,
  ): Promise<LoadReply> {
    const allocateOne = async (): Promise<[Station, TurnAddress]> => {
      for (let attempt = 1;; attempt++) {
        const station = this.#open(command.server);
        station.turn = new TurnAllocation(
          station.conn,
          command.server,
          command.account,
        );
        station.channel = FIRST_CHANNEL;
        try {
          return [station, await station.turn.allocate()];
        } catch (error) {
          if (
            !(error instanceof TurnError) ||
            error.code !== ALLOCATION_MISMATCH || attempt === 5
          ) {
            throw error;
          }
          // Another client port: this one still has an old allocation.
          this.#stations = this.#stations.filter((s) => s !== station);
          station.closed = true;
          station.conn.close();
        }
      }
    };
    const made = await Promise.all(
      Array.from({ length: command.count }, allocateOne),
    );
    // Keep the stations in the order of `relayed`, whatever order they
    // were opened in.
    const mine = new Set(made.map(([station]) => station));
    this.#stations = [
      ...this.#stations.filter((s) => !mine.has(s)),
      ...made.map(([station]) => station),
    ];
    return {
      ok: true,
      endpoints: made.map(([station]) => station.local),
      relayed: made.map(([, relayed]) => relayed),
    };
  }

  async #bind(peers: TurnAddress[]): Promise<LoadReply> {
    const stations = this.#stations.filter((s) => s.turn);
    if (stations.length !== peers.length) {
      throw new RangeError(
        `Cannot bind ${peers.length} peers to ${stations.length} allocations`,
      );
    }
    await Promise.all(stations.map(async (station, index) => {
      await station.turn!.createPermission(peers[index]);
      await station.turn!.channelBind(station.channel!, peers[index]);
    }));
    return { ok: true };
  }

  // --- load ------------------------------------------------------------------

  #prepare(command: Extract<LoadCommand, { cmd: "prepare" }>): LoadReply {
    const started = performance.now();
    this.#batch = [];
    const stations = this.#stations;
    if (stations.length === 0) throw new Error("Nothing to send from");
    const payload = benchPayload(command.payloadSize);
    const batch: Prepared[] = new Array(command.count);
    if (command.direct) {
      const junk = new Uint8Array(command.direct.datagramSize).fill(0xee);
      const targets = command.direct.to.map(netAddr);
      for (let i = 0; i < command.count; i++) {
        batch[i] = {
          conn: stations[i % stations.length].conn,
          data: junk,
          to: targets[i % targets.length],
        };
      }
    } else if (stations[0].altnet) {
      for (let i = 0; i < command.count; i++) {
        const station = stations[i % stations.length];
        // Each FORWARD is sealed now, with its own counter, in send order.
        if (!station.altnet!.forward(station.circuitId!, payload)) {
          throw new Error("Cannot forward: the relay session is not ready");
        }
        const out = station.altnet!.pollTransmit()!;
        batch[i] = { conn: station.conn, data: out.data, to: station.server };
      }
    } else {
      const frames = stations.map((s) =>
        encodeChannelData(s.channel!, payload)
      );
      for (let i = 0; i < command.count; i++) {
        const index = i % stations.length;
        batch[i] = {
          conn: stations[index].conn,
          data: frames[index],
          to: stations[index].server,
        };
      }
    }
    this.#batch = batch;
    return { ok: true, prepareMs: performance.now() - started };
  }

  async #send(rate: number): Promise<LoadReply> {
    const batch = this.#batch;
    this.#batch = [];
    const total = batch.length;
    let sent = 0;
    let failed = 0;
    const onFailure = () => {
      failed++;
    };
    let maxBurst = 0;
    let maxLagMs = 0;
    const start = performance.now();
    while (sent < total) {
      // Datagram k is due at start + k / rate: send whatever is due now.
      const elapsed = performance.now() - start;
      const due = Math.min(total, Math.floor(elapsed * rate / 1000) + 1);
      const burst = Math.min(due - sent, MAX_BURST);
      if (burst > maxBurst) maxBurst = burst;
      const lag = elapsed - sent * 1000 / rate;
      if (lag > maxLagMs) maxLagMs = lag;
      if (burst <= 0) {
        await sleep(0);
        continue;
      }
      const sends: Promise<void>[] = new Array(burst);
      for (let i = 0; i < burst; i++) {
        const { conn, data, to } = batch[sent + i];
        sends[i] = conn.send(data, to).then(() => {}, onFailure);
      }
      sent += burst;
      await Promise.all(sends);
    }
    const seconds = (performance.now() - start) / 1000;
    return {
      ok: true,
      sent: sent - failed,
      failed,
      seconds,
      maxBurst,
      maxLagMs,
    };
  }

  #countStart(payloadSize: number): LoadReply {
    this.#payload = benchPayload(payloadSize);
    this.#countFrom = payloadSize;
    for (const station of this.#stations) {
      station.received = 0;
      station.sample = undefined;
    }
    this.#counting = true;
    return { ok: true };
  }

  #countStop(): LoadReply {
    this.#counting = false;
    let received = 0;
    let samples = 0;
    let verified = 0;
    for (const station of this.#stations) {
      received += station.received;
      if (!station.sample) continue;
      samples++;
      if (this.#verify(station, station.sample)) verified++;
      station.sample = undefined;
    }
    return { ok: true, received, samples, verified };
  }

  /** Whether `datagram` carries exactly the payload the senders sent. */
  #verify(station: Station, datagram: Uint8Array): boolean {
    const expected = this.#payload;
    if (station.altnet) {
      if (!station.altnet.receive(datagram)) return false;
      for (let event; (event = station.altnet.pollEvent());) {
        if (event.type === "forwarded") {
          return sameBytes(event.packet, expected);
        }
      }
      return false;
    }
    return isChannelData(datagram) &&
      new DataView(datagram.buffer).getUint16(0) === station.channel &&
      sameBytes(datagram.subarray(CHANNEL_DATA_HEADER_SIZE), expected);
  }

  async #teardown(): Promise<void> {
    const stations = this.#stations;
    this.#stations = [];
    this.#batch = [];
    await Promise.all(stations.map(async (station) => {
      if (station.altnet) {
        station.altnet.stop(); // UNREGISTER: the relay forgets us at once
        await this.#flush(station);
      }
      await station.turn?.release();
    }));
    for (const station of stations) {
      station.closed = true;
      station.conn.close();
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Datagram size of an altnet FORWARD carrying `payloadSize` bytes. */
export function altnetDatagramSize(payloadSize: number): number {
  // TRANSPORT header, then the sealed FORWARD: kind (1), circuit id (8),
  // the payload, and the AEAD tag (docs/PROTOCOL.md §1.1, §1.2).
  return TRANSPORT_HEADER_SIZE + 1 + 8 + payloadSize + AEAD_TAG_SIZE;
}

/** Datagram size of a TURN ChannelData frame carrying `payloadSize` bytes. */
export function turnDatagramSize(payloadSize: number): number {
  return CHANNEL_DATA_HEADER_SIZE + payloadSize;
}

// ---------------------------------------------------------------------------
// The parent's handle on a load process

/** Where a child process runs: `taskset -c` CPU list, or anywhere. */
export interface Placement {
  /** E.g. `"1"` or `"1-3"`; undefined = let the scheduler decide. */
  cpus?: string;
}

/**
 * The command line that runs `args` on `placement`: `taskset` execs the
 * program, so the child's pid is the program's own.
 */
export function placedCommand(
  program: string,
  args: string[],
  placement: Placement,
): { program: string; args: string[] } {
  return placement.cpus === undefined
    ? { program, args }
    : { program: "taskset", args: ["-c", placement.cpus, program, ...args] };
}

const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** Child processes this benchmark started and has not yet seen exit. */
const started = new Set<Deno.ChildProcess>();

/**
 * Remembers `child` until it exits, so that an interrupted run can end it
 * with {@linkcode killStartedProcesses}.
 */
export function trackChild(child: Deno.ChildProcess): Deno.ChildProcess {
  started.add(child);
  child.status.finally(() => started.delete(child));
  return child;
}

/** Temporary directories of running servers (identities, configs). */
const temporaryDirs = new Set<string>();

/** Makes a temporary directory that an interrupted run still removes. */
export async function makeTrackedTempDir(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  temporaryDirs.add(dir);
  return dir;
}

/** Removes a directory made by {@linkcode makeTrackedTempDir}. */
export async function removeTrackedTempDir(dir: string): Promise<void> {
  temporaryDirs.delete(dir);
  await Deno.remove(dir, { recursive: true });
}

/**
 * Kills every child process this benchmark started that still runs, and
 * removes their temporary directories: for an interrupted run.
 */
export function killStartedProcesses(): void {
  for (const child of started) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Exited meanwhile.
    }
  }
  for (const dir of temporaryDirs) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Already gone.
    }
  }
}

/** A load process started by the benchmark, one command at a time. */
export class LoadProcess {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = readLines(child.stdout)[Symbol.asyncIterator]();
  }

  /** Starts `bench/relay_load.ts` as a child process on `placement`. */
  static spawn(placement: Placement = {}): LoadProcess {
    const { program, args } = placedCommand(Deno.execPath(), [
      "run",
      "--quiet",
      "--allow-all",
      "--unstable-net",
      "--config",
      CONFIG,
      new URL("./relay_load.ts", import.meta.url).pathname,
    ], placement);
    const child = new Deno.Command(program, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    return new LoadProcess(trackChild(child));
  }

  /** The child's pid (for `/proc` figures). */
  get pid(): number {
    return this.#child.pid;
  }

  /**
   * Sends one command and waits for its reply.
   *
   * @throws {Error} If the process answers with an error or exits.
   */
  async request(
    command: LoadCommand,
  ): Promise<Extract<LoadReply, { ok: true }>> {
    await this.#writer.write(
      new TextEncoder().encode(JSON.stringify(command) + "\n"),
    );
    const { value, done } = await this.#lines.next();
    if (done) {
      throw new Error(`The load process exited during ${command.cmd}`);
    }
    const reply = JSON.parse(value) as LoadReply;
    if (!reply.ok) {
      throw new Error(`Load process failed to ${command.cmd}: ${reply.error}`);
    }
    return reply;
  }

  /** Asks the process to clean up and exit; kills it if it does not. */
  async close(): Promise<void> {
    try {
      await this.request({ cmd: "exit" });
      await this.#writer.close();
    } catch {
      // Already gone.
    }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* exited */ }
    }, 2000);
    await this.#child.status;
    clearTimeout(timer);
    await this.#lines.return?.(undefined);
  }
}

/** The lines of a byte stream, without their line ends. */
export async function* readLines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.trim()) yield line;
    }
  }
  if (buffer.trim()) yield buffer;
}

async function runWorker(): Promise<void> {
  const worker = new LoadWorker();
  for await (const line of readLines(Deno.stdin.readable)) {
    const command = JSON.parse(line) as LoadCommand;
    const reply = await worker.handle(command);
    console.log(JSON.stringify(reply));
    if (command.cmd === "exit") break;
  }
  Deno.exit(0);
}

if (import.meta.main) {
  await runWorker();
}
