/**
 * Noise cipher functions (§4.2, §12.3, §12.4): ChaChaPoly and AESGCM, and
 * the REKEY function built on them.
 *
 * @module
 */

import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { gcm } from "@noble/ciphers/aes.js";
import { NoiseError } from "./noise_error.ts";

/** The cipher names a Noise protocol name may use (§12). */
export type CipherName = "ChaChaPoly" | "AESGCM";

/** Noise §4.2: every cipher key is 32 bytes. */
export const CIPHER_KEY_LEN = 32;
/** Noise §4.2: ENCRYPT appends a 16-byte authentication tag. */
export const TAG_LEN = 16;
/** Noise §5.1: 2^64-1, the nonce reserved for REKEY and never used to send. */
export const MAX_NONCE: bigint = 0xffff_ffff_ffff_ffffn;

/** A Noise cipher function (§4.2): an AEAD keyed by 32 bytes, 64-bit nonce. */
export interface CipherFunction {
  /** The name used in protocol names, e.g. `"ChaChaPoly"`. */
  readonly name: CipherName;
  /**
   * Noise §4.2: ENCRYPT(k, n, ad, plaintext), the ciphertext with its
   * 16-byte tag appended.
   */
  encrypt(
    key: Uint8Array,
    nonce: bigint,
    ad: Uint8Array,
    plaintext: Uint8Array,
  ): Uint8Array;
  /**
   * Noise §4.2: DECRYPT(k, n, ad, ciphertext); throws {@link NoiseError}
   * when the tag does not verify.
   */
  decrypt(
    key: Uint8Array,
    nonce: bigint,
    ad: Uint8Array,
    ciphertext: Uint8Array,
  ): Uint8Array;
  /** Noise §4.2: REKEY(k), a new 32-byte key derived from `key`. */
  rekey(key: Uint8Array): Uint8Array;
}

type NobleAead = (
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
) => {
  encrypt(plaintext: Uint8Array): Uint8Array;
  decrypt(ciphertext: Uint8Array): Uint8Array;
};

function makeCipherFunction(
  name: CipherName,
  aead: NobleAead,
  littleEndianNonce: boolean,
): CipherFunction {
  const nonceBytes = (nonce: bigint): Uint8Array => {
    // Noise §12.3 (ChaChaPoly): 32 zero bits then the nonce as a 64-bit
    // little-endian integer. Noise §12.4 (AESGCM): 32 zero bits then the
    // nonce as a 64-bit big-endian integer.
    const bytes = new Uint8Array(12);
    new DataView(bytes.buffer).setBigUint64(4, nonce, littleEndianNonce);
    return bytes;
  };
  const cipher: CipherFunction = {
    name,
    encrypt(key, nonce, ad, plaintext) {
      return aead(key, nonceBytes(nonce), ad).encrypt(plaintext);
    },
    decrypt(key, nonce, ad, ciphertext) {
      if (ciphertext.length < TAG_LEN) {
        throw new NoiseError(
          `Cannot decrypt as the ciphertext is shorter than a tag: length is ${ciphertext.length}`,
        );
      }
      try {
        return aead(key, nonceBytes(nonce), ad).decrypt(ciphertext);
      } catch (cause) {
        throw new NoiseError(
          "Cannot decrypt as the authentication tag does not verify",
          { cause },
        );
      }
    },
    rekey(key) {
      // Noise §4.2: neither cipher defines its own REKEY, so both use the
      // default: the first 32 bytes of ENCRYPT(k, maxnonce, zerolen, zeros).
      const zeros = new Uint8Array(CIPHER_KEY_LEN);
      return cipher.encrypt(key, MAX_NONCE, new Uint8Array(0), zeros)
        .slice(0, CIPHER_KEY_LEN);
    },
  };
  return cipher;
}

/** Noise §12.3: ChaCha20-Poly1305 (RFC 8439) with a little-endian nonce. */
export const CHACHAPOLY: CipherFunction = makeCipherFunction(
  "ChaChaPoly",
  chacha20poly1305,
  true,
);

/** Noise §12.4: AES-256-GCM with a big-endian nonce. */
export const AESGCM: CipherFunction = makeCipherFunction("AESGCM", gcm, false);

/** Every cipher function by the name a protocol name uses. */
export const CIPHER_FUNCTIONS: Readonly<Record<CipherName, CipherFunction>> = {
  ChaChaPoly: CHACHAPOLY,
  AESGCM,
};
