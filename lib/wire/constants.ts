/**
 * Wire constants of altnet protocol 1 (docs/PROTOCOL.md §1). Sizes are in
 * bytes. Every number the codecs check lives here, so a change to the wire
 * format is a change to this file first.
 *
 * @module
 */

/** §1: the first byte of every outer packet. */
export const PROTOCOL_VERSION = 0xa1;

/** §1: at most this many bytes of UDP payload (1280 − 40 − 8). */
export const MAX_PACKET_SIZE = 1232;

/** §1.1 `HANDSHAKE_INIT`: zero padding brings the packet up to this size. */
export const INIT_MIN_SIZE = 256;

/** §1.1 `PING`: zero padding brings the packet up to this size. */
export const PING_MIN_SIZE = 64;

/** §1.1 `TRANSPORT`: version, type, receiver_index and counter; the AEAD's associated data. */
export const TRANSPORT_HEADER_SIZE = 14;

/** §1.1 `TRANSPORT`: the AEAD tag that every ciphertext carries. */
export const AEAD_TAG_SIZE = 16;

/** §1.1 `COOKIE_REPLY`: its one and only size. */
export const COOKIE_REPLY_SIZE = 38;

/** §1.1: size of a cookie (in `HANDSHAKE_INIT` and `COOKIE_REPLY`). */
export const COOKIE_SIZE = 16;

/** §1.1 `COOKIE_REPLY`: size of the echo (truncated SHA-256 of the init). */
export const ECHO_SIZE = 16;

/** §1.1 `PING`/`PONG`: size of the nonce. */
export const NONCE_SIZE = 8;

/** §1.1 `HANDSHAKE_INIT`: bytes before the Noise message. */
export const INIT_HEADER_SIZE = 25;

/** §1.1 `HANDSHAKE_REPLY`: bytes before the Noise message. */
export const REPLY_HEADER_SIZE = 12;

/** Longest Noise message a `HANDSHAKE_INIT` can carry (1232 − 25). */
export const MAX_INIT_NOISE_LENGTH = MAX_PACKET_SIZE - INIT_HEADER_SIZE;

/** Longest Noise message a `HANDSHAKE_REPLY` can carry (1232 − 12). */
export const MAX_REPLY_NOISE_LENGTH = MAX_PACKET_SIZE - REPLY_HEADER_SIZE;

/**
 * §1.2: longest inner message, i.e. the largest `TRANSPORT` plaintext
 * (1232 − 14 − 16 = 1202).
 */
export const MAX_MESSAGE_SIZE = MAX_PACKET_SIZE - TRANSPORT_HEADER_SIZE -
  AEAD_TAG_SIZE;

/**
 * §1.2 `FORWARD`: longest end-to-end packet a relay can carry
 * (1202 − 1 − 8 = 1193), so end-to-end sessions over a relay must keep
 * their packets within this size.
 */
export const MAX_FORWARD_PACKET_SIZE = MAX_MESSAGE_SIZE - 9;

/**
 * Longest end-to-end inner message that still fits through a relay:
 * its `TRANSPORT` packet must fit in {@linkcode MAX_FORWARD_PACKET_SIZE}
 * (1193 − 14 − 16 = 1163).
 */
export const MAX_RELAYED_MESSAGE_SIZE = MAX_FORWARD_PACKET_SIZE -
  TRANSPORT_HEADER_SIZE - AEAD_TAG_SIZE;

/** §1.2 `STREAM_DATA`: bytes before the data (kind, stream_id, flags, offset). */
export const STREAM_DATA_HEADER_SIZE = 12;

/** §1.2 `STREAM_DATA`: the only flag bit defined. */
export const STREAM_FLAG_FIN = 0x01;

/** §1.2 `CELL`: fixed size of a cell body. */
export const CELL_BODY_SIZE = 1024;

/** §1.2 name: at most this many bytes. */
export const MAX_NAME_LENGTH = 32;

/** §1.2 text: at most this many bytes of UTF-8. */
export const MAX_TEXT_LENGTH = 200;

/** §1.2 key: an X25519 public key. */
export const KEY_SIZE = 32;

/** §1.2 `REGISTER`/`KEEPALIVE`: at most this many candidates. */
export const MAX_CANDIDATES = 8;

/** §1.2 `RENDEZVOUS`: at most this many candidates (the peer's 8 plus its observed endpoint). */
export const MAX_RENDEZVOUS_CANDIDATES = 9;

