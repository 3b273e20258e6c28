/**
 * Outer packets of docs/PROTOCOL.md §1.1: one per UDP datagram, at most
 * {@linkcode MAX_PACKET_SIZE} bytes, starting with the version and type
 * bytes.
 *
 * Decoded byte fields (`cookie`, `noise`, `ciphertext`, …) are views into
 * the input, not copies: they stay valid only as long as the caller leaves
 * the input buffer alone.
 *
 * @module
 */

import {
  AEAD_TAG_SIZE,
  COOKIE_REPLY_SIZE,
  COOKIE_SIZE,
  ECHO_SIZE,
  INIT_HEADER_SIZE,
  INIT_MIN_SIZE,
  isSuite,
  MAX_INIT_NOISE_LENGTH,
  MAX_PACKET_SIZE,
  MAX_REPLY_NOISE_LENGTH,
  NONCE_SIZE,
  PacketType,
  PING_MIN_SIZE,
  PROTOCOL_VERSION,
  REPLY_HEADER_SIZE,
  type Suite,
  TRANSPORT_HEADER_SIZE,
} from "./constants.ts";
import {
  checkBytes,
  checkUint,
  checkUint64,
  Reader,
  Writer,
} from "./cursor.ts";
import {
  type Endpoint,
  endpointAddressBytes,
  endpointSizeOf,
  readEndpoint,
  writeEndpoint,
} from "./endpoint.ts";
import { type DecodeResult, fail, ok } from "./result.ts";
import {
  checkOuter,
  decodeTransport,
  encodeTransportHeader,
  type TransportHeader,
} from "./transport.ts";

/** §1.1 `HANDSHAKE_INIT`: the first Noise message of a session. */
export interface HandshakeInitPacket {
  /** {@linkcode PacketType.HANDSHAKE_INIT} */
  type: typeof PacketType.HANDSHAKE_INIT;
  /** 32-bit index the initiator chose; replies carry it as receiver index. */
  senderIndex: number;
  /** 16 bytes, all zero when the initiator holds no cookie. */
  cookie: Uint8Array;
  /** Which Noise protocol (§2.1). */
  suite: Suite;
  /** The Noise message, at most {@linkcode MAX_INIT_NOISE_LENGTH} bytes. */
  noise: Uint8Array;
}

/** §1.1 `HANDSHAKE_REPLY`: every later Noise handshake message. */
export interface HandshakeReplyPacket {
  /** {@linkcode PacketType.HANDSHAKE_REPLY} */
  type: typeof PacketType.HANDSHAKE_REPLY;
  /** 32-bit index chosen by the sender of this packet. */
  senderIndex: number;
  /** 32-bit index chosen by the receiver of this packet. */
  receiverIndex: number;
  /** The Noise message, at most {@linkcode MAX_REPLY_NOISE_LENGTH} bytes. */
  noise: Uint8Array;
}

/** §1.1 `COOKIE_REPLY`: a proof-of-address challenge, always 38 bytes. */
export interface CookieReplyPacket {
  /** {@linkcode PacketType.COOKIE_REPLY} */
  type: typeof PacketType.COOKIE_REPLY;
  /** The sender index of the `HANDSHAKE_INIT` answered. */
  receiverIndex: number;
  /** 16 bytes: SHA-256 of that `HANDSHAKE_INIT`, truncated. */
  echo: Uint8Array;
  /** 16 opaque bytes to put in the next `HANDSHAKE_INIT`. */
  cookie: Uint8Array;
}

/** §1.1 `TRANSPORT`: encrypted data of an established session. */
export interface TransportPacket extends TransportHeader {
  /** {@linkcode PacketType.TRANSPORT} */
  type: typeof PacketType.TRANSPORT;
  /** AEAD output with its tag: 16 to 1232 − 14 bytes. */
  ciphertext: Uint8Array;
}

/** §1.1 `PING`: an unauthenticated reachability/RTT probe. */
export interface PingPacket {
  /** {@linkcode PacketType.PING} */
  type: typeof PacketType.PING;
  /** The 8 random nonce bytes, read as a big-endian 64-bit integer. */
  nonce: bigint;
}

/** §1.1 `PONG`: the answer to a `PING`, with the address the relay saw. */
export interface PongPacket {
  /** {@linkcode PacketType.PONG} */
  type: typeof PacketType.PONG;
  /** The nonce of the `PING` answered. */
  nonce: bigint;
  /** The source endpoint the responder saw the `PING` come from. */
  observed: Endpoint;
}

