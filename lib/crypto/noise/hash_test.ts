import assert from "node:assert/strict";
import {
  BLAKE2B,
  BLAKE2S,
  HASH_FUNCTIONS,
  hkdf,
  SHA256,
  SHA512,
} from "./hash.ts";

Deno.test("hash lengths and block lengths are those of §12", () => {
  assert.deepEqual(
    Object.values(HASH_FUNCTIONS).map((
      { name, hashLen, blockLen },
    ) => [name, hashLen, blockLen]),
    [["SHA256", 32, 64], ["SHA512", 64, 128], ["BLAKE2s", 32, 64], [
      "BLAKE2b",
      64,
      128,
    ]],
  );
});

Deno.test("hash over several parts equals the hash of their concatenation", () => {
  for (const hash of [SHA256, SHA512, BLAKE2S, BLAKE2B]) {
    assert.deepEqual(
      hash.hash(Uint8Array.of(1, 2), Uint8Array.of(3)),
      hash.hash(Uint8Array.of(1, 2, 3)),
    );
  }
});

Deno.test("HKDF equals WebCrypto's RFC 5869 HKDF with the chaining key as salt", async () => {
  const webHashes = [[SHA256, "SHA-256"], [SHA512, "SHA-512"]] as const;
  for (const [hash, webName] of webHashes) {
    for (const ikmLength of [0, 32, 56]) {
      const chainingKey = crypto.getRandomValues(new Uint8Array(hash.hashLen));
      const ikm = crypto.getRandomValues(new Uint8Array(ikmLength));
      const baseKey = await crypto.subtle.importKey("raw", ikm, "HKDF", false, [
        "deriveBits",
      ]);
      const bits = await crypto.subtle.deriveBits(
        {
          name: "HKDF",
          hash: webName,
          salt: chainingKey,
          info: new Uint8Array(0),
        },
        baseKey,
        3 * hash.hashLen * 8,
      );
      const expected = new Uint8Array(bits);
      const three = hkdf(chainingKey, ikm, { hash, numOutputs: 3 });
      assert.deepEqual(
        three.map((output) => Array.from(output)).flat(),
        Array.from(expected),
      );
      const two = hkdf(chainingKey, ikm, { hash, numOutputs: 2 });
      assert.deepEqual(two, three.slice(0, 2));
    }
  }
});
