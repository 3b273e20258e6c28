/**
 * The few STUN/TURN messages a benchmark needs to relay data through a TURN
 * server (RFC 8489 STUN, RFC 8656 TURN): Allocate, CreatePermission,
 * ChannelBind and Refresh requests with long-term credentials, their
 * responses, and ChannelData frames. IPv4 only; pure codecs, no I/O.
 *
 * It is a measuring instrument, not a TURN client for altnet: it does not
 * check the MESSAGE-INTEGRITY of responses or handle FINGERPRINT.
 *
 * @module
 */

import { createHash, createHmac } from "node:crypto";

/** RFC 8489 §5: the fixed value of bytes 4–7 of every STUN message. */
export const MAGIC_COOKIE = 0x2112a442;
/** RFC 8489 §5: type, length, cookie and a 96-bit transaction id. */
export const STUN_HEADER_SIZE = 20;
/** RFC 8656 §12.4: channel number and length. */
export const CHANNEL_DATA_HEADER_SIZE = 4;
/** RFC 8656 §12: the channel numbers a client may bind. */
export const FIRST_CHANNEL = 0x4000;

/** RFC 8656 §17 methods (requests of these types; responses add a class). */
export const TurnMethod = {
  ALLOCATE: 0x003,
  REFRESH: 0x004,
  CREATE_PERMISSION: 0x008,
  CHANNEL_BIND: 0x009,
} as const;

/** RFC 8489 §5: class bits C1 (0x100) and C0 (0x010) of the message type. */
export const StunClass = {
  REQUEST: 0x000,
  SUCCESS: 0x100,
  ERROR: 0x110,
} as const;

/** The attributes used here (RFC 8489 §18.3, RFC 8656 §18). */
export const StunAttribute = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  CHANNEL_NUMBER: 0x000c,
  LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_TRANSPORT: 0x0019,
  XOR_MAPPED_ADDRESS: 0x0020,
} as const;

/** A transport address. */
export interface TurnAddress {
  address: string;
  port: number;
}

/** A decoded STUN message: its type and its attributes by type. */
export interface StunMessage {
  /** Method and class, e.g. `0x0103` for an Allocate success response. */
  type: number;
  /** 12 bytes. */
  transactionId: Uint8Array;
  /** The first value of each attribute type. */
  attributes: Map<number, Uint8Array>;
}

/** One attribute to encode. */
export interface StunAttributeValue {
  type: number;
  value: Uint8Array;
}

/** Long-term credentials (RFC 8489 §9.2). */
export interface LongTermCredentials {
  username: string;
  realm: string;
  nonce: string;
  /** MD5(username ":" realm ":" password), from {@linkcode longTermKey}. */
  key: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * RFC 8489 §9.2.2: the long-term key is MD5 over `username:realm:password`
 * (the password after OpaqueString preparation, a no-op for ASCII).
 */
export function longTermKey(
  username: string,
  realm: string,
  password: string,
): Uint8Array {
  return new Uint8Array(
    createHash("md5").update(`${username}:${realm}:${password}`).digest(),
  );
}

/** A fresh random 96-bit transaction id. */
export function newTransactionId(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(12));
}

/**
 * Encodes a STUN message. With `credentials`, USERNAME, REALM and NONCE are
 * added and MESSAGE-INTEGRITY last (RFC 8489 §14.5: HMAC-SHA1 over the
 * message up to that attribute, with the length field already counting it).
 *
 * @throws {RangeError} If the transaction id is not 12 bytes.
 */
export function encodeStun(
  message: {
    type: number;
    transactionId: Uint8Array;
    attributes: readonly StunAttributeValue[];
  },
  credentials?: LongTermCredentials,
): Uint8Array {
  if (message.transactionId.length !== 12) {
    throw new RangeError(
      `Cannot encode a STUN transaction id that is not 12 bytes: ${message.transactionId.length}`,
    );
  }
  const attributes = [...message.attributes];
  if (credentials) {
    attributes.push(
      {
        type: StunAttribute.USERNAME,
        value: encoder.encode(credentials.username),
      },
      { type: StunAttribute.REALM, value: encoder.encode(credentials.realm) },
      { type: StunAttribute.NONCE, value: encoder.encode(credentials.nonce) },
    );
  }
  const padded = (n: number) => (n + 3) & ~3;
  const bodyLength = attributes.reduce(
    (sum, { value }) => sum + 4 + padded(value.length),
    0,
  );
  const integrityLength = credentials ? 4 + 20 : 0;
  const bytes = new Uint8Array(
    STUN_HEADER_SIZE + bodyLength + integrityLength,
  );
  const view = new DataView(bytes.buffer);
  view.setUint16(0, message.type);
  view.setUint16(2, bodyLength + integrityLength);
  view.setUint32(4, MAGIC_COOKIE);
  bytes.set(message.transactionId, 8);
  let offset = STUN_HEADER_SIZE;
  for (const { type, value } of attributes) {
    view.setUint16(offset, type);
    view.setUint16(offset + 2, value.length);
    bytes.set(value, offset + 4);
    offset += 4 + padded(value.length); // padding stays zero
  }
  if (credentials) {
    const mac = createHmac("sha1", credentials.key)
      .update(bytes.subarray(0, offset))
      .digest();
    view.setUint16(offset, StunAttribute.MESSAGE_INTEGRITY);
    view.setUint16(offset + 2, 20);
    bytes.set(mac, offset + 4);
  }
  return bytes;
}

