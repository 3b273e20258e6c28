/**
 * `altnet chat`: end-to-end encrypted chat with one peer.
 *
 * @module
 */

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
  DIRECTORY_HELP,
  HOPS_HELP,
  parseDirectoryFlag,
  parseHopsFlag,
  parseRelayFlag,
  RELAY_HELP,
} from "./peer_flags.ts";

/** One line for `altnet --help`. */
export const summary = "chat with a peer, directly or through relays";

/** `altnet chat --help`. */
export const help = `altnet chat: ${summary}

Usage: altnet chat <name> <port> <peer> [--relay HOST:PORT] [--hops N]
                   [--directory URL] [--accept-new-key] [--json]

Arguments:
  <name>             the name you register under at relays (a-z 0-9 . _ -)
  <port>             local UDP port (0 = any)
  <peer>             bob, bob@203.0.113.5:9002 (name and address hint), or
                     host:port (a resolvable host is tried directly; otherwise
                     bob:9002 means peer bob with port hint 9002)

Options:
${RELAY_HELP}
${HOPS_HELP}
${DIRECTORY_HELP}
  --accept-new-key   accept a peer whose key changed since last time
${IDENTITY_HELP}
  --json             JSON Lines events on stdout (ready, path, message, delivered, error)
  -h, --help         show this help

Without a terminal, each stdin line is sent as a message and each received
message is printed as one line; chat exits 0 when stdin ends and every message
was acknowledged.`;

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
  directory: string;
  acceptNewKey: boolean;
}

/** Parses `altnet chat` arguments; throws UsageError on mistakes. */
export function parseChatArgs(args: string[]): ChatOptions {
  const { values: v, positionals } = parseFlags("chat", args, {
    ...IDENTITY_FLAG,
    relay: { type: "string" },
    hops: { type: "string" },
    directory: { type: "string" },
    "accept-new-key": { type: "boolean" },
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
    directory: parseDirectoryFlag(v.directory),
    acceptNewKey: v["accept-new-key"] ?? false,
  };
}

/** Runs `altnet chat`. */
export async function run(options: ChatOptions): Promise<number> {
  const reporter = new Reporter(options.json, PROCESS_SINKS);
  const loaded = await loadCommandIdentity(options.identity, reporter);
  return await runChat(options, loaded, reporter);
}
