/**
 * The directory's rules: which relays are listed. Registrations,
 * heartbeats, deregistrations and expiry, each checked for syntax, the
 * directory they are meant for, freshness, signature, replay, name
 * ownership and per-IP limits (docs/DIRECTORY.md §3), and written through to
 * the {@linkcode DirectoryStore} before they take effect.
 *
 * The registry knows nothing of HTTP: every refusal is an
 * {@linkcode Outcome} with a status, a counter reason and one sentence,
 * which the web app turns into a response. Time comes from an injected
 * clock (wall-clock milliseconds, since relays sign wall-clock timestamps).
 *
 * @module
 */

import { fingerprint, type Identity } from "../identity/mod.ts";
import { canonicalJson } from "./canonical_json.ts";
import {
  isNonPublicAddress,
  parseDeregistration,
  parseDescriptor,
  parseHeartbeat,
  type RelayDescriptor,
} from "./descriptor.ts";
import { checkNoiseProof } from "./noise_proof.ts";
import { decodeBase64Exact, verifyObject } from "./signed_object.ts";
import type { DirectoryStore, HistorySample, StoredRelay } from "./store.ts";

/** Defaults of {@linkcode RegistryOptions}. */
export const REGISTRY_DEFAULTS = {
  /** A relay is dropped after this long without a heartbeat (3 × 30 s). */
  ttlMs: 90_000,
  /** How often relays should heartbeat (told to them on registration). */
  heartbeatIntervalMs: 30_000,
  /** Accepted distance between a message's timestamp and our clock. */
  freshnessMs: 300_000,
  /** Relays listed at most. */
  maxRelays: 50_000,
  /** Relays listed at most per source IP. */
  maxRelaysPerIp: 8,
  /** History samples kept (a day at one per 30 s). */
  historyLimit: 2_880,
} as const;

/** How a {@linkcode RelayRegistry} behaves. */
export interface RegistryOptions {
  /** Where state is written through. */
  store: DirectoryStore;
  /** The directory's own identity: messages must be addressed to it. */
  identity: Identity;
  /** Wall-clock time in ms; default `Date.now`. */
  now?: () => number;
  ttlMs?: number;
  heartbeatIntervalMs?: number;
  freshnessMs?: number;
  maxRelays?: number;
  maxRelaysPerIp?: number;
  historyLimit?: number;
  /** List loopback, private and link-local addresses (labs and tests). */
  allowPrivateAddresses?: boolean;
}

/** Why a request was refused; each is counted apart. */
export type RejectReason =
  | "not-json"
  | "too-large"
  | "rate-limited"
  | "malformed"
  | "wrong-directory"
  | "stale"
  | "private-address"
  | "signature"
  | "noise-proof"
  | "replay"
  | "name-taken"
  | "per-ip-limit"
  | "full"
  | "unknown-relay";

/** Every {@linkcode RejectReason}, for metrics. */
export const REJECT_REASONS: readonly RejectReason[] = [
  "not-json",
  "too-large",
  "rate-limited",
  "malformed",
  "wrong-directory",
  "stale",
  "private-address",
  "signature",
  "noise-proof",
  "replay",
  "name-taken",
  "per-ip-limit",
  "full",
  "unknown-relay",
];

/** A refusal: HTTP status, counter reason, one sentence for the sender. */
export interface Refusal {
  ok: false;
  status: 400 | 403 | 404 | 409 | 503;
  reason: RejectReason;
  error: string;
}

/** What a request came to. */
export type Outcome<T> = { ok: true; value: T } | Refusal;

/** A listed relay, with what the directory derives from it. */
export interface ListedRelay extends StoredRelay {
  /** The fingerprint of its Noise key, as people compare it. */
  fingerprint: string;
  /** Canonical JSON of the descriptor, for the signed list. */
  descriptorJson: string;
}

/** What changed, for the relay list and the live dashboard. */
export type RegistryChange =
  | { kind: "listed"; relay: ListedRelay; isNew: boolean }
  | { kind: "load"; relay: ListedRelay }
  | {
    kind: "removed";
    relay: ListedRelay;
    why: "deregistered" | "expired";
  };

