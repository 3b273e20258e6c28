/**
 * `altnet ping`: UDP round trips to every listed relay.
 *
 * @module
 */

import { parseFlags, parseInteger } from "./flags.ts";
import { notAvailableYet } from "./not_available.ts";
import { DIRECTORY_HELP, parseDirectoryFlag } from "./peer_flags.ts";

/** One line for `altnet --help`. */
export const summary = "measure round trips to every listed relay";

/** `altnet ping --help`. */
export const help = `altnet ping: ${summary}

Usage: altnet ping [--directory URL] [--count N] [--json]

Options:
${DIRECTORY_HELP}
  --count N          probes per relay (default 5, at most 100)
  --json             one JSON object per relay
  -h, --help         show this help`;

/** Parsed `altnet ping` flags. */
export interface PingOptions {
  help: boolean;
  json: boolean;
  directory: string;
  count: number;
}

/** Parses `altnet ping` arguments; throws UsageError on mistakes. */
export function parsePingArgs(args: string[]): PingOptions {
  const { values: v } = parseFlags("ping", args, {
    directory: { type: "string" },
    count: { type: "string" },
  });
  return {
    help: v.help ?? false,
    json: v.json ?? false,
    directory: parseDirectoryFlag(v.directory),
    count: v.count === undefined
      ? 5
      : parseInteger(v.count, "--count", { min: 1, max: 100 }),
  };
}

/** Runs `altnet ping`. */
export function run(_options: PingOptions): Promise<number> {
  notAvailableYet("ping", "the directory (issue: directory)");
}
