/**
 * `altnet relay`: run a relay.
 *
 * @module
 */

import {
  parseBytes,
  parseDuration,
  parseFlags,
  parseInteger,
  parsePort,
  parseRate,
  parseUrl,
} from "./flags.ts";
import { IDENTITY_FLAG, IDENTITY_HELP } from "./identity_option.ts";
import { notAvailableYet } from "./not_available.ts";

/** One line for `altnet --help`. */
export const summary = "run a relay that forwards ciphertext between peers";

/** `altnet relay --help`. */
export const help = `altnet relay: ${summary}

Usage: altnet relay [--host ADDR] [--port 8000] [--directory URL]
                    [--metrics-port N] [limit flags] [--json]

Options:
  --host ADDR                      address to listen on (default 0.0.0.0)
  --port N                         UDP port (default 8000; 0 = any)
  --directory URL                  register with this directory and heartbeat
  --metrics-port N                 serve Prometheus metrics over HTTP on this port
  --cover-rate R                   send about R cover packets per second to other relays (default 0)
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
  metricsPort?: number;
  coverRate: number;
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
    "metrics-port": { type: "string" },
    "cover-rate": { type: "string" },
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
  return {
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
    coverRate: v["cover-rate"] === undefined
      ? 0
      : parseRate(v["cover-rate"], "--cover-rate", 10_000),
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
  };
}

/** Runs `altnet relay`. */
export function run(_options: RelayOptions): Promise<number> {
  notAvailableYet("relay", "the UDP relay (issue: connectivity)");
}
