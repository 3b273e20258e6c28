/**
 * STUN Binding (RFC 8489, with RFC 3489 "classic" requests and the RFC 5780
 * attributes for NAT behaviour discovery): the relay answers Binding
 * Requests on its UDP port, so any standard STUN client learns its reflexive
 * address from it, and altnet's own client uses the same codec.
 *
 * Only what a Binding exchange needs is implemented; other methods are
 * refused by the decoder. Like every altnet decoder, `decodeStun` never
 * throws.
 *
 * @module
 */

import {
  type Endpoint,
  endpointAddressBytes,
  formatAddress,
  normalizeAddress,
} from "./endpoint.ts";
import { type DecodeResult, fail, ok } from "./result.ts";

/** RFC 8489 §5: the magic cookie. */
export const STUN_MAGIC_COOKIE = 0x2112a442;
/** RFC 8489 §5: header size. */
export const STUN_HEADER_SIZE = 20;
/** Largest STUN message altnet reads or writes. */
export const MAX_STUN_SIZE = 548;

/** Message types (method Binding = 1, RFC 8489 §5 and §18.2). */
export const StunType = {
  BINDING_REQUEST: 0x0001,
  BINDING_SUCCESS: 0x0101,
  BINDING_ERROR: 0x0111,
} as const;

/** One of the {@linkcode StunType} values. */
export type StunType = typeof StunType[keyof typeof StunType];

/** Attribute types used here (RFC 8489 §18.3, RFC 5780 §7). */
export const StunAttribute = {
  MAPPED_ADDRESS: 0x0001,
  CHANGE_REQUEST: 0x0003,
  ERROR_CODE: 0x0009,
  XOR_MAPPED_ADDRESS: 0x0020,
  PADDING: 0x0026,
  SOFTWARE: 0x8022,
  FINGERPRINT: 0x8028,
  RESPONSE_ORIGIN: 0x802b,
  OTHER_ADDRESS: 0x802c,
} as const;

/** CHANGE-REQUEST flags (RFC 5780 §7.2). */
export const CHANGE_IP = 0x04;
/** CHANGE-REQUEST flag: answer from the other port. */
export const CHANGE_PORT = 0x02;

/** A decoded STUN message. */
export interface StunMessage {
  type: StunType;
  /**
   * 12 bytes (RFC 8489) or 16 bytes for a classic RFC 3489 request, which
   * has no magic cookie: the cookie field is part of its transaction id.
   */
  transactionId: Uint8Array;
  /** Whether the message carried the magic cookie. */
  modern: boolean;
  /** Attributes in order; values are views into the input. */
  attributes: { type: number; value: Uint8Array }[];
}

/**
 * Whether `data` looks like STUN rather than an altnet packet: RFC 7983
 * demultiplexing by the first byte (0–3), then STUN's own framing.
 */
export function isStun(data: Uint8Array): boolean {
  return data.length >= STUN_HEADER_SIZE && data[0] <= 3 &&
    ((data[2] << 8) | data[3]) === data.length - STUN_HEADER_SIZE &&
    (data[3] & 3) === 0;
}

