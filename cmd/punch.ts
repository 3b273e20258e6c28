/**
 * `altnet punch`: diagnose NAT traversal toward a peer.
 *
 * @module
 */

import type { HostPort, PeerSpec } from "./flags.ts";
import {
  parseFlags,
  parseHostPort,
  parseName,
  parsePeerSpec,
  parsePort,
} from "./flags.ts";
import {
  IDENTITY_FLAG,
  IDENTITY_HELP,
  loadCommandIdentity,
} from "./identity_option.ts";
import { PROCESS_SINKS, Reporter } from "./output.ts";
import { runPunch } from "./punch_runner.ts";
import { parseRelayFlag, RELAY_HELP } from "./peer_flags.ts";

/** One line for `altnet --help`. */
export const summary = "diagnose NAT behaviour and the direct path to a peer";

/** `altnet punch --help`. */
export const help = `altnet punch: ${summary}

Usage: altnet punch <name> <port> <peer> [--relay HOST:PORT] [--stun HOST:PORT] [--json]

Arguments:
  <name>             the name you register under at relays
  <port>             local UDP port (0 = any)
  <peer>             bob, bob@HOST:PORT, or host:port (see 'altnet chat --help')

Options:
${RELAY_HELP}
  --stun HOST:PORT   also ask this STUN server (a second destination tells the
                     NAT's mapping behaviour; the relay's --stun-port does too)
${IDENTITY_HELP}
  --json             JSON Lines events on stdout
  -h, --help         show this help`;

/** Parsed `altnet punch` flags. */
export interface PunchOptions {
  help: boolean;
  json: boolean;
  identity?: string;
  name: string;
  port: number;
  peer: PeerSpec;
  relay?: HostPort;
  stun?: HostPort;
}

/** Parses `altnet punch` arguments; throws UsageError on mistakes. */
export function parsePunchArgs(args: string[]): PunchOptions {
  const { values: v, positionals } = parseFlags("punch", args, {
    ...IDENTITY_FLAG,
    relay: { type: "string" },
    stun: { type: "string" },
  }, { names: ["name", "port", "peer"] });
  if (v.help) return { help: true } as PunchOptions;
  return {
    help: false,
    json: v.json ?? false,
    identity: v.identity,
    name: parseName(positionals[0], "<name>"),
    port: parsePort(positionals[1], "<port>"),
    peer: parsePeerSpec(positionals[2]),
    relay: parseRelayFlag(v.relay),
    stun: v.stun === undefined ? undefined : parseHostPort(v.stun, "--stun"),
  };
}

/** Runs `altnet punch`. */
export async function run(options: PunchOptions): Promise<number> {
  const reporter = new Reporter(options.json, PROCESS_SINKS);
  const loaded = await loadCommandIdentity(options.identity, reporter);
  return await runPunch(options, loaded, reporter);
}
