/**
 * Fuzz test of every decoder: random bytes, random valid structures and
 * mutations of their encodings. Checks that no exception escapes a decoder,
 * that every accepted input re-encodes to the same bytes, and that every
 * valid structure round-trips. Set `WIRE_FUZZ_SEED` to replay a run.
 */

import assert from "node:assert/strict";
import {
  genEndpoint,
  genMessage,
  genPacket,
  genTransport,
  Rng,
} from "./arbitrary_for_testing.ts";
import {
  decodeEndpoint,
  decodeMessage,
  decodePacket,
  type DecodeResult,
  decodeTransport,
  encodeEndpoint,
  encodeMessage,
  encodePacket,
  encodeTransportHeader,
  type Endpoint,
  MAX_INIT_NOISE_LENGTH,
  MAX_REPLY_NOISE_LENGTH,
  type Message,
  MessageKind,
  type Packet,
  PacketType,
  TRANSPORT_HEADER_SIZE,
  type TransportView,
} from "./mod.ts";

const INPUTS_PER_DECODER = 200_000;

// --- mutations ---------------------------------------------------------------

const EDGE_BYTES = [
  0,
  1,
  2,
  4,
  6,
  8,
  9,
  15,
  16,
  17,
  32,
  33,
  0x7f,
  0x80,
  0xa1,
  200,
  201,
  0xfe,
  0xff,
];
const EDGE_U16 = [
  0,
  1,
  0xff,
  0x100,
  231,
  232,
  MAX_INIT_NOISE_LENGTH,
  MAX_REPLY_NOISE_LENGTH,
  0xfffe,
  0xffff,
];

function mutateOnce(
  rng: Rng,
  input: Uint8Array,
  other: Uint8Array,
): Uint8Array {
  const n = input.length;
  const at = rng.below(Math.max(n, 1));
  switch (rng.below(11)) {
    case 0: { // flip one bit
      const out = input.slice();
      if (n > 0) out[at] ^= 1 << rng.below(8);
      return out;
    }
    case 1: { // overwrite a byte, often with an edge value
      const out = input.slice();
      if (n > 0) {
        out[at] = rng.chance(0.5) ? rng.pick(EDGE_BYTES) : rng.below(256);
      }
      return out;
    }
    case 2: { // set a 16-bit field to an edge value
      const out = input.slice();
      if (n > 1) {
        const value = rng.pick(EDGE_U16), p = rng.below(n - 1);
        out[p] = value >>> 8;
        out[p + 1] = value & 0xff;
      }
      return out;
    }
    case 3: // truncate
      return input.slice(0, rng.below(n + 1));
    case 4: { // extend with zeros or random bytes
      const extra = rng.chance(0.5)
        ? new Uint8Array(rng.edge(1, 40))
        : rng.bytes(rng.edge(1, 40));
      const out = new Uint8Array(n + extra.length);
      out.set(input);
      out.set(extra, n);
      return out;
    }
    case 5: { // splice: a prefix of this input and a suffix of another
      const cut = rng.below(n + 1), from = rng.below(other.length + 1);
      const out = new Uint8Array(cut + other.length - from);
      out.set(input.subarray(0, cut));
      out.set(other.subarray(from), cut);
      return out;
    }
    case 6: { // insert a byte
      const out = new Uint8Array(n + 1);
      out.set(input.subarray(0, at));
      out[at] = rng.pick(EDGE_BYTES);
      out.set(input.subarray(at), at + 1);
      return out;
    }
    case 7: { // delete a byte
      if (n === 0) return input;
      const out = new Uint8Array(n - 1);
      out.set(input.subarray(0, at));
      out.set(input.subarray(at + 1), at);
      return out;
    }
    case 9: { // add a small delta to a big-endian integer, with carry
      const out = input.slice();
      const width = rng.pick([1, 2, 4, 8]);
      if (n < width) return out;
      const end = rng.below(n - width + 1) + width;
      let carry = rng.pick([-3, -2, -1, 1, 2, 3]);
      for (let p = end - 1; p >= end - width && carry !== 0; p--) {
        const sum = out[p] + carry;
        out[p] = sum & 0xff;
        carry = Math.floor(sum / 256);
      }
      return out;
    }
    case 10: { // copy a field-sized chunk a field further on
      const out = input.slice();
      const width = rng.pick([1, 2, 4, 8, 16]);
      const from = rng.below(n + 1);
      const to = from + rng.pick([-16, -8, -width, width, 8, 16]);
      if (to < 0 || from + width > n || to + width > n) return out;
      out.copyWithin(to, from, from + width);
      return out;
    }
    default: { // overwrite a run with random bytes
      const out = input.slice();
      const length = rng.below(Math.min(16, n) + 1);
      out.set(rng.bytes(Math.min(length, n - at)), at);
      return out;
    }
  }
}

