/**
 * The relay's resource limits and timers, with the defaults of the Descord
 * relay (seed 4) for reservations and circuits.
 *
 * @module
 */

/** Every limit a relay enforces; all are `altnet relay` flags. */
export interface RelayLimits {
  /** Registrations (name ↔ key) held at once, in total. */
  maxReservations: number;
  /** Registrations one key may hold at once. */
  maxReservationsPerPeer: number;
  /** Circuits carried at once, in total. */
  maxCircuits: number;
  /** Circuits one key may be an end of at once. */
  maxCircuitsPerPeer: number;
  /** How long one circuit may live, in ms. */
  maxCircuitDurationMs: number;
  /** How many bytes one circuit may carry (both directions together). */
  maxCircuitBytes: number;
  /** New handshakes per second per source IP (token bucket rate). */
  registrationRate: number;
  /** Packets per second per source IP (token bucket rate). */
  packetRate: number;
}

/** The defaults. */
export const DEFAULT_LIMITS: RelayLimits = {
  maxReservations: 1024,
  maxReservationsPerPeer: 3,
  maxCircuits: 512,
  maxCircuitsPerPeer: 5,
  maxCircuitDurationMs: 3_600_000,
  maxCircuitBytes: 100_000_000,
  registrationRate: 5,
  packetRate: 5000,
};

/**
 * How often peers send keepalives: under the 30 s that real NATs keep an idle
 * UDP mapping (RFC 4787 REQ-5 asks for at least 2 minutes, but many home
 * routers use 30 s).
 */
export const KEEPALIVE_INTERVAL_MS = 15_000;

/** A peer that misses this many keepalives is stale and forgotten. */
export const MISSED_KEEPALIVES_BEFORE_STALE = 3;

/** How long a registration lives without a keepalive. */
export const RESERVATION_LIFETIME_MS = KEEPALIVE_INTERVAL_MS *
  MISSED_KEEPALIVES_BEFORE_STALE;

/** How long a handshake may wait for its third message (XX). */
export const PENDING_HANDSHAKE_TIMEOUT_MS = 5_000;

/** Delay the relay gives both ends of a rendezvous before they punch. */
export const RENDEZVOUS_START_DELAY_MS = 100;

/** Token bucket burst: how many seconds' worth of tokens may pile up. */
export const BURST_SECONDS = 2;
