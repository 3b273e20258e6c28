/**
 * `altnet relay`: run a relay.
 *
 * @module
 */

import {
  type HostPort,
  parseBytes,
  parseDuration,
  parseFlags,
  parseHostPort,
  parseInteger,
  parseName,
  parsePort,
  parseRate,
  parseUrl,
} from "./flags.ts";
import { fingerprint } from "../lib/identity/mod.ts";
import { normalizeAddress } from "../lib/wire/mod.ts";
import { UsageError } from "../lib/user_error.ts";
import {
  CoverTraffic,
  formatPrometheus,
  formatStatsLine,
  RelayCore,
  type RelayEvent,
  runRelay,
} from "../lib/relay/mod.ts";
import { openUdpSocket } from "../lib/udp/mod.ts";
import { UserError } from "../lib/user_error.ts";
import {
  IDENTITY_FLAG,
  IDENTITY_HELP,
  loadCommandIdentity,
} from "./identity_option.ts";
import { PROCESS_SINKS, Reporter } from "./output.ts";
import { startDirectoryRegistration } from "./relay_directory.ts";

/** One line for `altnet --help`. */
export const summary = "run a relay that forwards ciphertext between peers";

/** `altnet relay --help`. */
export const help = `altnet relay: ${summary}

Usage: altnet relay [--host ADDR] [--port 8000] [--directory URL]
                    [--metrics-port N] [limit flags] [--json]

Options:
  --host ADDR                      address to listen on (default 0.0.0.0)
  --port N                         UDP port (default 8000; 0 = any)
  --directory URL                  register with this directory, heartbeat, and
                                   deregister on a clean stop
  --announce HOST:PORT             the address peers use to reach this relay (required
                                   with --directory unless --host is a public address)
  --name NAME                      the relay's name in the directory (default relay-<fingerprint>)
  --contact TEXT                   how to reach the operator, shown in the directory
  --directory-key KEY              the directory's signing key (default: pinned on first use)
  --cover-rate R                   send about R cover packets per second to other relays of
                                   the directory (default 0; needs --directory)
  --metrics-port N                 serve Prometheus metrics over HTTP on this port
  --stun-port N                    also answer STUN on this port (lets clients test NAT
                                   filtering, RFC 5780); STUN is always served on --port
  --public-address ADDR            this relay's public IP, announced in STUN answers
  --verbose                        also log peer ids and names (never addresses)
${IDENTITY_HELP}
  --json                           print one JSON object per line
  -h, --help                       show this help

Limits (defaults as in the Descord relay):
  --max-reservations N             reservations in total (default 1024)
  --max-reservations-per-peer N    reservations per peer key (default 3)
  --max-circuits N                 circuits in total (default 512)
  --max-circuits-per-peer N        circuits per peer key (default 5)
  --max-circuit-duration D         lifetime of a circuit, e.g. 1h, 90m (default 1h)
  --max-circuit-bytes SIZE         bytes one circuit may carry, e.g. 100MB (default 100MB)
  --registration-rate R            new registrations per second per source IP (default 5)
  --packet-rate R                  packets per second per source IP (default 5000)`;

/** Parsed `altnet relay` flags. */
export interface RelayOptions {
  help: boolean;
  json: boolean;
  identity?: string;
  host: string;
  port: number;
  directory?: string;
  announce?: HostPort;
  relayName?: string;
  contact?: string;
  directoryKey?: string;
  coverRate: number;
  metricsPort?: number;
  stunPort?: number;
  publicAddress?: string;
  verbose: boolean;
  limits: {
    maxReservations: number;
    maxReservationsPerPeer: number;
    maxCircuits: number;
    maxCircuitsPerPeer: number;
    maxCircuitDurationMs: number;
    maxCircuitBytes: number;
    registrationRate: number;
    packetRate: number;
  };
}

