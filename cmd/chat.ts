/**
 * `altnet chat`: end-to-end encrypted chat with one peer.
 *
 * @module
 */

import { resolve } from "node:path";
import type { BirthdayBudget } from "../lib/peer/birthday.ts";
import { UsageError } from "../lib/user_error.ts";
import type { HostPort, PeerSpec } from "./flags.ts";
import { parseFlags, parseName, parsePeerSpec, parsePort } from "./flags.ts";
import {
  IDENTITY_FLAG,
  IDENTITY_HELP,
  loadCommandIdentity,
} from "./identity_option.ts";
import { PROCESS_SINKS, Reporter } from "./output.ts";
import { runChat } from "./chat_runner.ts";
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

/** One line for `altnet --help`. */
export const summary = "chat with a peer, directly or through relays";

/** `altnet chat --help`. */
export const help = `altnet chat: ${summary}

Usage: altnet chat <name> <port> <peer> [--relay HOST:PORT] [--hops N]
                   [--directory URL] [--accept-files] [--out DIR]
                   [--accept-new-key] [--json]

Arguments:
  <name>             the name you register under at relays (a-z 0-9 . _ -)
  <port>             local UDP port (0 = any)
  <peer>             bob, bob@203.0.113.5:9002 (name and address hint), or
                     host:port (a resolvable host is tried directly; otherwise
                     bob:9002 means peer bob with port hint 9002)

Options:
${RELAY_HELP}
${HOPS_HELP}
${STUN_HELP}
${BIRTHDAY_HELP}
${DIRECTORY_HELP}
  --accept-files     accept every file the peer offers (otherwise you are
                     asked on a terminal; without one, files are declined)
  --out DIR          folder for received files (default: the current folder)
  --accept-new-key   accept a peer whose key changed since last time
${IDENTITY_HELP}
  --json             JSON Lines events on stdout (ready, path, message,
                     delivered, offer, progress, done, error)
  -h, --help         show this help

Commands (a line that starts with /):
  /send PATH         offer a file to the peer; it travels beside the messages
                     on the same encrypted connection, verified and resumable
                     as with 'altnet send'
  /accept [ID]       accept the file offered (the oldest waiting, or number ID)
  /decline [ID]      decline it
  /status            path, round trip and the peer's fingerprint
  /help              these commands
  /quit              leave (files on their way stop; partial downloads are kept)

Without a terminal, each stdin line is sent as a message (/send PATH is still
a command; start a line with // to send it as a message beginning with /) and
each received message is printed as one line; files offered are accepted only
with --accept-files. Chat exits 0 when stdin ends, every message was
acknowledged and every file sent was received.`;

/** Parsed `altnet chat` flags. */
export interface ChatOptions {
  help: boolean;
  json: boolean;
  identity?: string;
  name: string;
  port: number;
  peer: PeerSpec;
  relay?: HostPort;
  hops: number;
  stun?: HostPort;
  birthday: BirthdayBudget;
  directory: string;
  acceptNewKey: boolean;
  acceptFiles: boolean;
  out: string;
}

/** Parses `altnet chat` arguments; throws UsageError on mistakes. */
export function parseChatArgs(args: string[]): ChatOptions {
  const { values: v, positionals } = parseFlags("chat", args, {
    ...IDENTITY_FLAG,
    relay: { type: "string" },
    hops: { type: "string" },
    stun: { type: "string" },
    birthday: { type: "string" },
    directory: { type: "string" },
    "accept-new-key": { type: "boolean" },
    "accept-files": { type: "boolean" },
    out: { type: "string" },
  }, { names: ["name", "port", "peer"] });
  if (v.help) return { help: true } as ChatOptions;
  return {
    help: false,
    json: v.json ?? false,
    identity: v.identity,
    name: parseName(positionals[0], "<name>"),
    port: parsePort(positionals[1], "<port>"),
    peer: parsePeerSpec(positionals[2]),
    relay: parseRelayFlag(v.relay),
    hops: parseHopsFlag(v.hops),
    stun: parseStunFlag(v.stun),
    birthday: parseBirthdayFlag(v.birthday),
    directory: parseDirectoryFlag(v.directory),
    acceptNewKey: v["accept-new-key"] ?? false,
    acceptFiles: v["accept-files"] ?? false,
    out: v.out ?? ".",
  };
}

/** Runs `altnet chat`. */
export async function run(options: ChatOptions): Promise<number> {
  const out = resolve(options.out);
  const info = await Deno.stat(out).catch(() => undefined);
  if (!info) {
    throw new UsageError(`Cannot find the folder for received files: ${out}`, {
      hint: "create it first, or pass another --out",
    });
  }
  if (!info.isDirectory) {
    throw new UsageError(
      `Cannot put received files in what is not a folder: ${out}`,
    );
  }
  options = { ...options, out };
  const reporter = new Reporter(options.json, PROCESS_SINKS);
  const loaded = await loadCommandIdentity(options.identity, reporter);
  return await runChat(options, loaded, reporter);
}
