/**
 * The live dashboard's server-sent events (`GET /v1/events`).
 *
 * A new client first gets one `snapshot` event (totals, history, relays);
 * then, at most once per {@linkcode DashboardFeed.flush} (the server calls
 * it every second), one `update` event with what changed since: relays
 * listed or with new load (`upserts`), relays gone (`removed`, by
 * fingerprint), the totals and any new history sample. Every `data:` line
 * is one JSON object; the page renders each field as text, never as HTML.
 *
 * A client that does not read (its queue grows past
 * {@linkcode MAX_QUEUED_MESSAGES}) is disconnected rather than buffered
 * without bound, and the number of clients is capped.
 *
 * @module
 */

import type { ListedRelay, NetworkTotals, RelayRegistry } from "./registry.ts";
import type { HistorySample } from "./store.ts";

/** A client holding this many unsent messages is dropped. */
export const MAX_QUEUED_MESSAGES = 256;
/** Send a comment line when idle this long, so proxies keep the stream. */
const KEEPALIVE_MS = 15_000;

/** What the dashboard shows of one relay. */
export interface RelaySummary {
  fingerprint: string;
  name: string;
  /** The first address, `host:port` (`[v6]:port`). */
  address: string;
  /** Capabilities, e.g. `["relay", "onion"]`. */
  flags: string[];
  software: string;
  contact: string;
  /** Declared bandwidth, bytes per second. */
  bandwidth: number;
  uptime_s: number;
  peers: number;
  circuits: number;
  bytes_relayed: number;
  /** ms since the epoch. */
  last_seen: number;
}

/** `host:port`, with brackets around an IPv6 address. */
export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The dashboard's view of a relay. */
export function summarizeRelay(relay: ListedRelay): RelaySummary {
  const d = relay.descriptor;
  return {
    fingerprint: relay.fingerprint,
    name: d.name,
    address: formatAddress(d.addresses[0].host, d.addresses[0].port),
    flags: [...d.capabilities],
    software: d.software,
    contact: d.contact,
    bandwidth: d.bandwidth,
    uptime_s: relay.load.uptime_s,
    peers: relay.load.peers,
    circuits: relay.load.circuits,
    bytes_relayed: relay.load.bytes_relayed,
    last_seen: relay.lastSeen,
  };
}

/** The `snapshot` event. */
export interface DashboardSnapshot {
  directory: { fingerprint: string; signing_key: string };
  now: number;
  totals: NetworkTotals;
  /** The first relays by name, at most `maxRelays`. */
  relays: RelaySummary[];
  history: HistorySample[];
}

/** The `update` event. */
export interface DashboardUpdate {
  now: number;
  totals: NetworkTotals;
  upserts: RelaySummary[];
  removed: string[];
  sample?: HistorySample;
}

interface Client {
  controller: ReadableStreamDefaultController<Uint8Array>;
}

const encoder = new TextEncoder();

function sse(event: string, data: unknown): Uint8Array {
  return encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** Fans registry changes out to every connected dashboard. */
export class DashboardFeed {
  readonly maxClients: number;
  readonly #registry: RelayRegistry;
  readonly #directory: DashboardSnapshot["directory"];
  readonly #maxRelays: number;
  readonly #historyPoints: number;
  readonly #clients = new Set<Client>();
  readonly #upserts = new Map<string, ListedRelay>();
  readonly #removed = new Set<string>();
  #sample: HistorySample | undefined;
  #lastSent = 0;

  constructor(
    registry: RelayRegistry,
    options: {
      directory: DashboardSnapshot["directory"];
      maxClients?: number;
      maxRelays?: number;
      historyPoints?: number;
    },
  ) {
    this.#registry = registry;
    this.#directory = options.directory;
    this.maxClients = options.maxClients ?? 64;
    this.#maxRelays = options.maxRelays ?? 1000;
    this.#historyPoints = options.historyPoints ?? 120;
    registry.onChange((change) => {
      if (this.#clients.size === 0) return;
      if (change.kind === "removed") {
        this.#upserts.delete(change.relay.noiseKey);
        this.#removed.add(change.relay.fingerprint);
      } else {
        this.#removed.delete(change.relay.fingerprint);
        this.#upserts.set(change.relay.noiseKey, change.relay);
      }
    });
  }

  /** Connected clients. */
  get clients(): number {
    return this.#clients.size;
  }

  /** The `snapshot` a new client gets. */
  snapshot(): DashboardSnapshot {
    return {
      directory: this.#directory,
      now: this.#registry.now(),
      totals: this.#registry.totals(),
      relays: this.#registry.relays().slice(0, this.#maxRelays).map(
        summarizeRelay,
      ),
      history: this.#registry.history(this.#historyPoints),
    };
  }

  /** Announces a new history sample with the next update. */
  addSample(sample: HistorySample): void {
    this.#sample = sample;
  }

  /**
   * A new event stream, starting with a snapshot; undefined when
   * {@linkcode maxClients} are connected.
   */
  open(): ReadableStream<Uint8Array> | undefined {
    if (this.#clients.size >= this.maxClients) return undefined;
    let client: Client;
    const first = sse("snapshot", this.snapshot());
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        client = { controller };
        this.#clients.add(client);
        // Reconnect after 3 s if the connection drops (EventSource §9.2).
        controller.enqueue(encoder.encode("retry: 3000\n\n"));
        controller.enqueue(first);
      },
      cancel: () => {
        this.#clients.delete(client);
      },
    });
  }

  /** Sends what changed since the last flush to every client. */
  flush(): void {
    const now = this.#registry.now();
    const changed = this.#upserts.size > 0 || this.#removed.size > 0 ||
      this.#sample !== undefined;
    if (this.#clients.size === 0) {
      this.#upserts.clear();
      this.#removed.clear();
      this.#sample = undefined;
      return;
    }
    let message: Uint8Array | undefined;
    if (changed) {
      const update: DashboardUpdate = {
        now,
        totals: this.#registry.totals(),
        upserts: [...this.#upserts.values()].map(summarizeRelay),
        removed: [...this.#removed],
        ...(this.#sample ? { sample: this.#sample } : {}),
      };
      this.#upserts.clear();
      this.#removed.clear();
      this.#sample = undefined;
      message = sse("update", update);
    } else if (now - this.#lastSent >= KEEPALIVE_MS) {
      message = encoder.encode(": keepalive\n\n");
    }
    if (!message) return;
    this.#lastSent = now;
    for (const client of [...this.#clients]) this.#send(client, message);
  }

  #send(client: Client, message: Uint8Array) {
    const { controller } = client;
    // desiredSize counts chunks (highWaterMark 1): how far behind it is.
    if ((controller.desiredSize ?? 0) < -MAX_QUEUED_MESSAGES) {
      this.#clients.delete(client);
      try {
        controller.close();
      } catch { /* already closed */ }
      return;
    }
    try {
      controller.enqueue(message);
    } catch {
      this.#clients.delete(client);
    }
  }

  /** Ends every stream (on shutdown). */
  close(): void {
    for (const client of this.#clients) {
      try {
        client.controller.close();
      } catch { /* already closed */ }
    }
    this.#clients.clear();
  }
}
