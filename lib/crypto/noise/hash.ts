/**
 * Noise hash functions (§4.3, §12.5–§12.8) with the HMAC and HKDF built on
 * them.
 *
 * @module
 */

import { blake2b, blake2s } from "@noble/hashes/blake2.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { hmac } from "@noble/hashes/hmac.js";
import type { CHash } from "@noble/hashes/utils.js";

/** The hash names a Noise protocol name may use (§12). */
export type HashName = "SHA256" | "SHA512" | "BLAKE2s" | "BLAKE2b";

/** A Noise hash function (§4.3). */
export interface HashFunction {
  /** The name used in protocol names, e.g. `"SHA256"`. */
  readonly name: HashName;
  /** Noise §4.3: HASHLEN, 32 or 64. */
  readonly hashLen: number;
  /** Noise §4.3: BLOCKLEN, the block size HMAC pads its key to. */
  readonly blockLen: number;
  /** Noise §4.3: HASH(data) over the concatenation of `parts`. */
  hash(...parts: Uint8Array[]): Uint8Array;
  /** Noise §4.3: HMAC-HASH(key, data), RFC 2104 over this hash. */
  hmac(key: Uint8Array, data: Uint8Array): Uint8Array;
}

function makeHashFunction(
  name: HashName,
  noble: CHash,
): HashFunction {
  return {
    name,
    hashLen: noble.outputLen,
    blockLen: noble.blockLen,
    hash(...parts) {
      // Hashing the parts in turn spares MixHash a copy of h || data.
      const state = noble.create();
      for (const part of parts) state.update(part);
      return state.digest();
    },
    hmac(key, data) {
      return hmac(noble, key, data);
    },
  };
}

/** Noise §12.5: SHA-256, HASHLEN 32, BLOCKLEN 64. */
export const SHA256: HashFunction = makeHashFunction("SHA256", sha256);
/** Noise §12.6: SHA-512, HASHLEN 64, BLOCKLEN 128. */
export const SHA512: HashFunction = makeHashFunction("SHA512", sha512);
/** Noise §12.7: BLAKE2s with a 32-byte digest, HASHLEN 32, BLOCKLEN 64. */
export const BLAKE2S: HashFunction = makeHashFunction("BLAKE2s", blake2s);
/** Noise §12.8: BLAKE2b with a 64-byte digest, HASHLEN 64, BLOCKLEN 128. */
export const BLAKE2B: HashFunction = makeHashFunction("BLAKE2b", blake2b);

/** Every hash function by the name a protocol name uses. */
export const HASH_FUNCTIONS: Readonly<Record<HashName, HashFunction>> = {
  SHA256,
  SHA512,
  BLAKE2s: BLAKE2S,
  BLAKE2b: BLAKE2B,
};

/**
 * Noise §4.3: HKDF(chaining_key, input_key_material, num_outputs), returning
 * two or three outputs of HASHLEN bytes each.
 *
 * This equals RFC 5869 HKDF with the chaining key as salt, an empty info and
 * `numOutputs * HASHLEN` bytes of output, written out the way §4.3 does.
 *
 * @example
 * ```ts
 * const chainingKey = new Uint8Array(32);
 * const dhOutput = crypto.getRandomValues(new Uint8Array(32));
 * const [ck, k] = hkdf(chainingKey, dhOutput, { hash: SHA256, numOutputs: 2 });
 * ```
 */
export function hkdf(
  chainingKey: Uint8Array,
  inputKeyMaterial: Uint8Array,
  options: { hash: HashFunction; numOutputs: 2 | 3 },
): Uint8Array[] {
  const { hash, numOutputs } = options;
  // Noise §4.3: input_key_material is zero bytes, 32 bytes, or DHLEN bytes,
  // so callers never pass anything larger than a DH output.
  const tempKey = hash.hmac(chainingKey, inputKeyMaterial);
  const outputs: Uint8Array[] = [];
  let previous: Uint8Array = new Uint8Array(0);
  for (let i = 1; i <= numOutputs; i++) {
    // Noise §4.3: output_i = HMAC-HASH(temp_key, output_{i-1} || byte(i)).
    const block = new Uint8Array(previous.length + 1);
    block.set(previous);
    block[previous.length] = i;
    previous = hash.hmac(tempKey, block);
    outputs.push(previous);
  }
  tempKey.fill(0);
  return outputs;
}
