import assert from "node:assert/strict";
import { ed25519 } from "@noble/curves/ed25519.js";
import { createEd25519Signer, ed25519Verify } from "./ed25519.ts";

// RFC 8032 §7.1, TEST 1 (empty message) and TEST 2 (one byte).
const RFC8032 = [
  {
    secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    public: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    message: "",
    signature:
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    public: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    message: "72",
    signature:
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
];

Deno.test("native Ed25519 passes the RFC 8032 vectors, as noble does", () => {
  for (const v of RFC8032) {
    const secret = Uint8Array.fromHex(v.secret);
    const message = Uint8Array.fromHex(v.message);
    const signature = createEd25519Signer(secret)(message);
    assert.equal(signature.toHex(), v.signature);
    assert.equal(ed25519.sign(message, secret).toHex(), v.signature);
    assert.equal(ed25519.getPublicKey(secret).toHex(), v.public);
    assert.equal(
      ed25519Verify(Uint8Array.fromHex(v.public), message, signature),
      true,
    );
  }
});

Deno.test("native Ed25519 gives noble's bytes and verdicts on random input", () => {
  for (let i = 0; i < 200; i++) {
    const secret = crypto.getRandomValues(new Uint8Array(32));
    const message = crypto.getRandomValues(new Uint8Array(i * 7));
    const publicKey = ed25519.getPublicKey(secret);
    const signature = createEd25519Signer(secret)(message);
    assert.deepEqual(signature, ed25519.sign(message, secret));
    assert.equal(ed25519Verify(publicKey, message, signature), true);
    const tampered = signature.slice();
    tampered[i % 64] ^= 1 << (i % 8);
    assert.equal(ed25519Verify(publicKey, message, tampered), false);
    assert.equal(
      ed25519.verify(tampered, message, publicKey),
      false,
    );
    if (message.length > 0) {
      const altered = message.slice();
      altered[0] ^= 1;
      assert.equal(ed25519Verify(publicKey, altered, signature), false);
    }
  }
});

Deno.test("malformed keys and signatures verify as false, never throw", () => {
  const secret = new Uint8Array(32).fill(5);
  const publicKey = ed25519.getPublicKey(secret);
  const message = new Uint8Array([1, 2, 3]);
  const signature = createEd25519Signer(secret)(message);
  assert.equal(ed25519Verify(publicKey.subarray(1), message, signature), false);
  assert.equal(ed25519Verify(publicKey, message, signature.subarray(1)), false);
  assert.equal(ed25519Verify(new Uint8Array(32), message, signature), false);
  assert.equal(
    ed25519Verify(new Uint8Array(32).fill(0xff), message, signature),
    false,
  );
  assert.throws(() => createEd25519Signer(new Uint8Array(31)), RangeError);
});
