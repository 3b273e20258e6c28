/**
 * The AEAD seen by the transport session: ChaCha20-Poly1305 (RFC 8439)
 * behind a four-call interface so that the backing implementation can be
 * swapped and benchmarked.
 *
 * @module
 */

/**
 * An AEAD cipher with a 32-byte key, a 12-byte nonce and a 16-byte tag
 * appended to the ciphertext.
 *
 * Implementations must be synchronous and must not keep references to the
 * arguments after returning: callers reuse their nonce buffers.
 */
export interface Aead {
  /**
   * Encrypts and authenticates `plaintext`, also authenticating `ad`.
   *
   * @returns A new array: the ciphertext followed by the 16-byte tag.
   */
  seal(
    key: Uint8Array,
    nonce: Uint8Array,
    plaintext: Uint8Array,
    ad: Uint8Array,
  ): Uint8Array;
  /**
   * Checks the tag at the end of `ciphertext` against `ad` and decrypts.
   *
   * @returns The plaintext, or `null` if the input is too short or does not
   * authenticate. Never throws on malformed or forged input.
   */
  open(
    key: Uint8Array,
    nonce: Uint8Array,
    ciphertext: Uint8Array,
    ad: Uint8Array,
  ): Uint8Array | null;
}
