/**
 * The Noise HandshakeState (§5.3): runs a handshake pattern message by
 * message and hands out the transport keys when it completes.
 *
 * @module
 */

import { TAG_LEN } from "./cipher.ts";
import { CipherState, MAX_MESSAGE_LEN } from "./cipher_state.ts";
import {
  checkKeyLength,
  defaultRandomBytes,
  type KeyPair,
  type RandomBytes,
} from "./dh.ts";
import { NoiseError } from "./noise_error.ts";
import type { HandshakePattern, Token } from "./patterns.ts";
import { type NoiseProtocol, parseProtocolName } from "./protocol_name.ts";
import { type SplitKeys, SymmetricState } from "./symmetric_state.ts";

/** Noise §9.2: every pre-shared key is 32 bytes. */
export const PSK_LEN = 32;

/** Options for {@link HandshakeState}; keys are DHLEN bytes. */
export interface HandshakeOptions {
  /** The full protocol name, e.g. `"Noise_XX_25519_ChaChaPoly_BLAKE2s"`. */
  protocolName: string;
  /** Whether this party sends the first message. */
  initiator: boolean;
  /** Noise §6: data both parties must agree on; defaults to empty. */
  prologue?: Uint8Array;
  /** The local static key pair, needed when the pattern uses it. */
  s?: KeyPair;
  /**
   * The local ephemeral key pair, only for a pattern where it is a
   * pre-message (`fallback`); other ephemerals are generated.
   */
  e?: KeyPair;
  /** The remote static public key, only when the pattern has it as a pre-message. */
  rs?: Uint8Array;
  /** The remote ephemeral public key, only when the pattern has it as a pre-message. */
  re?: Uint8Array;
  /** Noise §9: one 32-byte key per `psk` token, in order of use. */
  psks?: readonly Uint8Array[];
  /** Fills a buffer with random bytes; defaults to `crypto.getRandomValues`. */
  randomBytes?: RandomBytes;
  /**
   * The private key to use for this party's `e` token instead of a fresh
   * one. Reusing an ephemeral key destroys the handshake's security: for
   * test vectors only.
   */
  fixedEphemeralKeyForTestingOnly?: Uint8Array;
}

/** Options for {@link HandshakeState.fallback}. */
export interface FallbackOptions {
  /** Noise §6: the prologue of the new handshake; defaults to empty. */
  prologue?: Uint8Array;
  /** The local static key pair; defaults to this handshake's. */
  s?: KeyPair;
  /** Noise §9: one 32-byte key per `psk` token of the new pattern. */
  psks?: readonly Uint8Array[];
  /** Same as {@link HandshakeOptions.fixedEphemeralKeyForTestingOnly}. */
  fixedEphemeralKeyForTestingOnly?: Uint8Array;
}

/** The two transport CipherStates of Split() (§5.2). */
export interface TransportCipherStates {
  /** Encrypts what the initiator sends, decrypts what the responder receives. */
  readonly initiatorToResponder: CipherState;
  /**
   * Encrypts what the responder sends. Noise §7.4: after a one-way pattern
   * only the initiator sends, so this one must be discarded.
   */
  readonly responderToInitiator: CipherState;
}

/**
 * Noise §5.3: one party's side of a handshake.
 *
 * Call {@link writeMessage} and {@link readMessage} in the order the
 * pattern gives, then take the transport keys with {@link split} or
 * {@link splitKeys} (once). A message out of turn, a bad MAC, a message of
 * the wrong length or an invalid public key throws {@link NoiseError} and
 * leaves the handshake unusable: every later call throws too. Mistakes in
 * the options throw `TypeError` or `RangeError` from the constructor.
 *
 * @example An XX handshake between two parties in memory
 * ```ts
 * import { DH_25519 } from "./dh.ts";
 *
 * const name = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
 * const alice = new HandshakeState({ protocolName: name, initiator: true, s: DH_25519.generateKeyPair() });
 * const bob = new HandshakeState({ protocolName: name, initiator: false, s: DH_25519.generateKeyPair() });
 * bob.readMessage(alice.writeMessage(new Uint8Array(0)));
 * alice.readMessage(bob.writeMessage(new Uint8Array(0)));
 * bob.readMessage(alice.writeMessage(new Uint8Array(0)));
 * const { initiatorToResponder } = alice.split();
 * ```
 */