/** Any outer packet; switch on `type`. */
export type Packet =
  | HandshakeInitPacket
  | HandshakeReplyPacket
  | CookieReplyPacket
  | TransportPacket
  | PingPacket
  | PongPacket;

function header(size: number, type: PacketType): Writer {
  const w = new Writer(size);
  w.u8(PROTOCOL_VERSION);
  w.u8(type);
  return w;
}

/**
 * Encode an outer packet.
 *
 * @throws {TypeError} for an unknown type or a field of the wrong type
 * @throws {RangeError} for a field out of its range or too long
 *
 * @example
 * ```ts
 * import { encodePacket, PacketType } from "./mod.ts";
 * const ping = encodePacket({ type: PacketType.PING, nonce: 42n });
 * ping.length; // 64
 * ```
 */
export function encodePacket(packet: Packet): Uint8Array<ArrayBuffer> {
  switch (packet?.type) {
    case PacketType.HANDSHAKE_INIT: {
      checkUint("senderIndex", packet.senderIndex, 32);
      checkBytes("cookie", packet.cookie, COOKIE_SIZE);
      if (typeof packet.suite !== "number" || !isSuite(packet.suite)) {
        throw new RangeError(
          `Cannot encode suite as it is not a suite of §2.1: ${packet.suite}`,
        );
      }
      checkBytes("noise", packet.noise, 0, MAX_INIT_NOISE_LENGTH);
      const size = Math.max(
        INIT_MIN_SIZE,
        INIT_HEADER_SIZE + packet.noise.length,
      );
      const w = header(size, packet.type);
      w.u32(packet.senderIndex);
      w.put(packet.cookie);
      w.u8(packet.suite);
      w.u16(packet.noise.length);
      w.put(packet.noise);
      w.skip(size - w.offset); // zero padding
      return w.finish();
    }
    case PacketType.HANDSHAKE_REPLY: {
      checkUint("senderIndex", packet.senderIndex, 32);
      checkUint("receiverIndex", packet.receiverIndex, 32);
      checkBytes("noise", packet.noise, 0, MAX_REPLY_NOISE_LENGTH);
      const w = header(REPLY_HEADER_SIZE + packet.noise.length, packet.type);
      w.u32(packet.senderIndex);
      w.u32(packet.receiverIndex);
      w.u16(packet.noise.length);
      w.put(packet.noise);
      return w.finish();
    }
    case PacketType.COOKIE_REPLY: {
      checkUint("receiverIndex", packet.receiverIndex, 32);
      checkBytes("echo", packet.echo, ECHO_SIZE);
      checkBytes("cookie", packet.cookie, COOKIE_SIZE);
      const w = header(COOKIE_REPLY_SIZE, packet.type);
      w.u32(packet.receiverIndex);
      w.put(packet.echo);
      w.put(packet.cookie);
      return w.finish();
    }
    case PacketType.TRANSPORT: {
      checkBytes(
        "ciphertext",
        packet.ciphertext,
        AEAD_TAG_SIZE,
        MAX_PACKET_SIZE - TRANSPORT_HEADER_SIZE,
      );
      const out = new Uint8Array(
        TRANSPORT_HEADER_SIZE + packet.ciphertext.length,
      );
      out.set(packet.ciphertext, encodeTransportHeader(out, packet));
      return out;
    }
    case PacketType.PING: {
      checkUint64("nonce", packet.nonce);
      const w = header(PING_MIN_SIZE, packet.type);
      w.u64(packet.nonce);
      w.skip(PING_MIN_SIZE - w.offset); // zero padding
      return w.finish();
    }
    case PacketType.PONG: {
      checkUint64("nonce", packet.nonce);
      const address = endpointAddressBytes(packet.observed, "observed");
      const w = header(2 + NONCE_SIZE + endpointSizeOf(address), packet.type);
      w.u64(packet.nonce);
      writeEndpoint(w, address, packet.observed.port);
      return w.finish();
    }
    default:
      throw new TypeError(
        `Cannot encode packet as its type is unknown: ${
          (packet as { type?: unknown })?.type
        }`,
      );
  }
}

