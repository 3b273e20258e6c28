/**
 * The altnet wire format (docs/PROTOCOL.md §1): constants, outer packets,
 * inner messages and endpoints, as pure codecs.
 *
 * Encoders take a well-formed object and return fresh bytes; they throw a
 * `TypeError` or `RangeError` on an invalid object, which is a programming
 * error. Decoders take any bytes and never throw: they return a
 * {@linkcode DecodeResult} whose error `code` callers count drops by.
 * Encodings are canonical, so whatever a decoder accepts re-encodes to the
 * same bytes. Decoded byte fields are views into the input, not copies.
 *
 * Integers of 64 bits that are identifiers or nonces (`counter`, `nonce`,
 * `circuitId` of `FORWARD`/`RENDEZVOUS`/`CIRCUIT_CLOSED`, `probeId`) are
 * bigints; stream offsets are numbers below 2^53; everything of 32 bits or
 * less is a number.
 *
 * @example
 * ```ts
 * import { decodePacket, encodePacket, PacketType } from "./mod.ts";
 *
 * const bytes = encodePacket({ type: PacketType.PING, nonce: 1n });
 * const result = decodePacket(bytes);
 * if (!result.ok) throw new Error(result.error.code);
 * if (result.value.type === PacketType.PING) console.log(result.value.nonce);
 * ```
 *
 * @module
 */

export * from "./constants.ts";
export type {
  DecodeError,
  DecodeErrorCode,
  DecodeFailure,
  DecodeResult,
  DecodeSuccess,
} from "./result.ts";
export {
  decodeEndpoint,
  encodeEndpoint,
  type Endpoint,
  normalizeAddress,
} from "./endpoint.ts";
export {
  type CookieReplyPacket,
  decodePacket,
  encodePacket,
  type HandshakeInitPacket,
  type HandshakeReplyPacket,
  type Packet,
  type PingPacket,
  type PongPacket,
  type TransportPacket,
} from "./packet.ts";
export {
  decodeTransport,
  encodeTransportHeader,
  type TransportHeader,
  type TransportView,
} from "./transport.ts";
export * from "./message.ts";
export * from "./stun.ts";
