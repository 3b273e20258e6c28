/**
 * The datagram transport layer that runs after a Noise handshake: each data
 * packet carries an explicit 64-bit counter used as the ChaCha20-Poly1305
 * nonce, so that UDP may lose and reorder packets.
 *
 * - {@linkcode TransportSession} seals and opens packets for one pair of
 *   keys, with replay protection and WireGuard's rekey and expiry rules.
 * - {@linkcode KeyRing} keeps a peer's current, previous and next sessions so
 *   that packets in flight during a rekey still open.
 * - {@linkcode ReplayWindow} is the RFC 6479 anti-replay window on its own.
 * - The constants are WireGuard's limits and timers, in milliseconds.
 *
 * Everything here is sans-I/O: time comes in as `now` (milliseconds), and the
 * caller owns sockets and timers.
 *
 * @example Usage
 * ```ts
 * import { KeyRing, TransportSession } from "./mod.ts";
 *
 * const keyring = new KeyRing();
 * keyring.install(new TransportSession({
 *   sendKey: new Uint8Array(32), // from the handshake's Split()
 *   receiveKey: new Uint8Array(32),
 *   isInitiator: true,
 *   createdAt: performance.now(),
 *   localIndex: 1,
 *   remoteIndex: 2,
 * }));
 * ```
 *
 * @module
 */

export type { Aead } from "./aead.ts";
export { nodeChaCha20Poly1305 } from "./aead_node.ts";
export { nobleChaCha20Poly1305 } from "./aead_noble.ts";
export {
  KEEPALIVE_TIMEOUT_MS,
  KEY_SIZE,
  MAX_COUNTER,
  NONCE_SIZE,
  REJECT_AFTER_MESSAGES,
  REJECT_AFTER_TIME_MS,
  REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME_MS,
  REKEY_TIMEOUT_MS,
  TAG_SIZE,
} from "./constants.ts";
export {
  type DataPacket,
  KeyRing,
  type KeyRingOpenResult,
  type KeyRingOptions,
} from "./keyring.ts";
export { encodeNonce, NonceBuffer } from "./nonce.ts";
export {
  REPLAY_WINDOW_SIZE,
  type ReplayVerdict,
  ReplayWindow,
} from "./replay_window.ts";
export {
  type OpenFailureReason,
  type OpenResult,
  type SealedPacket,
  TransportSession,
  type TransportSessionOptions,
} from "./session.ts";
export {
  isPastRejectAfterMessages,
  isPastRejectAfterTime,
  REKEY_ON_RECEIVE_AFTER_TIME_MS,
  rekeyDueAfterReceiving,
  rekeyDueAfterSending,
  type SessionClock,
} from "./timers.ts";
