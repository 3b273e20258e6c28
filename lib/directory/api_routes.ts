/**
 * The versioned JSON API, mounted at `/v1` (docs/DIRECTORY.md §1).
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { fingerprint } from "../identity/mod.ts";
import { VERSION } from "../version.ts";
import type { DashboardFeed } from "./dashboard_feed.ts";
import { readJsonBody, refuse } from "./http_errors.ts";
import { TokenBuckets } from "./rate_limiter.ts";
import type { Outcome, RelayRegistry } from "./registry.ts";
import type { RelayListBuilder } from "./relay_list.ts";
import { countersFrom, type DirectoryStats } from "./stats.ts";

/** Request limits of the HTTP layer. */
export interface HttpLimits {
  /** Largest request body, bytes (413 beyond). */
  maxBodyBytes: number;
  /** Registrations per second per client IP (token bucket rate). */
  registrationRate: number;
  /** Registrations a client IP may make at once (bucket size). */
  registrationBurst: number;
  /** Heartbeats and deregistrations per second per client IP. */
  updateRate: number;
  /** Heartbeats and deregistrations at once per client IP. */
  updateBurst: number;
}

/** Defaults of {@linkcode HttpLimits}. */
export const HTTP_LIMIT_DEFAULTS: HttpLimits = {
  maxBodyBytes: 8192,
  registrationRate: 0.1,
  registrationBurst: 10,
  updateRate: 2,
  updateBurst: 30,
};

/** What the API routes work with. */
export interface ApiDeps {
  registry: RelayRegistry;
  relayList: RelayListBuilder;
  feed: DashboardFeed;
  directory: { signingKey: Uint8Array; noiseKey: Uint8Array };
  limits: HttpLimits;
  /** When this process started (ms, the registry's clock). */
  startedAt: number;
  /** The client's IP address for rate limits. */
  clientAddress: (c: Context) => string;
}

/** The statistics snapshot shared by `/v1/stats` and `/metrics`. */
export function collectStats(deps: ApiDeps): DirectoryStats {
  const list = deps.relayList.current();
  return {
    uptime_s: Math.max(
      0,
      Math.round(
        (deps.registry.now() - deps.startedAt) / 1000,
      ),
    ),
    totals: deps.registry.totals(),
    ...countersFrom(deps.registry.counters()),
    dashboard_clients: deps.feed.clients,
    relay_list: {
      relays: list.relays,
      bytes: list.body.length,
      valid_until: list.validUntil,
    },
  };
}

/** The `/v1` sub-app. */
export function createApiRoutes(deps: ApiDeps): Hono {
  const { registry, limits } = deps;
  const registrations = new TokenBuckets({
    rate: limits.registrationRate,
    burst: limits.registrationBurst,
  });
  const updates = new TokenBuckets({
    rate: limits.updateRate,
    burst: limits.updateBurst,
  });

  const limit = (c: Context, buckets: TokenBuckets, what: string) => {
    const wait = buckets.take(deps.clientAddress(c), registry.now());
    if (wait === 0) return;
    registry.countRejection("rate-limited");
    const seconds = Math.max(1, Math.ceil(wait / 1000));
    throw refuse(
      429,
      `Too many ${what} from this address: try again in ${seconds} s`,
      { "Retry-After": String(seconds) },
    );
  };

  const body = async (c: Context) => {
    try {
      return await readJsonBody(c.req.raw, limits.maxBodyBytes);
    } catch (error) {
      if (error instanceof HTTPException) {
        registry.countRejection(
          error.status === 413 ? "too-large" : "not-json",
        );
      }
      throw error;
    }
  };

  const settle = <T>(outcome: Outcome<T>): T => {
    if (!outcome.ok) throw refuse(outcome.status, outcome.error);
    return outcome.value;
  };

  const api = new Hono();

  // Anything that reads or changes the list first drops expired relays.
  api.use("*", async (_c, next) => {
    registry.expire();
    await next();
  });

  api.get("/directory", (c) =>
    c.json({
      software: `altnet/${VERSION}`,
      signing_key: deps.directory.signingKey.toBase64(),
      noise_key: deps.directory.noiseKey.toBase64(),
      fingerprint: fingerprint(deps.directory.noiseKey),
      heartbeat_interval_s: registry.heartbeatIntervalMs / 1000,
      ttl_s: registry.ttlMs / 1000,
      freshness_s: registry.freshnessMs / 1000,
      limits: {
        max_body_bytes: limits.maxBodyBytes,
        max_relays: registry.maxRelays,
        max_relays_per_ip: registry.maxRelaysPerIp,
        registrations_per_second: limits.registrationRate,
        registration_burst: limits.registrationBurst,
        updates_per_second: limits.updateRate,
        update_burst: limits.updateBurst,
      },
    }));

  api.get("/relays", (c) => {
    const list = deps.relayList.current();
    const gzip = /\bgzip\b/.test(c.req.header("accept-encoding") ?? "")
      ? list.gzip
      : undefined;
    // Two representations, two strong validators (RFC 9110 §8.8.3).
    const etag = gzip ? list.etag.replace(/"$/, '-gz"') : list.etag;
    const headers: Record<string, string> = {
      "content-type": "application/json; charset=utf-8",
      "etag": etag,
      "vary": "accept-encoding",
      "cache-control": "public, max-age=5",
      "access-control-allow-origin": "*",
    };
    if (gzip) headers["content-encoding"] = "gzip";
    const match = c.req.header("if-none-match");
    if (match === list.etag || match === etag) {
      headers.etag = match;
      delete headers["content-encoding"];
      return c.body(null, 304, headers);
    }
    return c.body((gzip ?? list.body) as Uint8Array<ArrayBuffer>, 200, headers);
  });

  api.post("/relays", async (c) => {
    limit(c, registrations, "registrations");
    const { relay, isNew } = settle(
      registry.register(await body(c), deps.clientAddress(c)),
    );
    return c.json({
      status: isNew ? "registered" : "updated",
      name: relay.name,
      fingerprint: relay.fingerprint,
      heartbeat_interval_s: registry.heartbeatIntervalMs / 1000,
      ttl_s: registry.ttlMs / 1000,
    }, isNew ? 201 : 200);
  });

  api.post("/relays/heartbeat", async (c) => {
    limit(c, updates, "heartbeats");
    const relay = settle(registry.heartbeat(await body(c)));
    return c.json({
      status: "ok",
      fingerprint: relay.fingerprint,
      ttl_s: registry.ttlMs / 1000,
    });
  });

  api.post("/relays/deregister", async (c) => {
    limit(c, updates, "deregistrations");
    const relay = settle(registry.deregister(await body(c)));
    return c.json({ status: "deregistered", fingerprint: relay.fingerprint });
  });

  api.get("/stats", (c) =>
    c.json(
      {
        ...collectStats(deps),
        history: registry.history(120),
      },
      200,
      { "access-control-allow-origin": "*" },
    ));

  api.get("/events", (c) => {
    const stream = deps.feed.open();
    if (!stream) {
      throw refuse(
        503,
        `Too many dashboards are connected: limit is ${deps.feed.maxClients}`,
        { "Retry-After": "30" },
      );
    }
    return c.body(stream, 200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    });
  });

  return api;
}