function mutate(rng: Rng, input: Uint8Array, pool: Uint8Array[]): Uint8Array {
  let out = input;
  for (let i = 1 + rng.below(3); i > 0; i--) {
    out = mutateOnce(rng, out, rng.pick(pool));
  }
  return out;
}

// --- harness -----------------------------------------------------------------

interface Target<T> {
  name: string;
  decode(input: Uint8Array): DecodeResult<T>;
  encode(value: T): Uint8Array;
  /** A random valid structure. */
  valid(rng: Rng): T;
  /** Random bytes shaped for this decoder (lengths, a plausible first byte). */
  random(rng: Rng): Uint8Array;
  /** An extra invariant on accepted inputs, or a message saying why it fails. */
  check?(input: Uint8Array, value: T): string | undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hex(bytes: Uint8Array): string {
  return Array.from(
    bytes.subarray(0, 64),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("") +
    (bytes.length > 64 ? `… (${bytes.length} bytes)` : "");
}

function seed(): number {
  const fromEnv = Deno.env.get("WIRE_FUZZ_SEED");
  return fromEnv
    ? Number(fromEnv) >>> 0
    : crypto.getRandomValues(new Uint32Array(1))[0];
}

function fuzz<T>(target: Target<T>, seedValue: number): void {
  const rng = new Rng(seedValue);
  const pool: Uint8Array[] = Array.from(
    { length: 32 },
    () => target.encode(target.valid(rng)),
  );
  const failures: string[] = [];
  let accepted = 0, escapes = 0, valid = 0;
  const codes: Record<string, number> = {};
  const started = performance.now();
  for (let i = 0; i < INPUTS_PER_DECODER; i++) {
    const where = `${target.name} seed ${seedValue} input ${i}`;
    let input: Uint8Array;
    const mode = rng.below(20);
    if (mode < 4) {
      input = rng.bytes(rng.below(rng.chance(0.2) ? 1400 : 64));
    } else if (mode < 7) {
      input = target.random(rng);
    } else if (mode < 10) {
      // A valid structure must round-trip exactly.
      const value = target.valid(rng);
      input = target.encode(value);
      pool[rng.below(pool.length)] = input;
      const back = target.decode(input);
      valid++;
      try {
        assert.deepStrictEqual(back, { ok: true, value });
      } catch (error) {
        failures.push(`${where}: valid structure did not round-trip: ${error}`);
      }
    } else {
      input = mutate(rng, rng.pick(pool), pool);
    }
    let result: DecodeResult<T>;
    try {
      result = target.decode(input);
    } catch (error) {
      escapes++;
      failures.push(`${where}: exception escaped on ${hex(input)}: ${error}`);
      continue;
    }
    if (!result.ok) {
      codes[result.error.code] = (codes[result.error.code] ?? 0) + 1;
      continue;
    }
    accepted++;
    try {
      const again = target.encode(result.value);
      if (!sameBytes(again, input)) {
        failures.push(
          `${where}: accepted ${hex(input)} re-encodes to ${hex(again)}`,
        );
      }
      const problem = target.check?.(input, result.value);
      if (problem) failures.push(`${where}: ${problem} on ${hex(input)}`);
    } catch (error) {
      failures.push(
        `${where}: accepted ${hex(input)} but re-encoding threw: ${error}`,
      );
    }
    if (failures.length > 10) break;
  }
  const ms = Math.round(performance.now() - started);
  console.log(
    `fuzz ${target.name}: seed ${seedValue}, ${INPUTS_PER_DECODER} inputs, ` +
      `${accepted} accepted, ${valid} valid round-trips, ${escapes} escapes, ` +
      `${failures.length} failures, ${ms} ms; rejected by code ${
        JSON.stringify(codes)
      }`,
  );
  assert.deepEqual(failures, []);
}

const PACKET_TARGET: Target<Packet> = {
  name: "decodePacket",
  decode: decodePacket,
  encode: encodePacket,
  valid: genPacket,
  random: (rng) => {
    const body = rng.bytes(
      rng.chance(0.1) ? rng.edge(0, 1240) : rng.below(300),
    );
    if (body.length > 0) body[0] = 0xa1;
    if (body.length > 1) body[1] = rng.below(8);
    return body;
  },
};

const MESSAGE_TARGET: Target<Message> = {
  name: "decodeMessage",
  decode: decodeMessage,
  encode: encodeMessage,
  valid: genMessage,
  random: (rng) => {
    const body = rng.bytes(
      rng.chance(0.1) ? rng.edge(0, 1210) : rng.below(200),
    );
    if (body.length > 0) body[0] = rng.pick(Object.values(MessageKind));
    return body;
  },
};

const ENDPOINT_TARGET: Target<Endpoint> = {
  name: "decodeEndpoint",
  decode: decodeEndpoint,
  encode: encodeEndpoint,
  valid: genEndpoint,
  random: (rng) => {
    const body = rng.bytes(rng.below(24));
    if (body.length > 0) body[0] = rng.pick([4, 6]);
    return body;
  },
};

const TRANSPORT_TARGET: Target<TransportView> = {
  name: "decodeTransport",
  decode: decodeTransport,
  encode: (view) => {
    const out = new Uint8Array(TRANSPORT_HEADER_SIZE + view.ciphertext.length);
    out.set(view.ciphertext, encodeTransportHeader(out, view));
    return out;
  },
  valid: (rng) => {
    const bytes = encodePacket(genTransport(rng));
    const result = decodeTransport(bytes);
    if (!result.ok) {
      throw new Error("Generated TRANSPORT packet did not decode");
    }
    return result.value;
  },
  random: (rng) => {
    const body = rng.bytes(rng.chance(0.1) ? rng.edge(0, 1240) : rng.below(64));
    if (body.length > 0) body[0] = 0xa1;
    if (body.length > 1) body[1] = rng.chance(0.8) ? 4 : rng.below(8);
    return body;
  },
  check: (input, view) => {
    if (!sameBytes(view.header, input.subarray(0, TRANSPORT_HEADER_SIZE))) {
      return "header view differs from the first 14 bytes";
    }
    if (view.ciphertext.buffer !== input.buffer) return "ciphertext was copied";
    const full = decodePacket(input);
    if (!full.ok || full.value.type !== PacketType.TRANSPORT) {
      return "decodeTransport accepted what decodePacket refuses";
    }
  },
};

const SEED = seed();

Deno.test(`decodePacket survives fuzzing (seed ${SEED})`, () =>
  fuzz(PACKET_TARGET, SEED));
Deno.test(`decodeMessage survives fuzzing (seed ${SEED})`, () =>
  fuzz(MESSAGE_TARGET, SEED));
Deno.test(`decodeEndpoint survives fuzzing (seed ${SEED})`, () =>
  fuzz(ENDPOINT_TARGET, SEED));
Deno.test(`decodeTransport survives fuzzing (seed ${SEED})`, () =>
  fuzz(TRANSPORT_TARGET, SEED));