/** Parses `altnet relay` arguments; throws UsageError on mistakes. */
export function parseRelayArgs(args: string[]): RelayOptions {
  const { values: v } = parseFlags("relay", args, {
    ...IDENTITY_FLAG,
    host: { type: "string" },
    port: { type: "string" },
    directory: { type: "string" },
    announce: { type: "string" },
    name: { type: "string" },
    contact: { type: "string" },
    "directory-key": { type: "string" },
    "cover-rate": { type: "string" },
    "metrics-port": { type: "string" },
    "stun-port": { type: "string" },
    "public-address": { type: "string" },
    verbose: { type: "boolean" },
    "max-reservations": { type: "string" },
    "max-reservations-per-peer": { type: "string" },
    "max-circuits": { type: "string" },
    "max-circuits-per-peer": { type: "string" },
    "max-circuit-duration": { type: "string" },
    "max-circuit-bytes": { type: "string" },
    "registration-rate": { type: "string" },
    "packet-rate": { type: "string" },
  });
  const count = (text: string | undefined, flag: string, fallback: number) =>
    text === undefined
      ? fallback
      : parseInteger(text, flag, { min: 1, max: 1_000_000 });
  return checkRelayOptions({
    help: v.help ?? false,
    json: v.json ?? false,
    identity: v.identity,
    host: v.host ?? "0.0.0.0",
    port: v.port === undefined ? 8000 : parsePort(v.port, "--port"),
    directory: v.directory === undefined
      ? undefined
      : parseUrl(v.directory, "--directory"),
    metricsPort: v["metrics-port"] === undefined
      ? undefined
      : parsePort(v["metrics-port"], "--metrics-port"),
    verbose: v.verbose ?? false,
    announce: v.announce === undefined
      ? undefined
      : parseHostPort(v.announce, "--announce"),
    relayName: v.name === undefined ? undefined : parseName(v.name, "--name"),
    contact: v.contact,
    directoryKey: v["directory-key"],
    coverRate: v["cover-rate"] === undefined
      ? 0
      : parseRate(v["cover-rate"], "--cover-rate", 1000),
    stunPort: v["stun-port"] === undefined
      ? undefined
      : parsePort(v["stun-port"], "--stun-port"),
    publicAddress: v["public-address"] === undefined
      ? undefined
      : parseAddress(v["public-address"], "--public-address"),
    limits: {
      maxReservations: count(
        v["max-reservations"],
        "--max-reservations",
        1024,
      ),
      maxReservationsPerPeer: count(
        v["max-reservations-per-peer"],
        "--max-reservations-per-peer",
        3,
      ),
      maxCircuits: count(v["max-circuits"], "--max-circuits", 512),
      maxCircuitsPerPeer: count(
        v["max-circuits-per-peer"],
        "--max-circuits-per-peer",
        5,
      ),
      maxCircuitDurationMs: v["max-circuit-duration"] === undefined
        ? 3_600_000
        : parseDuration(v["max-circuit-duration"], "--max-circuit-duration"),
      maxCircuitBytes: v["max-circuit-bytes"] === undefined
        ? 100_000_000
        : parseBytes(v["max-circuit-bytes"], "--max-circuit-bytes"),
      registrationRate: v["registration-rate"] === undefined
        ? 5
        : parseRate(v["registration-rate"], "--registration-rate", 1_000_000),
      packetRate: v["packet-rate"] === undefined
        ? 5000
        : parseRate(v["packet-rate"], "--packet-rate", 10_000_000),
    },
  });
}

/** Checks flags that only make sense together. */
function checkRelayOptions(options: RelayOptions): RelayOptions {
  if (options.coverRate > 0 && !options.directory) {
    throw new UsageError(
      "--cover-rate needs --directory: cover traffic goes to the directory's other relays",
    );
  }
  return options;
}

