/**
 * Long-term identities: key derivation, fingerprints and the identity file.
 *
 * @module
 */

export * from "./identity.ts";
export * from "./fingerprint.ts";
export * from "./store.ts";
export * from "./trust_store.ts";
