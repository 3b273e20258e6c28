/**
 * The servers the relay benchmark measures, each started as a real process
 * on loopback: `altnet relay` (this repository's `main.ts`) and coturn's
 * `turnserver` with a throwaway configuration.
 *
 * @module
 */

import {
  makeTrackedTempDir,
  placedCommand,
  type Placement,
  readLines,
  removeTrackedTempDir,
  trackChild,
} from "./relay_load.ts";
import { encodeStun, newTransactionId } from "./turn_codec.ts";
import type { TurnAccount } from "./turn_allocation.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** The counters of `altnet relay`'s `/metrics` that the benchmark reads. */
export interface RelayMetrics {
  /** Datagrams the relay read from its socket. */
  packetsIn: number;
  /** FORWARD payloads it passed on. */
  packetsRelayed: number;
  /** Peers with a session. */
  peers: number;
  /** Datagrams it dropped itself, by reason (not the kernel's drops). */
  dropped: Record<string, number>;
}

/**
 * Reads the figures the benchmark needs from Prometheus text.
 *
 * @example
 * ```ts
 * import { parseRelayMetrics } from "./relay_servers.ts";
 *
 * parseRelayMetrics('altnet_relay_packets_total{direction="in"} 12\n').packetsIn; // 12
 * ```
 */
export function parseRelayMetrics(text: string): RelayMetrics {
  const metrics: RelayMetrics = {
    packetsIn: 0,
    packetsRelayed: 0,
    peers: 0,
    dropped: {},
  };
  for (const line of text.split("\n")) {
    const match = line.match(/^(\w+)(?:\{([^}]*)\})? (\S+)$/);
    if (!match) continue;
    const [, name, labels = "", valueText] = match;
    const value = Number(valueText);
    if (name === "altnet_relay_packets_total" && labels === 'direction="in"') {
      metrics.packetsIn = value;
    } else if (name === "altnet_relay_relayed_packets_total") {
      metrics.packetsRelayed = value;
    } else if (name === "altnet_relay_peers") {
      metrics.peers = value;
    } else if (name === "altnet_relay_dropped_packets_total") {
      const reason = labels.match(/reason="([^"]+)"/)?.[1];
      if (reason) metrics.dropped[reason] = value;
    }
  }
  return metrics;
}

/** A running `altnet relay` process. */
export interface AltnetRelayProcess {
  pid: number;
  port: number;
  /** Its static key, base64, as printed in the `ready` line. */
  key: string;
  /** The command line it was started with, for the report. */
  commandLine: string;
  /** Fetches and parses its `/metrics`. */
  metrics(): Promise<RelayMetrics>;
  /** SIGTERM, then SIGKILL if it lingers; removes its identity. */
  stop(): Promise<void>;
}

/**
 * Starts `altnet relay` on 127.0.0.1 with a fresh identity and `limitArgs`
 * (e.g. `--packet-rate 10000000`), waits for its `ready` line and keeps
 * reading its output (a relay whose stdout pipe fills up would block).
 *
 * @throws {Error} If the relay exits before it is ready.
 */
export async function startAltnetRelay(
  limitArgs: string[],
  options: { placement?: Placement } = {},
): Promise<AltnetRelayProcess> {
  const home = await makeTrackedTempDir("altnet-relaybench-relay-");
  const relayArgs = [
    "relay",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--metrics-port",
    "0",
    "--json",
    ...limitArgs,
  ];
  const { program, args } = placedCommand(Deno.execPath(), [
    "run",
    "--quiet",
    "--allow-all",
    "--config",
    CONFIG,
    MAIN,
    ...relayArgs,
  ], options.placement ?? {});
  const child = trackChild(
    new Deno.Command(program, {
      args,
      env: { XDG_CONFIG_HOME: home, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
  );
  const tail: string[] = [];
  const remember = (line: string) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
  };
  void (async () => {
    for await (const line of readLines(child.stderr)) remember(line);
  })();
  const lines = readLines(child.stdout)[Symbol.asyncIterator]();
  let ready: { port: number; key: string; metricsPort: number } | undefined;
  while (!ready) {
    const { value, done } = await lines.next();
    if (done) {
      await removeTrackedTempDir(home);
      throw new Error(
        `altnet relay exited before it was ready: ${tail.join(" | ")}`,
      );
    }
    remember(value);
    const event = JSON.parse(value);
    if (event.event === "ready") ready = event;
  }
  // Drain the event lines (one per registration and circuit) for good.
  void (async () => {
    for (let next; !(next = await lines.next()).done;) remember(next.value);
  })();
  const { port, key, metricsPort } = ready;
  return {
    pid: child.pid,
    port,
    key,
    commandLine: `altnet ${relayArgs.join(" ")}`,
    async metrics() {
      const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      return parseRelayMetrics(await response.text());
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* exited */ }
      }, 3000);
      await child.status;
      clearTimeout(timer);
      await removeTrackedTempDir(home);
    },
  };
}

// ---------------------------------------------------------------------------
// coturn

