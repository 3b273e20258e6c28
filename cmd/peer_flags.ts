/**
 * Flags shared by the peer commands (`chat`, `send`, `receive`, `punch`).
 *
 * @module
 */

import {
  type BirthdayBudget,
  checkBirthdayBudget,
  DEFAULT_BIRTHDAY_BUDGET,
} from "../lib/peer/birthday.ts";
import { UsageError } from "../lib/user_error.ts";
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

/** Help lines for `--stun`. */
export const STUN_HELP =
  `  --stun HOST:PORT   a STUN server (coturn, any RFC 8489 server) for our own
                     candidates and NAT type, besides the relay's STUN ports`;

/** Help lines for `--birthday`. */
export const BIRTHDAY_HELP =
  `  --birthday S:P     birthday probing budget when one NAT is symmetric: S
                     sockets on the symmetric side, P probes from the other
                     (default ${DEFAULT_BIRTHDAY_BUDGET.sockets}:${DEFAULT_BIRTHDAY_BUDGET.probes}; 0:0 turns it off)`;

/** Parses `--stun` when given. */
export function parseStunFlag(text: string | undefined): HostPort | undefined {
  return text === undefined ? undefined : parseHostPort(text, "--stun");
}

/**
 * Parses `--birthday SOCKETS:PROBES`; the other budget fields keep their
 * defaults (docs/PROTOCOL.md §6.2).
 */
export function parseBirthdayFlag(text: string | undefined): BirthdayBudget {
  if (text === undefined) return { ...DEFAULT_BIRTHDAY_BUDGET };
  const match = /^(\d{1,5}):(\d{1,5})$/.exec(text);
  if (!match) {
    throw new UsageError(
      `Invalid value for --birthday: ${text} (expected SOCKETS:PROBES, e.g. 256:1024, or 0:0 to turn it off)`,
    );
  }
  const budget = {
    ...DEFAULT_BIRTHDAY_BUDGET,
    sockets: Number(match[1]),
    probes: Number(match[2]),
  };
  try {
    checkBirthdayBudget(budget);
  } catch (error) {
    throw new UsageError(
      `Invalid value for --birthday: ${text} (${(error as Error).message})`,
    );
  }
  return budget;
}
