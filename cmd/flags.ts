/**
 * Flag parsing shared by every subcommand: strict parsing (unknown flags are
 * errors) and value parsers that turn a bad value into one clear
 * {@linkcode UsageError}.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { UsageError } from "../lib/user_error.ts";

/** A flag definition, as `node:util` parseArgs takes it. */
export type FlagOptions = Record<
  string,
  { type: "string" | "boolean"; short?: string; multiple?: boolean }
>;

/** The flags every subcommand accepts. */
export const COMMON_FLAGS = {
  help: { type: "boolean", short: "h" },
  json: { type: "boolean" },
} as const satisfies FlagOptions;

/**
 * Parses `args` strictly for `command`: unknown flags, missing flag values and
 * a wrong number of positional arguments become a UsageError.
 */
export function parseFlags<T extends FlagOptions>(
  command: string,
  args: string[],
  options: T,
  positionals: { names: string[]; optional?: number } = { names: [] },
): {
  values:
    & { [K in keyof T]?: T[K]["type"] extends "boolean" ? boolean : string }
    & { help?: boolean; json?: boolean };
  positionals: string[];
} {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...COMMON_FLAGS, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(describeParseError(command, error), {
      hint: `run 'altnet ${command} --help' for usage`,
    });
  }
  const values = parsed.values as Record<string, unknown>;
  if (values.help) {
    return { values: values as never, positionals: parsed.positionals };
  }
  const required = positionals.names.length - (positionals.optional ?? 0);
  if (parsed.positionals.length < required) {
    const missing = positionals.names.slice(parsed.positionals.length);
    throw new UsageError(
      `Missing argument for 'altnet ${command}': <${missing[0]}>`,
      { hint: `usage: altnet ${command} ${formatNames(positionals.names)}` },
    );
  }
  if (parsed.positionals.length > positionals.names.length) {
    throw new UsageError(
      `Too many arguments for 'altnet ${command}': ${
        parsed.positionals.slice(positionals.names.length).join(" ")
      }`,
      { hint: `usage: altnet ${command} ${formatNames(positionals.names)}` },
    );
  }
  return { values: values as never, positionals: parsed.positionals };
}

function formatNames(names: string[]): string {
  return names.map((n) => `<${n}>`).join(" ");
}

function describeParseError(command: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const flag = message.match(/'(-[^']*)'/)?.[1] ??
    message.match(/(--?[\w-]+)/)?.[1] ?? "";
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `Unknown flag for 'altnet ${command}': ${flag.split(" ")[0]}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return `Flag needs a value for 'altnet ${command}': ${
        flag.split(" ")[0]
      }`;
    default:
      return `Invalid arguments for 'altnet ${command}': ${message}`;
  }
}

/**
 * A UDP port: an integer 0–65535 (0 lets the system choose), or 1–65535 with
 * `allowZero: false`.
 */
export function parsePort(
  text: string,
  what: string,
  options: { allowZero?: boolean } = {},
): number {
  const min = options.allowZero === false ? 1 : 0;
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= min && port <= 65535)) {
    throw new UsageError(
      `Invalid port for ${what}: ${text} (expected a number from ${min} to 65535)`,
    );
  }
  return port;
}

/** A host and port as `host:port`, `1.2.3.4:port` or `[v6]:port`. */
export interface HostPort {
  host: string;
  port: number;
}

/** Parses `HOST:PORT` (port required, 1–65535). */
export function parseHostPort(text: string, what: string): HostPort {
  const bracketed = text.match(/^\[([0-9A-Fa-f:.]+)\]:(\d+)$/);
  const plain = text.match(/^([^:\s\[\]]+):(\d+)$/);
  const match = bracketed ?? plain;
  if (!match || match[1] === "") {
    throw new UsageError(
      `Invalid address for ${what}: ${text} (expected HOST:PORT, e.g. relay.example.org:8000 or [2001:db8::1]:8000)`,
    );
  }
  return {
    host: match[1],
    port: parsePort(match[2], what, { allowZero: false }),
  };
}

/** An http or https URL, returned without a trailing slash. */
export function parseUrl(text: string, what: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(
      `Invalid URL for ${what}: ${text} (expected e.g. http://directory.example.org:5000)`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(
      `Invalid URL for ${what}: ${text} (only http and https are supported)`,
    );
  }
  return url.href.replace(/\/+$/, "");
}

