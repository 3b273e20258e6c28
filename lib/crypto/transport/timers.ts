/**
 * When a transport session must be rekeyed or refused, after WireGuard's
 * timers (whitepaper §6.2–6.3, wireguard-go `device/send.go`
 * `keepKeyFreshSending`, `device/receive.go` `keepKeyFreshReceiving`).
 *
 * Each check is named after the protocol event that prompts it and is pure:
 * the caller passes the clock reading.
 *
 * @module
 */

import {
  KEEPALIVE_TIMEOUT_MS,
  REJECT_AFTER_MESSAGES,
  REJECT_AFTER_TIME_MS,
  REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME_MS,
  REKEY_TIMEOUT_MS,
} from "./constants.ts";

/** What the timers need to know about a session. */
export interface SessionClock {
  /** Whether we sent the handshake initiation that made the session. */
  isInitiator: boolean;
  /** When the handshake completed, in milliseconds on the `now` clock. */
  createdAt: number;
  /** Messages sent so far, which is also the next send counter. */
  sent: bigint;
}

/**
 * Whether the keys are too old to use in either direction: true from
 * {@linkcode REJECT_AFTER_TIME_MS} after the handshake (whitepaper §6.1).
 *
 * @param createdAt When the handshake completed, in milliseconds.
 * @param now The current time, in milliseconds.
 */
export function isPastRejectAfterTime(createdAt: number, now: number): boolean {
  return now - createdAt >= REJECT_AFTER_TIME_MS;
}

/**
 * Whether no further message may be sent with the session: true once
 * {@linkcode REJECT_AFTER_MESSAGES} counters are used up (whitepaper §6.1).
 *
 * @param sent Messages sent so far.
 */
export function isPastRejectAfterMessages(sent: bigint): boolean {
  return sent >= REJECT_AFTER_MESSAGES;
}

/**
 * Call after sending a data packet: whether to start a new handshake.
 *
 * Whitepaper §6.2: both sides rekey once {@linkcode REKEY_AFTER_MESSAGES}
 * messages were sent, but only the initiator rekeys because of age
 * ({@linkcode REKEY_AFTER_TIME_MS}). The responder waits for the initiator so
 * that the two do not start crossing handshakes at the same moment (the
 * "thundering herd"); if the initiator goes quiet the session simply expires
 * at {@linkcode REJECT_AFTER_TIME_MS} and whoever has data next initiates.
 *
 * @param session The session's role, birth time and send count.
 * @param now The current time, in milliseconds.
 */
export function rekeyDueAfterSending(
  session: SessionClock,
  now: number,
): boolean {
  if (session.sent >= REKEY_AFTER_MESSAGES) return true;
  return session.isInitiator && now - session.createdAt >= REKEY_AFTER_TIME_MS;
}

/**
 * How old a session may get before the initiator, on receiving with it,
 * rekeys at the last minute: {@linkcode REJECT_AFTER_TIME_MS} −
 * {@linkcode KEEPALIVE_TIMEOUT_MS} − {@linkcode REKEY_TIMEOUT_MS} (165 s).
 */
export const REKEY_ON_RECEIVE_AFTER_TIME_MS: number = REJECT_AFTER_TIME_MS -
  KEEPALIVE_TIMEOUT_MS - REKEY_TIMEOUT_MS;

/**
 * Call after receiving an authenticated data packet: whether to start a new
 * handshake.
 *
 * Whitepaper §6.2: an initiator that only receives never hits the sending
 * rule, so it also rekeys when it receives on a session older than
 * {@linkcode REKEY_ON_RECEIVE_AFTER_TIME_MS}, leaving time for a keepalive
 * and a handshake retry before the keys are refused. The responder never
 * does, for the same reason as in {@linkcode rekeyDueAfterSending}.
 * wireguard-go does this once per session; remembering that is the caller's.
 *
 * @param session The session's role and birth time.
 * @param now The current time, in milliseconds.
 */
export function rekeyDueAfterReceiving(
  session: Pick<SessionClock, "isInitiator" | "createdAt">,
  now: number,
): boolean {
  return session.isInitiator &&
    now - session.createdAt >= REKEY_ON_RECEIVE_AFTER_TIME_MS;
}
