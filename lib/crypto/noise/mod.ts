/**
 * The Noise Protocol Framework, revision 34
 * (https://noiseprotocol.org/noise.html): every handshake pattern of the
 * spec with the `pskN` and `fallback` modifiers, DH 25519 and 448, ciphers
 * ChaChaPoly and AESGCM, hashes SHA256, SHA512, BLAKE2s and BLAKE2b.
 *
 * Checked byte for byte against the cacophony and snow test vectors. The
 * DH runs on the runtime's native `node:crypto` (byte-identical to
 * `@noble/curves`, which the tests compare it with); everything else is
 * `@noble/*`.
 *
 * Not guaranteed: constant-time behaviour beyond what `node:crypto` and
 * `@noble/*` give; wiping of key material is best effort, since JavaScript
 * may copy buffers behind our back.
 *
 * @example An XX handshake, then transport keys for the data path
 * ```ts
 * import { DH_25519, HandshakeState } from "./mod.ts";
 *
 * const protocolName = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
 * const alice = new HandshakeState({ protocolName, initiator: true, s: DH_25519.generateKeyPair() });
 * const bob = new HandshakeState({ protocolName, initiator: false, s: DH_25519.generateKeyPair() });
 * bob.readMessage(alice.writeMessage(new Uint8Array(0)));
 * alice.readMessage(bob.writeMessage(new Uint8Array(0)));
 * bob.readMessage(alice.writeMessage(new Uint8Array(0)));
 * const { initiatorToResponder, responderToInitiator } = alice.splitKeys();
 * ```
 *
 * @module
 */

export { NoiseError } from "./noise_error.ts";
export {
  type FallbackOptions,
  type HandshakeOptions,
  HandshakeState,
  PSK_LEN,
  type TransportCipherStates,
} from "./handshake_state.ts";
export { CipherState, MAX_MESSAGE_LEN } from "./cipher_state.ts";
export { type SplitKeys, SymmetricState } from "./symmetric_state.ts";
export {
  MAX_PROTOCOL_NAME_LEN,
  type NoiseProtocol,
  parseProtocolName,
} from "./protocol_name.ts";
export {
  applyPatternModifier,
  HANDSHAKE_PATTERNS,
  type HandshakePattern,
  parseHandshakePattern,
  type PreMessageToken,
  resolveHandshakePattern,
  splitPatternName,
  type Token,
  validateHandshakePattern,
} from "./patterns.ts";
export {
  DH_25519,
  DH_448,
  DH_FUNCTIONS,
  type DhFunction,
  type DhName,
  type KeyPair,
  type RandomBytes,
} from "./dh.ts";
export {
  AESGCM,
  CHACHAPOLY,
  CIPHER_FUNCTIONS,
  CIPHER_KEY_LEN,
  type CipherFunction,
  type CipherName,
  MAX_NONCE,
  TAG_LEN,
} from "./cipher.ts";
export {
  BLAKE2B,
  BLAKE2S,
  HASH_FUNCTIONS,
  type HashFunction,
  type HashName,
  hkdf,
  SHA256,
  SHA512,
} from "./hash.ts";
