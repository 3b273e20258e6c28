/**
 * `altnet send`: send a file to a peer.
 *
 * @module
 */

import { UsageError } from "../lib/user_error.ts";
import type { HostPort, PeerSpec } from "./flags.ts";
import { parseFlags, parseName, parsePeerSpec, parsePort } from "./flags.ts";
import { IDENTITY_FLAG, IDENTITY_HELP } from "./identity_option.ts";
import { notAvailableYet } from "./not_available.ts";
import {
  DIRECTORY_HELP,
  HOPS_HELP,
  parseDirectoryFlag,
  parseHopsFlag,
  parseRelayFlag,
  RELAY_HELP,
} from "./peer_flags.ts";

/** One line for `altnet --help`. */
export const summary = "send a file to a peer (resumable, verified)";

/** `altnet send --help`. */
export const help = `altnet send: ${summary}

Usage: altnet send <name> <port> <peer> <file> [--relay HOST:PORT] [--hops N] [--json]

Arguments:
  <name>             the name you register under at relays
  <port>             local UDP port (0 = any)
  <peer>             bob, bob@HOST:PORT, or host:port (see 'altnet chat --help')
  <file>             the file to send

Options:
${RELAY_HELP}
${HOPS_HELP}
${DIRECTORY_HELP}
${IDENTITY_HELP}
  --json             JSON Lines events on stdout (ready, path, progress, done, error)
  -h, --help         show this help`;

/** Parsed `altnet send` flags. */
export interface SendOptions {
  help: boolean;
  json: boolean;
  identity?: string;
  name: string;
  port: number;
  peer: PeerSpec;
  file: string;
  relay?: HostPort;
  hops: number;
  directory: string;
}

/** Parses `altnet send` arguments; throws UsageError on mistakes. */
export function parseSendArgs(args: string[]): SendOptions {
  const { values: v, positionals } = parseFlags("send", args, {
    ...IDENTITY_FLAG,
    relay: { type: "string" },
    hops: { type: "string" },
    directory: { type: "string" },
  }, { names: ["name", "port", "peer", "file"] });
  if (v.help) return { help: true } as SendOptions;
  return {
    help: false,
    json: v.json ?? false,
    identity: v.identity,
    name: parseName(positionals[0], "<name>"),
    port: parsePort(positionals[1], "<port>"),
    peer: parsePeerSpec(positionals[2]),
    file: positionals[3],
    relay: parseRelayFlag(v.relay),
    hops: parseHopsFlag(v.hops),
    directory: parseDirectoryFlag(v.directory),
  };
}

/** Runs `altnet send`. */
export async function run(options: SendOptions): Promise<number> {
  const info = await Deno.stat(options.file).catch(() => undefined);
  if (!info) {
    throw new UsageError(`Cannot find the file to send: ${options.file}`);
  }
  if (!info.isFile) {
    throw new UsageError(`Cannot send what is not a file: ${options.file}`);
  }
  notAvailableYet("send", "file transfer (issue: file transfer)");
}
