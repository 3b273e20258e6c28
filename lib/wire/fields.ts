/**
 * Common field encodings of docs/PROTOCOL.md §1.2 (name, text, candidate
 * lists, reason) as small checked writers and strict readers, shared by the
 * message codecs. Internal to `lib/wire/`.
 *
 * @module
 */

import {
  isReasonCode,
  MAX_NAME_LENGTH,
  MAX_TEXT_LENGTH,
  type ReasonCode,
} from "./constants.ts";
import type { Reader, Writer } from "./cursor.ts";
import {
  type Endpoint,
  endpointAddressBytes,
  endpointSizeOf,
  readEndpoint,
  writeEndpoint,
} from "./endpoint.ts";
import { type DecodeResult, fail, ok } from "./result.ts";

/** §1.2 name: 1–32 bytes of `[a-z0-9._-]`, the first a letter or digit. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,31}$/;

// ignoreBOM keeps a leading U+FEFF in the string, so decoding is lossless
// and the text re-encodes to the same bytes.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Check a name for encoding and return its bytes (ASCII). */
export function nameBytes(field: string, name: string): Uint8Array {
  if (typeof name !== "string") {
    throw new TypeError(
      `Cannot encode ${field} as it is not a string: ${typeof name}`,
    );
  }
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) {
    throw new RangeError(
      `Cannot encode ${field} as it is not 1–${MAX_NAME_LENGTH} bytes long: ${name.length} bytes`,
    );
  }
  if (!NAME_PATTERN.test(name)) {
    throw new TypeError(
      `Cannot encode ${field} as it is not made of [a-z0-9._-] starting with a letter or digit: "${name}"`,
    );
  }
  return utf8Encoder.encode(name);
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

function isNameByte(byte: number): boolean {
  return (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x2e || byte === 0x5f || byte === 0x2d;
}

function isAlphanumeric(byte: number): boolean {
  return (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39);
}

/** Read a length-prefixed name, strictly. */
export function readName(r: Reader): DecodeResult<string> {
  if (!r.has(1)) return fail("truncated", "name length missing");
  const length = r.u8();
  if (length === 0 || length > MAX_NAME_LENGTH) {
    return fail("bad-length", `name length out of range: ${length}`);
  }
  if (!r.has(length)) return fail("truncated", "name cut short");
  const bytes = r.take(length);
  if (!isAlphanumeric(bytes[0])) {
    return fail("bad-field", "name does not start with a letter or digit");
  }
  for (let i = 1; i < length; i++) {
    if (!isNameByte(bytes[i])) {
      return fail("bad-field", `name has a forbidden byte: 0x${hex(bytes[i])}`);
    }
  }
  return ok(String.fromCharCode(...bytes));
}

/** Check a text for encoding and return its UTF-8 bytes. */
export function textBytes(field: string, text: string): Uint8Array {
  if (typeof text !== "string") {
    throw new TypeError(
      `Cannot encode ${field} as it is not a string: ${typeof text}`,
    );
  }
  if (!text.isWellFormed()) {
    throw new TypeError(
      `Cannot encode ${field} as it has a lone surrogate, which is not UTF-8`,
    );
  }
  const bytes = utf8Encoder.encode(text);
  if (bytes.length > MAX_TEXT_LENGTH) {
    throw new RangeError(
      `Cannot encode ${field} as it is too long: ${bytes.length} bytes`,
    );
  }
  return bytes;
}

/** Read a length-prefixed UTF-8 text, strictly. */
export function readText(r: Reader): DecodeResult<string> {
  if (!r.has(1)) return fail("truncated", "text length missing");
  const length = r.u8();
  if (length > MAX_TEXT_LENGTH) {
    return fail("bad-length", `text length out of range: ${length}`);
  }
  if (!r.has(length)) return fail("truncated", "text cut short");
  const bytes = r.take(length);
  try {
    return ok(utf8Decoder.decode(bytes));
  } catch {
    return fail("bad-field", "text is not valid UTF-8");
  }
}

/** A candidate list checked for encoding: address bytes and ports, in order. */
export interface CheckedCandidates {
  /** Address bytes of each candidate. */
  addresses: Uint8Array[];
  /** Port of each candidate. */
  ports: number[];
  /** Encoded size, count byte included. */
  size: number;
}

/** Check a candidate list of at most `max` endpoints for encoding. */
export function checkCandidates(
  field: string,
  candidates: readonly Endpoint[],
  max: number,
): CheckedCandidates {
  if (!Array.isArray(candidates)) {
    throw new TypeError(`Cannot encode ${field} as it is not an array`);
  }
  if (candidates.length > max) {
    throw new RangeError(
      `Cannot encode ${field} as there are more than ${max}: ${candidates.length}`,
    );
  }
  const addresses: Uint8Array[] = [];
  const ports: number[] = [];
  let size = 1;
  for (let i = 0; i < candidates.length; i++) {
    const bytes = endpointAddressBytes(candidates[i], `${field}[${i}]`);
    addresses.push(bytes);
    ports.push(candidates[i].port);
    size += endpointSizeOf(bytes);
  }
  return { addresses, ports, size };
}

/** Write a candidate list checked by {@linkcode checkCandidates}. */
export function writeCandidates(w: Writer, checked: CheckedCandidates): void {
  w.u8(checked.addresses.length);
  for (let i = 0; i < checked.addresses.length; i++) {
    writeEndpoint(w, checked.addresses[i], checked.ports[i]);
  }
}

/** Read a count-prefixed candidate list of at most `max` endpoints. */
export function readCandidates(
  r: Reader,
  max: number,
): DecodeResult<Endpoint[]> {
  if (!r.has(1)) return fail("truncated", "candidate count missing");
  const count = r.u8();
  if (count > max) {
    return fail("bad-length", `too many candidates: ${count} > ${max}`);
  }
  const candidates: Endpoint[] = [];
  for (let i = 0; i < count; i++) {
    const endpoint = readEndpoint(r);
    if (!endpoint.ok) return endpoint;
    candidates.push(endpoint.value);
  }
  return ok(candidates);
}

/** Throw unless `reason` is a reason code of §1.3. */
export function checkReason(field: string, reason: ReasonCode): void {
  if (typeof reason !== "number" || !isReasonCode(reason)) {
    throw new RangeError(
      `Cannot encode ${field} as it is not a reason code of §1.3: ${reason}`,
    );
  }
}

/** Read a reason byte; unknown codes are `bad-field`. */
export function readReason(r: Reader): DecodeResult<ReasonCode> {
  if (!r.has(1)) return fail("truncated", "reason missing");
  const reason = r.u8();
  if (!isReasonCode(reason)) {
    return fail("bad-field", `unknown reason code: ${reason}`);
  }
  return ok(reason);
}
