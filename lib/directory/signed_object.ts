/**
 * Signed JSON objects: every message and document of the directory is a JSON
 * object with a `signature` member over all its other members.
 *
 * The signed bytes are the ASCII context string {@linkcode SIGNING_CONTEXT}
 * followed by the canonical JSON (`canonical_json.ts`) of the object without
 * its `signature` member. The context keeps these signatures apart from any
 * other use of the same Ed25519 key; the object's own `type` member keeps a
 * heartbeat from passing as a descriptor, and verifiers check it.
 *
 * Keys and signatures travel as standard base64 with padding (RFC 4648 §4),
 * and only in their one canonical form: {@linkcode decodeBase64Exact} refuses
 * other lengths, other alphabets and non-zero trailing bits.
 *
 * @module
 */

import { canonicalJson } from "./canonical_json.ts";
import {
  ED25519_KEY_LENGTH,
  ED25519_SIGNATURE_LENGTH,
  type Ed25519Signer,
  ed25519Verify,
} from "./ed25519.ts";

/** Prefix of every signed byte string (version 1 of the scheme). */
export const SIGNING_CONTEXT = "altnet directory signature v1\n";

const encoder = new TextEncoder();
const CONTEXT_BYTES = encoder.encode(SIGNING_CONTEXT);

/**
 * The bytes a signature over `object` covers: the context, then the
 * canonical JSON of `object` without the members named in `omit`
 * (`signature` always).
 *
 * @throws {TypeError} when a member is outside canonical JSON
 */
export function signedBytes(
  object: Record<string, unknown>,
  options: { omit?: string[] } = {},
): Uint8Array {
  const copy: Record<string, unknown> = { ...object };
  delete copy.signature;
  for (const name of options.omit ?? []) delete copy[name];
  const body = encoder.encode(canonicalJson(copy));
  const out = new Uint8Array(CONTEXT_BYTES.length + body.length);
  out.set(CONTEXT_BYTES);
  out.set(body, CONTEXT_BYTES.length);
  return out;
}

/**
 * Returns `object` with a `signature` member by `sign`.
 *
 * @example
 * ```ts ignore
 * const signed = signObject({ type: "relay-heartbeat", … }, signer);
 * ```
 */
export function signObject<T extends object>(
  object: T,
  sign: Ed25519Signer,
): T & { signature: string } {
  const signature = sign(signedBytes(object as Record<string, unknown>));
  return { ...object, signature: signature.toBase64() };
}

/**
 * Whether `object.signature` is a valid signature by `publicKey` over the
 * rest of `object`. False, never a throw, for anything malformed.
 */
export function verifyObject(
  object: Record<string, unknown>,
  publicKey: Uint8Array,
): boolean {
  const signature = decodeBase64Exact(
    object.signature,
    ED25519_SIGNATURE_LENGTH,
  );
  if (!signature || publicKey.length !== ED25519_KEY_LENGTH) return false;
  let bytes: Uint8Array;
  try {
    bytes = signedBytes(object);
  } catch {
    return false;
  }
  return ed25519Verify(publicKey, bytes, signature);
}

const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes `text` as canonical padded base64 of exactly `length` bytes, or
 * returns undefined.
 */
export function decodeBase64Exact(
  text: unknown,
  length: number,
): Uint8Array | undefined {
  if (typeof text !== "string") return undefined;
  if (text.length !== Math.ceil(length / 3) * 4) return undefined;
  if (!BASE64_PATTERN.test(text)) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.fromBase64(text);
  } catch {
    return undefined;
  }
  // Re-encoding catches non-zero trailing bits (two texts, one value).
  if (bytes.length !== length || bytes.toBase64() !== text) return undefined;
  return bytes;
}
