/**
 * Constants of the protocol: the limits and timers that WireGuard fixes for
 * its transport sessions (wireguard-go `device/constants.go`, WireGuard
 * whitepaper §6.1), and the sizes fixed by ChaCha20-Poly1305 (RFC 8439) as
 * Noise uses it. They are part of the protocol, not knobs: both peers must
 * agree on them. Tuning constants live beside the code they tune.
 *
 * Times are in milliseconds, like the injected clock `now`.
 *
 * @module
 */

/**
 * After this many messages have been sent with one session the initiator of
 * the next handshake should start a new one (whitepaper §6.1: 2^60).
 */
export const REKEY_AFTER_MESSAGES: bigint = 1n << 60n;

/**
 * A session refuses to send or receive a counter at or above this value
 * (whitepaper §6.1: 2^64 − 2^13 − 1), so a 64-bit counter never wraps and a
 * nonce is never reused. Counters here are bigints, which cannot wrap; the
 * value is kept as given so that both peers stop at the same place.
 */
export const REJECT_AFTER_MESSAGES: bigint = (1n << 64n) - (1n << 13n) - 1n;

/** Whitepaper §6.1: the initiator rekeys a session this old (120 s). */
export const REKEY_AFTER_TIME_MS = 120_000;

/**
 * Whitepaper §6.1: a session this old (180 s) is refused in both directions,
 * whatever its counters say.
 */
export const REJECT_AFTER_TIME_MS = 180_000;

/**
 * Whitepaper §6.1: a handshake initiation unanswered for this long (5 s) is
 * retransmitted. Not used by the session layer; kept here for the handshake
 * driver.
 */
export const REKEY_TIMEOUT_MS = 5_000;

/**
 * Whitepaper §6.1: a peer that received data and sent nothing for this long
 * (10 s) sends an empty keepalive. Not used by the session layer; kept here
 * for the transport driver.
 */
export const KEEPALIVE_TIMEOUT_MS = 10_000;

/** RFC 8439 §2.8: ChaCha20-Poly1305 takes a 256-bit key. */
export const KEY_SIZE = 32;

/** RFC 8439 §2.8: ChaCha20-Poly1305 takes a 96-bit nonce. */
export const NONCE_SIZE = 12;

/** RFC 8439 §2.8: the Poly1305 tag appended to each ciphertext is 128 bits. */
export const TAG_SIZE = 16;

/** The largest counter a 64-bit wire field can carry. */
export const MAX_COUNTER: bigint = (1n << 64n) - 1n;
