import assert from "node:assert/strict";
import {
  DH_25519,
  DH_25519_NOBLE,
  DH_448,
  DH_448_NOBLE,
  type DhFunction,
} from "./dh.ts";
import { NoiseError } from "./noise_error.ts";

const pairs: [DhFunction, DhFunction][] = [[DH_25519, DH_25519_NOBLE], [
  DH_448,
  DH_448_NOBLE,
]];

function littleEndian(value: bigint, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++, value >>= 8n) {
    bytes[i] = Number(value & 0xffn);
  }
  return bytes;
}

Deno.test("native DH matches the pure-JavaScript DH on random keys", () => {
  for (const [native, noble] of pairs) {
    for (let i = 0; i < 50; i++) {
      const privateKey = crypto.getRandomValues(new Uint8Array(native.dhLen));
      // Random bytes, not a real public key: covers non-canonical inputs too.
      const publicKey = crypto.getRandomValues(new Uint8Array(native.dhLen));
      assert.deepEqual(
        native.keyPairFromPrivateKey(privateKey),
        noble.keyPairFromPrivateKey(privateKey),
      );
      assert.deepEqual(
        native.dh(privateKey, publicKey),
        noble.dh(privateKey, publicKey),
      );
    }
  }
});

Deno.test("native DH matches on edge-case public keys", () => {
  const p25519 = 2n ** 255n - 19n;
  const p448 = 2n ** 448n - 2n ** 224n - 1n;
  const cases: [DhFunction, DhFunction, bigint[]][] = [
    // The top bit of an X25519 public key is ignored (RFC 7748 §5).
    [DH_25519, DH_25519_NOBLE, [2n ** 255n + 9n, p25519 + 9n, 2n ** 256n - 1n]],
    [DH_448, DH_448_NOBLE, [p448 + 5n, 2n ** 448n - 1n]],
  ];
  for (const [native, noble, values] of cases) {
    const privateKey = native.generateKeyPair().privateKey;
    for (const value of values) {
      const publicKey = littleEndian(value, native.dhLen);
      assert.deepEqual(
        native.dh(privateKey, publicKey),
        noble.dh(privateKey, publicKey),
      );
    }
  }
});

Deno.test("low-order public keys are rejected by both implementations", () => {
  for (const [native, noble] of pairs) {
    const privateKey = native.generateKeyPair().privateKey;
    for (const value of [0n, 1n]) {
      const publicKey = littleEndian(value, native.dhLen);
      assert.throws(() => native.dh(privateKey, publicKey), NoiseError);
      assert.throws(() => noble.dh(privateKey, publicKey), NoiseError);
    }
  }
});

Deno.test("both parties of a DH reach the same secret", () => {
  for (const dh of [DH_25519, DH_448]) {
    const alice = dh.generateKeyPair();
    const bob = dh.generateKeyPair();
    assert.equal(alice.publicKey.length, dh.dhLen);
    assert.deepEqual(
      dh.dh(alice.privateKey, bob.publicKey),
      dh.dh(bob.privateKey, alice.publicKey),
    );
  }
});

Deno.test("generateKeyPair draws from the given randomness", () => {
  const fixed = (bytes: Uint8Array) => bytes.fill(7);
  for (const dh of [DH_25519, DH_448]) {
    assert.deepEqual(
      dh.generateKeyPair(fixed),
      dh.keyPairFromPrivateKey(new Uint8Array(dh.dhLen).fill(7)),
    );
  }
});

Deno.test("keys of the wrong length are refused", () => {
  for (const [native, noble] of pairs) {
    for (const dh of [native, noble]) {
      assert.throws(
        () => dh.keyPairFromPrivateKey(new Uint8Array(dh.dhLen - 1)),
        TypeError,
      );
      const privateKey = dh.generateKeyPair().privateKey;
      assert.throws(
        () => dh.dh(privateKey, new Uint8Array(dh.dhLen + 1)),
        NoiseError,
      );
    }
  }
});
