/**
 * Flags shared by the peer commands (`chat`, `send`, `receive`, `punch`).
 *
 * @module
 */

import {
  type HostPort,
  parseHostPort,
  parseInteger,
  parseUrl,
} from "./flags.ts";

/** Where the directory is when no `--directory` is given. */
export const DEFAULT_DIRECTORY_URL = "http://127.0.0.1:5000";

/** Help line for `--relay`. */
export const RELAY_HELP =
  "  --relay HOST:PORT  relay for rendezvous and fallback (default: from the directory)";
/** Help line for `--hops`. */
export const HOPS_HELP =
  "  --hops N           route through N relays (onion) to hide your IP (default 0: direct or one relay)";
/** Help line for `--directory`. */
export const DIRECTORY_HELP =
  `  --directory URL    directory to find relays (default $ALTNET_DIRECTORY, else ${DEFAULT_DIRECTORY_URL})`;

/** Parses `--relay` when given. */
export function parseRelayFlag(text: string | undefined): HostPort | undefined {
  return text === undefined ? undefined : parseHostPort(text, "--relay");
}

/** Parses `--hops` (0–5). */
export function parseHopsFlag(text: string | undefined): number {
  return text === undefined
    ? 0
    : parseInteger(text, "--hops", { min: 0, max: 5 });
}

/** Parses `--directory`, falling back to `ALTNET_DIRECTORY`, then the default. */
export function parseDirectoryFlag(
  text: string | undefined,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): string {
  if (text !== undefined) return parseUrl(text, "--directory");
  if (env.ALTNET_DIRECTORY) {
    return parseUrl(env.ALTNET_DIRECTORY, "ALTNET_DIRECTORY");
  }
  return DEFAULT_DIRECTORY_URL;
}
