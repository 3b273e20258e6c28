import assert from "node:assert/strict";
import {
  INIT_MIN_SIZE,
  MAX_INIT_NOISE_LENGTH,
  MAX_PACKET_SIZE,
  MAX_REPLY_NOISE_LENGTH,
  PacketType,
  PING_MIN_SIZE,
  Suite,
  TRANSPORT_HEADER_SIZE,
} from "./constants.ts";
import { decodePacket, encodePacket, type Packet } from "./packet.ts";
import { decodeTransport } from "./transport.ts";

function filled(length: number, start = 1): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (start + i) & 0xff);
}

function code(input: Uint8Array): string {
  const result = decodePacket(input);
  return result.ok ? "ok" : result.error.code;
}

function roundTrip(packet: Packet): Uint8Array {
  const encoded = encodePacket(packet);
  assert.deepEqual(decodePacket(encoded), { ok: true, value: packet });
  return encoded;
}

function init(noiseLength: number): Packet {
  return {
    type: PacketType.HANDSHAKE_INIT,
    senderIndex: 0xdeadbeef,
    cookie: filled(16, 100),
    suite: Suite.XX,
    noise: filled(noiseLength),
  };
}

Deno.test("every packet type round-trips", () => {
  roundTrip(init(32));
  roundTrip({
    type: PacketType.HANDSHAKE_REPLY,
    senderIndex: 1,
    receiverIndex: 0xffffffff,
    noise: filled(48),
  });
  const cookieReply = roundTrip({
    type: PacketType.COOKIE_REPLY,
    receiverIndex: 7,
    echo: filled(16, 10),
    cookie: filled(16, 50),
  });
  assert.equal(cookieReply.length, 38);
  roundTrip({
    type: PacketType.TRANSPORT,
    receiverIndex: 9,
    counter: 0xffff_ffff_ffff_ffffn,
    ciphertext: filled(16),
  });
  assert.equal(
    roundTrip({ type: PacketType.PING, nonce: 0x0102030405060708n }).length,
    PING_MIN_SIZE,
  );
  roundTrip({
    type: PacketType.PONG,
    nonce: 0n,
    observed: { address: "2001:db8::7", port: 4000 },
  });
  roundTrip({
    type: PacketType.PONG,
    nonce: 1n,
    observed: { address: "198.51.100.4", port: 1 },
  });
});