export class HandshakeState {
  readonly #protocol: NoiseProtocol;
  readonly #initiator: boolean;
  readonly #symmetric: SymmetricState;
  readonly #randomBytes: RandomBytes;
  readonly #fixedEphemeral: Uint8Array | undefined;
  readonly #psks: Uint8Array[];
  // Noise §9.2: with any psk token, every "e" also feeds MixKey.
  readonly #pskMode: boolean;
  #s: KeyPair | undefined;
  #e: KeyPair | undefined;
  #rs: Uint8Array | undefined;
  #re: Uint8Array | undefined;
  #pskIndex = 0;
  #messageIndex = 0;
  #failed = false;
  #destroyed = false;
  #splitKeys: SplitKeys | undefined;
  #splitTaken = false;

  /**
   * Noise §5.3: Initialize(). Parses the protocol name, checks that the
   * options hold exactly the keys the pattern needs, and hashes the
   * prologue and pre-message keys.
   */
  constructor(options: HandshakeOptions) {
    const protocol = parseProtocolName(options.protocolName);
    const { pattern, dh } = protocol;
    this.#protocol = protocol;
    if (typeof options.initiator !== "boolean") {
      throw new TypeError(
        `Cannot start the handshake as initiator is not a boolean: initiator is ${options.initiator}`,
      );
    }
    this.#initiator = options.initiator;
    this.#randomBytes = options.randomBytes ?? defaultRandomBytes;

    checkKeysFitPattern(options, pattern);
    if (options.s) this.#s = copyKeyPair(dh, options.s, "local static key");
    if (options.e) this.#e = copyKeyPair(dh, options.e, "local ephemeral key");
    if (options.rs) {
      checkKeyLength(options.rs, { dh, what: "remote static key" });
      this.#rs = options.rs.slice();
    }
    if (options.re) {
      checkKeyLength(options.re, { dh, what: "remote ephemeral key" });
      this.#re = options.re.slice();
    }
    if (options.fixedEphemeralKeyForTestingOnly !== undefined) {
      checkKeyLength(options.fixedEphemeralKeyForTestingOnly, {
        dh,
        what: "fixed ephemeral key",
      });
      this.#fixedEphemeral = options.fixedEphemeralKeyForTestingOnly.slice();
    }

    const pskCount = pattern.messages.flat().filter((token) => token === "psk")
      .length;
    const psks = options.psks ?? [];
    if (psks.length !== pskCount) {
      throw new TypeError(
        `Cannot start the handshake as pattern ${pattern.name} needs ${pskCount} psks: given ${psks.length}`,
      );
    }
    for (const psk of psks) {
      if (!(psk instanceof Uint8Array) || psk.length !== PSK_LEN) {
        throw new TypeError(
          `Cannot start the handshake as a psk is not ${PSK_LEN} bytes: length is ${psk?.length}`,
        );
      }
    }
    this.#psks = psks.map((psk) => psk.slice());
    this.#pskMode = pskCount > 0;

    const prologue = options.prologue ?? new Uint8Array(0);
    this.#symmetric = new SymmetricState(protocol.name, protocol);
    this.#symmetric.mixHash(prologue);
    // Noise §5.3: the initiator's pre-message keys are hashed first.
    const preMessages = [
      [pattern.initiatorPreMessage, this.#initiator],
      [pattern.responderPreMessage, !this.#initiator],
    ] as const;
    for (const [tokens, isLocal] of preMessages) {
      for (const token of tokens) {
        const key = token === "e"
          ? (isLocal ? this.#e!.publicKey : this.#re!)
          : (isLocal ? this.#s!.publicKey : this.#rs!);
        this.#symmetric.mixHash(key);
        // Noise §9.2: in a PSK handshake a pre-message "e" also feeds MixKey.
        if (token === "e" && this.#pskMode) this.#symmetric.mixKey(key);
      }
    }
  }

  /** The parsed protocol: pattern, modifiers and crypto functions. */
  get protocol(): NoiseProtocol {
    return this.#protocol;
  }

  /** Whether this party sent (or will send) the first message. */
  get isInitiator(): boolean {
    return this.#initiator;
  }

  /** Whether every message of the pattern has been written or read. */
  get isComplete(): boolean {
    return this.#messageIndex === this.#protocol.pattern.messages.length;
  }

  /** Whether the next call should be {@link writeMessage} (else {@link readMessage}). */
  get isMyTurnToWrite(): boolean {
    return !this.#failed && !this.isComplete &&
      (this.#messageIndex % 2 === 0) === this.#initiator;
  }

  /**
   * Noise §5.2: GetHandshakeHash(), the hash of everything sent so far. Once
   * the handshake is complete it identifies the session for channel binding
   * (§11.2).
   */
  get handshakeHash(): Uint8Array {
    this.#checkUsable();
    return this.#symmetric.getHandshakeHash();
  }

  /**
   * The peer's static public key, once known (pre-message or received).
   * Authenticated only once the handshake is complete; after a failure,
   * reading it throws like any other use.
   */
  get remoteStatic(): Uint8Array | undefined {
    this.#checkUsable();
    return this.#rs?.slice();
  }

  /** The peer's ephemeral public key, once known. */
  get remoteEphemeral(): Uint8Array | undefined {
    this.#checkUsable();
    return this.#re?.slice();
  }

  /**
   * Noise §5.3: WriteMessage(payload). Returns the next handshake message.
   * Throws {@link NoiseError} out of turn (which ends the handshake), and
   * `RangeError` without touching the state if the message would exceed
   * 65535 bytes (§3).
   */
  writeMessage(payload: Uint8Array): Uint8Array {
    this.#checkUsable();
    checkBytes(payload, "payload");
    if (!this.isMyTurnToWrite) {
      this.#fail(
        this.isComplete
          ? "Cannot write a handshake message as the handshake is complete"
          : `Cannot write a handshake message as it is the peer's turn: message is ${
            this.#messageIndex + 1
          }`,
      );
    }
    const tokens = this.#protocol.pattern.messages[this.#messageIndex];
    const length = this.#messageLength(tokens, payload.length);
    if (length > MAX_MESSAGE_LEN) {
      throw new RangeError(
        `Cannot write a handshake message as it would exceed ${MAX_MESSAGE_LEN} bytes: length is ${length}`,
      );
    }
    try {
      const parts: Uint8Array[] = [];
      for (const token of tokens) {
        if (token === "e") {
          const { dh } = this.#protocol;
          this.#e = this.#fixedEphemeral
            ? dh.keyPairFromPrivateKey(this.#fixedEphemeral)
            : dh.generateKeyPair(this.#randomBytes);
          parts.push(this.#e.publicKey.slice());
          this.#mixEphemeral(this.#e.publicKey);
        } else if (token === "s") {
          parts.push(this.#symmetric.encryptAndHash(this.#s!.publicKey));
        } else {
          this.#mixToken(token);
        }
      }
      parts.push(this.#symmetric.encryptAndHash(payload));
      this.#advance();
      return concat(parts, length);
    } catch (error) {
      this.#fail("Cannot write a handshake message", error);
    }
  }

  /**
   * Noise §5.3: ReadMessage(message). Returns the payload the peer sent.
   * Throws {@link NoiseError}, ending the handshake, if the message comes
   * out of turn, has the wrong length, fails authentication or carries an
   * invalid key.
   */
  readMessage(message: Uint8Array): Uint8Array {
    this.#checkUsable();
    checkBytes(message, "message");
    if (this.isComplete || this.isMyTurnToWrite) {
      this.#fail(
        this.isComplete
          ? "Cannot read a handshake message as the handshake is complete"
          : `Cannot read a handshake message as it is this party's turn to write: message is ${
            this.#messageIndex + 1
          }`,
      );
    }
    if (message.length > MAX_MESSAGE_LEN) {
      this.#fail(
        `Cannot read a handshake message as it exceeds ${MAX_MESSAGE_LEN} bytes: length is ${message.length}`,
      );
    }
    const tokens = this.#protocol.pattern.messages[this.#messageIndex];
    const minimum = this.#messageLength(tokens, 0);
    if (message.length < minimum) {
      this.#fail(
        `Cannot read a handshake message as it is too short: length is ${message.length}, at least ${minimum} expected`,
      );
    }
    try {
      const { dhLen } = this.#protocol.dh;
      let offset = 0;
      const take = (length: number): Uint8Array => {
        // The minimum length above makes this unreachable; keep the bound
        // anyway so no token ever reads past the message.
        if (offset + length > message.length) {
          throw new NoiseError(
            `Cannot read a handshake message as it is too short: length is ${message.length}`,
          );
        }
        const part = message.slice(offset, offset + length);
        offset += length;
        return part;
      };
      for (const token of tokens) {
        if (token === "e") {
          this.#re = take(dhLen);
          this.#mixEphemeral(this.#re);
        } else if (token === "s") {
          const length = dhLen + (this.#symmetric.hasKey() ? TAG_LEN : 0);
          this.#rs = this.#symmetric.decryptAndHash(take(length));
        } else {
          this.#mixToken(token);
        }
      }
      const payload = this.#symmetric.decryptAndHash(message.subarray(offset));
      this.#advance();
      return payload;
    } catch (error) {
      this.#fail("Cannot read a handshake message", error);
    }
  }

  /**
   * Noise §5.2: Split(), as two CipherStates with nonce zero. Call once,
   * after the handshake is complete; the keys are handed out only once
   * (by this or {@link splitKeys}) so that no nonce is ever reused.
   */
  split(): TransportCipherStates {
    const keys = this.splitKeys();
    const { cipher } = this.#protocol;
    const states = {
      initiatorToResponder: new CipherState(cipher, keys.initiatorToResponder),
      responderToInitiator: new CipherState(cipher, keys.responderToInitiator),
    };
    keys.initiatorToResponder.fill(0);
    keys.responderToInitiator.fill(0);
    return states;
  }

  /**
   * Noise §5.2: the two 32-byte keys of Split(), for a data path that runs
   * its own AEAD with explicit counters. Call once, after the handshake is
   * complete; the caller then owns (and should wipe) the keys.
   */
  splitKeys(): SplitKeys {
    this.#checkUsable();
    if (this.#splitTaken) {
      this.#fail("Cannot split the handshake as its keys were already taken");
    }
    if (this.#splitKeys === undefined) {
      this.#fail(
        `Cannot split the handshake as it is not complete: next message is ${
          this.#messageIndex + 1
        }`,
      );
    }
    const keys = this.#splitKeys!;
    this.#splitKeys = undefined;
    this.#splitTaken = true;
    return keys;
  }

  /**
   * Noise §10.2: starts the `fallback` handshake that replaces this one,
   * typically an `XXfallback` after an `IK` first message that Bob could not
   * decrypt. Roles swap: Alice (this initiator) becomes the responder and
   * keeps her ephemeral key as a pre-message; Bob becomes the initiator with
   * Alice's ephemeral key from her first message. Works after a failure, as
   * that is when it is needed; this handshake is unusable afterwards.
   *
   * @example Noise Pipes: Alice's IK uses a stale key for Bob
   * ```ts
   * import { DH_25519 } from "./dh.ts";
   *
   * const ik = "Noise_IK_25519_ChaChaPoly_BLAKE2s";
   * const fallback = "Noise_XXfallback_25519_ChaChaPoly_BLAKE2s";
   * const empty = new Uint8Array(0);
   * const stale = DH_25519.generateKeyPair().publicKey;
   * const alice = new HandshakeState({ protocolName: ik, initiator: true, s: DH_25519.generateKeyPair(), rs: stale });
   * const bob = new HandshakeState({ protocolName: ik, initiator: false, s: DH_25519.generateKeyPair() });
   * const first = alice.writeMessage(empty);
   * let bobRetry: HandshakeState | undefined;
   * try {
   *   bob.readMessage(first);
   * } catch {
   *   bobRetry = bob.fallback(fallback); // Bob now initiates XXfallback
   * }
   * const reply = bobRetry!.writeMessage(empty);
   * let aliceRetry: HandshakeState | undefined;
   * try {
   *   alice.readMessage(reply); // not an IK reply
   * } catch {
   *   aliceRetry = alice.fallback(fallback);
   * }
   * aliceRetry!.readMessage(reply);
   * bobRetry!.readMessage(aliceRetry!.writeMessage(empty));
   * ```
   */
  fallback(
    protocolName: string,
    options: FallbackOptions = {},
  ): HandshakeState {
    if (this.#destroyed) {
      throw new NoiseError("Cannot fall back as the handshake was destroyed");
    }
    const next = parseProtocolName(protocolName);
    if (!next.modifiers.includes("fallback")) {
      throw new RangeError(
        `Cannot fall back as the protocol has no fallback modifier: name is "${protocolName}"`,
      );
    }
    if (next.dh !== this.#protocol.dh) {
      throw new RangeError(
        `Cannot fall back as the DH functions differ: ${this.#protocol.dh.name} then ${next.dh.name}`,
      );
    }
    if (this.isComplete) {
      throw new NoiseError("Cannot fall back as the handshake is complete");
    }
    const becomesInitiator = !this.#initiator;
    // Alice's first message is the new pre-message (§10.2): she must have
    // sent it, and Bob must have read at least its ephemeral key.
    if (becomesInitiator ? !this.#re : !this.#e) {
      throw new NoiseError(
        "Cannot fall back as no ephemeral key was exchanged in the first message",
      );
    }
    const responderPre = next.pattern.responderPreMessage;
    const state = new HandshakeState({
      protocolName,
      initiator: becomesInitiator,
      prologue: options.prologue,
      s: options.s ?? this.#s,
      e: becomesInitiator ? undefined : this.#e,
      re: becomesInitiator ? this.#re : undefined,
      rs: becomesInitiator && responderPre.includes("s") ? this.#rs : undefined,
      psks: options.psks,
      randomBytes: this.#randomBytes,
      fixedEphemeralKeyForTestingOnly: options.fixedEphemeralKeyForTestingOnly,
    });
    this.destroy();
    return state;
  }

  /** Wipes every key this handshake holds; it is unusable afterwards. */
  destroy(): void {
    this.#failed = true;
    this.#destroyed = true;
    this.#symmetric.destroy();
    this.#e?.privateKey.fill(0);
    this.#s?.privateKey.fill(0);
    this.#fixedEphemeral?.fill(0);
    for (const psk of this.#psks) psk.fill(0);
    this.#splitKeys?.initiatorToResponder.fill(0);
    this.#splitKeys?.responderToInitiator.fill(0);
    this.#e = undefined;
    this.#s = undefined;
    this.#splitKeys = undefined;
  }

  /** Noise §5.3: one DH or psk token, the same for writer and reader. */
  #mixToken(token: Exclude<Token, "e" | "s">): void {
    if (token === "psk") {
      // Noise §9.2: "psk" calls MixKeyAndHash(psk), taking psks in order.
      this.#symmetric.mixKeyAndHash(this.#psks[this.#pskIndex++]);
      return;
    }
    // Noise §5.3: the first letter is the initiator's key, the second the
    // responder's; each side uses its private half and the peer's public.
    const [initiatorKey, responderKey] = token;
    const localKey = this.#initiator ? initiatorKey : responderKey;
    const remoteKey = this.#initiator ? responderKey : initiatorKey;
    const local = localKey === "e" ? this.#e : this.#s;
    const remote = remoteKey === "e" ? this.#re : this.#rs;
    if (!local || !remote) {
      // Pattern validation (§7.3) rules this out; fail closed regardless.
      throw new NoiseError(`Cannot compute ${token} as a key is missing`);
    }
    const shared = this.#protocol.dh.dh(local.privateKey, remote);
    this.#symmetric.mixKey(shared);
    shared.fill(0);
  }

  #mixEphemeral(publicKey: Uint8Array): void {
    this.#symmetric.mixHash(publicKey);
    // Noise §9.2: in a PSK handshake "e" also calls MixKey(e.public_key),
    // so that encryption after a psk is never under a key without fresh
    // randomness.
    if (this.#pskMode) this.#symmetric.mixKey(publicKey);
  }

  /** The length of the next message with `payloadLength` payload bytes. */
  #messageLength(tokens: readonly Token[], payloadLength: number): number {
    const { dhLen } = this.#protocol.dh;
    let hasKey = this.#symmetric.hasKey();
    let length = 0;
    for (const token of tokens) {
      if (token === "e") {
        length += dhLen;
        if (this.#pskMode) hasKey = true;
      } else if (token === "s") {
        length += dhLen + (hasKey ? TAG_LEN : 0);
      } else {
        hasKey = true;
      }
    }
    return length + payloadLength + (hasKey ? TAG_LEN : 0);
  }

  #advance(): void {
    this.#messageIndex++;
    if (this.#messageIndex === this.#protocol.pattern.messages.length) {
      // Noise §5.3: after the last message, Split(). The ephemeral private
      // key is no longer needed; wiping it now is what makes it ephemeral.
      this.#splitKeys = this.#symmetric.splitKeys();
      this.#e?.privateKey.fill(0);
    }
  }

  #checkUsable(): void {
    if (this.#failed) {
      throw new NoiseError(
        "Cannot use the handshake as it failed or was destroyed",
      );
    }
  }

  #fail(message: string, cause?: unknown): never {
    // Keep the ephemeral keys for fallback (§10.2); everything else goes.
    this.#failed = true;
    this.#symmetric.destroy();
    this.#splitKeys?.initiatorToResponder.fill(0);
    this.#splitKeys?.responderToInitiator.fill(0);
    this.#splitKeys = undefined;
    // Whatever went wrong while processing a message is reported as a
    // NoiseError, so a peer can never make the caller see another type.
    if (cause instanceof NoiseError) throw cause;
    if (cause !== undefined) {
      throw new NoiseError(`${message}: ${String(cause)}`, { cause });
    }
    throw new NoiseError(message);
  }
}

/**
 * Throws `TypeError` unless the options hold the keys the pattern needs for
 * this role: the local static key pair if the pattern uses it, and the
 * local ephemeral and remote keys exactly when they are pre-messages. A
 * remote key the pattern would never use is refused rather than ignored,
 * as a caller passing it probably expects it to be checked.
 */
function checkKeysFitPattern(
  options: HandshakeOptions,
  pattern: HandshakePattern,
): void {
  const local = options.initiator ? 0 : 1;
  const [localPre, remotePre] = options.initiator
    ? [pattern.initiatorPreMessage, pattern.responderPreMessage]
    : [pattern.responderPreMessage, pattern.initiatorPreMessage];
  // The local static key is used if it is a pre-message, sent in an "s"
  // token, or the local half of a DH token (first letter: initiator's).
  const needsS = localPre.includes("s") ||
    pattern.messages.some((tokens, index) =>
      tokens.some((token) =>
        (token === "s" && index % 2 === local) ||
        (token.length === 2 && token[local] === "s")
      )
    );
  const role = options.initiator ? "initiator" : "responder";
  if (needsS && options.s === undefined) {
    throw new TypeError(
      `Cannot start the handshake as the local static key pair is missing: pattern ${pattern.name} needs it for the ${role}`,
    );
  }
  const preMessageKeys = [
    ["local ephemeral key pair", options.e, localPre.includes("e")],
    ["remote static key", options.rs, remotePre.includes("s")],
    ["remote ephemeral key", options.re, remotePre.includes("e")],
  ] as const;
  for (const [what, given, needed] of preMessageKeys) {
    if (needed && given === undefined) {
      throw new TypeError(
        `Cannot start the handshake as the ${what} is missing: pattern ${pattern.name} has it as a pre-message for the ${role}`,
      );
    }
    if (!needed && given !== undefined) {
      throw new TypeError(
        `Cannot start the handshake as the ${what} is not a pre-message: pattern is ${pattern.name}, role is ${role}`,
      );
    }
  }
}

function copyKeyPair(
  dh: NoiseProtocol["dh"],
  keyPair: KeyPair,
  what: string,
): KeyPair {
  checkKeyLength(keyPair.publicKey, { dh, what: `${what}'s public half` });
  checkKeyLength(keyPair.privateKey, { dh, what: `${what}'s private half` });
  return {
    publicKey: keyPair.publicKey.slice(),
    privateKey: keyPair.privateKey.slice(),
  };
}

function checkBytes(value: unknown, what: string): void {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot use the ${what} as it is not a Uint8Array: type is ${typeof value}`,
    );
  }
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
