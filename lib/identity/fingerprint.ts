/**
 * Fingerprints people can read aloud and compare.
 *
 * A fingerprint is the first 100 bits of SHA-256 over a label and the X25519
 * public key, written as 20 characters of RFC 4648 base32 (A–Z, 2–7: no 0/O or
 * 1/I/L to confuse) in five groups of four: `K7QM-2XFA-PL4Z-W3RB-9…`.
 * Forging a key with a given fingerprint costs about 2^100 hash evaluations.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";

const FINGERPRINT_LABEL = new TextEncoder().encode("altnet fingerprint v1");
const BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/** Number of base32 characters in a fingerprint (5 bits each). */
export const FINGERPRINT_CHARS = 20;
const GROUP_SIZE = 4;

/**
 * The fingerprint of an X25519 public key.
 *
 * @example
 * ```ts
 * fingerprint(identity.noisePublicKey); // "K7QM-2XFA-PL4Z-W3RB-TQ5N"
 * ```
 */
export function fingerprint(noisePublicKey: Uint8Array): string {
  if (noisePublicKey.length !== 32) {
    throw new RangeError(
      `Cannot fingerprint a key of the wrong length: ${noisePublicKey.length} bytes`,
    );
  }
  const input = new Uint8Array(FINGERPRINT_LABEL.length + 32);
  input.set(FINGERPRINT_LABEL);
  input.set(noisePublicKey, FINGERPRINT_LABEL.length);
  const chars = base32(sha256(input)).slice(0, FINGERPRINT_CHARS);
  const groups: string[] = [];
  for (let i = 0; i < chars.length; i += GROUP_SIZE) {
    groups.push(chars.slice(i, i + GROUP_SIZE));
  }
  return groups.join("-");
}

/**
 * Normalizes a fingerprint typed by a person (any case, spaces or hyphens),
 * or returns undefined when it is not one.
 */
export function normalizeFingerprint(text: string): string | undefined {
  const chars = text.toUpperCase().replace(/[\s-]/g, "");
  if (chars.length !== FINGERPRINT_CHARS) return undefined;
  for (const c of chars) if (!BASE32_ALPHABET.includes(c)) return undefined;
  return chars.match(/.{4}/g)!.join("-");
}

/** RFC 4648 §6 base32 without padding. */
function base32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32_ALPHABET[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}
