/**
 * Proof that a registering relay holds the private half of the Noise key it
 * announces.
 *
 * An Ed25519 signature proves the signing key only; X25519 cannot sign. So
 * a descriptor also carries `noise_proof`, an HMAC that only the holder of
 * the relay's X25519 private key (or the directory) can compute:
 *
 * ```
 * shared = X25519(relay_noise_private, directory_noise_public)
 *        = X25519(directory_noise_private, relay_noise_public)
 * key    = HKDF-SHA256(ikm = shared, salt = none, info = PROOF_LABEL, 32)
 * proof  = HMAC-SHA256(key, signedBytes(descriptor without signature and noise_proof))
 * ```
 *
 * Without it anybody could register a descriptor naming a victim relay's
 * Noise key under their own signing key and address, squatting its
 * fingerprint. Only the directory can check the proof (clients cannot, and
 * need not: a relay listed under a stolen Noise key fails the very first
 * Noise handshake). The proof is bound to one directory and one descriptor.
 *
 * @module
 */

import { timingSafeEqual } from "node:crypto";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { DH_25519 } from "../crypto/noise/mod.ts";
import { signedBytes } from "./signed_object.ts";

const PROOF_LABEL = new TextEncoder().encode(
  "altnet directory noise proof v1",
);

/** Members the proof does not cover (it cannot cover itself). */
const NOT_COVERED = ["noise_proof"];

function proofFor(
  shared: Uint8Array,
  descriptor: Record<string, unknown>,
): Uint8Array {
  const key = hkdf(sha256, shared, undefined, PROOF_LABEL, 32);
  shared.fill(0);
  try {
    return hmac(sha256, key, signedBytes(descriptor, { omit: NOT_COVERED }));
  } finally {
    key.fill(0);
  }
}

/**
 * The relay's side: the proof for `descriptor` (every member but
 * `noise_proof` and `signature` final), as 32 bytes.
 *
 * @throws {TypeError} when the directory's key is invalid (a low-order point)
 */
export function computeNoiseProof(
  descriptor: Record<string, unknown>,
  keys: { relayNoisePrivateKey: Uint8Array; directoryNoiseKey: Uint8Array },
): Uint8Array {
  let shared: Uint8Array;
  try {
    shared = DH_25519.dh(keys.relayNoisePrivateKey, keys.directoryNoiseKey);
  } catch (cause) {
    throw new TypeError(
      "Cannot prove the Noise key as the directory's Noise key is invalid",
      { cause },
    );
  }
  return proofFor(shared, descriptor);
}

/**
 * The directory's side: whether `proof` is right for `descriptor`, whose
 * `noise_key` is `relayNoiseKey`. False, never a throw, for a bad key.
 */
export function checkNoiseProof(
  descriptor: Record<string, unknown>,
  proof: Uint8Array,
  keys: { directoryNoisePrivateKey: Uint8Array; relayNoiseKey: Uint8Array },
): boolean {
  let shared: Uint8Array;
  try {
    shared = DH_25519.dh(keys.directoryNoisePrivateKey, keys.relayNoiseKey);
  } catch {
    return false; // low-order point: nobody can hold its private key
  }
  const expected = proofFor(shared, descriptor);
  return proof.length === expected.length && timingSafeEqual(proof, expected);
}
