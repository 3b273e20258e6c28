import assert from "node:assert/strict";
import {
  CELL_BODY_SIZE,
  MAX_MESSAGE_SIZE,
  MessageKind,
  ReasonCode,
} from "./constants.ts";
import { decodeMessage, encodeMessage, type Message } from "./message.ts";

const V4 = { address: "192.0.2.1", port: 1000 };
const V6 = { address: "2001:db8::1", port: 2000 };

function filled(length: number, start = 1): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (start + i) & 0xff);
}

function code(input: Uint8Array): string {
  const result = decodeMessage(input);
  return result.ok ? "ok" : result.error.code;
}

function roundTrip(message: Message): Uint8Array {
  const encoded = encodeMessage(message);
  assert.ok(encoded.length <= MAX_MESSAGE_SIZE);
  assert.deepEqual(decodeMessage(encoded), { ok: true, value: message });
  return encoded;
}

const ALL: Message[] = [
  { kind: MessageKind.PADDING, size: 1 },
  { kind: MessageKind.PADDING, size: MAX_MESSAGE_SIZE },
  { kind: MessageKind.REGISTER, name: "alice", candidates: [V4, V6] },
  { kind: MessageKind.REGISTER, name: "a", candidates: [] },
  {
    kind: MessageKind.REGISTERED,
    observed: V6,
    keepaliveMs: 25_000,
    lifetimeMs: 0xffffffff,
  },
  {
    kind: MessageKind.REFUSED,
    requestKind: MessageKind.REGISTER,
    reason: ReasonCode.NAME_TAKEN,
    limit: 0,
    text: "name taken — try another",
  },
  {
    kind: MessageKind.REFUSED,
    requestKind: 0xff,
    reason: 10,
    limit: 5,
    text: "",
  },
  { kind: MessageKind.KEEPALIVE, candidates: [V4] },
  { kind: MessageKind.CONNECT, requestId: 42, target: "bob.home_1-x" },
  {
    kind: MessageKind.RENDEZVOUS,
    requestId: 42,
    circuitId: 0xfedcba9876543210n,
    peerKey: filled(32),
    peerName: "bob",
    startInMs: 250,
    candidates: Array(9).fill(V6),
  },
  { kind: MessageKind.FORWARD, circuitId: 1n, packet: filled(100) },
  {
    kind: MessageKind.CIRCUIT_CLOSED,
    circuitId: 0xffff_ffff_ffff_ffffn,
    reason: ReasonCode.CIRCUIT_BYTES,
  },
  { kind: MessageKind.UNREGISTER },
  { kind: MessageKind.PATH_PROBE, probeId: 7n },
  { kind: MessageKind.PATH_PROBE_ACK, probeId: 7n, observed: V4 },
  {
    kind: MessageKind.STREAM_DATA,
    streamId: 3,
    fin: false,
    offset: 1_000_000,
    data: filled(500),
  },
  {
    kind: MessageKind.STREAM_DATA,
    streamId: 0xffff,
    fin: true,
    offset: 0,
    data: new Uint8Array(),
  },
  {
    kind: MessageKind.STREAM_ACK,
    streamId: 3,
    cumulative: 100,
    window: 65536,
    ranges: [{ start: 200, end: 300 }, { start: 301, end: 302 }],
  },
  {
    kind: MessageKind.STREAM_ACK,
    streamId: 0,
    cumulative: 0,
    window: 0,
    ranges: [],
  },
  { kind: MessageKind.CLOSE, reason: ReasonCode.NORMAL, text: "bye" },
  { kind: MessageKind.NAT_INFO, mapping: 3, birthdaySockets: 256 },
  {
    kind: MessageKind.CELL,
    circuitId: 0x01020304,
    command: 9,
    body: filled(CELL_BODY_SIZE),
  },
];

Deno.test("every message kind round-trips", () => {
  const kinds = new Set<number>();
  for (const message of ALL) {
    roundTrip(message);
    kinds.add(message.kind);
  }
  assert.equal(kinds.size, Object.keys(MessageKind).length);
});

Deno.test("messages are laid out as the spec says", () => {
  assert.deepEqual(
    [...encodeMessage({
      kind: MessageKind.CONNECT,
      requestId: 0x01020304,
      target: "ab",
    })],
    [0x14, 1, 2, 3, 4, 2, 0x61, 0x62],
  );
  assert.deepEqual(
    [...encodeMessage({ kind: MessageKind.CLOSE, reason: 12, text: "é" })],
    [0x24, 12, 2, 0xc3, 0xa9],
  );
  assert.deepEqual(
    [
      ...encodeMessage({
        kind: MessageKind.STREAM_DATA,
        streamId: 2,
        fin: true,
        offset: 2 ** 32 + 1,
        data: Uint8Array.of(9),
      }),
    ],
    [0x22, 0, 2, 1, 0, 0, 0, 1, 0, 0, 0, 1, 9],
  );
  assert.equal(
    encodeMessage({
      kind: MessageKind.CELL,
      circuitId: 1,
      command: 1,
      body: new Uint8Array(1024),
    })
      .length,
    1030,
  );
});