/** A positive integer within `[min, max]`. */
export function parseInteger(
  text: string,
  what: string,
  range: { min: number; max: number },
): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= range.min && value <= range.max)) {
    throw new UsageError(
      `Invalid value for ${what}: ${text} (expected a whole number from ${range.min} to ${range.max})`,
    );
  }
  return value;
}

/** A non-negative decimal number, such as a rate per second. */
export function parseRate(text: string, what: string, max: number): number {
  const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(value >= 0 && value <= max)) {
    throw new UsageError(
      `Invalid value for ${what}: ${text} (expected a number from 0 to ${max})`,
    );
  }
  return value;
}

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** A byte count such as `100MB`, `64KiB` or `1048576`. */
export function parseBytes(text: string, what: string): number {
  const match = text.trim().toLowerCase().match(/^(\d+(?:\.\d+)?)\s*([a-z]*)$/);
  const unit = match ? BYTE_UNITS[match[2]] : undefined;
  const value = match && unit ? Math.round(Number(match[1]) * unit) : NaN;
  if (!(value >= 1 && Number.isSafeInteger(value))) {
    throw new UsageError(
      `Invalid size for ${what}: ${text} (expected e.g. 100MB, 64KiB or 1048576)`,
    );
  }
  return value;
}

const DURATION_UNITS: Record<string, number> = {
  "": 1000,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A duration such as `90s`, `15m`, `1h` or `3600` (seconds); in milliseconds. */
export function parseDuration(text: string, what: string): number {
  const match = text.trim().toLowerCase().match(
    /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|)$/,
  );
  const value = match ? Number(match[1]) * DURATION_UNITS[match[2]] : NaN;
  if (!(value >= 1 && Number.isSafeInteger(Math.round(value)))) {
    throw new UsageError(
      `Invalid duration for ${what}: ${text} (expected e.g. 90s, 15m, 1h or a number of seconds)`,
    );
  }
  return Math.round(value);
}

/** Peer names: what a peer registers under at relays (wire format §1.2). */
export const PEER_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,31}$/;

/** A peer name: 1–32 of `a-z 0-9 . _ -`, starting with a letter or digit. */
export function parseName(text: string, what: string): string {
  if (!PEER_NAME_PATTERN.test(text)) {
    throw new UsageError(
      `Invalid name for ${what}: ${text} (use 1 to 32 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit)`,
    );
  }
  return text;
}

/**
 * How the user named the peer to reach:
 * - `name`: a peer name (`bob`);
 * - `name-with-hint`: a name and an address to try first (`bob@203.0.113.5:9002`);
 * - `host-port`: the design card's `bob:9002`: a resolvable host is tried
 *   directly; an unresolvable one is taken as peer `bob` with port hint 9002.
 */
export type PeerSpec =
  | { kind: "name"; name: string }
  | { kind: "name-with-hint"; name: string; hint: HostPort }
  | { kind: "host-port"; host: string; port: number };

/** Parses a `<peer>` argument in any of the forms of {@linkcode PeerSpec}. */
export function parsePeerSpec(text: string): PeerSpec {
  const at = text.indexOf("@");
  if (at >= 0) {
    const name = parseName(text.slice(0, at), "<peer>");
    return {
      kind: "name-with-hint",
      name,
      hint: parseHostPort(text.slice(at + 1), "<peer> address hint"),
    };
  }
  if (text.includes(":")) {
    const { host, port } = parseHostPort(text, "<peer>");
    return { kind: "host-port", host, port };
  }
  return { kind: "name", name: parseName(text, "<peer>") };
}
