/**
 * An altnet identity: one 32-byte secret seed from which both long-term keys
 * are derived, so there is exactly one secret to keep and back up.
 *
 * - the X25519 static key that Noise handshakes authenticate (peers and relays
 *   are known by it, and the fingerprint is computed from it);
 * - the Ed25519 signing key that signs relay descriptors for the directory.
 *
 * The two keys come from the seed through HKDF-SHA256 with different labels,
 * so they are independent keys (no key is used for two algorithms) and neither
 * public key reveals anything about the other.
 *
 * @module
 */

import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";

/** Length of the identity seed and of every key in it. */
export const IDENTITY_SEED_LENGTH = 32;

const NOISE_KEY_LABEL = new TextEncoder().encode("altnet identity v1 x25519");
const SIGNING_KEY_LABEL = new TextEncoder().encode(
  "altnet identity v1 ed25519",
);

/** The keys of one identity. Treat every private field as secret. */
export interface Identity {
  /** The 32-byte secret all keys derive from. */
  readonly seed: Uint8Array;
  /** X25519 private key for Noise. */
  readonly noisePrivateKey: Uint8Array;
  /** X25519 public key: what peers pin and fingerprints name. */
  readonly noisePublicKey: Uint8Array;
  /** Ed25519 secret key (seed form) for descriptor signatures. */
  readonly signingPrivateKey: Uint8Array;
  /** Ed25519 public key. */
  readonly signingPublicKey: Uint8Array;
}

/**
 * Derives both key pairs of an identity from its seed.
 *
 * @example
 * ```ts
 * const id = deriveIdentity(crypto.getRandomValues(new Uint8Array(32)));
 * ```
 */
export function deriveIdentity(seed: Uint8Array): Identity {
  if (seed.length !== IDENTITY_SEED_LENGTH) {
    throw new RangeError(
      `Cannot derive an identity from a seed of the wrong length: ${seed.length} bytes`,
    );
  }
  const noisePrivateKey = hkdf(sha256, seed, undefined, NOISE_KEY_LABEL, 32);
  const signingPrivateKey = hkdf(
    sha256,
    seed,
    undefined,
    SIGNING_KEY_LABEL,
    32,
  );
  return {
    seed: seed.slice(),
    noisePrivateKey,
    noisePublicKey: x25519.getPublicKey(noisePrivateKey),
    signingPrivateKey,
    signingPublicKey: ed25519.getPublicKey(signingPrivateKey),
  };
}

/** Creates a fresh identity from a cryptographically secure random seed. */
export function generateIdentity(
  options: { randomBytes?: (length: number) => Uint8Array } = {},
): Identity {
  const randomBytes = options.randomBytes ??
    ((n: number) => crypto.getRandomValues(new Uint8Array(n)));
  const seed = randomBytes(IDENTITY_SEED_LENGTH);
  try {
    return deriveIdentity(seed);
  } finally {
    seed.fill(0);
  }
}

/** Signs `message` with the identity's Ed25519 key. */
export function signWithIdentity(
  identity: Identity,
  message: Uint8Array,
): Uint8Array {
  return ed25519.sign(message, identity.signingPrivateKey);
}

/** Verifies an Ed25519 signature; false (never a throw) for any malformed input. */
export function verifySignature(
  signingPublicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    return ed25519.verify(signature, message, signingPublicKey);
  } catch {
    return false;
  }
}

/** Overwrites the identity's secrets in memory once they are no longer needed. */
export function wipeIdentity(identity: Identity): void {
  identity.seed.fill(0);
  identity.noisePrivateKey.fill(0);
  identity.signingPrivateKey.fill(0);
}
