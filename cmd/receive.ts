/**
 * `altnet receive`: wait for files from peers.
 *
 * @module
 */

import { resolve } from "node:path";
import type { BirthdayBudget } from "../lib/peer/birthday.ts";
import { UsageError } from "../lib/user_error.ts";
import type { HostPort } from "./flags.ts";
import { parseBytes, parseFlags, parseName, parsePort } from "./flags.ts";
import {
  IDENTITY_FLAG,
  IDENTITY_HELP,
  loadCommandIdentity,
} from "./identity_option.ts";
import { PROCESS_SINKS, Reporter } from "./output.ts";
import {
  BIRTHDAY_HELP,
  DIRECTORY_HELP,
  parseBirthdayFlag,
  parseDirectoryFlag,
  parseRelayFlag,
  parseStunFlag,
  RELAY_HELP,
  STUN_HELP,
} from "./peer_flags.ts";
import { runReceive } from "./transfer_receive.ts";

/** One line for `altnet --help`. */
export const summary = "receive files that peers send you";

/** `altnet receive --help`. */
export const help = `altnet receive: ${summary}

Usage: altnet receive <name> <port> [--relay HOST:PORT] [--out DIR] [--yes]
                      [--force] [--once] [--max-size SIZE] [--json]

Arguments:
  <name>             the name you register under at relays
  <port>             local UDP port (0 = any)

Options:
${RELAY_HELP}
${DIRECTORY_HELP}
${STUN_HELP}
${BIRTHDAY_HELP}
  --out DIR          folder for received files (default: the current folder)
  --yes              accept every offer without asking
  --force            overwrite an existing file of the same name (otherwise
                     a new name such as 'file (1).ext' is chosen)
  --once             exit after the first transfer: 0 when it completed
  --max-size SIZE    refuse files larger than this, e.g. 10GB (default: the
                     free space in --out)
  --accept-new-key   accept a peer whose key changed since last time
  --relay-only       never use a direct path (to check or measure a relay)
${IDENTITY_HELP}
  --json             JSON Lines events on stdout (ready, offer, path, progress,
                     done, error)
  -h, --help         show this help

Any peer may connect and offer a file; its key is pinned on first contact
(known_peers). On a terminal you are asked about each offer; without one,
offers are accepted only with --yes. Files arrive as NAME.part beside a
NAME.part.state; each chunk is verified on arrival, and the whole file
before it takes its name. If either side stops, the sender runs its command
again and the download resumes. Runs until Ctrl-C, or --once.`;

/** Parsed `altnet receive` flags. */
export interface ReceiveOptions {
  help: boolean;
  json: boolean;
  identity?: string;
  name: string;
  port: number;
  relay?: HostPort;
  directory: string;
  stun?: HostPort;
  birthday: BirthdayBudget;
  out: string;
  yes: boolean;
  force: boolean;
  once: boolean;
  maxSize?: number;
  acceptNewKey: boolean;
  relayOnly: boolean;
}

/** Parses `altnet receive` arguments; throws UsageError on mistakes. */
export function parseReceiveArgs(args: string[]): ReceiveOptions {
  const { values: v, positionals } = parseFlags("receive", args, {
    ...IDENTITY_FLAG,
    relay: { type: "string" },
    directory: { type: "string" },
    stun: { type: "string" },
    birthday: { type: "string" },
    out: { type: "string" },
    yes: { type: "boolean" },
    force: { type: "boolean" },
    once: { type: "boolean" },
    "max-size": { type: "string" },
    "accept-new-key": { type: "boolean" },
    "relay-only": { type: "boolean" },
  }, { names: ["name", "port"] });
  if (v.help) return { help: true } as ReceiveOptions;
  return {
    help: false,
    json: v.json ?? false,
    identity: v.identity,
    name: parseName(positionals[0], "<name>"),
    port: parsePort(positionals[1], "<port>"),
    relay: parseRelayFlag(v.relay),
    directory: parseDirectoryFlag(v.directory),
    stun: parseStunFlag(v.stun),
    birthday: parseBirthdayFlag(v.birthday),
    out: v.out ?? ".",
    yes: v.yes ?? false,
    force: v.force ?? false,
    once: v.once ?? false,
    maxSize: v["max-size"] === undefined
      ? undefined
      : parseBytes(v["max-size"], "--max-size"),
    acceptNewKey: v["accept-new-key"] ?? false,
    relayOnly: v["relay-only"] ?? false,
  };
}

/** Runs `altnet receive`. */
export async function run(options: ReceiveOptions): Promise<number> {
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
  const reporter = new Reporter(options.json, PROCESS_SINKS);
  const loaded = await loadCommandIdentity(options.identity, reporter);
  return await runReceive({ ...options, out }, loaded, reporter);
}
