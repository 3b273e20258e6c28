/**
 * `altnet demo`: the whole network on one machine, with embedded defaults.
 *
 * @module
 */

import { parseFlags } from "./flags.ts";

/** One line for `altnet --help`. */
export const summary =
  "show altnet working on this machine (temporary identities)";

/** `altnet demo --help`. */
export const help = `altnet demo: ${summary}

Usage: altnet demo [--json]

Creates two temporary peers, alice and bob, and shows each capability altnet
has today working between them over real UDP sockets on 127.0.0.1. Nothing is
kept: the identities live in a temporary folder that is removed at the end.

Options:
  --json             JSON Lines events on stdout
  -h, --help         show this help`;

/** Parsed `altnet demo` flags. */
export interface DemoOptions {
  help: boolean;
  json: boolean;
}

/** Parses `altnet demo` arguments. */
export function parseDemoArgs(args: string[]): DemoOptions {
  const { values: v } = parseFlags("demo", args, {});
  return { help: v.help ?? false, json: v.json ?? false };
}

/** Runs `altnet demo`. */
export function run(_options: DemoOptions): Promise<number> {
  return Promise.resolve(0);
}
