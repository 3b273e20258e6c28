import assert from "node:assert/strict";
import { PacketType, TRANSPORT_HEADER_SIZE } from "./constants.ts";
import { encodePacket } from "./packet.ts";
import { decodeTransport, encodeTransportHeader } from "./transport.ts";

function filled(length: number, start = 1): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (start + i) & 0xff);
}

Deno.test("decodeTransport returns views into the input, not copies", () => {
  const packet = encodePacket({
    type: PacketType.TRANSPORT,
    receiverIndex: 0xcafe,
    counter: 1n << 40n,
    ciphertext: filled(20),
  });
  const result = decodeTransport(packet);
  assert.ok(result.ok);
  const view = result.value;
  assert.equal(view.receiverIndex, 0xcafe);
  assert.equal(view.counter, 1n << 40n);
  assert.equal(view.header.buffer, packet.buffer);
  assert.equal(view.header.byteOffset, 0);
  assert.equal(view.header.length, TRANSPORT_HEADER_SIZE);
  assert.equal(view.ciphertext.buffer, packet.buffer);
  assert.equal(view.ciphertext.byteOffset, TRANSPORT_HEADER_SIZE);
  assert.deepEqual(view.ciphertext, filled(20));

  const ping = encodePacket({ type: PacketType.PING, nonce: 1n });
  const notTransport = decodeTransport(ping);
  assert.equal(notTransport.ok ? "ok" : notTransport.error.code, "bad-type");
});

Deno.test("encodeTransportHeader writes in place at an offset", () => {
  const buffer = new Uint8Array(4 + TRANSPORT_HEADER_SIZE + 16).fill(0xee);
  const end = encodeTransportHeader(
    buffer,
    { receiverIndex: 0x01020304, counter: 0x1112131415161718n },
    { offset: 4 },
  );
  assert.equal(end, 4 + TRANSPORT_HEADER_SIZE);
  assert.deepEqual(
    [...buffer.subarray(0, end + 1)],
    [
      0xee,
      0xee,
      0xee,
      0xee,
      0xa1,
      4,
      1,
      2,
      3,
      4,
      0x11,
      0x12,
      0x13,
      0x14,
      0x15,
      0x16,
      0x17,
      0x18,
      0xee,
    ],
  );
  const result = decodeTransport(buffer.subarray(4));
  assert.ok(result.ok);
  assert.equal(result.value.counter, 0x1112131415161718n);

  const header = { receiverIndex: 1, counter: 1n };
  assert.throws(
    () => encodeTransportHeader(new Uint8Array(13), header),
    RangeError,
  );
  assert.throws(
    () => encodeTransportHeader(new Uint8Array(14), header, { offset: 1 }),
    RangeError,
  );
  assert.throws(
    () =>
      encodeTransportHeader(buffer, { receiverIndex: 1, counter: 1n << 64n }),
    RangeError,
  );
  assert.throws(
    () => encodeTransportHeader(buffer, { receiverIndex: 1, counter: -1n }),
    RangeError,
  );
  assert.throws(
    () =>
      encodeTransportHeader(buffer, { receiverIndex: 2 ** 32, counter: 0n }),
    RangeError,
  );
});