/** Runs `altnet relay` until SIGINT or SIGTERM. */
export async function run(options: RelayOptions): Promise<number> {
  const reporter = new Reporter(options.json, PROCESS_SINKS);
  const { identity } = await loadCommandIdentity(options.identity, reporter);
  let socket;
  try {
    socket = await openUdpSocket({
      hostname: options.host,
      port: options.port,
    });
  } catch (error) {
    throw new UserError(
      `Cannot listen on UDP ${options.host}:${options.port}: ${
        (error as Error).message
      }`,
      { hint: "choose another --port, or stop the program using it" },
    );
  }
  let alternate;
  if (options.stunPort !== undefined) {
    try {
      alternate = await openUdpSocket({
        hostname: options.host,
        port: options.stunPort,
      });
    } catch (error) {
      socket.close();
      throw new UserError(
        `Cannot listen on UDP ${options.host}:${options.stunPort}: ${
          (error as Error).message
        }`,
        { hint: "choose another --stun-port" },
      );
    }
  }
  const knownAddress = options.publicAddress ??
    (socket.local.address === "0.0.0.0" || socket.local.address === "::"
      ? undefined
      : socket.local.address);
  // Cover packets are sized like what this relay relays.
  const cover = options.coverRate > 0
    ? new CoverTraffic({
      staticKeyPair: {
        publicKey: identity.noisePublicKey,
        privateKey: identity.noisePrivateKey,
      },
      rate: options.coverRate,
    })
    : undefined;
  const core = new RelayCore({
    onRelayedSize: (size) => cover?.observeRelayedSize(size),
    stunAddresses: knownAddress
      ? {
        main: { address: knownAddress, port: socket.local.port },
        alternate: alternate
          ? { address: knownAddress, port: alternate.local.port }
          : undefined,
      }
      : {},
    hasAlternatePort: alternate !== undefined,
    staticKeyPair: {
      publicKey: identity.noisePublicKey,
      privateKey: identity.noisePrivateKey,
    },
    limits: options.limits,
  });
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let metrics: Deno.HttpServer<Deno.NetAddr> | undefined;
  if (options.metricsPort !== undefined) {
    metrics = Deno.serve(
      {
        hostname: options.host,
        port: options.metricsPort,
        onListen: () => {},
      },
      (request) =>
        new URL(request.url).pathname === "/metrics"
          ? new Response(formatPrometheus(core.snapshot()), {
            headers: { "content-type": "text/plain; version=0.0.4" },
          })
          : new Response("Not found: try /metrics\n", { status: 404 }),
    );
  }
  const print = fingerprint(identity.noisePublicKey);
  reporter.event(
    "ready",
    {
      address: socket.local.address,
      port: socket.local.port,
      fingerprint: print,
      key: identity.noisePublicKey.toBase64(),
      ...(metrics ? { metricsPort: metrics.addr.port } : {}),
      ...(alternate ? { stunPort: alternate.local.port } : {}),
    },
    `altnet relay listening on UDP ${socket.local.address}:${socket.local.port}, fingerprint ${print}\n  relay key: ${identity.noisePublicKey.toBase64()}${
      metrics
        ? `\n  metrics: http://${options.host}:${metrics.addr.port}/metrics`
        : ""
    }`,
  );
  const stopRegistration = options.directory
    ? await startDirectoryRegistration(
      { ...options, directory: options.directory },
      identity,
      core,
      { reporter, listening: socket.local, cover },
    )
    : undefined;
  try {
    await runRelay(socket, core, {
      alternate,
      cover,
      signal: controller.signal,
      onEvent: (event) => logEvent(reporter, event, options.verbose),
      onStats: (snapshot) =>
        reporter.event(
          "stats",
          {
            uptimeMs: Math.round(snapshot.uptimeMs),
            peers: snapshot.peers,
            reservations: snapshot.reservations,
            circuits: snapshot.circuits,
            bytesRelayed: snapshot.counters.bytesRelayed,
            dropped: snapshot.counters.dropped,
          },
          formatStatsLine(snapshot),
        ),
    });
  } finally {
    await stopRegistration?.();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await metrics?.shutdown();
  }
  reporter.event("done", {}, "altnet relay stopped");
  return 0;
}

/** One line per event; peer ids and names only when verbose. */
function logEvent(reporter: Reporter, event: RelayEvent, verbose: boolean) {
  const { type, ...rest } = event;
  const fields: Record<string, unknown> = verbose ? rest : {};
  if (!verbose) {
    if ("reason" in rest) fields.reason = rest.reason;
    if ("limit" in rest) fields.limit = rest.limit;
    if ("request" in rest) fields.request = rest.request;
    if ("bytes" in rest) fields.bytes = rest.bytes;
  }
  const detail = Object.entries(fields)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(",") : v}`)
    .join(" ");
  reporter.event(type, fields, `${type}${detail ? ` ${detail}` : ""}`);
}

function parseAddress(text: string, what: string): string {
  try {
    return normalizeAddress(text);
  } catch {
    throw new UsageError(
      `Invalid address for ${what}: ${text} (expected an IPv4 or IPv6 address)`,
    );
  }
}
