/**
 * One directory: the registry, its signed list, the dashboard feed and the
 * web app over them, plus the periodic work (`tick`) a server runs every
 * second. Tests build one on `DirectoryStore.open(":memory:")` with an
 * injected clock and call `tick()` themselves.
 *
 * @module
 */

import type { Context, Hono } from "hono";
import { fingerprint, type Identity } from "../identity/mod.ts";
import type { HttpLimits } from "./api_routes.ts";
import { createDirectoryApp } from "./app.ts";
import { BackgroundGzip } from "./background_gzip.ts";
import { DashboardFeed } from "./dashboard_feed.ts";
import { createEd25519Signer } from "./ed25519.ts";
import { type RegistryOptions, RelayRegistry } from "./registry.ts";
import { RelayListBuilder } from "./relay_list.ts";
import type { DirectoryStore } from "./store.ts";

/** Everything a directory can be told. */
export interface DirectoryOptions extends RegistryOptions {
  /** The directory's identity: it signs the list with its Ed25519 key. */
  identity: Identity;
  store: DirectoryStore;
  /** HTTP limits (body size, rates). */
  limits?: Partial<HttpLimits>;
  /** How long a relay list is valid, ms (default 10 min). */
  listValidityMs?: number;
  /** How stale load figures in the list may get, ms (default 15 s). */
  listRefreshMs?: number;
  /** How often a history sample is stored, ms (default 30 s). */
  historyIntervalMs?: number;
  /** How soon a relay joining or leaving shows in the list, ms (default 1 s). */
  listMembershipRefreshMs?: number;
  /** gzip the relay list on a worker thread (default true). */
  compressList?: boolean;
  /** Dashboards connected at most (default 64). */
  maxDashboardClients?: number;
  /** The client IP for rate limits (tests set it). */
  clientAddress?: (c: Context) => string;
  /** Told about unexpected errors. */
  onInternalError?: (error: unknown) => void;
}

/** A directory and its web app. */
export class Directory {
  readonly registry: RelayRegistry;
  readonly relayList: RelayListBuilder;
  readonly feed: DashboardFeed;
  readonly app: Hono;
  readonly store: DirectoryStore;
  readonly historyIntervalMs: number;
  readonly #gzip: BackgroundGzip | undefined;
  #lastSample: number;
  #closed = false;

  constructor(options: DirectoryOptions) {
    const { identity } = options;
    this.store = options.store;
    this.registry = new RelayRegistry(options);
    this.#gzip = options.compressList === false
      ? undefined
      : new BackgroundGzip();
    this.relayList = new RelayListBuilder(this.registry, {
      sign: createEd25519Signer(identity.signingPrivateKey),
      signingKey: identity.signingPublicKey,
      noiseKey: identity.noisePublicKey,
      validityMs: options.listValidityMs,
      refreshMs: options.listRefreshMs,
      membershipRefreshMs: options.listMembershipRefreshMs,
      gzip: this.#gzip,
    });
    this.feed = new DashboardFeed(this.registry, {
      directory: {
        fingerprint: fingerprint(identity.noisePublicKey),
        signing_key: identity.signingPublicKey.toBase64(),
      },
      maxClients: options.maxDashboardClients,
    });
    this.app = createDirectoryApp({
      registry: this.registry,
      relayList: this.relayList,
      feed: this.feed,
      directory: {
        signingKey: identity.signingPublicKey,
        noiseKey: identity.noisePublicKey,
      },
      limits: options.limits,
      clientAddress: options.clientAddress,
      onInternalError: options.onInternalError,
    });
    this.historyIntervalMs = options.historyIntervalMs ?? 30_000;
    this.#lastSample = this.registry.now() - this.historyIntervalMs;
  }

  /**
   * The periodic work; call it about once a second: drop expired relays,
   * store a history sample when one is due, push changes to dashboards and
   * write buffered counters.
   */
  tick(): void {
    if (this.#closed) return;
    this.registry.expire();
    const now = this.registry.now();
    if (now - this.#lastSample >= this.historyIntervalMs) {
      this.#lastSample = now;
      this.feed.addSample(this.registry.sampleHistory());
    }
    this.feed.flush();
    this.registry.flushCounters();
  }

  /** Ends dashboard streams, writes counters and closes the database. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.feed.close();
    this.#gzip?.close();
    this.registry.flushCounters();
    this.store.close();
  }
}
