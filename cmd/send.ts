/**
 * `altnet send`: send a file to a peer.
 *
 * @module
 */

import { basename } from "node:path";
import type { BirthdayBudget } from "../lib/peer/birthday.ts";
import { checkFileName } from "../lib/transfer/mod.ts";
import { UsageError } from "../lib/user_error.ts";
import type { HostPort, PeerSpec } from "./flags.ts";
import { parseFlags, parseName, parsePeerSpec, parsePort } from "./flags.ts";
import {
  IDENTITY_FLAG,
  IDENTITY_HELP,
  loadCommandIdentity,
} from "./identity_option.ts";
import { PROCESS_SINKS, Reporter } from "./output.ts";
import {
  BIRTHDAY_HELP,
  DIRECTORY_HELP,
  HOPS_HELP,
  parseBirthdayFlag,
  parseDirectoryFlag,
  parseHopsFlag,
  parseRelayFlag,
  parseStunFlag,
  RELAY_HELP,
  STUN_HELP,
} from "./peer_flags.ts";
import { refuseHops } from "./transfer_terminal.ts";
import { runSend } from "./transfer_send.ts";

/** One line for `altnet --help`. */
export const summary = "send a file to a peer (resumable, verified)";

/** `altnet send --help`. */
export const help = `altnet send: ${summary}

Usage: altnet send <name> <port> <peer> <file> [--relay HOST:PORT] [--hops N]
                   [--accept-new-key] [--json]

Arguments:
  <name>             the name you register under at relays
  <port>             local UDP port (0 = any)
  <peer>             bob, bob@HOST:PORT, or host:port (see 'altnet chat --help')
  <file>             the file to send

Options:
${RELAY_HELP}
${HOPS_HELP}
${STUN_HELP}
${BIRTHDAY_HELP}
${DIRECTORY_HELP}
  --accept-new-key   accept a peer whose key changed since last time
  --relay-only       never use a direct path (to check or measure a relay)
${IDENTITY_HELP}
  --json             JSON Lines events on stdout (ready, path, progress, done, error)
  -h, --help         show this help

The peer must be running 'altnet receive'. It is offered the file's name,
size and SHA-256, and accepts or declines. Every chunk is verified on
arrival; if either side stops, running the same command again resumes from
the last verified chunk. Exits 0 once the peer confirms the whole file is
verified and in place.`;

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
  stun?: HostPort;
  birthday: BirthdayBudget;
  directory: string;
  acceptNewKey: boolean;
  relayOnly: boolean;
}

/** Parses `altnet send` arguments; throws UsageError on mistakes. */
export function parseSendArgs(args: string[]): SendOptions {
  const { values: v, positionals } = parseFlags("send", args, {
    ...IDENTITY_FLAG,
    relay: { type: "string" },
    hops: { type: "string" },
    stun: { type: "string" },
    birthday: { type: "string" },
    directory: { type: "string" },
    "accept-new-key": { type: "boolean" },
    "relay-only": { type: "boolean" },
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
    stun: parseStunFlag(v.stun),
    birthday: parseBirthdayFlag(v.birthday),
    directory: parseDirectoryFlag(v.directory),
    acceptNewKey: v["accept-new-key"] ?? false,
    relayOnly: v["relay-only"] ?? false,
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
  const unsafe = checkFileName(basename(options.file));
  if (unsafe) {
    throw new UsageError(
      `Cannot send a file whose name a receiver would refuse: ${
        basename(options.file)
      } (${unsafe})`,
      { hint: "copy or rename it to a plain name first" },
    );
  }
  refuseHops(options.hops);
  const reporter = new Reporter(options.json, PROCESS_SINKS);
  const loaded = await loadCommandIdentity(options.identity, reporter);
  return await runSend(options, loaded, reporter);
}