function decodeInit(r: Reader): DecodeResult<HandshakeInitPacket> {
  if (!r.has(INIT_HEADER_SIZE - 2)) {
    return fail("truncated", "HANDSHAKE_INIT header cut short");
  }
  const senderIndex = r.u32();
  const cookie = r.take(COOKIE_SIZE);
  const suite = r.u8();
  if (!isSuite(suite)) return fail("bad-field", `unknown suite: ${suite}`);
  const noiseLength = r.u16();
  if (!r.has(noiseLength)) return fail("truncated", "noise cut short");
  const noise = r.take(noiseLength);
  // §1.1: zero padding up to exactly INIT_MIN_SIZE, none beyond.
  const size = Math.max(INIT_MIN_SIZE, INIT_HEADER_SIZE + noiseLength);
  if (r.input.length !== size) {
    return fail(
      "bad-length",
      `HANDSHAKE_INIT of ${r.input.length} bytes, expected ${size}`,
    );
  }
  if (!r.zeros(r.remaining)) return fail("bad-field", "non-zero padding");
  return ok({
    type: PacketType.HANDSHAKE_INIT,
    senderIndex,
    cookie,
    suite,
    noise,
  });
}

function decodeReply(r: Reader): DecodeResult<HandshakeReplyPacket> {
  if (!r.has(REPLY_HEADER_SIZE - 2)) {
    return fail("truncated", "HANDSHAKE_REPLY header cut short");
  }
  const senderIndex = r.u32();
  const receiverIndex = r.u32();
  const noiseLength = r.u16();
  if (!r.has(noiseLength)) return fail("truncated", "noise cut short");
  const noise = r.take(noiseLength);
  return ok({
    type: PacketType.HANDSHAKE_REPLY,
    senderIndex,
    receiverIndex,
    noise,
  });
}

function decodeCookieReply(r: Reader): DecodeResult<CookieReplyPacket> {
  if (!r.has(COOKIE_REPLY_SIZE - 2)) {
    return fail("truncated", "COOKIE_REPLY cut short");
  }
  return ok({
    type: PacketType.COOKIE_REPLY,
    receiverIndex: r.u32(),
    echo: r.take(ECHO_SIZE),
    cookie: r.take(COOKIE_SIZE),
  });
}

function decodePing(r: Reader): DecodeResult<PingPacket> {
  if (!r.has(NONCE_SIZE)) return fail("truncated", "PING nonce cut short");
  if (r.input.length !== PING_MIN_SIZE) {
    return fail("bad-length", `PING of ${r.input.length} bytes`);
  }
  const nonce = r.u64();
  if (!r.zeros(r.remaining)) return fail("bad-field", "non-zero padding");
  return ok({ type: PacketType.PING, nonce });
}

function decodePong(r: Reader): DecodeResult<PongPacket> {
  if (!r.has(NONCE_SIZE)) return fail("truncated", "PONG nonce cut short");
  const nonce = r.u64();
  const observed = readEndpoint(r);
  if (!observed.ok) return observed;
  return ok({ type: PacketType.PONG, nonce, observed: observed.value });
}

/**
 * Decode one outer packet, strictly: whatever it accepts re-encodes with
 * {@linkcode encodePacket} to the same bytes. Never throws.
 *
 * @example
 * ```ts
 * import { decodePacket, PacketType } from "./mod.ts";
 * const result = decodePacket(new Uint8Array([0xa1, 0x09]));
 * if (!result.ok) result.error.code; // "bad-type"
 * ```
 */
export function decodePacket(input: Uint8Array): DecodeResult<Packet> {
  const outer = checkOuter(input);
  if (!outer.ok) return outer;
  const r = new Reader(input);
  r.skip(2);
  let result: DecodeResult<Packet>;
  switch (input[1]) {
    case PacketType.HANDSHAKE_INIT:
      return decodeInit(r); // checks its own total size
    case PacketType.HANDSHAKE_REPLY:
      result = decodeReply(r);
      break;
    case PacketType.COOKIE_REPLY:
      result = decodeCookieReply(r);
      break;
    case PacketType.TRANSPORT: {
      const view = decodeTransport(input);
      if (!view.ok) return view;
      const { receiverIndex, counter, ciphertext } = view.value;
      return ok({
        type: PacketType.TRANSPORT,
        receiverIndex,
        counter,
        ciphertext,
      });
    }
    case PacketType.PING:
      return decodePing(r); // checks its own total size
    case PacketType.PONG:
      result = decodePong(r);
      break;
    default:
      return fail("bad-type", `unknown packet type: ${input[1]}`);
  }
  if (result.ok && r.remaining !== 0) {
    return fail("bad-length", `${r.remaining} trailing bytes`);
  }
  return result;
}
