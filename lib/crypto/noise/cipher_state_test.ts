import assert from "node:assert/strict";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { gcm } from "@noble/ciphers/aes.js";
import { AESGCM, CHACHAPOLY, MAX_NONCE } from "./cipher.ts";
import { CipherState } from "./cipher_state.ts";
import { NoiseError } from "./noise_error.ts";

const EMPTY = new Uint8Array(0);
const key = Uint8Array.from({ length: 32 }, (_, i) => i);
const plaintext = new TextEncoder().encode("nonce encodings differ");

Deno.test("ChaChaPoly puts the nonce little-endian after 4 zero bytes", () => {
  const nonce = Uint8Array.from([
    0,
    0,
    0,
    0,
    0x08,
    0x07,
    0x06,
    0x05,
    0x04,
    0x03,
    0x02,
    0x01,
  ]);
  assert.deepEqual(
    CHACHAPOLY.encrypt(key, 0x0102030405060708n, EMPTY, plaintext),
    chacha20poly1305(key, nonce, EMPTY).encrypt(plaintext),
  );
});

Deno.test("AESGCM puts the nonce big-endian after 4 zero bytes", () => {
  const nonce = Uint8Array.from([
    0,
    0,
    0,
    0,
    0x01,
    0x02,
    0x03,
    0x04,
    0x05,
    0x06,
    0x07,
    0x08,
  ]);
  assert.deepEqual(
    AESGCM.encrypt(key, 0x0102030405060708n, EMPTY, plaintext),
    gcm(key, nonce, EMPTY).encrypt(plaintext),
  );
});

Deno.test("REKEY is the first 32 bytes of ENCRYPT(k, 2^64-1, empty, zeros)", () => {
  for (const cipher of [CHACHAPOLY, AESGCM]) {
    const expected = cipher.encrypt(key, MAX_NONCE, EMPTY, new Uint8Array(32))
      .subarray(0, 32);
    assert.deepEqual(cipher.rekey(key), expected);
  }
});

Deno.test("without a key the cipher state passes data through", () => {
  const state = new CipherState(CHACHAPOLY);
  assert.equal(state.hasKey(), false);
  assert.deepEqual(state.encryptWithAd(EMPTY, plaintext), plaintext);
  assert.deepEqual(state.decryptWithAd(EMPTY, plaintext), plaintext);
  assert.equal(state.nonce, 0n);
});

Deno.test("nonces count up and both sides stay in step", () => {
  const sender = new CipherState(AESGCM, key);
  const receiver = new CipherState(AESGCM, key);
  for (let i = 0n; i < 3n; i++) {
    assert.equal(sender.nonce, i);
    const ciphertext = sender.encryptWithAd(EMPTY, plaintext);
    assert.deepEqual(ciphertext, AESGCM.encrypt(key, i, EMPTY, plaintext));
    assert.deepEqual(receiver.decryptWithAd(EMPTY, ciphertext), plaintext);
  }
});

Deno.test("the nonce 2^64-1 is never used: the state is exhausted there", () => {
  for (const cipher of [CHACHAPOLY, AESGCM]) {
    const sender = new CipherState(cipher, key);
    const receiver = new CipherState(cipher, key);
    sender.setNonce(MAX_NONCE - 1n);
    receiver.setNonce(MAX_NONCE - 1n);
    const last = sender.encryptWithAd(EMPTY, plaintext);
    assert.deepEqual(receiver.decryptWithAd(EMPTY, last), plaintext);
    assert.equal(sender.nonce, MAX_NONCE);
    assert.throws(() => sender.encryptWithAd(EMPTY, plaintext), NoiseError);
    assert.throws(() => receiver.decryptWithAd(EMPTY, last), NoiseError);
    sender.setNonce(MAX_NONCE);
    assert.throws(() => sender.encryptWithAd(EMPTY, plaintext), NoiseError);
  }
});

Deno.test("setNonce accepts only 64-bit unsigned values", () => {
  const state = new CipherState(CHACHAPOLY, key);
  assert.throws(() => state.setNonce(-1n), RangeError);
  assert.throws(() => state.setNonce(MAX_NONCE + 1n), RangeError);
  state.setNonce(7n);
  assert.deepEqual(
    state.encryptWithAd(EMPTY, plaintext),
    CHACHAPOLY.encrypt(key, 7n, EMPTY, plaintext),
  );
});

Deno.test("a failed decryption leaves the nonce alone", () => {
  const sender = new CipherState(CHACHAPOLY, key);
  const receiver = new CipherState(CHACHAPOLY, key);
  const ciphertext = sender.encryptWithAd(EMPTY, plaintext);
  assert.throws(
    () => receiver.decryptWithAd(new Uint8Array([1]), ciphertext),
    NoiseError,
  );
  assert.throws(
    () => receiver.decryptWithAd(EMPTY, ciphertext.subarray(0, 15)),
    NoiseError,
  );
  assert.equal(receiver.nonce, 0n);
  assert.deepEqual(receiver.decryptWithAd(EMPTY, ciphertext), plaintext);
});

Deno.test("rekey replaces the key on both sides and keeps the nonce", () => {
  const sender = new CipherState(CHACHAPOLY, key);
  const receiver = new CipherState(CHACHAPOLY, key);
  receiver.decryptWithAd(EMPTY, sender.encryptWithAd(EMPTY, plaintext));
  sender.rekey();
  const ciphertext = sender.encryptWithAd(EMPTY, plaintext);
  assert.deepEqual(
    ciphertext,
    CHACHAPOLY.encrypt(CHACHAPOLY.rekey(key), 1n, EMPTY, plaintext),
  );
  assert.throws(() => receiver.decryptWithAd(EMPTY, ciphertext), NoiseError);
  receiver.rekey();
  assert.deepEqual(receiver.decryptWithAd(EMPTY, ciphertext), plaintext);
});

Deno.test("a ciphertext cannot exceed a Noise message (65535 bytes)", () => {
  const state = new CipherState(CHACHAPOLY, key);
  assert.throws(
    () => state.encryptWithAd(EMPTY, new Uint8Array(65520)),
    RangeError,
  );
  assert.equal(state.encryptWithAd(EMPTY, new Uint8Array(65519)).length, 65535);
  assert.throws(
    () => state.decryptWithAd(EMPTY, new Uint8Array(65536)),
    NoiseError,
  );
});

Deno.test("a key must be 32 bytes", () => {
  assert.throws(
    () => new CipherState(CHACHAPOLY, new Uint8Array(16)),
    TypeError,
  );
});
