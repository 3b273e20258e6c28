/**
 * Establishing sessions: stateless cookies, Noise handshakes framed in
 * altnet packets, and the replay guard for IK first messages.
 *
 * @module
 */

export * from "./cookie.ts";
export * from "./handshake.ts";
export * from "./init_replay_guard.ts";
export * from "./transport_packet.ts";
