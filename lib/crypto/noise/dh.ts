/**
 * Noise DH functions (§4.1, §12.1, §12.2): Curve25519 and Curve448.
 *
 * @module
 */

import { x25519 } from "@noble/curves/ed25519.js";
import { x448 } from "@noble/curves/ed448.js";
import { NoiseError } from "./noise_error.ts";
import { DH_25519_NATIVE, DH_448_NATIVE } from "./native_dh.ts";

/** The DH names a Noise protocol name may use (§12). */
export type DhName = "25519" | "448";

/** A DH key pair; both halves are DHLEN bytes. */
export interface KeyPair {
  /** The public key, sent on the wire. */
  readonly publicKey: Uint8Array;
  /** The private key; never leaves this machine. */
  readonly privateKey: Uint8Array;
}

/**
 * Fills `bytes` with random bytes and returns it, like
 * `crypto.getRandomValues`.
 */
export type RandomBytes = (bytes: Uint8Array) => Uint8Array;

/** The default randomness: the platform's CSPRNG. */
export const defaultRandomBytes: RandomBytes = (bytes) =>
  crypto.getRandomValues(bytes);

/** A Noise DH function (§4.1). */
export interface DhFunction {
  /** The name used in protocol names, e.g. `"25519"`. */
  readonly name: DhName;
  /** Noise §4.1: DHLEN, the size of public keys and DH outputs. */
  readonly dhLen: number;
  /** Noise §4.1: GENERATE_KEYPAIR(), drawing the private key from `randomBytes`. */
  generateKeyPair(randomBytes?: RandomBytes): KeyPair;
  /** The key pair whose private half is `privateKey` (DHLEN bytes). */
  keyPairFromPrivateKey(privateKey: Uint8Array): KeyPair;
  /**
   * Noise §4.1: DH(key_pair, public_key). Throws {@link NoiseError} when the
   * public key is rejected, as both curves do when the shared secret comes
   * out all zeros (a low-order point).
   */
  dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
}

interface NobleMontgomery {
  getPublicKey(secretKey: Uint8Array): Uint8Array;
  scalarMult(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
}

/** Throws a `TypeError` unless `key` is `dhLen` bytes. */
export function checkKeyLength(
  key: Uint8Array,
  options: { dh: DhFunction; what: string },
): void {
  const { dh, what } = options;
  if (!(key instanceof Uint8Array) || key.length !== dh.dhLen) {
    throw new TypeError(
      `Cannot use the ${what} as it is not ${dh.dhLen} bytes for DH ${dh.name}: length is ${
        key instanceof Uint8Array ? key.length : typeof key
      }`,
    );
  }
}

function makeNobleDh(
  name: DhName,
  dhLen: number,
  curve: NobleMontgomery,
): DhFunction {
  const dh: DhFunction = {
    name,
    dhLen,
    generateKeyPair(randomBytes = defaultRandomBytes) {
      // Noise §12.1/§12.2: any DHLEN random bytes are a private key; the
      // scalar is clamped when used (RFC 7748 §5).
      return dh.keyPairFromPrivateKey(randomBytes(new Uint8Array(dhLen)));
    },
    keyPairFromPrivateKey(privateKey) {
      checkKeyLength(privateKey, { dh, what: "private key" });
      return {
        publicKey: curve.getPublicKey(privateKey),
        privateKey: privateKey.slice(),
      };
    },
    dh(privateKey, publicKey) {
      checkKeyLength(privateKey, { dh, what: "private key" });
      if (publicKey.length !== dhLen) {
        throw new NoiseError(
          `Cannot compute a DH as the public key is not ${dhLen} bytes: length is ${publicKey.length}`,
        );
      }
      try {
        return curve.scalarMult(privateKey, publicKey);
      } catch (cause) {
        throw new NoiseError(
          `Cannot compute a DH as the public key is invalid for DH ${name}`,
          { cause },
        );
      }
    },
  };
  return dh;
}

/**
 * Noise §12.1: X25519 (RFC 7748) in pure JavaScript. {@link DH_25519} is the
 * same function, faster; this one stays as the reference it is tested
 * against.
 */
export const DH_25519_NOBLE: DhFunction = makeNobleDh("25519", 32, x25519);

/**
 * Noise §12.2: X448 (RFC 7748) in pure JavaScript, DHLEN 56; the reference
 * for {@link DH_448}.
 */
export const DH_448_NOBLE: DhFunction = makeNobleDh("448", 56, x448);

/**
 * Noise §12.1: X25519 (RFC 7748), DHLEN 32, computed by the runtime's
 * native `node:crypto` and proven byte-identical to {@link DH_25519_NOBLE}
 * by the test vectors.
 */
export const DH_25519: DhFunction = DH_25519_NATIVE;

/**
 * Noise §12.2: X448 (RFC 7748), DHLEN 56, native like {@link DH_25519} and
 * proven byte-identical to {@link DH_448_NOBLE} the same way.
 */
export const DH_448: DhFunction = DH_448_NATIVE;

/** Every DH function by the name a protocol name uses. */
export const DH_FUNCTIONS: Readonly<Record<DhName, DhFunction>> = {
  "25519": DH_25519,
  "448": DH_448,
};
