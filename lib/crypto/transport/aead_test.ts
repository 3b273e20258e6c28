import assert from "node:assert/strict";
import type { Aead } from "./aead.ts";
import { nobleChaCha20Poly1305 } from "./aead_noble.ts";
import { nodeChaCha20Poly1305 } from "./aead_node.ts";

/** RFC 8439 §2.8.2: the example AEAD_CHACHA20_POLY1305 encryption. */
const RFC8439_2_8_2 = {
  key: "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
  nonce: "070000004041424344454647",
  ad: "50515253c0c1c2c3c4c5c6c7",
  plaintext: "Ladies and Gentlemen of the class of '99: If I could offer you " +
    "only one tip for the future, sunscreen would be it.",
  ciphertext:
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" +
    "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
    "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
    "3ff4def08e4b7a9de576d26586cec64b6116",
  tag: "1ae10b594f09e26a7e902ecbd0600691",
};

const AEADS: [string, Aead][] = [
  ["node:crypto", nodeChaCha20Poly1305],
  ["@noble/ciphers", nobleChaCha20Poly1305],
];

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function random(length: number): Uint8Array {
  const out = new Uint8Array(length);
  // getRandomValues fills at most 65536 bytes per call.
  for (let i = 0; i < length; i += 65536) {
    crypto.getRandomValues(out.subarray(i, i + 65536));
  }
  return out;
}

for (const [name, aead] of AEADS) {
  Deno.test(`${name} AEAD matches the RFC 8439 §2.8.2 vector`, () => {
    const v = RFC8439_2_8_2;
    const plaintext = new TextEncoder().encode(v.plaintext);
    const sealed = aead.seal(
      fromHex(v.key),
      fromHex(v.nonce),
      plaintext,
      fromHex(v.ad),
    );
    assert.equal(toHex(sealed), v.ciphertext + v.tag);
    const opened = aead.open(
      fromHex(v.key),
      fromHex(v.nonce),
      sealed,
      fromHex(v.ad),
    );
    assert.deepEqual(opened, plaintext);
  });

  Deno.test(`${name} AEAD refuses tampered input without throwing`, () => {
    const key = random(32), nonce = random(12), ad = random(13);
    const sealed = aead.seal(key, nonce, random(100), ad);
    const flip = (bytes: Uint8Array, i: number) => {
      const copy = bytes.slice();
      copy[i] ^= 1;
      return copy;
    };
    assert.equal(aead.open(key, nonce, flip(sealed, 0), ad), null);
    assert.equal(aead.open(key, nonce, flip(sealed, 99), ad), null);
    assert.equal(aead.open(key, nonce, flip(sealed, 115), ad), null);
    assert.equal(aead.open(key, nonce, sealed, flip(ad, 3)), null);
    assert.equal(aead.open(key, flip(nonce, 4), sealed, ad), null);
    assert.equal(aead.open(flip(key, 31), nonce, sealed, ad), null);
    assert.equal(aead.open(key, nonce, sealed.subarray(0, 115), ad), null);
    assert.equal(aead.open(key, nonce, sealed.subarray(0, 15), ad), null);
    assert.equal(aead.open(key, nonce, new Uint8Array(0), ad), null);
  });

  Deno.test(`${name} AEAD seals an empty plaintext to a bare tag`, () => {
    const key = random(32), nonce = random(12);
    const sealed = aead.seal(key, nonce, new Uint8Array(0), new Uint8Array(0));
    assert.equal(sealed.length, 16);
    assert.deepEqual(
      aead.open(key, nonce, sealed, new Uint8Array(0)),
      new Uint8Array(0),
    );
  });
}

Deno.test("node:crypto and @noble/ciphers produce the same bytes on random inputs", () => {
  const sizes = [0, 1, 15, 16, 17, 63, 64, 65, 255, 1200, 1500, 65536 + 3];
  for (const size of sizes) {
    for (let round = 0; round < 5; round++) {
      const key = random(32), nonce = random(12);
      const ad = random(round * 9); // 0 to 36 bytes
      const plaintext = random(size);
      const fromNode = nodeChaCha20Poly1305.seal(key, nonce, plaintext, ad);
      const fromNoble = nobleChaCha20Poly1305.seal(key, nonce, plaintext, ad);
      assert.deepEqual(fromNode, fromNoble, `size ${size}`);
      assert.deepEqual(
        nodeChaCha20Poly1305.open(key, nonce, fromNoble, ad),
        plaintext,
      );
      assert.deepEqual(
        nobleChaCha20Poly1305.open(key, nonce, fromNode, ad),
        plaintext,
      );
    }
  }
});

Deno.test("node:crypto AEAD returns plain Uint8Arrays, not Buffers", () => {
  const key = random(32), nonce = random(12), ad = new Uint8Array(0);
  const sealed = nodeChaCha20Poly1305.seal(key, nonce, random(10), ad);
  const opened = nodeChaCha20Poly1305.open(key, nonce, sealed, ad);
  assert.equal(Object.getPrototypeOf(sealed), Uint8Array.prototype);
  assert.ok(opened !== null);
  assert.equal(Object.getPrototypeOf(opened), Uint8Array.prototype);
});
