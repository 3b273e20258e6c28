/**
 * The endpoint field of docs/PROTOCOL.md §1.2 (`family`, `address`, `port`)
 * and the canonical text form of IP addresses that altnet uses everywhere an
 * address is a string.
 *
 * Canonical text is a dotted quad without leading zeros for IPv4, and the
 * RFC 5952 form for IPv6: lower-case hex, no leading zeros in a group, the
 * longest run of two or more zero groups (the first one on a tie) shortened
 * to `::`, no zone index. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is
 * not canonical: it stands for the IPv4 address `a.b.c.d`, which always goes
 * on the wire with family 4. So every endpoint has exactly one encoding and
 * exactly one text form, and family 6 never needs the mixed notation of
 * RFC 5952 §5.
 *
 * Encoders accept only canonical text and throw otherwise; turn whatever a
 * socket or a user gave you into canonical text with
 * {@linkcode normalizeAddress} first.
 *
 * @module
 */

import { EndpointFamily } from "./constants.ts";
import { checkUint, Reader, Writer } from "./cursor.ts";
import { type DecodeResult, fail, ok } from "./result.ts";

/** A UDP endpoint; the address family follows from the address text. */
export interface Endpoint {
  /** Canonical IPv4 or IPv6 text, see {@linkcode normalizeAddress}. */
  address: string;
  /** 1–65535; port 0 is invalid on the wire. */
  port: number;
}

const IPV4_PART = /^(0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!IPV4_PART.test(parts[i])) return undefined;
    const value = Number(parts[i]);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

function parseGroups(text: string): string[] | undefined {
  return text === "" ? [] : text.split(":");
}

function parseIpv6(text: string): Uint8Array | undefined {
  // The longest form is eight full groups, or six plus a dotted quad (45).
  if (text.length > 45) return undefined;
  let hex = text;
  const lastColon = text.lastIndexOf(":");
  if (lastColon < 0) return undefined;
  if (text.includes(".", lastColon)) {
    // RFC 4291 §2.2 form 3: the last 32 bits may be written as a dotted quad.
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    hex = text.slice(0, lastColon + 1) +
      ((v4[0] << 8) | v4[1]).toString(16) + ":" +
      ((v4[2] << 8) | v4[3]).toString(16);
  }
  const gap = hex.indexOf("::");
  let groups: string[] | undefined;
  if (gap < 0) {
    groups = hex.split(":");
    if (groups.length !== 8) return undefined;
  } else {
    if (hex.indexOf("::", gap + 1) >= 0) return undefined;
    const left = parseGroups(hex.slice(0, gap));
    const right = parseGroups(hex.slice(gap + 2));
    if (left === undefined || right === undefined) return undefined;
    // RFC 4291 §2.2: "::" stands for one or more zero groups.
    const missing = 8 - left.length - right.length;
    if (missing < 1) return undefined;
    groups = [...left, ...Array<string>(missing).fill("0"), ...right];
  }
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!IPV6_GROUP.test(groups[i])) return undefined;
    const value = parseInt(groups[i], 16);
    bytes[2 * i] = value >>> 8;
    bytes[2 * i + 1] = value & 0xff;
  }
  return bytes;
}

