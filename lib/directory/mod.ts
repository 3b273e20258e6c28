/**
 * The relay directory: signed relay descriptors and heartbeats, the SQLite
 * registry behind them, the signed relay list, the live dashboard and the
 * HTTP API (`createDirectoryApp`), plus the client side that relays and
 * `altnet list`/`ping` use. docs/DIRECTORY.md is the specification.
 *
 * @module
 */

export * from "./canonical_json.ts";
export * from "./signed_object.ts";
export * from "./ed25519.ts";
export * from "./descriptor.ts";
export * from "./noise_proof.ts";
export * from "./relay_messages.ts";
export * from "./store.ts";
export * from "./registry.ts";
export * from "./relay_list.ts";
export * from "./rate_limiter.ts";
export * from "./background_gzip.ts";
export * from "./dashboard_feed.ts";
export * from "./stats.ts";
export * from "./http_errors.ts";
export * from "./api_routes.ts";
export * from "./app.ts";
export * from "./directory.ts";
export * from "./server.ts";
export * from "./directory_client.ts";
export * from "./relay_prober.ts";
