/**
 * ChaCha20-Poly1305 from `@noble/ciphers`, audited pure JavaScript: the
 * reference the fast path is tested against, and a fallback where
 * `node:crypto` is missing.
 *
 * @module
 */

import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import type { Aead } from "./aead.ts";
import { TAG_SIZE } from "./constants.ts";

/**
 * {@linkcode Aead} backed by `@noble/ciphers`.
 *
 * @example Usage
 * ```ts
 * import { nobleChaCha20Poly1305 } from "./aead_noble.ts";
 *
 * const key = new Uint8Array(32);
 * const nonce = new Uint8Array(12);
 * const sealed = nobleChaCha20Poly1305.seal(key, nonce, new Uint8Array(5), new Uint8Array(0));
 * sealed.length; // 21: five bytes and the tag
 * ```
 */
export const nobleChaCha20Poly1305: Aead = {
  seal(key, nonce, plaintext, ad) {
    return chacha20poly1305(key, nonce, ad).encrypt(plaintext);
  },

  open(key, nonce, ciphertext, ad) {
    if (ciphertext.length < TAG_SIZE) return null;
    try {
      return chacha20poly1305(key, nonce, ad).decrypt(ciphertext);
    } catch {
      return null;
    }
  },
};
