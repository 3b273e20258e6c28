/**
 * The messages a relay sends the directory, as constants plus pure checks:
 * the signed **descriptor** it registers with, the signed **heartbeat** that
 * keeps it listed and carries its load, and the signed **deregistration**.
 * docs/DIRECTORY.md §2 is their specification.
 *
 * A parser takes any value (what `JSON.parse` returned) and never throws: it
 * returns the typed message or one sentence saying what is wrong with it,
 * which the directory sends back as `{ "error": … }`. Parsers check shape
 * and syntax only; signatures, freshness and the directory's own rules are
 * checked by `registry.ts`.
 *
 * @module
 */

import { normalizeAddress } from "../wire/mod.ts";
import { ED25519_KEY_LENGTH, ED25519_SIGNATURE_LENGTH } from "./ed25519.ts";
import { decodeBase64Exact } from "./signed_object.ts";

/** Version of every message and document format in this file. */
export const FORMAT_VERSION = 1;

/** The `type` member of each signed object. */
export const MessageType = {
  DESCRIPTOR: "relay-descriptor",
  HEARTBEAT: "relay-heartbeat",
  DEREGISTRATION: "relay-deregistration",
  RELAY_LIST: "relay-list",
} as const;

/** What a relay offers. */
export const CAPABILITIES = ["relay", "exit", "onion"] as const;
/** One of {@linkcode CAPABILITIES}. */
export type Capability = typeof CAPABILITIES[number];

/** Relay names: the same alphabet as peer names (PROTOCOL §1.2). */
export const RELAY_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,31}$/;
/** At most this many addresses per relay. */
export const MAX_ADDRESSES = 4;
/** Longest `software` string. */
export const MAX_SOFTWARE_LENGTH = 64;
/** Longest `contact` string, in Unicode code points. */
export const MAX_CONTACT_LENGTH = 128;
/** Largest declared bandwidth: 10^12 bytes per second. */
export const MAX_BANDWIDTH = 1e12;
/** Largest peer or circuit count. */
export const MAX_COUNT = 1e9;
/** Largest uptime: about 317 years, in seconds. */
export const MAX_UPTIME_S = 1e10;

/** One UDP address a relay listens on. */
export interface RelayAddress {
  /** Canonical IPv4 or IPv6 text, or a lower-case DNS name. */
  host: string;
  /** 1–65535. */
  port: number;
}

/** A relay's current load, as reported by the relay itself. */
export interface RelayLoad {
  /** Peers holding a session with the relay. */
  peers: number;
  /** Open circuits. */
  circuits: number;
  /** End-to-end bytes forwarded since the relay started. */
  bytes_relayed: number;
  /** Seconds since the relay started. */
  uptime_s: number;
}

/** The members common to every signed message from a relay. */
interface SignedMessage {
  version: typeof FORMAT_VERSION;
  /** The directory this message is meant for: its Ed25519 key, base64. */
  directory_key: string;
  /** The relay's X25519 (Noise) public key, base64: who it is. */
  noise_key: string;
  /** Milliseconds since the Unix epoch, by the relay's clock. */
  timestamp: number;
  /** Ed25519 signature, base64 (signed_object.ts). */
  signature: string;
}

/** `POST /v1/relays`: what a relay registers. */
export interface RelayDescriptor extends SignedMessage {
  type: typeof MessageType.DESCRIPTOR;
  /** The relay's Ed25519 public key, base64: it signs everything. */
  signing_key: string;
  name: string;
  addresses: RelayAddress[];
  /** e.g. `altnet/0.1.0`. */
  software: string;
  capabilities: Capability[];
  /** Declared bandwidth, bytes per second. */
  bandwidth: number;
  /** How to reach the operator; free text, may be empty. */
  contact: string;
  load: RelayLoad;
  /** Proof of the Noise key for this directory (noise_proof.ts), base64. */
  noise_proof: string;
}

/** `POST /v1/relays/heartbeat`. */
export interface RelayHeartbeat extends SignedMessage {
  type: typeof MessageType.HEARTBEAT;
  load: RelayLoad;
}

/** `POST /v1/relays/deregister`. */
export interface RelayDeregistration extends SignedMessage {
  type: typeof MessageType.DEREGISTRATION;
}

/** A parsed message, or why it is not one. */
export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** Thrown inside the parsers only, and turned into a {@linkcode Checked}. */
class Invalid extends Error {}

function invalid(what: string, why: string): never {
  throw new Invalid(`Invalid ${what}: ${why}`);
}

function checked<T>(what: string, parse: () => T): Checked<T> {
  try {
    return { ok: true, value: parse() };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, error: error.message };
    // A parser bug must not become a 500 for the sender; say what we can.
    return { ok: false, error: `Invalid ${what}: it cannot be read` };
  }
}

