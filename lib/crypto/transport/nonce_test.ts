import assert from "node:assert/strict";
import { MAX_COUNTER } from "./constants.ts";
import { encodeNonce, NonceBuffer } from "./nonce.ts";

Deno.test("nonce is four zero bytes then the counter little-endian", () => {
  assert.deepEqual(
    encodeNonce(0x0102030405060708n),
    new Uint8Array([0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1]),
  );
  assert.deepEqual(encodeNonce(0n), new Uint8Array(12));
  assert.deepEqual(
    encodeNonce(MAX_COUNTER),
    new Uint8Array([0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255]),
  );
});

Deno.test("nonce buffer rewrites the same bytes, zero prefix included", () => {
  const nonce = new NonceBuffer();
  const first = nonce.write(MAX_COUNTER);
  nonce.bytes.fill(0xee); // as if an AEAD had scribbled on it
  const second = nonce.write(2n);
  assert.equal(first, second);
  assert.deepEqual(
    second,
    new Uint8Array([0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]),
  );
});

Deno.test("nonce refuses counters that would wrap", () => {
  assert.throws(() => encodeNonce(1n << 64n), RangeError);
  assert.throws(() => encodeNonce(-1n), RangeError);
  assert.throws(() => new NonceBuffer().write(-1n), RangeError);
});
