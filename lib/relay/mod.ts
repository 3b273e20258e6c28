/**
 * The relay: sessions with peers, reservations, rendezvous and encrypted
 * forwarding, with limits, statistics and metrics.
 *
 * @module
 */

export * from "./limits.ts";
export * from "./relay_core.ts";
export * from "./relay_driver.ts";
export * from "./stats.ts";
export * from "./cover_traffic.ts";