function asObject(
  value: unknown,
  what: string,
  field: string,
): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    invalid(what, `${field} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Refuses members other than `allowed`, and missing ones. */
function checkMembers(
  object: Record<string, unknown>,
  allowed: readonly string[],
  what: string,
  field: string,
) {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      invalid(what, `unknown member ${JSON.stringify(key)} in ${field}`);
    }
  }
  for (const key of allowed) {
    if (!Object.hasOwn(object, key)) {
      invalid(what, `${field} lacks the member ${JSON.stringify(key)}`);
    }
  }
}

function integer(
  value: unknown,
  what: string,
  field: string,
  min: number,
  max: number,
): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    invalid(what, `${field} must be a whole number`);
  }
  if (value < min || value > max || Object.is(value, -0)) {
    invalid(what, `${field} must be from ${min} to ${max}: it is ${value}`);
  }
  return value;
}

function key(value: unknown, what: string, field: string, length: number) {
  if (!decodeBase64Exact(value, length)) {
    invalid(what, `${field} must be ${length} bytes in canonical base64`);
  }
  return value as string;
}

// Characters a contact line must not hold: controls (C0, DEL, C1), line and
// paragraph separators, and the bidirectional overrides that can make text
// on the dashboard read differently from what it is (CVE-2021-42574).
const FORBIDDEN_TEXT =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function text(
  value: unknown,
  what: string,
  field: string,
  maxCodePoints: number,
): string {
  if (typeof value !== "string") invalid(what, `${field} must be a string`);
  if (!value.isWellFormed()) {
    invalid(what, `${field} holds a lone surrogate`);
  }
  // Cheap bound before counting code points.
  if (value.length > maxCodePoints * 2 || [...value].length > maxCodePoints) {
    invalid(what, `${field} is longer than ${maxCodePoints} characters`);
  }
  if (FORBIDDEN_TEXT.test(value)) {
    invalid(what, `${field} holds a control or bidirectional character`);
  }
  return value;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Whether `host` is a valid relay host: canonical IPv4 or IPv6 text
 * (lib/wire's `normalizeAddress`), or a lower-case DNS name of LDH labels
 * (RFC 1123 §2.1) whose last label is not all digits.
 */
export function isValidHost(host: string): boolean {
  if (host.includes(":") || /^[0-9.]+$/.test(host)) {
    try {
      return normalizeAddress(host) === host;
    } catch {
      return false;
    }
  }
  if (host.length < 1 || host.length > 253) return false;
  const labels = host.split(".");
  if (!labels.every((label) => DNS_LABEL.test(label))) return false;
  return !/^[0-9]+$/.test(labels[labels.length - 1]);
}

/**
 * Whether `host` is an IP address that cannot be reached from the internet:
 * unspecified, loopback, private (RFC 1918, RFC 4193), link-local, shared
 * (RFC 6598) or multicast. DNS names answer false: the directory does not
 * resolve them.
 */
export function isNonPublicAddress(host: string): boolean {
  if (host.includes(":")) {
    const first = parseInt(host.split(":")[0] || "0", 16);
    return host === "::" || host === "::1" ||
      (first & 0xfe00) === 0xfc00 || // fc00::/7 unique local
      (first & 0xffc0) === 0xfe80 || // fe80::/10 link-local
      (first & 0xff00) === 0xff00; // ff00::/8 multicast
  }
  if (!/^[0-9.]+$/.test(host)) return false;
  const [a, b] = host.split(".").map(Number);
  return a === 0 || a === 10 || a === 127 || a >= 224 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168);
}

function addresses(value: unknown, what: string): RelayAddress[] {
  if (!Array.isArray(value)) invalid(what, "addresses must be a JSON array");
  if (value.length < 1 || value.length > MAX_ADDRESSES) {
    invalid(what, `addresses must hold 1 to ${MAX_ADDRESSES} entries`);
  }
  const seen = new Set<string>();
  return value.map((entry, i) => {
    const field = `addresses[${i}]`;
    const object = asObject(entry, what, field);
    checkMembers(object, ["host", "port"], what, field);
    if (typeof object.host !== "string" || !isValidHost(object.host)) {
      invalid(
        what,
        `${field}.host must be an IPv4 or IPv6 address in canonical form or a lower-case DNS name`,
      );
    }
    const port = integer(object.port, what, `${field}.port`, 1, 65535);
    const id = `${object.host} ${port}`;
    if (seen.has(id)) invalid(what, `${field} repeats an earlier address`);
    seen.add(id);
    return { host: object.host, port };
  });
}

function capabilities(value: unknown, what: string): Capability[] {
  if (!Array.isArray(value)) {
    invalid(what, "capabilities must be a JSON array");
  }
  if (value.length < 1) invalid(what, "capabilities must not be empty");
  const seen = new Set<string>();
  for (const item of value) {
    if (!CAPABILITIES.includes(item)) {
      invalid(
        what,
        `capabilities may only hold ${CAPABILITIES.join(", ")}: found ${
          JSON.stringify(item)?.slice(0, 40)
        }`,
      );
    }
    if (seen.has(item)) invalid(what, `capabilities repeats ${item}`);
    seen.add(item);
  }
  return value as Capability[];
}

/** Checks that `value` is a well-formed {@linkcode RelayLoad}. */
export function parseLoad(value: unknown): Checked<RelayLoad> {
  return checked("load", () => loadOf(value, "load"));
}

function loadOf(value: unknown, what: string): RelayLoad {
  const object = asObject(value, what, "load");
  checkMembers(
    object,
    ["peers", "circuits", "bytes_relayed", "uptime_s"],
    what,
    "load",
  );
  return {
    peers: integer(object.peers, what, "load.peers", 0, MAX_COUNT),
    circuits: integer(object.circuits, what, "load.circuits", 0, MAX_COUNT),
    bytes_relayed: integer(
      object.bytes_relayed,
      what,
      "load.bytes_relayed",
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    uptime_s: integer(object.uptime_s, what, "load.uptime_s", 0, MAX_UPTIME_S),
  };
}

function common(
  object: Record<string, unknown>,
  type: string,
  what: string,
) {
  if (object.type !== type) {
    invalid(what, `type must be ${JSON.stringify(type)}`);
  }
  if (object.version !== FORMAT_VERSION) {
    invalid(what, `version must be ${FORMAT_VERSION}`);
  }
  return {
    version: FORMAT_VERSION,
    directory_key: key(
      object.directory_key,
      what,
      "directory_key",
      ED25519_KEY_LENGTH,
    ),
    noise_key: key(object.noise_key, what, "noise_key", 32),
    timestamp: integer(
      object.timestamp,
      what,
      "timestamp",
      1,
      Number.MAX_SAFE_INTEGER,
    ),
    signature: key(
      object.signature,
      what,
      "signature",
      ED25519_SIGNATURE_LENGTH,
    ),
  } as const;
}

const DESCRIPTOR_MEMBERS = [
  "type",
  "version",
  "directory_key",
  "noise_key",
  "signing_key",
  "name",
  "addresses",
  "software",
  "capabilities",
  "bandwidth",
  "contact",
  "timestamp",
  "load",
  "noise_proof",
  "signature",
] as const;

/**
 * Checks that `value` is a well-formed {@linkcode RelayDescriptor}
 * (signature not verified).
 *
 * @example
 * ```ts ignore
 * const result = parseDescriptor(JSON.parse(body));
 * if (!result.ok) return json({ error: result.error }, 400);
 * ```
 */
export function parseDescriptor(value: unknown): Checked<RelayDescriptor> {
  const what = "descriptor";
  return checked(what, () => {
    const object = asObject(value, what, "the descriptor");
    checkMembers(object, DESCRIPTOR_MEMBERS, what, "the descriptor");
    const base = common(object, MessageType.DESCRIPTOR, what);
    if (
      typeof object.name !== "string" || !RELAY_NAME_PATTERN.test(object.name)
    ) {
      invalid(
        what,
        "name must be 1 to 32 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit",
      );
    }
    if (
      typeof object.software !== "string" ||
      !/^[\x21-\x7e]{1,64}$/.test(object.software)
    ) {
      invalid(
        what,
        `software must be 1 to ${MAX_SOFTWARE_LENGTH} printable ASCII characters without spaces`,
      );
    }
    return {
      type: MessageType.DESCRIPTOR,
      ...base,
      signing_key: key(
        object.signing_key,
        what,
        "signing_key",
        ED25519_KEY_LENGTH,
      ),
      name: object.name,
      addresses: addresses(object.addresses, what),
      software: object.software,
      capabilities: capabilities(object.capabilities, what),
      bandwidth: integer(object.bandwidth, what, "bandwidth", 0, MAX_BANDWIDTH),
      contact: text(object.contact, what, "contact", MAX_CONTACT_LENGTH),
      load: loadOf(object.load, what),
      noise_proof: key(object.noise_proof, what, "noise_proof", 32),
    };
  });
}

/** Checks that `value` is a well-formed {@linkcode RelayHeartbeat}. */
export function parseHeartbeat(value: unknown): Checked<RelayHeartbeat> {
  const what = "heartbeat";
  return checked(what, () => {
    const object = asObject(value, what, "the heartbeat");
    checkMembers(
      object,
      [
        "type",
        "version",
        "directory_key",
        "noise_key",
        "timestamp",
        "load",
        "signature",
      ],
      what,
      "the heartbeat",
    );
    return {
      type: MessageType.HEARTBEAT,
      ...common(object, MessageType.HEARTBEAT, what),
      load: loadOf(object.load, what),
    };
  });
}

/** Checks that `value` is a well-formed {@linkcode RelayDeregistration}. */
export function parseDeregistration(
  value: unknown,
): Checked<RelayDeregistration> {
  const what = "deregistration";
  return checked(what, () => {
    const object = asObject(value, what, "the deregistration");
    checkMembers(
      object,
      [
        "type",
        "version",
        "directory_key",
        "noise_key",
        "timestamp",
        "signature",
      ],
      what,
      "the deregistration",
    );
    return {
      type: MessageType.DEREGISTRATION,
      ...common(object, MessageType.DEREGISTRATION, what),
    };
  });
}
