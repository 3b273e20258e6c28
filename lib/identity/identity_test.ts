import assert from "node:assert/strict";
import { x25519 } from "@noble/curves/ed25519.js";
import {
  deriveIdentity,
  generateIdentity,
  signWithIdentity,
  verifySignature,
  wipeIdentity,
} from "./identity.ts";

const SEED = Uint8Array.fromHex(
  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
);

Deno.test("the same seed always derives the same keys", () => {
  const a = deriveIdentity(SEED);
  const b = deriveIdentity(SEED.slice());
  assert.deepEqual(a.noisePublicKey, b.noisePublicKey);
  assert.deepEqual(a.signingPublicKey, b.signingPublicKey);
});

Deno.test("the Noise and signing keys are distinct keys, not the seed", () => {
  const id = deriveIdentity(SEED);
  assert.notDeepEqual(id.noisePrivateKey, id.signingPrivateKey);
  assert.notDeepEqual(id.noisePrivateKey, SEED);
  assert.notDeepEqual(id.signingPrivateKey, SEED);
  assert.deepEqual(
    x25519.getPublicKey(id.noisePrivateKey),
    id.noisePublicKey,
  );
});

Deno.test("a seed of the wrong length is refused", () => {
  assert.throws(() => deriveIdentity(new Uint8Array(31)), RangeError);
});

Deno.test("generated identities differ and use the injected randomness", () => {
  assert.notDeepEqual(
    generateIdentity().noisePublicKey,
    generateIdentity().noisePublicKey,
  );
  const fixed = generateIdentity({ randomBytes: () => SEED.slice() });
  assert.deepEqual(fixed.noisePublicKey, deriveIdentity(SEED).noisePublicKey);
});

Deno.test("signatures verify, and tampering or another key fails", () => {
  const id = deriveIdentity(SEED);
  const other = generateIdentity();
  const message = new TextEncoder().encode("relay descriptor");
  const signature = signWithIdentity(id, message);
  assert.equal(verifySignature(id.signingPublicKey, message, signature), true);
  const tampered = message.slice();
  tampered[0] ^= 1;
  assert.equal(
    verifySignature(id.signingPublicKey, tampered, signature),
    false,
  );
  assert.equal(
    verifySignature(other.signingPublicKey, message, signature),
    false,
  );
  assert.equal(
    verifySignature(id.signingPublicKey, message, signature.subarray(1)),
    false,
  );
});

Deno.test("wiping an identity zeroes every secret", () => {
  const id = deriveIdentity(SEED);
  wipeIdentity(id);
  for (const secret of [id.seed, id.noisePrivateKey, id.signingPrivateKey]) {
    assert.ok(secret.every((b) => b === 0));
  }
});
