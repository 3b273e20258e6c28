/**
 * The error thrown when a Noise handshake or transport message is rejected.
 *
 * @module
 */

/**
 * Signals that a Noise message could not be processed: a bad MAC, a message
 * of the wrong length, a message out of turn, an invalid public key, nonce
 * exhaustion, or any use of a handshake after one of those. Callers catch it
 * to drop the peer; configuration mistakes throw `TypeError`/`RangeError`
 * instead, because no peer can cause those.
 *
 * @example Dropping a peer whose handshake fails
 * ```ts
 * import { HandshakeState } from "./handshake_state.ts";
 *
 * const responder = new HandshakeState({
 *   protocolName: "Noise_NN_25519_ChaChaPoly_BLAKE2s",
 *   initiator: false,
 * });
 * try {
 *   responder.readMessage(new Uint8Array(3)); // too short for a key
 * } catch (error) {
 *   if (!(error instanceof NoiseError)) throw error;
 *   // Drop the peer; the handshake is unusable from here on.
 * }
 * ```
 */
export class NoiseError extends Error {
  /** Creates a Noise error with the given message. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NoiseError";
  }
}
