/**
 * The Noise CipherState (§5.1): a cipher key and the nonce that goes with it.
 *
 * @module
 */

import {
  CIPHER_KEY_LEN,
  type CipherFunction,
  MAX_NONCE,
  TAG_LEN,
} from "./cipher.ts";
import { NoiseError } from "./noise_error.ts";

/** Noise §3: no Noise message, handshake or transport, exceeds this. */
export const MAX_MESSAGE_LEN = 65535;

/**
 * Noise §5.1: encrypts and decrypts with a key `k` and a counter nonce `n`.
 * Used inside the handshake and, after `split()`, for transport messages.
 *
 * Without a key, encryption and decryption pass the data through unchanged,
 * as the spec says. A failed decryption leaves the nonce where it was, so
 * the caller may drop the message and carry on.
 *
 * @example
 * ```ts
 * import { CHACHAPOLY } from "./cipher.ts";
 *
 * const key = crypto.getRandomValues(new Uint8Array(32));
 * const plaintext = new TextEncoder().encode("hello");
 * const sender = new CipherState(CHACHAPOLY, key);
 * const receiver = new CipherState(CHACHAPOLY, key);
 * const ciphertext = sender.encryptWithAd(new Uint8Array(0), plaintext);
 * receiver.decryptWithAd(new Uint8Array(0), ciphertext); // plaintext
 * ```
 */
export class CipherState {
  readonly #cipher: CipherFunction;
  #key: Uint8Array | undefined;
  #nonce = 0n;

  /** Noise §5.1: InitializeKey(key); without `key` the state has no key. */
  constructor(cipher: CipherFunction, key?: Uint8Array) {
    this.#cipher = cipher;
    this.initializeKey(key);
  }

  /** The cipher function this state encrypts with. */
  get cipher(): CipherFunction {
    return this.#cipher;
  }

  /** The nonce the next encryption or decryption will use. */
  get nonce(): bigint {
    return this.#nonce;
  }

  /** Noise §5.1: InitializeKey(key), which also resets the nonce to zero. */
  initializeKey(key: Uint8Array | undefined): void {
    if (key !== undefined && key.length !== CIPHER_KEY_LEN) {
      throw new TypeError(
        `Cannot use the cipher key as it is not ${CIPHER_KEY_LEN} bytes: length is ${key.length}`,
      );
    }
    this.#key?.fill(0);
    this.#key = key?.slice();
    this.#nonce = 0n;
  }

  /** Noise §5.1: HasKey(). */
  hasKey(): boolean {
    return this.#key !== undefined;
  }

  /**
   * Noise §5.1: SetNonce(nonce), for transports that carry an explicit
   * counter and may deliver messages out of order.
   */
  setNonce(nonce: bigint): void {
    if (nonce < 0n || nonce > MAX_NONCE) {
      throw new RangeError(
        `Cannot set the nonce as it is not a 64-bit unsigned integer: nonce is ${nonce}`,
      );
    }
    this.#nonce = nonce;
  }

  /**
   * Noise §5.1: EncryptWithAd(ad, plaintext). Throws {@link NoiseError} once
   * the nonce reaches 2^64-1, and `RangeError` if the ciphertext would not
   * fit in a Noise message.
   */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.#key === undefined) return plaintext.slice();
    const length = plaintext.length + TAG_LEN;
    if (length > MAX_MESSAGE_LEN) {
      throw new RangeError(
        `Cannot encrypt as the ciphertext would exceed ${MAX_MESSAGE_LEN} bytes: length is ${length}`,
      );
    }
    this.#checkNonce();
    const ciphertext = this.#cipher.encrypt(
      this.#key,
      this.#nonce,
      ad,
      plaintext,
    );
    this.#nonce++;
    return ciphertext;
  }

  /**
   * Noise §5.1: DecryptWithAd(ad, ciphertext). Throws {@link NoiseError} if
   * the tag does not verify (the nonce is then not advanced), the nonce is
   * exhausted, or the ciphertext is longer than a Noise message.
   */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.#key === undefined) return ciphertext.slice();
    if (ciphertext.length > MAX_MESSAGE_LEN) {
      throw new NoiseError(
        `Cannot decrypt as the ciphertext exceeds ${MAX_MESSAGE_LEN} bytes: length is ${ciphertext.length}`,
      );
    }
    this.#checkNonce();
    const plaintext = this.#cipher.decrypt(
      this.#key,
      this.#nonce,
      ad,
      ciphertext,
    );
    this.#nonce++;
    return plaintext;
  }

  /**
   * Noise §5.1: Rekey(), replacing the key with REKEY(k) (§4.2) and keeping
   * the nonce, so both sides must rekey at the same point in the stream.
   */
  rekey(): void {
    if (this.#key === undefined) {
      throw new TypeError("Cannot rekey as the cipher state has no key");
    }
    const next = this.#cipher.rekey(this.#key);
    this.#key.fill(0);
    this.#key = next;
  }

  /** Wipes the key; the state then has no key. */
  destroy(): void {
    this.#key?.fill(0);
    this.#key = undefined;
  }

  #checkNonce(): void {
    // Noise §5.1: 2^64-1 is reserved for REKEY, so once n reaches it every
    // further EncryptWithAd or DecryptWithAd must signal an error.
    if (this.#nonce >= MAX_NONCE) {
      throw new NoiseError(
        `Cannot use the cipher state as its nonce is exhausted: nonce is ${this.#nonce}`,
      );
    }
  }
}
