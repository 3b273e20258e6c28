import assert from "node:assert/strict";
import {
  COOKIE_REPLY_SIZE,
  INIT_HEADER_SIZE,
  INIT_MIN_SIZE,
  isReasonCode,
  isSuite,
  MAX_FORWARD_PACKET_SIZE,
  MAX_INIT_NOISE_LENGTH,
  MAX_MESSAGE_SIZE,
  MAX_PACKET_SIZE,
  MAX_RELAYED_MESSAGE_SIZE,
  MAX_REPLY_NOISE_LENGTH,
  MessageKind,
  PacketType,
  PING_MIN_SIZE,
  PROTOCOL_VERSION,
  ReasonCode,
  REPLY_HEADER_SIZE,
  Suite,
  TRANSPORT_HEADER_SIZE,
} from "./constants.ts";

Deno.test("sizes follow from the spec's arithmetic", () => {
  assert.equal(MAX_PACKET_SIZE, 1280 - 40 - 8);
  assert.equal(TRANSPORT_HEADER_SIZE, 1 + 1 + 4 + 8);
  assert.equal(INIT_HEADER_SIZE, 1 + 1 + 4 + 16 + 1 + 2);
  assert.equal(REPLY_HEADER_SIZE, 1 + 1 + 4 + 4 + 2);
  assert.equal(COOKIE_REPLY_SIZE, 1 + 1 + 4 + 16 + 16);
  assert.equal(MAX_INIT_NOISE_LENGTH, 1207);
  assert.equal(MAX_REPLY_NOISE_LENGTH, 1220);
  assert.equal(MAX_MESSAGE_SIZE, 1202);
  assert.equal(MAX_FORWARD_PACKET_SIZE, 1193);
  assert.equal(MAX_RELAYED_MESSAGE_SIZE, 1163);
  // §1.1: nothing sent back before an address is proven outgrows the init.
  assert.ok(COOKIE_REPLY_SIZE < INIT_MIN_SIZE);
  // §1.1: a PONG (at most 2 + 8 + 19 bytes) never outgrows a PING.
  assert.ok(2 + 8 + 19 <= PING_MIN_SIZE);
});

Deno.test("the version byte is outside the RFC 7983 ranges of STUN, ZRTP, DTLS and TURN", () => {
  assert.ok(PROTOCOL_VERSION > 79);
});

Deno.test("numbers are unique and match the tables", () => {
  const types = Object.values(PacketType);
  assert.deepEqual(types, [1, 2, 3, 4, 5, 6]);
  const kinds = Object.values(MessageKind);
  assert.equal(new Set(kinds).size, kinds.length);
  for (const kind of kinds) {
    assert.ok(kind === 0 || (kind >= 0x10 && kind <= 0x3f), `kind ${kind}`);
  }
  assert.deepEqual(Object.values(ReasonCode), [
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
  ]);
  assert.deepEqual(Object.values(Suite), [1, 2, 3]);
});

Deno.test("isReasonCode and isSuite accept exactly the defined numbers", () => {
  for (let n = -1; n < 300; n++) {
    assert.equal(isReasonCode(n), n >= 1 && n <= 12, `reason ${n}`);
    assert.equal(isSuite(n), n >= 1 && n <= 3, `suite ${n}`);
  }
  assert.equal(isReasonCode(1.5), false);
});