/** Decodes a STUN Binding message; never throws. */
export function decodeStun(data: Uint8Array): DecodeResult<StunMessage> {
  if (data.length < STUN_HEADER_SIZE) {
    return fail("truncated", "STUN message shorter than its header");
  }
  if (data.length > MAX_STUN_SIZE) {
    return fail("too-large", `STUN message of ${data.length} bytes`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const type = view.getUint16(0);
  if ((type & 0xc000) !== 0) return fail("bad-version", "not a STUN message");
  if (
    type !== StunType.BINDING_REQUEST && type !== StunType.BINDING_SUCCESS &&
    type !== StunType.BINDING_ERROR
  ) {
    return fail("bad-type", `STUN type 0x${type.toString(16)}`);
  }
  const length = view.getUint16(2);
  if (length !== data.length - STUN_HEADER_SIZE || length % 4 !== 0) {
    return fail("bad-length", "STUN length disagrees with the datagram");
  }
  const modern = view.getUint32(4) === STUN_MAGIC_COOKIE;
  const transactionId = modern ? data.subarray(8, 20) : data.subarray(4, 20);
  const attributes: StunMessage["attributes"] = [];
  let offset = STUN_HEADER_SIZE;
  while (offset < data.length) {
    if (data.length - offset < 4) {
      return fail("truncated", "STUN attribute header cut short");
    }
    const attrType = view.getUint16(offset);
    const attrLength = view.getUint16(offset + 2);
    const padded = (attrLength + 3) & ~3;
    if (offset + 4 + padded > data.length) {
      return fail("truncated", "STUN attribute longer than the message");
    }
    attributes.push({
      type: attrType,
      value: data.subarray(offset + 4, offset + 4 + attrLength),
    });
    offset += 4 + padded;
    if (attributes.length > 32) {
      return fail("bad-field", "too many STUN attributes");
    }
  }
  return ok({ type: type as StunType, transactionId, modern, attributes });
}

/** What a Binding Success response says. */
export interface StunBindingResponse {
  transactionId: Uint8Array;
  modern: boolean;
  /** The reflexive address (XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS). */
  mapped?: Endpoint;
  /** Where the answer came from (RESPONSE-ORIGIN). */
  responseOrigin?: Endpoint;
  /** The server's other address for RFC 5780 tests (OTHER-ADDRESS). */
  otherAddress?: Endpoint;
}

/** Reads the addresses of a Binding Success response; never throws. */
export function readBindingResponse(
  message: StunMessage,
): StunBindingResponse {
  const out: StunBindingResponse = {
    transactionId: message.transactionId,
    modern: message.modern,
  };
  for (const { type, value } of message.attributes) {
    if (type === StunAttribute.XOR_MAPPED_ADDRESS && message.modern) {
      out.mapped = readAddress(value, message.transactionId) ?? out.mapped;
    } else if (type === StunAttribute.MAPPED_ADDRESS && !out.mapped) {
      out.mapped = readAddress(value);
    } else if (type === StunAttribute.RESPONSE_ORIGIN) {
      out.responseOrigin = readAddress(value);
    } else if (type === StunAttribute.OTHER_ADDRESS) {
      out.otherAddress = readAddress(value);
    }
  }
  return out;
}

/** The CHANGE-REQUEST flags of a request (0 when absent). */
export function changeRequestFlags(message: StunMessage): number {
  const attr = message.attributes.find((a) =>
    a.type === StunAttribute.CHANGE_REQUEST
  );
  if (!attr || attr.value.length !== 4) return 0;
  return attr.value[3] & (CHANGE_IP | CHANGE_PORT);
}

/**
 * Comprehension-required attributes (type < 0x8000) of a request that a
 * Binding server does not understand (RFC 8489 §6.3.1: answer 420).
 */
export function unknownRequiredAttributes(message: StunMessage): number[] {
  const understood = new Set<number>([
    StunAttribute.CHANGE_REQUEST,
    StunAttribute.PADDING,
  ]);
  return message.attributes.map((a) => a.type).filter((t) =>
    t < 0x8000 && !understood.has(t)
  );
}

/** Encodes a Binding Request (ours: always RFC 8489, with FINGERPRINT). */
export function encodeBindingRequest(
  transactionId: Uint8Array,
  options: { change?: number; padTo?: number } = {},
): Uint8Array {
  if (transactionId.length !== 12) {
    throw new RangeError(
      `Cannot encode a STUN transaction id of the wrong length: ${transactionId.length} bytes`,
    );
  }
  const attributes: { type: number; value: Uint8Array }[] = [];
  if (options.change) {
    attributes.push({
      type: StunAttribute.CHANGE_REQUEST,
      value: new Uint8Array([0, 0, 0, options.change]),
    });
  }
  const base = STUN_HEADER_SIZE + attributes.reduce(
    (n, a) => n + 4 + ((a.value.length + 3) & ~3),
    0,
  ) + 8; // FINGERPRINT
  if (options.padTo && options.padTo > base + 4) {
    attributes.push({
      type: StunAttribute.PADDING,
      value: new Uint8Array((options.padTo - base - 4) & ~3),
    });
  }
  return encodeMessage(
    StunType.BINDING_REQUEST,
    transactionId,
    true,
    attributes,
    true,
  );
}

/**
 * Encodes the Binding Success response to `request`, never larger than
 * `maxSize` (the relay passes the request's size, at least 32 bytes): the
 * reflexive address always fits; RESPONSE-ORIGIN, OTHER-ADDRESS and
 * FINGERPRINT are added only while the budget allows, so a spoofed request
 * cannot be amplified.
 */
export function encodeBindingSuccess(
  request: StunMessage,
  options: {
    mapped: Endpoint;
    responseOrigin?: Endpoint;
    otherAddress?: Endpoint;
    maxSize: number;
  },
): Uint8Array {
  const { transactionId, modern } = request;
  const attributes: { type: number; value: Uint8Array }[] = [
    modern
      ? {
        type: StunAttribute.XOR_MAPPED_ADDRESS,
        value: writeAddress(options.mapped, transactionId),
      }
      : {
        type: StunAttribute.MAPPED_ADDRESS,
        value: writeAddress(options.mapped),
      },
  ];
  let size = STUN_HEADER_SIZE + 4 + attributes[0].value.length;
  for (
    const [type, endpoint] of [
      [StunAttribute.RESPONSE_ORIGIN, options.responseOrigin],
      [StunAttribute.OTHER_ADDRESS, options.otherAddress],
    ] as const
  ) {
    if (!endpoint || !modern) continue;
    const value = writeAddress(endpoint);
    if (size + 4 + value.length > options.maxSize) break;
    attributes.push({ type, value });
    size += 4 + value.length;
  }
  const fingerprint = modern && size + 8 <= options.maxSize;
  return encodeMessage(
    StunType.BINDING_SUCCESS,
    transactionId,
    modern,
    attributes,
    fingerprint,
  );
}

/** Encodes a Binding Error response (e.g. 420 Unknown Attribute). */
export function encodeBindingError(
  request: StunMessage,
  code: number,
  reason: string,
): Uint8Array {
  const text = new TextEncoder().encode(reason).subarray(0, 64);
  const value = new Uint8Array(4 + text.length);
  value[2] = Math.floor(code / 100);
  value[3] = code % 100;
  value.set(text, 4);
  return encodeMessage(
    StunType.BINDING_ERROR,
    request.transactionId,
    request.modern,
    [{ type: StunAttribute.ERROR_CODE, value }],
    false,
  );
}

function encodeMessage(
  type: StunType,
  transactionId: Uint8Array,
  modern: boolean,
  attributes: { type: number; value: Uint8Array }[],
  withFingerprint: boolean,
): Uint8Array {
  const bodySize = attributes.reduce(
    (n, a) => n + 4 + ((a.value.length + 3) & ~3),
    0,
  ) + (withFingerprint ? 8 : 0);
  const out = new Uint8Array(STUN_HEADER_SIZE + bodySize);
  const view = new DataView(out.buffer);
  view.setUint16(0, type);
  view.setUint16(2, bodySize);
  if (modern) {
    view.setUint32(4, STUN_MAGIC_COOKIE);
    out.set(transactionId, 8);
  } else {
    out.set(transactionId, 4);
  }
  let offset = STUN_HEADER_SIZE;
  for (const attr of attributes) {
    view.setUint16(offset, attr.type);
    view.setUint16(offset + 2, attr.value.length);
    out.set(attr.value, offset + 4);
    offset += 4 + ((attr.value.length + 3) & ~3);
  }
  if (withFingerprint) {
    // RFC 8489 §14.7: CRC-32 of the message up to here, XOR 0x5354554E,
    // computed with the length field already counting this attribute.
    view.setUint16(offset, StunAttribute.FINGERPRINT);
    view.setUint16(offset + 2, 4);
    view.setUint32(
      offset + 4,
      (crc32(out.subarray(0, offset)) ^ 0x5354554e) >>> 0,
    );
  }
  return out;
}

/** RFC 8489 §14.1/§14.2 address attribute, optionally XOR-ed. */
function writeAddress(endpoint: Endpoint, transactionId?: Uint8Array) {
  const v6 = endpoint.address.includes(":");
  const bytes = endpointAddressBytes(endpoint, "STUN address").slice();
  const value = new Uint8Array(4 + bytes.length);
  value[1] = v6 ? 0x02 : 0x01;
  let port = endpoint.port;
  if (transactionId) {
    port ^= STUN_MAGIC_COOKIE >>> 16;
    const mask = xorMask(transactionId);
    for (let i = 0; i < bytes.length; i++) bytes[i] ^= mask[i];
  }
  value[2] = port >> 8;
  value[3] = port & 0xff;
  value.set(bytes, 4);
  return value;
}

function readAddress(
  value: Uint8Array,
  transactionId?: Uint8Array,
): Endpoint | undefined {
  if (value.length < 8) return undefined;
  const family = value[1];
  const size = family === 0x01 ? 4 : family === 0x02 ? 16 : 0;
  if (size === 0 || value.length !== 4 + size) return undefined;
  let port = (value[2] << 8) | value[3];
  const bytes = value.slice(4, 4 + size);
  if (transactionId) {
    port ^= STUN_MAGIC_COOKIE >>> 16;
    const mask = xorMask(transactionId);
    for (let i = 0; i < size; i++) bytes[i] ^= mask[i];
  }
  if (port === 0) return undefined;
  // normalizeAddress folds an IPv4-mapped IPv6 answer into IPv4.
  return { address: normalizeAddress(formatAddress(bytes)), port };
}

function xorMask(transactionId: Uint8Array): Uint8Array {
  const mask = new Uint8Array(16);
  new DataView(mask.buffer).setUint32(0, STUN_MAGIC_COOKIE);
  mask.set(transactionId.subarray(0, 12), 4);
  return mask;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO-HDLC), as STUN's FINGERPRINT uses. */
export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = crcTable[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
