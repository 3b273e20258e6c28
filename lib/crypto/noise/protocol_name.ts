/**
 * Parsing Noise protocol names (§8), e.g.
 * `Noise_XXpsk0+psk1_25519_AESGCM_SHA256`.
 *
 * @module
 */

import { CIPHER_FUNCTIONS, type CipherFunction } from "./cipher.ts";
import { DH_FUNCTIONS, type DhFunction } from "./dh.ts";
import { HASH_FUNCTIONS, type HashFunction } from "./hash.ts";
import {
  type HandshakePattern,
  resolveHandshakePattern,
  splitPatternName,
} from "./patterns.ts";

/** Noise §8: a protocol name is at most 255 bytes. */
export const MAX_PROTOCOL_NAME_LEN = 255;

/** A protocol name resolved into its pattern and crypto functions. */
export interface NoiseProtocol {
  /** The full name, as hashed into the handshake (§5.2). */
  readonly name: string;
  /** The base pattern name, e.g. `"XX"`. */
  readonly basePattern: string;
  /** The modifiers in the order written, e.g. `["psk0", "psk1"]`. */
  readonly modifiers: readonly string[];
  /** The pattern with its modifiers applied, validated (§7.3, §9.3). */
  readonly pattern: HandshakePattern;
  /** The DH functions, e.g. 25519. */
  readonly dh: DhFunction;
  /** The cipher functions, e.g. ChaChaPoly. */
  readonly cipher: CipherFunction;
  /** The hash function, e.g. SHA256. */
  readonly hash: HashFunction;
}

/**
 * Parses a Noise protocol name (§8) into its pattern, modifiers and crypto
 * functions. Throws `RangeError` naming the first part it does not know.
 *
 * @example
 * ```ts
 * const protocol = parseProtocolName("Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s");
 * protocol.pattern.messages.length; // 3
 * protocol.dh.dhLen; // 32
 * ```
 */
export function parseProtocolName(name: string): NoiseProtocol {
  const length = new TextEncoder().encode(name).length;
  if (length > MAX_PROTOCOL_NAME_LEN) {
    throw new RangeError(
      `Cannot use the protocol name as it exceeds ${MAX_PROTOCOL_NAME_LEN} bytes: length is ${length}`,
    );
  }
  const parts = name.split("_");
  if (parts.length !== 5 || parts[0] !== "Noise") {
    throw new RangeError(
      `Cannot parse the protocol name as it is not Noise_<pattern>_<dh>_<cipher>_<hash>: name is "${name}"`,
    );
  }
  const [, patternName, dhName, cipherName, hashName] = parts;
  const dh = lookUp(DH_FUNCTIONS, dhName, "DH function");
  const cipher = lookUp(CIPHER_FUNCTIONS, cipherName, "cipher function");
  const hash = lookUp(HASH_FUNCTIONS, hashName, "hash function");
  const { base, modifiers } = splitPatternName(patternName);
  const pattern = resolveHandshakePattern(patternName);
  return {
    name,
    basePattern: base,
    modifiers,
    pattern,
    dh,
    cipher,
    hash,
  };
}

function lookUp<T>(
  table: Readonly<Record<string, T>>,
  name: string,
  what: string,
): T {
  if (!Object.hasOwn(table, name)) {
    throw new RangeError(
      `Cannot find the ${what}: name is "${name}", known are ${
        Object.keys(table).join(", ")
      }`,
    );
  }
  return table[name];
}
