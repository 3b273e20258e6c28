import assert from "node:assert/strict";
import {
  CHANGE_PORT,
  changeRequestFlags,
  crc32,
  decodeStun,
  encodeBindingError,
  encodeBindingRequest,
  encodeBindingSuccess,
  isStun,
  readBindingResponse,
  STUN_MAGIC_COOKIE,
  StunAttribute,
  StunType,
} from "./stun.ts";

// RFC 5769 §2.2 and §2.3: the sample responses' transaction id and their
// XOR-MAPPED-ADDRESS values (192.0.2.1:32853 and
// 2001:db8:1234:5678:11:2233:4455:6677 port 32853).
const RFC5769_TID = Uint8Array.fromHex("b7e7a701bc34d686fa87dfae");
const RFC5769_XOR_V4 = Uint8Array.fromHex("0001a147e112a643");
const RFC5769_XOR_V6 = Uint8Array.fromHex(
  "0002a1470113a9faa5d3f179bc25f4b5bed2b9d9",
);

function responseWith(type: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(20 + 4 + value.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, StunType.BINDING_SUCCESS);
  view.setUint16(2, 4 + value.length);
  view.setUint32(4, STUN_MAGIC_COOKIE);
  out.set(RFC5769_TID, 8);
  view.setUint16(20, type);
  view.setUint16(22, value.length);
  out.set(value, 24);
  return out;
}

Deno.test("RFC 5769 XOR-MAPPED-ADDRESS vectors decode to the published addresses", () => {
  for (
    const [value, address] of [
      [RFC5769_XOR_V4, "192.0.2.1"],
      [RFC5769_XOR_V6, "2001:db8:1234:5678:11:2233:4455:6677"],
    ] as const
  ) {
    const decoded = decodeStun(
      responseWith(StunAttribute.XOR_MAPPED_ADDRESS, value),
    );
    assert.ok(decoded.ok);
    assert.deepEqual(readBindingResponse(decoded.value).mapped, {
      address,
      port: 32853,
    });
  }
});

Deno.test("our XOR-MAPPED-ADDRESS encoding gives the RFC 5769 bytes", () => {
  for (
    const [value, address] of [
      [RFC5769_XOR_V4, "192.0.2.1"],
      [RFC5769_XOR_V6, "2001:db8:1234:5678:11:2233:4455:6677"],
    ] as const
  ) {
    const request = decodeStun(encodeBindingRequest(RFC5769_TID));
    assert.ok(request.ok);
    const response = encodeBindingSuccess(request.value, {
      mapped: { address, port: 32853 },
      maxSize: 64,
    });
    const decoded = decodeStun(response);
    assert.ok(decoded.ok);
    const attr = decoded.value.attributes.find((a) =>
      a.type === StunAttribute.XOR_MAPPED_ADDRESS
    );
    assert.deepEqual(attr?.value, value);
  }
});

Deno.test("CRC-32 matches the standard check value, FINGERPRINT is right", () => {
  // The CRC-32 (ISO-HDLC) check value of "123456789" is 0xCBF43926.
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  const request = encodeBindingRequest(RFC5769_TID);
  const fp = new DataView(request.buffer).getUint32(request.length - 4);
  assert.equal(
    fp,
    (crc32(request.subarray(0, request.length - 8)) ^ 0x5354554e) >>> 0,
  );
});

Deno.test("a classic RFC 3489 request gets MAPPED-ADDRESS and its 16-byte id back", () => {
  const classic = new Uint8Array(20);
  new DataView(classic.buffer).setUint16(0, StunType.BINDING_REQUEST);
  classic.set(crypto.getRandomValues(new Uint8Array(16)), 4);
  assert.ok(isStun(classic));
  const request = decodeStun(classic);
  assert.ok(request.ok && !request.value.modern);
  const response = encodeBindingSuccess(request.value, {
    mapped: { address: "198.51.100.7", port: 4000 },
    maxSize: 32,
  });
  const decoded = decodeStun(response);
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.value.transactionId, classic.subarray(4, 20));
  assert.deepEqual(readBindingResponse(decoded.value).mapped, {
    address: "198.51.100.7",
    port: 4000,
  });
});

Deno.test("responses respect their size budget", () => {
  const request = decodeStun(encodeBindingRequest(RFC5769_TID));
  assert.ok(request.ok);
  const mapped = { address: "198.51.100.7", port: 4000 };
  const other = { address: "203.0.113.1", port: 3479 };
  const small = encodeBindingSuccess(request.value, {
    mapped,
    responseOrigin: other,
    otherAddress: other,
    maxSize: 32,
  });
  assert.equal(small.length, 32);
  const large = encodeBindingSuccess(request.value, {
    mapped,
    responseOrigin: other,
    otherAddress: other,
    maxSize: 128,
  });
  const decoded = decodeStun(large);
  assert.ok(decoded.ok);
  assert.deepEqual(readBindingResponse(decoded.value).otherAddress, other);
  const padded = encodeBindingRequest(RFC5769_TID, {
    change: CHANGE_PORT,
    padTo: 100,
  });
  assert.equal(padded.length, 100);
  const parsed = decodeStun(padded);
  assert.ok(parsed.ok);
  assert.equal(changeRequestFlags(parsed.value), CHANGE_PORT);
  assert.equal(
    encodeBindingError(parsed.value, 420, "Unknown Attribute").length <= 100,
    true,
  );
});

Deno.test("altnet packets are never taken for STUN", () => {
  const altnet = new Uint8Array(64);
  altnet[0] = 0xa1;
  assert.equal(isStun(altnet), false);
});