/** Network totals over the listed relays. */
export interface NetworkTotals {
  relays: number;
  peers: number;
  circuits: number;
  bytes_relayed: number;
  /** Sum of declared bandwidths, bytes per second. */
  bandwidth: number;
}

/** Counter names kept in the store (plus `rejected:<reason>`). */
export type CounterName =
  | "registrations"
  | "updates"
  | "heartbeats"
  | "deregistrations"
  | "expirations";

function refuse(
  status: Refusal["status"],
  reason: RejectReason,
  error: string,
): Refusal {
  return { ok: false, status, reason, error };
}

/** The set of listed relays and the rules for changing it. */
export class RelayRegistry {
  readonly ttlMs: number;
  readonly heartbeatIntervalMs: number;
  readonly freshnessMs: number;
  readonly maxRelays: number;
  readonly maxRelaysPerIp: number;
  readonly historyLimit: number;
  readonly allowPrivateAddresses: boolean;
  /** The directory's Ed25519 key, base64. */
  readonly directoryKey: string;
  readonly now: () => number;

  readonly #store: DirectoryStore;
  readonly #noisePrivateKey: Uint8Array;
  readonly #relays = new Map<string, ListedRelay>();
  readonly #byName = new Map<string, string>();
  readonly #byIp = new Map<string, Set<string>>();
  readonly #replayGuard: Map<string, number>;
  readonly #counters: Map<string, number>;
  readonly #unsavedRejections = new Map<string, number>();
  readonly #listeners: ((change: RegistryChange) => void)[] = [];
  #sorted: ListedRelay[] | undefined;
  #nextExpiry = Infinity;

  constructor(options: RegistryOptions) {
    this.#store = options.store;
    this.now = options.now ?? Date.now;
    this.ttlMs = options.ttlMs ?? REGISTRY_DEFAULTS.ttlMs;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ??
      REGISTRY_DEFAULTS.heartbeatIntervalMs;
    this.freshnessMs = options.freshnessMs ?? REGISTRY_DEFAULTS.freshnessMs;
    this.maxRelays = options.maxRelays ?? REGISTRY_DEFAULTS.maxRelays;
    this.maxRelaysPerIp = options.maxRelaysPerIp ??
      REGISTRY_DEFAULTS.maxRelaysPerIp;
    this.historyLimit = options.historyLimit ?? REGISTRY_DEFAULTS.historyLimit;
    this.allowPrivateAddresses = options.allowPrivateAddresses ?? false;
    this.directoryKey = options.identity.signingPublicKey.toBase64();
    this.#noisePrivateKey = options.identity.noisePrivateKey;

    // A restart must not cost relays their place: everything stored gets a
    // fresh TTL from now, so a relay that is still alive has three
    // heartbeats' time to show it.
    const now = this.now();
    this.#store.refreshAllRelays(now);
    for (const stored of this.#store.loadRelays()) this.#index(stored);
    this.#replayGuard = this.#store.loadReplayGuard();
    this.#counters = this.#store.loadCounters();
  }

  /** Calls `listener` after every change. */
  onChange(listener: (change: RegistryChange) => void): void {
    this.#listeners.push(listener);
  }

  #emit(change: RegistryChange) {
    for (const listener of this.#listeners) listener(change);
  }

  #index(stored: StoredRelay): ListedRelay {
    const relay: ListedRelay = {
      ...stored,
      fingerprint: fingerprint(Uint8Array.fromBase64(stored.noiseKey)),
      descriptorJson: canonicalJson(stored.descriptor),
    };
    this.#relays.set(relay.noiseKey, relay);
    this.#byName.set(relay.name, relay.noiseKey);
    let keys = this.#byIp.get(relay.sourceIp);
    if (!keys) this.#byIp.set(relay.sourceIp, keys = new Set());
    keys.add(relay.noiseKey);
    this.#sorted = undefined;
    this.#nextExpiry = Math.min(this.#nextExpiry, relay.lastSeen + this.ttlMs);
    return relay;
  }

