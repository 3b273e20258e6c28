/**
 * `altnet list`: the relays the directory lists.
 *
 * @module
 */

import { parseFlags } from "./flags.ts";
import { notAvailableYet } from "./not_available.ts";
import { DIRECTORY_HELP, parseDirectoryFlag } from "./peer_flags.ts";

/** One line for `altnet --help`. */
export const summary = "list the relays of the directory (signature checked)";

/** `altnet list --help`. */
export const help = `altnet list: ${summary}

Usage: altnet list [--directory URL] [--directory-key KEY] [--json]

Options:
${DIRECTORY_HELP}
  --directory-key KEY  expected directory key (default: trust on first use)
  --json             one JSON object per relay
  -h, --help         show this help`;

/** Parsed `altnet list` flags. */
export interface ListOptions {
  help: boolean;
  json: boolean;
  directory: string;
  directoryKey?: string;
}

/** Parses `altnet list` arguments; throws UsageError on mistakes. */
export function parseListArgs(args: string[]): ListOptions {
  const { values: v } = parseFlags("list", args, {
    directory: { type: "string" },
    "directory-key": { type: "string" },
  });
  return {
    help: v.help ?? false,
    json: v.json ?? false,
    directory: parseDirectoryFlag(v.directory),
    directoryKey: v["directory-key"],
  };
}

/** Runs `altnet list`. */
export function run(_options: ListOptions): Promise<number> {
  notAvailableYet("list", "the directory (issue: directory)");
}
