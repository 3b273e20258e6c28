/**
 * `altnet receive`: wait for files from peers.
 *
 * @module
 */

import type { HostPort } from "./flags.ts";
import { parseFlags, parseName, parsePort } from "./flags.ts";
import { IDENTITY_FLAG, IDENTITY_HELP } from "./identity_option.ts";
import { notAvailableYet } from "./not_available.ts";
import {
  DIRECTORY_HELP,
  parseDirectoryFlag,
  parseRelayFlag,
  RELAY_HELP,
} from "./peer_flags.ts";

/** One line for `altnet --help`. */
export const summary = "receive files that peers send you";

/** `altnet receive --help`. */
export const help = `altnet receive: ${summary}

Usage: altnet receive <name> <port> [--relay HOST:PORT] [--out DIR] [--yes] [--json]

Arguments:
  <name>             the name you register under at relays
  <port>             local UDP port (0 = any)

Options:
${RELAY_HELP}
${DIRECTORY_HELP}
  --out DIR          folder for received files (default: the current folder)
  --yes              accept every offer without asking
  --force            overwrite an existing file of the same name
${IDENTITY_HELP}
  --json             JSON Lines events on stdout (ready, path, progress, done, error)
  -h, --help         show this help`;

/** Parsed `altnet receive` flags. */
export interface ReceiveOptions {
  help: boolean;
  json: boolean;
  identity?: string;
  name: string;
  port: number;
  relay?: HostPort;
  directory: string;
  out: string;
  yes: boolean;
  force: boolean;
}

/** Parses `altnet receive` arguments; throws UsageError on mistakes. */
export function parseReceiveArgs(args: string[]): ReceiveOptions {
  const { values: v, positionals } = parseFlags("receive", args, {
    ...IDENTITY_FLAG,
    relay: { type: "string" },
    directory: { type: "string" },
    out: { type: "string" },
    yes: { type: "boolean" },
    force: { type: "boolean" },
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
    out: v.out ?? ".",
    yes: v.yes ?? false,
    force: v.force ?? false,
  };
}

/** Runs `altnet receive`. */
export function run(_options: ReceiveOptions): Promise<number> {
  notAvailableYet("receive", "file transfer (issue: file transfer)");
}
