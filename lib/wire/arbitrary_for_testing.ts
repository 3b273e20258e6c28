/**
 * Test-only: a seeded PRNG and generators of random valid packets, messages
 * and endpoints, biased toward the edges of every field. Used by
 * `fuzz_test.ts`; never import it from production code.
 *
 * @module
 */

import {
  CELL_BODY_SIZE,
  encodePacket,
  type Endpoint,
  MAX_ACK_RANGES,
  MAX_BIRTHDAY_SOCKETS,
  MAX_FORWARD_PACKET_SIZE,
  MAX_INIT_NOISE_LENGTH,
  MAX_MESSAGE_SIZE,
  MAX_PACKET_SIZE,
  MAX_REPLY_NOISE_LENGTH,
  MAX_STREAM_OFFSET,
  MAX_TEXT_LENGTH,
  type Message,
  MessageKind,
  type NatMapping,
  normalizeAddress,
  type Packet,
  PacketType,
  STREAM_DATA_HEADER_SIZE,
  TRANSPORT_HEADER_SIZE,
} from "./mod.ts";

/** xoshiro128** seeded through splitmix32: small, fast and reproducible. */
export class Rng {
  #s = new Uint32Array(4);

  /** Seed the state from a 32-bit number; the same seed gives the same run. */
  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.#s[i] = z ^ (z >>> 16);
    }
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform integer in [0, n) for n ≤ 2^32. */
  below(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  /** A uniformly chosen item. */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** An integer in [min, max], biased toward both edges. */
  edge(min: number, max: number): number {
    const r = this.below(8);
    if (r === 0) return min;
    if (r === 1) return max;
    if (r === 2) return Math.min(max, min + 1);
    if (r === 3) return Math.max(min, max - 1);
    return min + Math.floor((this.u32() / 0x1_0000_0000) * (max - min + 1));
  }

  /** A 64-bit unsigned bigint, often 0 or 2^64 − 1. */
  u64(): bigint {
    const r = this.below(6);
    if (r === 0) return 0n;
    if (r === 1) return 0xffff_ffff_ffff_ffffn;
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

// --- random valid structures -------------------------------------------------

const NAME_REST = "abcdefghijklmnopqrstuvwxyz0123456789._-";
const NAME_FIRST = "abcdefghijklmnopqrstuvwxyz0123456789";

function genName(rng: Rng): string {
  const length = rng.edge(1, 32);
  let name = NAME_FIRST[rng.below(NAME_FIRST.length)];
  while (name.length < length) name += NAME_REST[rng.below(NAME_REST.length)];
  return name;
}

function genCodePoint(rng: Rng): number {
  switch (rng.below(6)) {
    case 0:
      return rng.below(0x80);
    case 1:
      return 0x80 + rng.below(0x780);
    case 2: {
      const c = 0x800 + rng.below(0xf800);
      return c >= 0xd800 && c <= 0xdfff ? 0xfeff : c; // no surrogates
    }
    case 3:
      return 0x10000 + rng.below(0x100000);
    case 4:
      return rng.pick([0xfeff, 0xfffd, 0, 0x7f, 0x80, 0x7ff, 0xffff, 0x10ffff]);
    default:
      return 0x20 + rng.below(0x5f);
  }
}

function genText(rng: Rng): string {
  const budget = rng.edge(0, MAX_TEXT_LENGTH);
  let text = "", size = 0;
  while (true) {
    const c = genCodePoint(rng);
    const width = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (size + width > budget) return text;
    text += String.fromCodePoint(c);
    size += width;
  }
}

/** A random valid endpoint in canonical text (IPv4 or IPv6). */
export function genEndpoint(rng: Rng): Endpoint {
  const port = rng.edge(1, 65535);
  if (rng.chance(0.4)) {
    const b = rng.bytes(4);
    return { address: `${b[0]}.${b[1]}.${b[2]}.${b[3]}`, port };
  }
  // Runs of zero groups exercise the RFC 5952 shortening; the text goes
  // through normalizeAddress in a random, non-canonical spelling.
  const groups = Array.from(
    { length: 8 },
    () =>
      rng.chance(0.5)
        ? 0
        : rng.chance(0.5)
        ? rng.below(0x10000)
        : rng.below(0x10),
  );
  const text = groups.map((g) =>
    rng.chance(0.3)
      ? g.toString(16).toUpperCase().padStart(4, "0")
      : g.toString(16)
  ).join(":");
  return { address: normalizeAddress(text), port };
}

function genList<T>(rng: Rng, max: number, gen: (rng: Rng) => T): T[] {
  return Array.from({ length: rng.edge(0, max) }, () => gen(rng));
}

/** A random valid outer packet of any type. */
export function genPacket(rng: Rng): Packet {
  switch (rng.below(6)) {
    case 0:
      return {
        type: PacketType.HANDSHAKE_INIT,
        senderIndex: rng.u32(),
        cookie: rng.chance(0.5) ? new Uint8Array(16) : rng.bytes(16),
        suite: rng.pick([1, 2, 3] as const),
        noise: rng.bytes(
          rng.chance(0.5)
            ? rng.edge(0, 240)
            : rng.edge(0, MAX_INIT_NOISE_LENGTH),
        ),
      };
    case 1:
      return {
        type: PacketType.HANDSHAKE_REPLY,
        senderIndex: rng.u32(),
        receiverIndex: rng.u32(),
        noise: rng.bytes(rng.edge(0, MAX_REPLY_NOISE_LENGTH)),
      };
    case 2:
      return {
        type: PacketType.COOKIE_REPLY,
        receiverIndex: rng.u32(),
        echo: rng.bytes(16),
        cookie: rng.bytes(16),
      };
    case 3:
      return genTransport(rng);
    case 4:
      return { type: PacketType.PING, nonce: rng.u64() };
    default:
      return {
        type: PacketType.PONG,
        nonce: rng.u64(),
        observed: genEndpoint(rng),
      };
  }
}

/** A random valid `TRANSPORT` packet. */
export function genTransport(rng: Rng): Packet {
  return {
    type: PacketType.TRANSPORT,
    receiverIndex: rng.u32(),
    counter: rng.u64(),
    ciphertext: rng.bytes(
      rng.edge(16, MAX_PACKET_SIZE - TRANSPORT_HEADER_SIZE),
    ),
  };
}

function genOffset(rng: Rng): number {
  return rng.chance(0.3)
    ? rng.pick([0, 1, 2 ** 32 - 1, 2 ** 32, MAX_STREAM_OFFSET - 2000])
    : Math.floor(rng.below(0x1_0000_0000) * rng.below(0x20_0000) / 2) +
      rng.below(1000);
}

function genAckRanges(rng: Rng, cumulative: number) {
  const ranges = [];
  let previous = cumulative;
  for (let i = rng.edge(0, MAX_ACK_RANGES); i > 0; i--) {
    const start = previous + 1 + rng.below(rng.chance(0.5) ? 3 : 100_000);
    const end = start + 1 + rng.below(rng.chance(0.5) ? 3 : 100_000);
    if (end > MAX_STREAM_OFFSET) break;
    ranges.push({ start, end });
    previous = end;
  }
  return ranges;
}

/** A random valid inner message of any kind. */
export function genMessage(rng: Rng): Message {
  const reason = () => rng.edge(1, 12) as 1;
  switch (rng.below(17)) {
    case 0:
      return { kind: MessageKind.PADDING, size: rng.edge(1, MAX_MESSAGE_SIZE) };
    case 1:
      return {
        kind: MessageKind.REGISTER,
        name: genName(rng),
        candidates: genList(rng, 8, genEndpoint),
      };
    case 2:
      return {
        kind: MessageKind.REGISTERED,
        observed: genEndpoint(rng),
        keepaliveMs: rng.u32(),
        lifetimeMs: rng.u32(),
      };
    case 3:
      return {
        kind: MessageKind.REFUSED,
        requestKind: rng.below(256),
        reason: reason(),
        limit: rng.u32(),
        text: genText(rng),
      };
    case 4:
      return {
        kind: MessageKind.KEEPALIVE,
        candidates: genList(rng, 8, genEndpoint),
      };
    case 5:
      return {
        kind: MessageKind.CONNECT,
        requestId: rng.u32(),
        target: genName(rng),
      };
    case 6:
      return {
        kind: MessageKind.RENDEZVOUS,
        requestId: rng.u32(),
        circuitId: rng.u64(),
        peerKey: rng.bytes(32),
        peerName: genName(rng),
        startInMs: rng.edge(0, 65535),
        candidates: genList(rng, 9, genEndpoint),
      };
    case 7: {
      const length = rng.edge(1, MAX_FORWARD_PACKET_SIZE);
      const packet = rng.chance(0.5)
        ? rng.bytes(length)
        : encodePacket(genPacket(rng));
      return {
        kind: MessageKind.FORWARD,
        circuitId: rng.u64(),
        packet: packet.length <= MAX_FORWARD_PACKET_SIZE
          ? packet
          : packet.subarray(0, length),
      };
    }
    case 8:
      return {
        kind: MessageKind.CIRCUIT_CLOSED,
        circuitId: rng.u64(),
        reason: reason(),
      };
    case 9:
      return { kind: MessageKind.UNREGISTER };
    case 10:
      return { kind: MessageKind.PATH_PROBE, probeId: rng.u64() };
    case 11:
      return {
        kind: MessageKind.PATH_PROBE_ACK,
        probeId: rng.u64(),
        observed: genEndpoint(rng),
      };
    case 12: {
      const data = rng.bytes(
        rng.edge(0, MAX_MESSAGE_SIZE - STREAM_DATA_HEADER_SIZE),
      );
      return {
        kind: MessageKind.STREAM_DATA,
        streamId: rng.edge(0, 65535),
        fin: rng.chance(0.5),
        offset: Math.min(genOffset(rng), MAX_STREAM_OFFSET - data.length),
        data,
      };
    }
    case 13: {
      const cumulative = genOffset(rng);
      return {
        kind: MessageKind.STREAM_ACK,
        streamId: rng.edge(0, 65535),
        cumulative,
        window: rng.u32(),
        ranges: genAckRanges(rng, cumulative),
      };
    }
    case 14:
      return { kind: MessageKind.CLOSE, reason: reason(), text: genText(rng) };
    case 15:
      return {
        kind: MessageKind.NAT_INFO,
        mapping: rng.below(4) as NatMapping,
        birthdaySockets: rng.edge(0, MAX_BIRTHDAY_SOCKETS),
      };
    default:
      return {
        kind: MessageKind.CELL,
        circuitId: rng.u32(),
        command: rng.below(256),
        body: rng.bytes(CELL_BODY_SIZE),
      };
  }
}
