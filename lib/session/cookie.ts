/**
 * Stateless proof-of-address cookies (docs/PROTOCOL.md §1.1 `COOKIE_REPLY`).
 *
 * A responder that must not keep state or do Diffie-Hellman work for an
 * address it has not seen answer answers a `HANDSHAKE_INIT` without a valid
 * cookie with a 38-byte `COOKIE_REPLY`. Only a sender that receives packets at
 * its source address learns the cookie, so spoofed inits cost the responder one
 * HMAC and never make it send more than it received (the init is padded to
 * 256 bytes). The same idea as WireGuard's cookie reply and QUIC's Retry.
 *
 * @module
 */

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import {
  COOKIE_SIZE,
  type CookieReplyPacket,
  ECHO_SIZE,
  encodeEndpoint,
  encodePacket,
  type Endpoint,
  PacketType,
} from "../wire/mod.ts";

/** How long one cookie secret is used; cookies stay valid for two periods. */
export const COOKIE_SECRET_LIFETIME_MS = 120_000;

const SECRET_SIZE = 32;

/** Options of {@linkcode CookieChecker}. */
export interface CookieCheckerOptions {
  /** The clock, in milliseconds. Defaults to `performance.now()`. */
  now?: () => number;
  /** Randomness for the secrets. Defaults to `crypto.getRandomValues`. */
  randomBytes?: (bytes: Uint8Array) => Uint8Array;
}

/**
 * Issues and checks cookies bound to a source endpoint, with a secret that
 * rotates every {@linkcode COOKIE_SECRET_LIFETIME_MS}; the current and the
 * previous secret are accepted.
 *
 * @example
 * ```ts
 * const cookies = new CookieChecker();
 * const from = { address: "192.0.2.1", port: 4000 };
 * cookies.verify(cookies.issue(from), from); // true
 * ```
 */
export class CookieChecker {
  readonly #now: () => number;
  readonly #randomBytes: (bytes: Uint8Array) => Uint8Array;
  #current: Uint8Array;
  #previous: Uint8Array | undefined;
  #rotatedAt: number;

  constructor(options: CookieCheckerOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#randomBytes = options.randomBytes ??
      ((bytes) => crypto.getRandomValues(bytes));
    this.#current = this.#randomBytes(new Uint8Array(SECRET_SIZE));
    this.#rotatedAt = this.#now();
  }

  /** The cookie for `from` under the current secret. */
  issue(from: Endpoint, now: number = this.#now()): Uint8Array {
    this.#rotate(now);
    return cookieFor(this.#current, from);
  }

  /** Whether `cookie` was issued to `from` within the last two periods. */
  verify(
    cookie: Uint8Array,
    from: Endpoint,
    now: number = this.#now(),
  ): boolean {
    this.#rotate(now);
    if (cookie.length !== COOKIE_SIZE) return false;
    if (timingSafeEqual(cookie, cookieFor(this.#current, from))) return true;
    return this.#previous !== undefined &&
      timingSafeEqual(cookie, cookieFor(this.#previous, from));
  }

  #rotate(now: number): void {
    const elapsed = now - this.#rotatedAt;
    if (elapsed < COOKIE_SECRET_LIFETIME_MS) return;
    this.#previous?.fill(0);
    // After two or more idle periods the previous secret is stale too.
    this.#previous = elapsed < 2 * COOKIE_SECRET_LIFETIME_MS
      ? this.#current
      : undefined;
    if (this.#previous === undefined) this.#current.fill(0);
    this.#current = this.#randomBytes(new Uint8Array(SECRET_SIZE));
    this.#rotatedAt = now;
  }
}

function cookieFor(secret: Uint8Array, from: Endpoint): Uint8Array {
  const mac = createHmac("sha256", secret).update(encodeEndpoint(from))
    .digest();
  return new Uint8Array(mac.subarray(0, COOKIE_SIZE));
}

/**
 * The `echo` of a cookie reply: the first 16 bytes of SHA-256 over the whole
 * `HANDSHAKE_INIT` it answers, so an off-path attacker cannot plant cookies.
 */
export function initEcho(initPacket: Uint8Array): Uint8Array {
  return new Uint8Array(
    createHash("sha256").update(initPacket).digest().subarray(0, ECHO_SIZE),
  );
}

/** Builds the `COOKIE_REPLY` answering `initPacket` (sent from `from`). */
export function encodeCookieReply(
  initPacket: Uint8Array,
  options: { senderIndex: number; cookie: Uint8Array },
): Uint8Array {
  const reply: CookieReplyPacket = {
    type: PacketType.COOKIE_REPLY,
    receiverIndex: options.senderIndex,
    echo: initEcho(initPacket),
    cookie: options.cookie,
  };
  return encodePacket(reply);
}