/**
 * Decodes a STUN message, or returns `undefined` for anything that is not
 * one (a ChannelData frame, a truncated or inconsistent message).
 */
export function decodeStun(bytes: Uint8Array): StunMessage | undefined {
  if (bytes.length < STUN_HEADER_SIZE || (bytes[0] & 0xc0) !== 0) {
    return undefined;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const length = view.getUint16(2);
  if (
    view.getUint32(4) !== MAGIC_COOKIE ||
    STUN_HEADER_SIZE + length !== bytes.length
  ) {
    return undefined;
  }
  const attributes = new Map<number, Uint8Array>();
  let offset = STUN_HEADER_SIZE;
  while (offset + 4 <= bytes.length) {
    const type = view.getUint16(offset);
    const valueLength = view.getUint16(offset + 2);
    const end = offset + 4 + valueLength;
    if (end > bytes.length) return undefined;
    if (!attributes.has(type)) {
      attributes.set(type, bytes.slice(offset + 4, end));
    }
    offset += 4 + ((valueLength + 3) & ~3);
  }
  return {
    type: view.getUint16(0),
    transactionId: bytes.slice(8, 20),
    attributes,
  };
}

/** RFC 8489 §14.8: the error code of an error response, e.g. 401. */
export function errorCode(message: StunMessage): number | undefined {
  const value = message.attributes.get(StunAttribute.ERROR_CODE);
  if (!value || value.length < 4) return undefined;
  return (value[2] & 0x07) * 100 + value[3];
}

/** The reason phrase of an error response, or `""`. */
export function errorReason(message: StunMessage): string {
  const value = message.attributes.get(StunAttribute.ERROR_CODE);
  return value && value.length > 4 ? decoder.decode(value.subarray(4)) : "";
}

/** A text attribute (REALM, NONCE, …) as a string. */
export function textAttribute(
  message: StunMessage,
  type: number,
): string | undefined {
  const value = message.attributes.get(type);
  return value && decoder.decode(value);
}

/**
 * RFC 8489 §14.2: an XOR-…-ADDRESS value (IPv4): family 1, the port XOR the
 * cookie's top 16 bits, the address XOR the cookie.
 *
 * @throws {RangeError} If `address` is not dotted IPv4.
 */
export function encodeXorAddress(address: TurnAddress): Uint8Array {
  const octets = address.address.split(".").map(Number);
  if (
    octets.length !== 4 ||
    octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)
  ) {
    throw new RangeError(
      `Cannot encode a TURN peer address that is not IPv4: ${address.address}`,
    );
  }
  const value = new Uint8Array(8);
  const view = new DataView(value.buffer);
  view.setUint8(1, 0x01);
  view.setUint16(2, address.port ^ (MAGIC_COOKIE >>> 16));
  const ip = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) |
    octets[3]) >>> 0;
  view.setUint32(4, (ip ^ MAGIC_COOKIE) >>> 0);
  return value;
}

/** Decodes an IPv4 XOR-…-ADDRESS value, or `undefined`. */
export function decodeXorAddress(
  value: Uint8Array | undefined,
): TurnAddress | undefined {
  if (!value || value.length !== 8 || value[1] !== 0x01) return undefined;
  const view = new DataView(value.buffer, value.byteOffset, value.length);
  const ip = (view.getUint32(4) ^ MAGIC_COOKIE) >>> 0;
  return {
    address: [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join(
      ".",
    ),
    port: view.getUint16(2) ^ (MAGIC_COOKIE >>> 16),
  };
}

/** A 32-bit attribute value (LIFETIME, REQUESTED-TRANSPORT, …). */
export function uint32Value(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return bytes;
}

/** RFC 8656 §14.1: CHANNEL-NUMBER is the number then two zero bytes. */
export function channelNumberValue(channel: number): Uint8Array {
  return uint32Value(channel * 0x10000);
}

/**
 * RFC 8656 §12.4: a ChannelData frame. Over UDP the data is not padded.
 *
 * @throws {RangeError} If `channel` is outside 0x4000–0x4FFF.
 */
export function encodeChannelData(
  channel: number,
  data: Uint8Array,
): Uint8Array {
  if (channel < FIRST_CHANNEL || channel > 0x4fff) {
    throw new RangeError(
      `Cannot send on a TURN channel outside 0x4000-0x4FFF: ${channel}`,
    );
  }
  const frame = new Uint8Array(CHANNEL_DATA_HEADER_SIZE + data.length);
  const view = new DataView(frame.buffer);
  view.setUint16(0, channel);
  view.setUint16(2, data.length);
  frame.set(data, CHANNEL_DATA_HEADER_SIZE);
  return frame;
}

/** Whether `bytes` starts like a ChannelData frame (RFC 7983: 64–79). */
export function isChannelData(bytes: Uint8Array): boolean {
  return bytes.length >= CHANNEL_DATA_HEADER_SIZE && (bytes[0] & 0xf0) === 0x40;
}
