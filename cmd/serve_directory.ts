/**
 * `altnet serve-directory`: run the relay directory and its dashboard.
 *
 * @module
 */

import { parseFlags, parsePort } from "./flags.ts";
import { IDENTITY_FLAG, IDENTITY_HELP } from "./identity_option.ts";
import { notAvailableYet } from "./not_available.ts";

/** One line for `altnet --help`. */
export const summary =
  "run the directory: signed relay lists and a live dashboard";

/** `altnet serve-directory --help`. */
export const help = `altnet serve-directory: ${summary}

Usage: altnet serve-directory [--host ADDR] [--port 5000] [--db PATH] [--json]

Options:
  --host ADDR       address to listen on (default 0.0.0.0)
  --port N          HTTP port (default 5000; 0 = any)
  --db PATH         SQLite database (default $XDG_CONFIG_HOME/altnet/directory.db)
${IDENTITY_HELP}
  --json            print one JSON object per line
  -h, --help        show this help`;

/** Parsed `altnet serve-directory` flags. */
export interface ServeDirectoryOptions {
  help: boolean;
  json: boolean;
  identity?: string;
  host: string;
  port: number;
  db?: string;
}

/** Parses `altnet serve-directory` arguments; throws UsageError on mistakes. */
export function parseServeDirectoryArgs(args: string[]): ServeDirectoryOptions {
  const { values: v } = parseFlags("serve-directory", args, {
    ...IDENTITY_FLAG,
    host: { type: "string" },
    port: { type: "string" },
    db: { type: "string" },
  });
  return {
    help: v.help ?? false,
    json: v.json ?? false,
    identity: v.identity,
    host: v.host ?? "0.0.0.0",
    port: v.port === undefined ? 5000 : parsePort(v.port, "--port"),
    db: v.db,
  };
}

/** Runs `altnet serve-directory`. */
export function run(_options: ServeDirectoryOptions): Promise<number> {
  notAvailableYet("serve-directory", "the directory (issue: directory)");
}