/** §1.2 `NAT_INFO`: the mapping byte. */
export const NatMapping = {
  UNKNOWN: 0,
  NONE: 1,
  ENDPOINT_INDEPENDENT: 2,
  ENDPOINT_DEPENDENT: 3,
} as const;

/** One of the {@linkcode NatMapping} numbers. */
export type NatMapping = typeof NatMapping[keyof typeof NatMapping];

/** §1.2 `NAT_INFO`: at most this many birthday-probing sockets are announced. */
export const MAX_BIRTHDAY_SOCKETS = 1024;

/** §1.2 `STREAM_ACK`: at most this many ranges. */
export const MAX_ACK_RANGES = 16;

/** §1.2: stream offsets are below 2^53, so they are exact JavaScript numbers. */
export const MAX_STREAM_OFFSET: number = Number.MAX_SAFE_INTEGER;

/** §1.1: outer packet types (byte 1 of every packet). */
export const PacketType = {
  HANDSHAKE_INIT: 0x01,
  HANDSHAKE_REPLY: 0x02,
  COOKIE_REPLY: 0x03,
  TRANSPORT: 0x04,
  PING: 0x05,
  PONG: 0x06,
} as const;

/** One of the {@linkcode PacketType} numbers. */
export type PacketType = typeof PacketType[keyof typeof PacketType];

/** §1.2: inner message kinds (the first plaintext byte of a `TRANSPORT`). */
export const MessageKind = {
  PADDING: 0x00,
  REGISTER: 0x10,
  REGISTERED: 0x11,
  REFUSED: 0x12,
  KEEPALIVE: 0x13,
  CONNECT: 0x14,
  RENDEZVOUS: 0x15,
  FORWARD: 0x16,
  CIRCUIT_CLOSED: 0x17,
  UNREGISTER: 0x18,
  PATH_PROBE: 0x20,
  PATH_PROBE_ACK: 0x21,
  STREAM_DATA: 0x22,
  STREAM_ACK: 0x23,
  CLOSE: 0x24,
  NAT_INFO: 0x25,
  CELL: 0x30,
} as const;

/** One of the {@linkcode MessageKind} numbers. */
export type MessageKind = typeof MessageKind[keyof typeof MessageKind];

/** §1.3: reason codes carried by `REFUSED`, `CIRCUIT_CLOSED` and `CLOSE`. */
export const ReasonCode = {
  RESERVATIONS_FULL: 1,
  RESERVATIONS_PER_PEER: 2,
  CIRCUITS_FULL: 3,
  CIRCUITS_PER_PEER: 4,
  RATE_LIMITED: 5,
  NAME_TAKEN: 6,
  PEER_NOT_FOUND: 7,
  CIRCUIT_EXPIRED: 8,
  CIRCUIT_BYTES: 9,
  BAD_REQUEST: 10,
  SHUTTING_DOWN: 11,
  NORMAL: 12,
} as const;

/** One of the {@linkcode ReasonCode} numbers. */
export type ReasonCode = typeof ReasonCode[keyof typeof ReasonCode];

/** §2.1: handshake suites, the `suite` byte of `HANDSHAKE_INIT`. */
export const Suite = {
  /** `Noise_IK_25519_ChaChaPoly_BLAKE2s` */
  IK: 1,
  /** `Noise_XX_25519_ChaChaPoly_BLAKE2s` */
  XX: 2,
  /** `Noise_NK_25519_ChaChaPoly_BLAKE2s` */
  NK: 3,
} as const;

/** One of the {@linkcode Suite} numbers. */
export type Suite = typeof Suite[keyof typeof Suite];

/** §1.2 endpoint: the family byte. */
export const EndpointFamily = { IPV4: 4, IPV6: 6 } as const;

/** One of the {@linkcode EndpointFamily} numbers. */
export type EndpointFamily = typeof EndpointFamily[keyof typeof EndpointFamily];

/** Whether `value` is a reason code of §1.3. */
export function isReasonCode(value: number): value is ReasonCode {
  return Number.isInteger(value) && value >= 1 && value <= 12;
}

/** Whether `value` is a NAT mapping byte of §1.2 `NAT_INFO`. */
export function isNatMapping(value: number): value is NatMapping {
  return Number.isInteger(value) && value >= 0 && value <= 3;
}

/** Whether `value` is a suite of §2.1. */
export function isSuite(value: number): value is Suite {
  return value === 1 || value === 2 || value === 3;
}