Deno.test("packets are laid out as the spec says", () => {
  const ping = encodePacket({ type: PacketType.PING, nonce: 0x0102n });
  assert.deepEqual([...ping.subarray(0, 12)], [
    0xa1,
    5,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
    2,
    0,
    0,
  ]);
  const transport = encodePacket({
    type: PacketType.TRANSPORT,
    receiverIndex: 0x01020304,
    counter: 0x05060708090a0b0cn,
    ciphertext: new Uint8Array(16),
  });
  assert.deepEqual(
    [...transport.subarray(0, TRANSPORT_HEADER_SIZE)],
    [0xa1, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  );
  const initPacket = encodePacket(init(3));
  assert.deepEqual([...initPacket.subarray(21, 28)], [115, 2, 0, 3, 1, 2, 3]);
});

Deno.test("HANDSHAKE_INIT is padded to exactly 256 bytes and no further", () => {
  assert.equal(encodePacket(init(0)).length, INIT_MIN_SIZE);
  assert.equal(encodePacket(init(231)).length, INIT_MIN_SIZE);
  assert.equal(encodePacket(init(232)).length, INIT_MIN_SIZE + 1);
  const full = roundTrip(init(MAX_INIT_NOISE_LENGTH));
  assert.equal(full.length, MAX_PACKET_SIZE);
  assert.throws(
    () => encodePacket(init(MAX_INIT_NOISE_LENGTH + 1)),
    RangeError,
  );

  const packet = encodePacket(init(32));
  assert.equal(code(packet.subarray(0, 255)), "bad-length");
  const longer = new Uint8Array(257);
  longer.set(packet);
  assert.equal(code(longer), "bad-length");
  const dirty = packet.slice();
  dirty[255] = 1;
  assert.equal(code(dirty), "bad-field");
  // A long Noise message needs no padding and allows no trailing byte.
  const big = encodePacket(init(300));
  const bigger = new Uint8Array(big.length + 1);
  bigger.set(big);
  assert.equal(code(bigger), "bad-length");
  assert.equal(code(big.subarray(0, big.length - 1)), "truncated");
});

Deno.test("HANDSHAKE_INIT rejects unknown suites", () => {
  const packet = encodePacket(init(32));
  for (const suite of [0, 4, 255]) {
    const copy = packet.slice();
    copy[22] = suite;
    assert.equal(code(copy), "bad-field");
  }
  assert.throws(
    () => encodePacket({ ...init(1), suite: 4 } as unknown as Packet),
    RangeError,
  );
});

Deno.test("a 1232-byte packet is accepted and a 1233-byte one is too large", () => {
  const max = roundTrip({
    type: PacketType.HANDSHAKE_REPLY,
    senderIndex: 1,
    receiverIndex: 2,
    noise: filled(MAX_REPLY_NOISE_LENGTH),
  });
  assert.equal(max.length, MAX_PACKET_SIZE);
  const transport = roundTrip({
    type: PacketType.TRANSPORT,
    receiverIndex: 1,
    counter: 2n,
    ciphertext: filled(MAX_PACKET_SIZE - TRANSPORT_HEADER_SIZE),
  });
  assert.equal(transport.length, MAX_PACKET_SIZE);
  const over = new Uint8Array(MAX_PACKET_SIZE + 1);
  over.set(transport);
  assert.equal(code(over), "too-large");
  assert.equal(decodeTransport(over).ok, false);
  assert.throws(
    () =>
      encodePacket({
        type: PacketType.TRANSPORT,
        receiverIndex: 1,
        counter: 2n,
        ciphertext: filled(MAX_PACKET_SIZE - TRANSPORT_HEADER_SIZE + 1),
      }),
    RangeError,
  );
});

Deno.test("decodePacket reports version, type and size problems by code", () => {
  assert.equal(code(new Uint8Array()), "truncated");
  assert.equal(code(Uint8Array.of(0xa1)), "truncated");
  assert.equal(code(Uint8Array.of(0x00, 0x01)), "bad-version");
  assert.equal(code(Uint8Array.of(0xa2)), "bad-version");
  assert.equal(code(Uint8Array.of(0xa1, 0x00)), "bad-type");
  assert.equal(code(Uint8Array.of(0xa1, 0x07)), "bad-type");
  assert.equal(code(Uint8Array.of(0xa1, 0x03, 0, 0)), "truncated");
  const cookieReply = new Uint8Array(39);
  cookieReply.set([0xa1, 0x03]);
  assert.equal(code(cookieReply.subarray(0, 38)), "ok");
  assert.equal(code(cookieReply), "bad-length");
  const reply = encodePacket({
    type: PacketType.HANDSHAKE_REPLY,
    senderIndex: 1,
    receiverIndex: 2,
    noise: filled(5),
  });
  const replyLonger = new Uint8Array(reply.length + 1);
  replyLonger.set(reply);
  assert.equal(code(replyLonger), "bad-length");
  assert.equal(code(reply.subarray(0, reply.length - 1)), "truncated");
});

Deno.test("PING must be exactly 64 bytes of zero padding; PONG has no tail", () => {
  const ping = encodePacket({ type: PacketType.PING, nonce: 5n });
  assert.equal(code(ping.subarray(0, 63)), "bad-length");
  assert.equal(code(ping.subarray(0, 9)), "truncated");
  const longer = new Uint8Array(65);
  longer.set(ping);
  assert.equal(code(longer), "bad-length");
  const dirty = ping.slice();
  dirty[40] = 0x80;
  assert.equal(code(dirty), "bad-field");

  const pong = encodePacket({
    type: PacketType.PONG,
    nonce: 5n,
    observed: { address: "192.0.2.1", port: 80 },
  });
  assert.ok(pong.length <= PING_MIN_SIZE);
  const pongLonger = new Uint8Array(pong.length + 1);
  pongLonger.set(pong);
  assert.equal(code(pongLonger), "bad-length");
  assert.equal(code(pong.subarray(0, pong.length - 1)), "truncated");
});

Deno.test("TRANSPORT needs a whole AEAD tag", () => {
  const packet = encodePacket({
    type: PacketType.TRANSPORT,
    receiverIndex: 1,
    counter: 1n,
    ciphertext: new Uint8Array(16),
  });
  assert.equal(packet.length, 30);
  assert.equal(code(packet), "ok");
  assert.equal(code(packet.subarray(0, 29)), "truncated");
  assert.throws(
    () =>
      encodePacket({
        type: PacketType.TRANSPORT,
        receiverIndex: 1,
        counter: 1n,
        ciphertext: new Uint8Array(15),
      }),
    RangeError,
  );
});

Deno.test("encodePacket rejects invalid objects with clear errors", () => {
  assert.throws(
    () => encodePacket({ type: 9 } as unknown as Packet),
    {
      name: "TypeError",
      message: "Cannot encode packet as its type is unknown: 9",
    },
  );
  assert.throws(
    () => encodePacket({ ...init(1), cookie: new Uint8Array(15) } as Packet),
    {
      name: "RangeError",
      message: "Cannot encode cookie as it is not 16 bytes long: 15 bytes",
    },
  );
  assert.throws(
    () => encodePacket({ ...init(1), senderIndex: -1 } as Packet),
    RangeError,
  );
  assert.throws(
    () =>
      encodePacket({ type: PacketType.PING, nonce: 1 } as unknown as Packet),
    TypeError,
  );
  assert.throws(
    () =>
      encodePacket({
        type: PacketType.PONG,
        nonce: 1n,
        observed: { address: "::ffff:1.2.3.4", port: 1 },
      }),
    TypeError,
  );
});