/** Whether 16 address bytes are an IPv4-mapped IPv6 address (::ffff:0:0/96). */
function isMapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** Format 4 or 16 address bytes as canonical text (IPv6 as RFC 5952 §4, hex only). */
/** Canonical text of 4 or 16 address bytes (RFC 5952 for IPv6). */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) {
    return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  // RFC 5952 §4.2: shorten the longest run of zero groups, if it is at least
  // two long; on a tie, the first.
  let bestStart = -1, bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    groups.slice(from, to).map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/**
 * Turn any textual IPv4 or IPv6 address into altnet's canonical text:
 * RFC 5952 for IPv6, and the plain dotted quad for IPv4 and IPv4-mapped
 * IPv6 addresses. Use it on addresses from sockets and users before they
 * reach an encoder.
 *
 * @throws {TypeError} when `text` is not an IPv4 or IPv6 address (leading
 * zeros in a dotted quad, zone indices and brackets are not accepted)
 *
 * @example
 * ```ts
 * import { normalizeAddress } from "./endpoint.ts";
 * normalizeAddress("2001:DB8:0:0:0:0:0:1"); // "2001:db8::1"
 * normalizeAddress("::ffff:192.0.2.1"); // "192.0.2.1"
 * ```
 */
export function normalizeAddress(text: string): string {
  if (typeof text !== "string") {
    throw new TypeError(
      `Cannot normalize address as it is not a string: ${typeof text}`,
    );
  }
  let bytes = text.includes(":") ? parseIpv6(text) : parseIpv4(text);
  if (bytes === undefined) {
    throw new TypeError(
      `Cannot normalize address as it is not an IPv4 or IPv6 address: "${text}"`,
    );
  }
  if (bytes.length === 16 && isMapped(bytes)) bytes = bytes.subarray(12);
  return formatAddress(bytes);
}

/**
 * Check an endpoint for encoding and return its address bytes.
 * `field` names it in error messages.
 */
export function endpointAddressBytes(
  endpoint: Endpoint,
  field = "endpoint",
): Uint8Array {
  if (typeof endpoint !== "object" || endpoint === null) {
    throw new TypeError(`Cannot encode ${field} as it is not an object`);
  }
  const { address, port } = endpoint;
  if (typeof address !== "string") {
    throw new TypeError(
      `Cannot encode ${field} as its address is not a string: ${typeof address}`,
    );
  }
  checkUint(`${field} port`, port, 16);
  if (port === 0) {
    throw new RangeError(`Cannot encode ${field} as its port is 0`);
  }
  const bytes = address.includes(":") ? parseIpv6(address) : parseIpv4(address);
  if (
    bytes === undefined || (bytes.length === 16 && isMapped(bytes)) ||
    formatAddress(bytes) !== address
  ) {
    throw new TypeError(
      `Cannot encode ${field} as its address is not canonical (see normalizeAddress): "${address}"`,
    );
  }
  return bytes;
}

/** Encoded size of an endpoint whose address bytes are `addressBytes`. */
export function endpointSizeOf(addressBytes: Uint8Array): number {
  return 3 + addressBytes.length;
}

/** Write an endpoint checked by {@linkcode endpointAddressBytes}. */
export function writeEndpoint(
  w: Writer,
  addressBytes: Uint8Array,
  port: number,
): void {
  w.u8(addressBytes.length === 4 ? EndpointFamily.IPV4 : EndpointFamily.IPV6);
  w.put(addressBytes);
  w.u16(port);
}

/** Read one endpoint from `r`, strictly (§1.2). */
export function readEndpoint(r: Reader): DecodeResult<Endpoint> {
  if (!r.has(1)) return fail("truncated", "endpoint family missing");
  const family = r.u8();
  let length: number;
  if (family === EndpointFamily.IPV4) length = 4;
  else if (family === EndpointFamily.IPV6) length = 16;
  else return fail("bad-field", `unknown endpoint family: ${family}`);
  if (!r.has(length + 2)) return fail("truncated", "endpoint cut short");
  const bytes = r.take(length);
  const port = r.u16();
  if (port === 0) return fail("bad-field", "endpoint port is 0");
  if (length === 16 && isMapped(bytes)) {
    return fail("bad-field", "IPv4-mapped address sent as family 6");
  }
  return ok({ address: formatAddress(bytes), port });
}

/**
 * Encode an endpoint on its own (7 bytes for IPv4, 19 for IPv6).
 *
 * @throws {TypeError} when the address is not canonical text
 * @throws {RangeError} when the port is not 1–65535
 *
 * @example
 * ```ts
 * import { encodeEndpoint } from "./endpoint.ts";
 * encodeEndpoint({ address: "192.0.2.1", port: 443 }); // 04 c0 00 02 01 01 bb
 * ```
 */
export function encodeEndpoint(endpoint: Endpoint): Uint8Array<ArrayBuffer> {
  const bytes = endpointAddressBytes(endpoint);
  const w = new Writer(endpointSizeOf(bytes));
  writeEndpoint(w, bytes, endpoint.port);
  return w.finish();
}

/**
 * Decode a buffer holding exactly one endpoint. Never throws; the address
 * comes back as canonical text.
 */
export function decodeEndpoint(input: Uint8Array): DecodeResult<Endpoint> {
  const r = new Reader(input);
  const result = readEndpoint(r);
  if (result.ok && r.remaining !== 0) {
    return fail("bad-length", `${r.remaining} bytes after the endpoint`);
  }
  return result;
}