Deno.test("padding, fixed sizes, trailing bytes and unknown kinds are strict", () => {
  assert.equal(code(new Uint8Array()), "truncated");
  assert.equal(code(Uint8Array.of(0, 0, 0)), "ok");
  assert.equal(code(Uint8Array.of(0, 0, 1)), "bad-field");
  assert.equal(code(Uint8Array.of(MessageKind.UNREGISTER, 0)), "bad-length");
  assert.equal(code(Uint8Array.of(0x19)), "bad-type");
  assert.equal(code(Uint8Array.of(0x01)), "bad-type");
  assert.equal(code(Uint8Array.of(0xff)), "bad-type");
  const cell = ALL.find((m) => m.kind === MessageKind.CELL)!;
  const encoded = encodeMessage(cell);
  assert.equal(code(encoded.subarray(0, encoded.length - 1)), "truncated");
  const longer = new Uint8Array(encoded.length + 1);
  longer.set(encoded);
  assert.equal(code(longer), "bad-length");
  assert.throws(
    () => encodeMessage({ ...cell, body: new Uint8Array(1023) } as Message),
    RangeError,
  );
  for (const message of ALL) {
    const bytes = encodeMessage(message);
    if (message.kind === MessageKind.PADDING) continue;
    const hasRest = message.kind === MessageKind.FORWARD ||
      message.kind === MessageKind.STREAM_DATA;
    const extended = new Uint8Array(bytes.length + 1);
    extended.set(bytes);
    assert.equal(
      code(extended),
      hasRest ? "ok" : "bad-length",
      `kind ${message.kind}`,
    );
  }
});

Deno.test("NAT_INFO is laid out as the spec says and refuses bad fields", () => {
  assert.deepEqual(
    [...encodeMessage({
      kind: MessageKind.NAT_INFO,
      mapping: 2,
      birthdaySockets: 0x0102,
    })],
    [0x25, 2, 0, 1, 2],
  );
  assert.equal(code(Uint8Array.of(0x25, 4, 0, 0, 0)), "bad-field");
  assert.equal(code(Uint8Array.of(0x25, 3, 1, 0, 0)), "bad-field");
  assert.equal(code(Uint8Array.of(0x25, 3, 0, 4, 1)), "bad-field");
  assert.equal(code(Uint8Array.of(0x25, 3, 0, 4, 0)), "ok");
  assert.equal(code(Uint8Array.of(0x25, 3, 0, 4)), "truncated");
  assert.throws(
    () =>
      encodeMessage({
        kind: MessageKind.NAT_INFO,
        mapping: 3,
        birthdaySockets: 1025,
      }),
    RangeError,
  );
});

Deno.test("decoded byte fields are views into the input", () => {
  const encoded = encodeMessage({
    kind: MessageKind.FORWARD,
    circuitId: 1n,
    packet: filled(30),
  });
  const result = decodeMessage(encoded);
  assert.ok(result.ok && result.value.kind === MessageKind.FORWARD);
  assert.equal(result.value.packet.buffer, encoded.buffer);
  assert.equal(result.value.packet.byteOffset, 9);
});

Deno.test("encodeMessage rejects invalid objects with clear errors", () => {
  assert.throws(() => encodeMessage({ kind: 0x19 } as unknown as Message), {
    name: "TypeError",
    message: "Cannot encode message as its kind is unknown: 25",
  });
  assert.throws(() => encodeMessage(null as unknown as Message), TypeError);
  assert.throws(
    () =>
      encodeMessage({
        kind: MessageKind.CONNECT,
        requestId: 1,
        target: "a".repeat(40),
      }),
    {
      name: "RangeError",
      message: "Cannot encode target as it is not 1–32 bytes long: 40 bytes",
    },
  );
  assert.throws(
    () => encodeMessage({ kind: MessageKind.PATH_PROBE, probeId: 1n << 64n }),
    RangeError,
  );
  assert.throws(
    () =>
      encodeMessage({
        kind: MessageKind.STREAM_DATA,
        streamId: 1,
        fin: 1 as unknown as boolean,
        offset: 0,
        data: new Uint8Array(),
      }),
    TypeError,
  );
  assert.throws(
    () =>
      encodeMessage({
        kind: MessageKind.REGISTER,
        name: "a",
        candidates: [{ address: "1.2.3.4", port: 0 }],
      }),
    {
      name: "RangeError",
      message: "Cannot encode candidates[0] as its port is 0",
    },
  );
});
