/**
 * The ChaCha20-Poly1305 nonce that Noise builds from a 64-bit counter.
 *
 * Noise §12.3 (the ChaChaPoly cipher functions): the 96-bit nonce is 32 bits
 * of zeros followed by the little-endian 64-bit counter `n`. The counter must
 * never repeat under one key; the session guarantees that.
 *
 * @module
 */

import { MAX_COUNTER, NONCE_SIZE } from "./constants.ts";

/**
 * A nonce buffer rewritten for each packet, so that the data path allocates
 * neither an array nor a `DataView` per nonce. Keep one per direction; the
 * AEAD must copy the nonce before the next write (both of ours do).
 *
 * @example Usage
 * ```ts
 * import { NonceBuffer } from "./nonce.ts";
 *
 * const nonce = new NonceBuffer();
 * nonce.write(1n); // Uint8Array [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
 * ```
 */
export class NonceBuffer {
  /** The 12 nonce bytes, valid until the next write. */
  readonly bytes: Uint8Array<ArrayBuffer> = new Uint8Array(NONCE_SIZE);
  #view = new DataView(this.bytes.buffer);

  /**
   * Writes the nonce for `counter` and returns {@linkcode NonceBuffer.bytes}.
   *
   * @param counter A 64-bit unsigned counter.
   * @throws {RangeError} If `counter` does not fit 64 unsigned bits.
   */
  write(counter: bigint): Uint8Array {
    // setBigUint64 silently wraps, so an out-of-range counter would reuse a
    // nonce: refuse it instead.
    if (counter < 0n || counter > MAX_COUNTER) {
      throw new RangeError(
        `Cannot encode a nonce for a counter outside 64 unsigned bits: ${counter}`,
      );
    }
    this.#view.setUint32(0, 0, true);
    this.#view.setBigUint64(4, counter, true);
    return this.bytes;
  }
}

/**
 * The nonce for `counter`, in a new array.
 *
 * @param counter A 64-bit unsigned counter.
 * @returns 12 bytes: four zeros, then the counter little-endian.
 * @throws {RangeError} If `counter` does not fit 64 unsigned bits.
 *
 * @example Usage
 * ```ts
 * import { encodeNonce } from "./nonce.ts";
 *
 * encodeNonce(1n); // Uint8Array [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
 * ```
 */
export function encodeNonce(counter: bigint): Uint8Array {
  return new NonceBuffer().write(counter);
}