  #unindex(relay: ListedRelay) {
    this.#relays.delete(relay.noiseKey);
    if (this.#byName.get(relay.name) === relay.noiseKey) {
      this.#byName.delete(relay.name);
    }
    const keys = this.#byIp.get(relay.sourceIp);
    keys?.delete(relay.noiseKey);
    if (keys?.size === 0) this.#byIp.delete(relay.sourceIp);
    this.#sorted = undefined;
  }

  /** Counts in memory and in the store (call inside the transaction). */
  #count(name: CounterName) {
    this.#counters.set(name, (this.#counters.get(name) ?? 0) + 1);
    this.#store.addCounter(name);
  }

  /**
   * Counts a refusal. Refusals are kept in memory and written by
   * {@linkcode flushCounters}, so a flood of bad requests costs no writes.
   */
  countRejection(reason: RejectReason): void {
    const name = `rejected:${reason}`;
    this.#counters.set(name, (this.#counters.get(name) ?? 0) + 1);
    this.#unsavedRejections.set(
      name,
      (this.#unsavedRejections.get(name) ?? 0) + 1,
    );
  }

  /** Writes refusal counts kept in memory (the server calls it every few seconds). */
  flushCounters(): void {
    if (this.#unsavedRejections.size === 0) return;
    this.#store.transaction(() => {
      for (const [name, n] of this.#unsavedRejections) {
        this.#store.addCounter(name, n);
      }
    });
    this.#unsavedRejections.clear();
  }

  #fresh(timestamp: number, what: string, now: number): Refusal | undefined {
    const skew = timestamp - now;
    if (Math.abs(skew) <= this.freshnessMs) return undefined;
    const seconds = Math.round(Math.abs(skew) / 1000);
    return refuse(
      400,
      "stale",
      `The ${what}'s timestamp is ${seconds} s ${
        skew < 0 ? "behind" : "ahead of"
      } the directory's clock (at most ${
        this.freshnessMs / 1000
      } s allowed): check the relay's clock`,
    );
  }

  #addressedHere(directoryKey: string, what: string): Refusal | undefined {
    if (directoryKey === this.directoryKey) return undefined;
    return refuse(
      400,
      "wrong-directory",
      `The ${what} is addressed to another directory: directory_key is not this directory's key`,
    );
  }

  #replayed(
    noiseKey: string,
    timestamp: number,
    what: string,
  ): Refusal | undefined {
    const last = this.#relays.get(noiseKey)?.lastTimestamp ??
      this.#replayGuard.get(noiseKey);
    if (last === undefined || timestamp > last) return undefined;
    return refuse(
      409,
      "replay",
      `The ${what}'s timestamp is not newer than the last one accepted from this relay (a replay): ${timestamp} ≤ ${last}`,
    );
  }

  #refused(refusal: Refusal): Refusal {
    this.countRejection(refusal.reason);
    return refusal;
  }

  /**
   * Registers (or updates) a relay from the descriptor `body` sent from
   * `sourceIp`.
   */
  register(
    body: unknown,
    sourceIp: string,
  ): Outcome<{ relay: ListedRelay; isNew: boolean }> {
    const now = this.now();
    const parsed = parseDescriptor(body);
    if (!parsed.ok) {
      return this.#refused(refuse(400, "malformed", parsed.error));
    }
    const d = parsed.value;
    const early = this.#addressedHere(d.directory_key, "descriptor") ??
      this.#fresh(d.timestamp, "descriptor", now) ??
      this.#privateAddress(d);
    if (early) return this.#refused(early);
    const signingKey = decodeBase64Exact(d.signing_key, 32)!;
    const noiseKey = decodeBase64Exact(d.noise_key, 32)!;
    if (!verifyObject(d as unknown as Record<string, unknown>, signingKey)) {
      return this.#refused(refuse(
        403,
        "signature",
        "The descriptor's signature does not verify with its signing_key",
      ));
    }
    if (
      !checkNoiseProof(
        d as unknown as Record<string, unknown>,
        decodeBase64Exact(d.noise_proof, 32)!,
        {
          directoryNoisePrivateKey: this.#noisePrivateKey,
          relayNoiseKey: noiseKey,
        },
      )
    ) {
      return this.#refused(refuse(
        403,
        "noise-proof",
        "The descriptor's noise_proof is wrong: the relay must prove it holds the private half of noise_key",
      ));
    }
    const replay = this.#replayed(d.noise_key, d.timestamp, "descriptor");
    if (replay) return this.#refused(replay);
    const holder = this.#byName.get(d.name);
    if (holder !== undefined && holder !== d.noise_key) {
      return this.#refused(refuse(
        409,
        "name-taken",
        `The name is held by another relay key: ${d.name}`,
      ));
    }
    const existing = this.#relays.get(d.noise_key);
    if (!existing && this.#relays.size >= this.maxRelays) {
      return this.#refused(refuse(
        503,
        "full",
        `The directory lists as many relays as it may: limit is ${this.maxRelays}`,
      ));
    }
    const sameIp = this.#byIp.get(sourceIp);
    const others = (sameIp?.size ?? 0) -
      (sameIp?.has(d.noise_key) ? 1 : 0);
    if (others >= this.maxRelaysPerIp) {
      return this.#refused(refuse(
        403,
        "per-ip-limit",
        `This address already registered as many relays as it may: limit is ${this.maxRelaysPerIp}`,
      ));
    }
    const stored: StoredRelay = {
      noiseKey: d.noise_key,
      name: d.name,
      signingKey: d.signing_key,
      descriptor: d,
      sourceIp,
      firstSeen: existing?.firstSeen ?? now,
      lastSeen: now,
      lastTimestamp: d.timestamp,
      load: d.load,
    };
    this.#store.transaction(() => {
      this.#store.putRelay(stored);
      this.#store.deleteReplayGuard(d.noise_key);
      this.#count(existing ? "updates" : "registrations");
    });
    if (existing) this.#unindex(existing);
    this.#replayGuard.delete(d.noise_key);
    const relay = this.#index(stored);
    this.#emit({ kind: "listed", relay, isNew: !existing });
    return { ok: true, value: { relay, isNew: !existing } };
  }

  #privateAddress(d: RelayDescriptor): Refusal | undefined {
    if (this.allowPrivateAddresses) return undefined;
    const bad = d.addresses.find((a) => isNonPublicAddress(a.host));
    if (!bad) return undefined;
    return refuse(
      400,
      "private-address",
      `The descriptor lists an address that is not reachable from the internet: ${bad.host}`,
    );
  }

  #listedSender(
    noiseKey: string,
    what: string,
  ): Outcome<ListedRelay> {
    const relay = this.#relays.get(noiseKey);
    if (!relay) {
      return refuse(
        404,
        "unknown-relay",
        `The relay of this ${what} is not listed: register it again`,
      );
    }
    return { ok: true, value: relay };
  }

  /** Records a heartbeat `body`: the relay stays listed, with new load. */
  heartbeat(body: unknown): Outcome<ListedRelay> {
    const now = this.now();
    const parsed = parseHeartbeat(body);
    if (!parsed.ok) {
      return this.#refused(refuse(400, "malformed", parsed.error));
    }
    const h = parsed.value;
    const early = this.#addressedHere(h.directory_key, "heartbeat") ??
      this.#fresh(h.timestamp, "heartbeat", now);
    if (early) return this.#refused(early);
    const listed = this.#listedSender(h.noise_key, "heartbeat");
    if (!listed.ok) return this.#refused(listed);
    const relay = listed.value;
    if (
      !verifyObject(
        h as unknown as Record<string, unknown>,
        Uint8Array.fromBase64(relay.signingKey),
      )
    ) {
      return this.#refused(refuse(
        403,
        "signature",
        "The heartbeat's signature does not verify with the relay's registered signing key",
      ));
    }
    const replay = this.#replayed(h.noise_key, h.timestamp, "heartbeat");
    if (replay) return this.#refused(replay);
    this.#store.transaction(() => {
      this.#store.touchRelay(h.noise_key, {
        lastSeen: now,
        lastTimestamp: h.timestamp,
        load: h.load,
      });
      this.#count("heartbeats");
    });
    relay.lastSeen = now;
    relay.lastTimestamp = h.timestamp;
    relay.load = h.load;
    this.#emit({ kind: "load", relay });
    return { ok: true, value: relay };
  }

  /** Removes the relay that signed the deregistration `body`. */
  deregister(body: unknown): Outcome<ListedRelay> {
    const now = this.now();
    const parsed = parseDeregistration(body);
    if (!parsed.ok) {
      return this.#refused(refuse(400, "malformed", parsed.error));
    }
    const m = parsed.value;
    const early = this.#addressedHere(m.directory_key, "deregistration") ??
      this.#fresh(m.timestamp, "deregistration", now);
    if (early) return this.#refused(early);
    const listed = this.#listedSender(m.noise_key, "deregistration");
    if (!listed.ok) return this.#refused(listed);
    const relay = listed.value;
    if (
      !verifyObject(
        m as unknown as Record<string, unknown>,
        Uint8Array.fromBase64(relay.signingKey),
      )
    ) {
      return this.#refused(refuse(
        403,
        "signature",
        "The deregistration's signature does not verify with the relay's registered signing key",
      ));
    }
    const replay = this.#replayed(m.noise_key, m.timestamp, "deregistration");
    if (replay) return this.#refused(replay);
    this.#remove(relay, m.timestamp, "deregistered");
    return { ok: true, value: relay };
  }

  #remove(
    relay: ListedRelay,
    lastTimestamp: number,
    why: "deregistered" | "expired",
  ) {
    const counter = why === "expired" ? "expirations" : "deregistrations";
    this.#store.transaction(() => {
      this.#store.deleteRelay(relay.noiseKey);
      this.#store.putReplayGuard(relay.noiseKey, lastTimestamp);
      this.#count(counter);
    });
    this.#replayGuard.set(relay.noiseKey, lastTimestamp);
    this.#unindex(relay);
    this.#emit({ kind: "removed", relay, why });
  }

  /**
   * Drops relays not heard from for longer than the TTL, and forgets replay
   * guard entries that the freshness check now covers. Cheap when nothing
   * is due. Returns how many relays were dropped.
   */
  expire(): number {
    const now = this.now();
    if (now < this.#nextExpiry) return 0;
    let dropped = 0;
    let next = Infinity;
    for (const relay of [...this.#relays.values()]) {
      const due = relay.lastSeen + this.ttlMs;
      if (now > due) {
        this.#remove(relay, relay.lastTimestamp, "expired");
        dropped++;
      } else {
        next = Math.min(next, due);
      }
    }
    this.#nextExpiry = next === Infinity ? Infinity : next + 1;
    const horizon = now - this.freshnessMs;
    let pruned = false;
    for (const [key, timestamp] of this.#replayGuard) {
      if (timestamp < horizon) {
        this.#replayGuard.delete(key);
        pruned = true;
      }
    }
    if (pruned) this.#store.pruneReplayGuard(horizon);
    return dropped;
  }

  /** The listed relays, sorted by name. */
  relays(): readonly ListedRelay[] {
    this.#sorted ??= [...this.#relays.values()].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0
    );
    return this.#sorted;
  }

  /** Number of listed relays. */
  get size(): number {
    return this.#relays.size;
  }

  /** The relay with this Noise key (base64), if listed. */
  get(noiseKey: string): ListedRelay | undefined {
    return this.#relays.get(noiseKey);
  }

  /** Sums over the listed relays. */
  totals(): NetworkTotals {
    const totals: NetworkTotals = {
      relays: this.#relays.size,
      peers: 0,
      circuits: 0,
      bytes_relayed: 0,
      bandwidth: 0,
    };
    for (const relay of this.#relays.values()) {
      totals.peers += relay.load.peers;
      totals.circuits += relay.load.circuits;
      totals.bytes_relayed += relay.load.bytes_relayed;
      totals.bandwidth += relay.descriptor.bandwidth;
    }
    return totals;
  }

  /** Cumulative counters since the database was created. */
  counters(): ReadonlyMap<string, number> {
    return this.#counters;
  }

  /** Stores the current totals as a history sample and returns it. */
  sampleHistory(): HistorySample {
    const { relays, peers, circuits, bytes_relayed } = this.totals();
    const sample = { t: this.now(), relays, peers, circuits, bytes_relayed };
    this.#store.addHistory(sample, this.historyLimit);
    return sample;
  }

  /** The newest `limit` history samples, oldest first. */
  history(limit: number): HistorySample[] {
    return this.#store.loadHistory(Math.min(limit, this.historyLimit));
  }
}