/** A running `turnserver`. */
export interface CoturnProcess {
  pid: number;
  port: number;
  account: TurnAccount;
  /** `turnserver --version`. */
  version: string;
  /** The configuration it runs with, for the report. */
  config: string;
  stop(): Promise<void>;
}

/** The full path of `name` on `PATH`, or `undefined`. */
export function findOnPath(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      const path = `${dir}/${name}`;
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/** A UDP port that was free a moment ago on 127.0.0.1. */
export function freeUdpPort(): number {
  const conn = Deno.listenDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: 0,
  });
  const port = (conn.addr as Deno.NetAddr).port;
  conn.close();
  return port;
}

/** A range of `count` ports for relayed addresses, avoiding `avoid`. */
function relayPortRange(count: number, avoid: number): [number, number] {
  for (;;) {
    const min = 40000 + Math.floor(Math.random() * 20000);
    if (avoid < min || avoid > min + count) return [min, min + count - 1];
  }
}

/**
 * Starts coturn's `turnserver` on 127.0.0.1 with a throwaway configuration:
 * UDP only (no TLS, no DTLS), no CLI, one long-term-credential user,
 * loopback peers allowed (both allocations live on 127.0.0.1), relayed
 * addresses from a private port range, and its default relay threads.
 * Resolves once it answers a STUN Binding request.
 *
 * @throws {Error} If `turnserver` is not installed or does not come up.
 */
export async function startCoturn(
  options: { placement?: Placement } = {},
): Promise<CoturnProcess> {
  const turnserver = findOnPath("turnserver");
  if (!turnserver) {
    throw new Error(
      "turnserver is not installed (apt-get install -y coturn)",
    );
  }
  const versionOutput = await new Deno.Command(turnserver, {
    args: ["--version"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const version = new TextDecoder().decode(versionOutput.stdout).trim() ||
    "unknown";
  const dir = await makeTrackedTempDir("altnet-relaybench-coturn-");
  const port = freeUdpPort();
  const [minPort, maxPort] = relayPortRange(400, port);
  const account = { username: "bench", password: "bench-password" };
  const config = [
    "listening-ip=127.0.0.1",
    `listening-port=${port}`,
    "relay-ip=127.0.0.1",
    `min-port=${minPort}`,
    `max-port=${maxPort}`,
    "lt-cred-mech",
    `user=${account.username}:${account.password}`,
    "realm=altnet.bench",
    "allow-loopback-peers",
    "no-tls",
    "no-dtls",
    "no-tcp-relay",
    "no-cli",
    "no-rfc5780",
    "no-software-attribute",
    "no-stdout-log",
    "simple-log",
    `log-file=${dir}/turnserver.log`,
    `pidfile=${dir}/turnserver.pid`,
  ].join("\n");
  await Deno.writeTextFile(`${dir}/turnserver.conf`, config + "\n");
  const { program, args } = placedCommand(
    turnserver,
    ["-c", `${dir}/turnserver.conf`],
    options.placement ?? {},
  );
  const child = trackChild(
    new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn(),
  );
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
    }, 3000);
    await child.status;
    clearTimeout(timer);
    await removeTrackedTempDir(dir);
  };
  try {
    await waitForStun({ address: "127.0.0.1", port }, child.status);
  } catch (error) {
    let log = "";
    try {
      log = (await Deno.readTextFile(`${dir}/turnserver.log`)).trim()
        .split("\n").slice(-3).join(" | ");
    } catch { /* no log */ }
    await stop();
    throw new Error(`${(error as Error).message}${log ? `: ${log}` : ""}`);
  }
  return {
    pid: child.pid,
    port,
    account,
    version,
    config: config.replace(/^user=.*$/m, "user=bench:…"),
    stop,
  };
}

/** Sends STUN Binding requests until one is answered (5 s at most). */
async function waitForStun(
  server: { address: string; port: number },
  exited: Promise<Deno.CommandStatus>,
): Promise<void> {
  const conn = Deno.listenDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: 0,
  });
  let gone = false;
  exited.then(() => gone = true);
  let answered = false;
  void (async () => {
    for (;;) {
      try {
        await conn.receive();
        answered = true;
        return;
      } catch (error) {
        // Port unreachable until turnserver binds: try again.
        if (!(error instanceof Deno.errors.ConnectionRefused)) return;
      }
    }
  })();
  const to: Deno.NetAddr = {
    transport: "udp",
    hostname: server.address,
    port: server.port,
  };
  try {
    for (let attempt = 0; attempt < 50 && !gone; attempt++) {
      // RFC 8489 §6: a Binding request (type 0x0001) with no attributes.
      const request = encodeStun({
        type: 0x0001,
        transactionId: newTransactionId(),
        attributes: [],
      });
      await conn.send(request, to).catch(() => {});
      await new Promise((r) => setTimeout(r, 100));
      if (answered) return;
    }
  } finally {
    conn.close();
  }
  throw new Error(
    gone ? "turnserver exited at start" : "turnserver did not answer STUN",
  );
}
