// Every field limit of docs/PROTOCOL.md §1.2, tested at its edge.

import assert from "node:assert/strict";
import {
  MAX_FORWARD_PACKET_SIZE,
  MAX_MESSAGE_SIZE,
  MAX_STREAM_OFFSET,
  MessageKind,
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

/** Encode `message`, then replace its bytes from `at` on with `tail`. */
function patched(message: Message, at: number, ...tail: number[]): Uint8Array {
  const encoded = encodeMessage(message);
  const out = new Uint8Array(at + tail.length);
  out.set(encoded.subarray(0, at));
  out.set(tail, at);
  return out;
}

Deno.test("names of 1 and 32 bytes pass; 0, 33 and bad characters fail", () => {
  const connect = (target: string): Message => ({
    kind: MessageKind.CONNECT,
    requestId: 1,
    target,
  });
  roundTrip(connect("a".repeat(32)));
  roundTrip(connect("9"));
  roundTrip(connect("0.-_z"));
  assert.throws(() => encodeMessage(connect("a".repeat(33))), RangeError);
  assert.throws(() => encodeMessage(connect("")), RangeError);
  for (const bad of ["Alice", ".a", "-a", "_a", "a b", "a/b", "é"]) {
    assert.throws(() => encodeMessage(connect(bad)), TypeError, bad);
  }
  const base = encodeMessage(connect("ab"));
  assert.equal(
    code(patched(connect("ab"), 5, 33, ...new Array(33).fill(0x61))),
    "bad-length",
  );
  assert.equal(code(patched(connect("ab"), 5, 0)), "bad-length");
  assert.equal(code(patched(connect("ab"), 5, 2, 0x61)), "truncated");
  assert.equal(code(patched(connect("ab"), 5, 2, 0x61, 0x41)), "bad-field");
  assert.equal(code(patched(connect("ab"), 5, 2, 0x2e, 0x61)), "bad-field");
  assert.equal(code(patched(connect("ab"), 5, 2, 0x61, 0x80)), "bad-field");
  assert.equal(code(base), "ok");
});

Deno.test("texts of 200 bytes pass, 201 fail, and must be valid UTF-8", () => {
  const close = (text: string): Message => ({
    kind: MessageKind.CLOSE,
    reason: 12,
    text,
  });
  roundTrip(close("x".repeat(200)));
  roundTrip(close("é".repeat(100)));
  roundTrip(close("\u{1F600}".repeat(50)));
  roundTrip(close("\uFEFFleading byte-order mark is kept"));
  roundTrip(close("nul\u0000inside"));
  assert.throws(() => encodeMessage(close("x".repeat(201))), {
    name: "RangeError",
    message: "Cannot encode text as it is too long: 201 bytes",
  });
  assert.throws(() => encodeMessage(close("é".repeat(100) + "x")), RangeError);
  assert.throws(() => encodeMessage(close("lone \uD800")), TypeError);

  assert.equal(
    code(patched(close(""), 2, 201, ...new Array(201).fill(0x78))),
    "bad-length",
  );
  assert.equal(
    code(patched(close(""), 2, 200, ...new Array(200).fill(0x78))),
    "ok",
  );
  const invalid = [
    [0x80], // continuation byte alone
    [0xc3], // cut sequence
    [0xc0, 0x80], // overlong NUL
    [0xe0, 0x80, 0x80], // overlong
    [0xed, 0xa0, 0x80], // UTF-16 surrogate
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    [0xff],
  ];
  for (const sequence of invalid) {
    assert.equal(
      code(patched(close(""), 2, sequence.length, ...sequence)),
      "bad-field",
    );
  }
});

Deno.test("candidate counts are limited to 8, and 9 for RENDEZVOUS", () => {
  const register = (n: number): Message => ({
    kind: MessageKind.REGISTER,
    name: "a",
    candidates: Array(n).fill(V6),
  });
  roundTrip(register(8));
  assert.throws(() => encodeMessage(register(9)), RangeError);
  const nine = encodeMessage(register(8));
  const tooMany = new Uint8Array(nine.length + 19);
  tooMany.set(nine);
  tooMany.set(encodeMessage(register(1)).subarray(4), nine.length);
  tooMany[3] = 9;
  assert.equal(code(tooMany), "bad-length");
  tooMany[3] = 8;
  assert.equal(code(tooMany), "bad-length"); // now 19 trailing bytes
  assert.equal(code(nine.subarray(0, nine.length - 1)), "truncated");

  const keepalive: Message = {
    kind: MessageKind.KEEPALIVE,
    candidates: Array(9).fill(V4),
  };
  assert.throws(() => encodeMessage(keepalive), RangeError);
  const rendezvous: Message = {
    kind: MessageKind.RENDEZVOUS,
    requestId: 1,
    circuitId: 2n,
    peerKey: filled(32),
    peerName: "b",
    startInMs: 0,
    candidates: Array(9).fill(V4),
  };
  roundTrip(rendezvous);
  assert.throws(
    () =>
      encodeMessage(
        { ...rendezvous, candidates: Array(10).fill(V4) } as Message,
      ),
    RangeError,
  );
});

Deno.test("FORWARD carries 1 to 1193 bytes and a message is at most 1202", () => {
  const forward = (n: number): Message => ({
    kind: MessageKind.FORWARD,
    circuitId: 5n,
    packet: filled(n),
  });
  assert.equal(
    roundTrip(forward(MAX_FORWARD_PACKET_SIZE)).length,
    MAX_MESSAGE_SIZE,
  );
  roundTrip(forward(1));
  assert.throws(
    () => encodeMessage(forward(MAX_FORWARD_PACKET_SIZE + 1)),
    RangeError,
  );
  assert.throws(() => encodeMessage(forward(0)), RangeError);
  assert.equal(code(encodeMessage(forward(1)).subarray(0, 9)), "bad-length");
  const over = new Uint8Array(MAX_MESSAGE_SIZE + 1);
  over[0] = MessageKind.FORWARD;
  assert.equal(code(over), "too-large");
  assert.equal(code(new Uint8Array(MAX_MESSAGE_SIZE + 1)), "too-large");
  assert.throws(
    () =>
      encodeMessage({ kind: MessageKind.PADDING, size: MAX_MESSAGE_SIZE + 1 }),
    RangeError,
  );
  assert.throws(
    () => encodeMessage({ kind: MessageKind.PADDING, size: 0 }),
    RangeError,
  );
});

Deno.test("STREAM_DATA checks flags and keeps offsets below 2^53", () => {
  const data = (offset: number, length: number, fin = false): Message => ({
    kind: MessageKind.STREAM_DATA,
    streamId: 1,
    fin,
    offset,
    data: filled(length),
  });
  roundTrip(data(MAX_STREAM_OFFSET, 0, true));
  roundTrip(data(MAX_STREAM_OFFSET - 10, 10));
  roundTrip(data(0, MAX_MESSAGE_SIZE - 12));
  assert.throws(
    () => encodeMessage(data(MAX_STREAM_OFFSET - 9, 10)),
    RangeError,
  );
  assert.throws(() => encodeMessage(data(2 ** 53, 0)), RangeError);
  assert.throws(() => encodeMessage(data(-1, 0)), RangeError);
  assert.throws(
    () => encodeMessage(data(0, MAX_MESSAGE_SIZE - 11)),
    RangeError,
  );
  const ok = encodeMessage(data(0, 1));
  for (const flags of [2, 0x80, 0xff]) {
    const bad = ok.slice();
    bad[3] = flags;
    assert.equal(code(bad), "bad-field");
  }
  const at2p53 = patched(data(0, 0), 4, 0x00, 0x20, 0, 0, 0, 0, 0, 0);
  assert.equal(code(at2p53), "bad-field");
  const endTooFar = patched(
    data(0, 0),
    4,
    0x00,
    0x1f,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xaa,
  );
  assert.equal(code(endTooFar), "bad-field");
  assert.equal(code(ok.subarray(0, 11)), "truncated");
});

Deno.test("STREAM_ACK ranges must be ascending, non-empty and not touching", () => {
  const ack = (cumulative: number, ranges: [number, number][]): Message => ({
    kind: MessageKind.STREAM_ACK,
    streamId: 1,
    cumulative,
    window: 10,
    ranges: ranges.map(([start, end]) => ({ start, end })),
  });
  const sixteen = Array.from(
    { length: 16 },
    (_, i) => [10 * i + 1, 10 * i + 5] as [number, number],
  );
  roundTrip(ack(0, sixteen));
  roundTrip(
    ack(MAX_STREAM_OFFSET - 3, [[MAX_STREAM_OFFSET - 2, MAX_STREAM_OFFSET]]),
  );
  assert.throws(
    () => encodeMessage(ack(0, [...sixteen, [500, 501]])),
    RangeError,
  );
  for (
    const bad of [
      ack(10, [[10, 12]]), // starts at cumulative
      ack(10, [[12, 12]]), // empty
      ack(10, [[13, 12]]), // reversed
      ack(10, [[12, 14], [14, 16]]), // touching
      ack(10, [[12, 14], [13, 16]]), // overlapping
      ack(10, [[20, 24], [12, 14]]), // descending
      ack(10, [[12, 2 ** 53]]),
    ]
  ) {
    assert.throws(() => encodeMessage(bad), RangeError);
  }
  // The same mistakes on the wire: patch a valid two-range encoding.
  const good = encodeMessage(ack(10, [[12, 14], [16, 18]]));
  const setRange = (i: number, start: number, end: number) => {
    const copy = good.slice();
    const view = new DataView(copy.buffer);
    view.setBigUint64(16 + 16 * i, BigInt(start));
    view.setBigUint64(24 + 16 * i, BigInt(end));
    return copy;
  };
  assert.equal(code(setRange(0, 10, 14)), "bad-field");
  assert.equal(code(setRange(0, 12, 12)), "bad-field");
  assert.equal(code(setRange(1, 14, 18)), "bad-field");
  assert.equal(code(setRange(1, 15, 18)), "ok");
  assert.equal(code(setRange(1, 13, 18)), "bad-field");
  assert.equal(code(setRange(1, 16, 2 ** 53)), "bad-field");
  const count17 = good.slice();
  count17[15] = 17;
  assert.equal(code(count17), "bad-length");
  count17[15] = 3;
  assert.equal(code(count17), "truncated");
  const cumulativeTooBig = good.slice();
  cumulativeTooBig[3] = 0x00;
  cumulativeTooBig[4] = 0x20;
  assert.equal(code(cumulativeTooBig), "bad-field");
});

Deno.test("reasons must be known codes; REFUSED's request kind is any byte", () => {
  for (const reason of [1, 12]) {
    roundTrip({ kind: MessageKind.CLOSE, reason, text: "" } as Message);
  }
  for (const reason of [0, 13, 255]) {
    assert.equal(
      code(Uint8Array.of(MessageKind.CLOSE, reason, 0)),
      "bad-field",
    );
    assert.throws(
      () =>
        encodeMessage(
          { kind: MessageKind.CLOSE, reason, text: "" } as unknown as Message,
        ),
      RangeError,
    );
  }
  assert.equal(
    code(Uint8Array.of(MessageKind.CIRCUIT_CLOSED, 0, 0, 0, 0, 0, 0, 0, 1, 0)),
    "bad-field",
  );
  assert.equal(
    code(Uint8Array.of(MessageKind.REFUSED, 0x99, 5, 0, 0, 0, 1, 0)),
    "ok",
  );
});
