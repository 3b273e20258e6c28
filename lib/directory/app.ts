/**
 * The directory's web app: `createDirectoryApp(deps)` returns a Hono app
 * that tests drive with `app.request(...)` and the server hands to
 * `Deno.serve`. Sub-apps: the JSON API at `/v1`, the dashboard at `/`;
 * `/metrics` inline. Every refusal is an `HTTPException` whose body is
 * `{ "error": "One sentence" }`; one `onError` turns anything else into a
 * 500 that reveals nothing.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { normalizeAddress } from "../wire/mod.ts";
import {
  collectStats,
  createApiRoutes,
  HTTP_LIMIT_DEFAULTS,
  type HttpLimits,
} from "./api_routes.ts";
import { DASHBOARD_HTML, FAVICON_SVG } from "./dashboard/page.ts";
import { DASHBOARD_JS } from "./dashboard/script.ts";
import { DASHBOARD_CSS } from "./dashboard/style.ts";
import type { DashboardFeed } from "./dashboard_feed.ts";
import type { RelayRegistry } from "./registry.ts";
import type { RelayListBuilder } from "./relay_list.ts";
import { formatDirectoryMetrics } from "./stats.ts";

/** What the app needs; everything else is built from these. */
export interface DirectoryAppDeps {
  registry: RelayRegistry;
  relayList: RelayListBuilder;
  feed: DashboardFeed;
  /** The directory's public keys. */
  directory: { signingKey: Uint8Array; noiseKey: Uint8Array };
  /** Overrides of {@linkcode HTTP_LIMIT_DEFAULTS}. */
  limits?: Partial<HttpLimits>;
  /** The client IP for rate limits; default: the socket's peer address. */
  clientAddress?: (c: Context) => string;
  /** Told about unexpected errors (which answer 500). */
  onInternalError?: (error: unknown) => void;
}

/**
 * Only our own script and style, no inline code, no framing, no plugins:
 * even if a field were ever rendered as markup, it could not run.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The socket peer's address under `Deno.serve` (Hono passes its info as env). */
export function socketPeerAddress(c: Context): string {
  const env = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  const host = env?.remoteAddr?.hostname;
  if (!host) return "unknown";
  try {
    return normalizeAddress(host);
  } catch {
    return host;
  }
}

/**
 * The directory's Hono app.
 *
 * @example
 * ```ts ignore
 * const app = createDirectoryApp({ registry, relayList, feed, directory });
 * const response = await app.request("/v1/relays");
 * ```
 */
export function createDirectoryApp(deps: DirectoryAppDeps): Hono {
  const apiDeps = {
    registry: deps.registry,
    relayList: deps.relayList,
    feed: deps.feed,
    directory: deps.directory,
    limits: { ...HTTP_LIMIT_DEFAULTS, ...deps.limits },
    startedAt: deps.registry.now(),
    clientAddress: deps.clientAddress ?? socketPeerAddress,
  };
  const app = new Hono();

  app.use("*", async (c, next) => {
    await next();
    const h = c.res.headers;
    h.set("content-security-policy", CONTENT_SECURITY_POLICY);
    h.set("x-content-type-options", "nosniff");
    h.set("referrer-policy", "no-referrer");
    h.set("x-frame-options", "DENY");
    h.set("cross-origin-opener-policy", "same-origin");
  });

  app.route("/v1", createApiRoutes(apiDeps));
  app.route("/", createDashboardRoutes());

  app.get("/metrics", (c) => {
    deps.registry.expire();
    return c.body(formatDirectoryMetrics(collectStats(apiDeps)), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    });
  });

  app.notFound((c) =>
    c.json(
      { error: "Not found: the API lives under /v1 (see /v1/directory)" },
      404,
    )
  );

  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    deps.onInternalError?.(error);
    return c.json(
      { error: "The directory failed to handle the request: this is a bug" },
      500,
    );
  });

  return app;
}

/** The dashboard: a constant page, its script and its style. */
function createDashboardRoutes(): Hono {
  const dashboard = new Hono();
  const cache = { "cache-control": "no-cache" };
  dashboard.get("/", (c) =>
    c.body(DASHBOARD_HTML, 200, {
      "content-type": "text/html; charset=utf-8",
      ...cache,
    }));
  dashboard.get("/app.js", (c) =>
    c.body(DASHBOARD_JS, 200, {
      "content-type": "text/javascript; charset=utf-8",
      ...cache,
    }));
  dashboard.get("/favicon.svg", (c) =>
    c.body(FAVICON_SVG, 200, {
      "content-type": "image/svg+xml",
      "cache-control": "max-age=86400",
    }));
  dashboard.get("/app.css", (c) =>
    c.body(DASHBOARD_CSS, 200, {
      "content-type": "text/css; charset=utf-8",
      ...cache,
    }));
  return dashboard;
}
