/**
 * The data-path fast path of docs/PROTOCOL.md §1.1 `TRANSPORT`: parse a
 * packet into views without copying, and write a header into a buffer the
 * caller owns. `encodePacket`/`decodePacket` handle `TRANSPORT` too, through
 * these functions.
 *
 * @module
 */

import {
  AEAD_TAG_SIZE,
  MAX_PACKET_SIZE,
  PacketType,
  PROTOCOL_VERSION,
  TRANSPORT_HEADER_SIZE,
} from "./constants.ts";
import { checkUint, checkUint64 } from "./cursor.ts";
import { type DecodeResult, fail, ok } from "./result.ts";

/** The two header fields of a `TRANSPORT` packet besides version and type. */
export interface TransportHeader {
  /** 32-bit index the receiver chose for this session. */
  receiverIndex: number;
  /** 64-bit explicit nonce, 0 to 2^64 − 1. */
  counter: bigint;
}

/** What {@linkcode decodeTransport} returns: the header parsed, and views. */
export interface TransportView extends TransportHeader {
  /** The 14-byte header, the AEAD's associated data (a view). */
  header: Uint8Array;
  /** AEAD output with its tag (a view). */
  ciphertext: Uint8Array;
}

/**
 * Checks shared by every outer packet: size, version, and at least the type
 * byte. Shared with `packet.ts`.
 */
export function checkOuter(input: Uint8Array): DecodeResult<void> {
  if (input.length > MAX_PACKET_SIZE) {
    return fail("too-large", `packet of ${input.length} bytes`);
  }
  if (input.length === 0) return fail("truncated", "empty packet");
  if (input[0] !== PROTOCOL_VERSION) {
    return fail("bad-version", `version byte 0x${input[0].toString(16)}`);
  }
  if (input.length < 2) return fail("truncated", "packet type missing");
  return ok(undefined);
}

/**
 * Write the 14-byte `TRANSPORT` header into `into` at `options.offset`
 * (default 0) without allocating, and return the offset just past it, where
 * the ciphertext goes.
 *
 * @throws {RangeError} when the header does not fit or a field is out of range
 *
 * @example
 * ```ts
 * import { encodeTransportHeader, TRANSPORT_HEADER_SIZE } from "./mod.ts";
 * const packet = new Uint8Array(TRANSPORT_HEADER_SIZE + 16);
 * const at = encodeTransportHeader(packet, { receiverIndex: 7, counter: 0n });
 * // seal the plaintext into packet.subarray(at), AAD packet.subarray(0, at)
 * ```
 */
export function encodeTransportHeader(
  into: Uint8Array,
  header: TransportHeader,
  options: { offset?: number } = {},
): number {
  const offset = options.offset ?? 0;
  if (!(into instanceof Uint8Array)) {
    throw new TypeError(
      "Cannot encode transport header as into is not a Uint8Array",
    );
  }
  checkUint("receiverIndex", header.receiverIndex, 32);
  checkUint64("counter", header.counter);
  if (
    !Number.isInteger(offset) || offset < 0 ||
    offset + TRANSPORT_HEADER_SIZE > into.length
  ) {
    throw new RangeError(
      `Cannot encode transport header as it does not fit at offset: ${offset}`,
    );
  }
  const index = header.receiverIndex;
  const high = Number(header.counter >> 32n);
  const low = Number(header.counter & 0xffff_ffffn);
  into[offset] = PROTOCOL_VERSION;
  into[offset + 1] = PacketType.TRANSPORT;
  into[offset + 2] = index >>> 24;
  into[offset + 3] = index >>> 16;
  into[offset + 4] = index >>> 8;
  into[offset + 5] = index;
  into[offset + 6] = high >>> 24;
  into[offset + 7] = high >>> 16;
  into[offset + 8] = high >>> 8;
  into[offset + 9] = high;
  into[offset + 10] = low >>> 24;
  into[offset + 11] = low >>> 16;
  into[offset + 12] = low >>> 8;
  into[offset + 13] = low;
  return offset + TRANSPORT_HEADER_SIZE;
}

/**
 * Decode a `TRANSPORT` packet without copying: the fast path of the data
 * plane. Rejects anything that is not a valid `TRANSPORT` packet; never
 * throws. `header` and `ciphertext` are views into `input`.
 *
 * @example
 * ```ts
 * import { decodeTransport } from "./mod.ts";
 * const datagram = new Uint8Array(30);
 * datagram.set([0xa1, 0x04]);
 * const result = decodeTransport(datagram);
 * if (result.ok) {
 *   const { receiverIndex, counter, header, ciphertext } = result.value;
 *   // find the session by receiverIndex, check counter against the replay
 *   // window, then open ciphertext with header as associated data
 * }
 * ```
 */
export function decodeTransport(
  input: Uint8Array,
): DecodeResult<TransportView> {
  const outer = checkOuter(input);
  if (!outer.ok) return outer;
  if (input[1] !== PacketType.TRANSPORT) {
    return fail("bad-type", `packet type ${input[1]} is not TRANSPORT`);
  }
  if (input.length < TRANSPORT_HEADER_SIZE + AEAD_TAG_SIZE) {
    return fail("truncated", "TRANSPORT shorter than header and tag");
  }
  // Read by hand rather than through a Reader: this runs for every packet.
  const b = input;
  const receiverIndex = ((b[2] << 24) | (b[3] << 16) | (b[4] << 8) | b[5]) >>>
    0;
  const high = ((b[6] << 24) | (b[7] << 16) | (b[8] << 8) | b[9]) >>> 0;
  const low = ((b[10] << 24) | (b[11] << 16) | (b[12] << 8) | b[13]) >>> 0;
  return ok({
    receiverIndex,
    counter: (BigInt(high) << 32n) | BigInt(low),
    header: input.subarray(0, TRANSPORT_HEADER_SIZE),
    ciphertext: input.subarray(TRANSPORT_HEADER_SIZE),
  });
}
