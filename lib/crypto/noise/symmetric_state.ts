/**
 * The Noise SymmetricState (§5.2): the chaining key and handshake hash that
 * every handshake token feeds.
 *
 * @module
 */

import { CIPHER_KEY_LEN, type CipherFunction } from "./cipher.ts";
import { CipherState } from "./cipher_state.ts";
import { type HashFunction, hkdf } from "./hash.ts";

/** The two raw transport keys that Split() derives (§5.2). */
export interface SplitKeys {
  /** The key for messages the initiator sends to the responder. */
  readonly initiatorToResponder: Uint8Array;
  /** The key for messages the responder sends to the initiator. */
  readonly responderToInitiator: Uint8Array;
}

/**
 * Noise §5.2: holds the chaining key `ck`, the handshake hash `h` and a
 * {@link CipherState} for the handshake's own encryption.
 */
export class SymmetricState {
  readonly #hash: HashFunction;
  readonly #cipher: CipherFunction;
  readonly #cipherState: CipherState;
  #chainingKey: Uint8Array;
  #handshakeHash: Uint8Array;

  /**
   * Noise §5.2: InitializeSymmetric(protocol_name), where `protocolName` is
   * the full name, e.g. `"Noise_XX_25519_ChaChaPoly_SHA256"`.
   */
  constructor(
    protocolName: string,
    options: { cipher: CipherFunction; hash: HashFunction },
  ) {
    this.#hash = options.hash;
    this.#cipher = options.cipher;
    this.#cipherState = new CipherState(options.cipher);
    const name = new TextEncoder().encode(protocolName);
    if (name.length <= this.#hash.hashLen) {
      // Noise §5.2: a short name is zero-padded to HASHLEN instead of hashed.
      this.#handshakeHash = new Uint8Array(this.#hash.hashLen);
      this.#handshakeHash.set(name);
    } else {
      this.#handshakeHash = this.#hash.hash(name);
    }
    this.#chainingKey = this.#handshakeHash.slice();
  }

  /** Noise §5.2: MixKey(input_key_material). */
  mixKey(inputKeyMaterial: Uint8Array): void {
    const [chainingKey, tempKey] = hkdf(this.#chainingKey, inputKeyMaterial, {
      hash: this.#hash,
      numOutputs: 2,
    });
    this.#replaceChainingKey(chainingKey);
    this.#initializeCipherKey(tempKey);
  }

  /** Noise §5.2: MixHash(data), h = HASH(h || data). */
  mixHash(data: Uint8Array): void {
    this.#handshakeHash = this.#hash.hash(this.#handshakeHash, data);
  }

  /** Noise §5.2: MixKeyAndHash(input_key_material), used for `psk` tokens. */
  mixKeyAndHash(inputKeyMaterial: Uint8Array): void {
    const [chainingKey, tempHash, tempKey] = hkdf(
      this.#chainingKey,
      inputKeyMaterial,
      {
        hash: this.#hash,
        numOutputs: 3,
      },
    );
    this.#replaceChainingKey(chainingKey);
    this.mixHash(tempHash);
    this.#initializeCipherKey(tempKey);
  }

  /** Noise §5.2: GetHandshakeHash(), a copy of `h`. */
  getHandshakeHash(): Uint8Array {
    return this.#handshakeHash.slice();
  }

  /** Whether the handshake cipher has a key yet (§5.1 HasKey). */
  hasKey(): boolean {
    return this.#cipherState.hasKey();
  }

  /** Noise §5.2: EncryptAndHash(plaintext). */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.#cipherState.encryptWithAd(
      this.#handshakeHash,
      plaintext,
    );
    this.mixHash(ciphertext);
    return ciphertext;
  }

  /** Noise §5.2: DecryptAndHash(ciphertext). */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.#cipherState.decryptWithAd(
      this.#handshakeHash,
      ciphertext,
    );
    this.mixHash(ciphertext);
    return plaintext;
  }

  /**
   * Noise §5.2: the two keys of Split(), as raw bytes. The chaining key and
   * handshake cipher key are wiped: the symmetric state is spent.
   */
  splitKeys(): SplitKeys {
    // Noise §5.2: Split() runs HKDF over a zero-length input.
    const [first, second] = hkdf(this.#chainingKey, new Uint8Array(0), {
      hash: this.#hash,
      numOutputs: 2,
    });
    this.destroy();
    return {
      initiatorToResponder: truncateKey(first),
      responderToInitiator: truncateKey(second),
    };
  }

  /**
   * Noise §5.2: Split(), as two CipherStates with nonce zero, for the
   * initiator-to-responder and responder-to-initiator directions.
   */
  split(): [CipherState, CipherState] {
    const { initiatorToResponder, responderToInitiator } = this.splitKeys();
    const states: [CipherState, CipherState] = [
      new CipherState(this.#cipher, initiatorToResponder),
      new CipherState(this.#cipher, responderToInitiator),
    ];
    initiatorToResponder.fill(0);
    responderToInitiator.fill(0);
    return states;
  }

  /** Wipes the chaining key and the handshake cipher key. */
  destroy(): void {
    this.#chainingKey.fill(0);
    this.#cipherState.destroy();
  }

  #replaceChainingKey(chainingKey: Uint8Array): void {
    this.#chainingKey.fill(0);
    this.#chainingKey = chainingKey;
  }

  #initializeCipherKey(tempKey: Uint8Array): void {
    const key = truncateKey(tempKey);
    this.#cipherState.initializeKey(key);
    key.fill(0);
  }
}

/**
 * Noise §5.2: if HASHLEN is 64, temp_k is truncated to 32 bytes. The input
 * is wiped; the result is a fresh copy.
 */
function truncateKey(tempKey: Uint8Array): Uint8Array {
  const key = tempKey.slice(0, CIPHER_KEY_LEN);
  tempKey.fill(0);
  return key;
}
