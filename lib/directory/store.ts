/**
 * The directory's durable state in SQLite (`node:sqlite`): listed relays,
 * the last accepted timestamp of recently removed relays (replay guard),
 * cumulative counters and the bounded history of network totals.
 *
 * The database runs in WAL mode with `synchronous = NORMAL`: every write is
 * one committed transaction, so a killed process (even SIGKILL) loses
 * nothing; only a power cut may lose the last moments. Pass `":memory:"` for
 * a throw-away store in tests.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { RelayDescriptor, RelayLoad } from "./descriptor.ts";

/** Schema version kept in `meta`; a newer file is refused. */
const SCHEMA_VERSION = 1;

/** A listed relay as stored. */
export interface StoredRelay {
  /** base64 X25519 key: the relay's identity in the directory. */
  noiseKey: string;
  name: string;
  /** base64 Ed25519 key that signed the descriptor. */
  signingKey: string;
  /** The descriptor as registered, signature included. */
  descriptor: RelayDescriptor;
  /** IP address the registration came from (for the per-IP limit). */
  sourceIp: string;
  /** When the relay was first registered (ms, directory clock). */
  firstSeen: number;
  /** Last registration or heartbeat (ms, directory clock). */
  lastSeen: number;
  /** The relay's timestamp on its last accepted message. */
  lastTimestamp: number;
  /** Load from the last registration or heartbeat. */
  load: RelayLoad;
}

/** Network totals at one moment. */
export interface HistorySample {
  /** ms since the epoch. */
  t: number;
  relays: number;
  peers: number;
  circuits: number;
  bytes_relayed: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS relays (
  noise_key TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  signing_key TEXT NOT NULL,
  descriptor TEXT NOT NULL,
  source_ip TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  last_timestamp INTEGER NOT NULL,
  load TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS replay_guard (
  noise_key TEXT PRIMARY KEY,
  last_timestamp INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
  t INTEGER PRIMARY KEY,
  relays INTEGER NOT NULL,
  peers INTEGER NOT NULL,
  circuits INTEGER NOT NULL,
  bytes_relayed INTEGER NOT NULL
);
`;

/** The SQLite file behind a directory. */
export class DirectoryStore {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.#db = db;
  }

  /**
   * Opens (creating when needed) the database at `path`.
   *
   * @throws {Error} when the file cannot be opened or was written by a newer
   * altnet
   */
  static open(path: string): DirectoryStore {
    const db = new DatabaseSync(path);
    try {
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
      db.exec("PRAGMA busy_timeout = 5000");
      db.exec(SCHEMA);
      const row = db.prepare("SELECT value FROM meta WHERE key = 'schema'")
        .get() as { value: string } | undefined;
      if (row === undefined) {
        db.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?)")
          .run(String(SCHEMA_VERSION));
      } else if (Number(row.value) > SCHEMA_VERSION) {
        throw new Error(
          `The directory database was written by a newer altnet: schema ${row.value}, this one knows ${SCHEMA_VERSION}`,
        );
      }
    } catch (error) {
      db.close();
      throw error;
    }
    return new DirectoryStore(path, db);
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `fn` in one transaction: all of it is written, or none. */
  transaction<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Every stored relay. */
  loadRelays(): StoredRelay[] {
    const rows = this.#statement(
      "SELECT noise_key, name, signing_key, descriptor, source_ip, first_seen, last_seen, last_timestamp, load FROM relays",
    ).all() as Record<string, string | number>[];
    return rows.map((row) => ({
      noiseKey: row.noise_key as string,
      name: row.name as string,
      signingKey: row.signing_key as string,
      descriptor: JSON.parse(row.descriptor as string),
      sourceIp: row.source_ip as string,
      firstSeen: Number(row.first_seen),
      lastSeen: Number(row.last_seen),
      lastTimestamp: Number(row.last_timestamp),
      load: JSON.parse(row.load as string),
    }));
  }

  /** Inserts or replaces a relay (by Noise key). */
  putRelay(relay: StoredRelay): void {
    this.#statement(
      `INSERT OR REPLACE INTO relays (noise_key, name, signing_key, descriptor, source_ip, first_seen, last_seen, last_timestamp, load)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      relay.noiseKey,
      relay.name,
      relay.signingKey,
      JSON.stringify(relay.descriptor),
      relay.sourceIp,
      relay.firstSeen,
      relay.lastSeen,
      relay.lastTimestamp,
      JSON.stringify(relay.load),
    );
  }

  /** Records a heartbeat. */
  touchRelay(
    noiseKey: string,
    update: { lastSeen: number; lastTimestamp: number; load: RelayLoad },
  ): void {
    this.#statement(
      "UPDATE relays SET last_seen = ?, last_timestamp = ?, load = ? WHERE noise_key = ?",
    ).run(
      update.lastSeen,
      update.lastTimestamp,
      JSON.stringify(update.load),
      noiseKey,
    );
  }

  /** Removes a relay. */
  deleteRelay(noiseKey: string): void {
    this.#statement("DELETE FROM relays WHERE noise_key = ?").run(noiseKey);
  }

  /** Gives every relay seen before `at` a `lastSeen` of `at`. */
  refreshAllRelays(at: number): void {
    this.#statement("UPDATE relays SET last_seen = ? WHERE last_seen < ?")
      .run(at, at);
  }

  /** The replay guard: last accepted timestamp of removed relays. */
  loadReplayGuard(): Map<string, number> {
    const rows = this.#statement(
      "SELECT noise_key, last_timestamp FROM replay_guard",
    ).all() as { noise_key: string; last_timestamp: number }[];
    return new Map(rows.map((r) => [r.noise_key, Number(r.last_timestamp)]));
  }

  /** Remembers the last timestamp of a relay that is no longer listed. */
  putReplayGuard(noiseKey: string, lastTimestamp: number): void {
    this.#statement(
      "INSERT OR REPLACE INTO replay_guard (noise_key, last_timestamp) VALUES (?, ?)",
    ).run(noiseKey, lastTimestamp);
  }

  /** Forgets a replay guard entry. */
  deleteReplayGuard(noiseKey: string): void {
    this.#statement("DELETE FROM replay_guard WHERE noise_key = ?").run(
      noiseKey,
    );
  }

  /** Forgets entries older than `before` (they fail the freshness check). */
  pruneReplayGuard(before: number): void {
    this.#statement("DELETE FROM replay_guard WHERE last_timestamp < ?").run(
      before,
    );
  }

  /** Every counter. */
  loadCounters(): Map<string, number> {
    const rows = this.#statement("SELECT name, value FROM counters").all() as {
      name: string;
      value: number;
    }[];
    return new Map(rows.map((r) => [r.name, Number(r.value)]));
  }

  /** Adds `n` to a counter. */
  addCounter(name: string, n = 1): void {
    this.#statement(
      "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
    ).run(name, n);
  }

  /** Appends a sample and keeps only the newest `limit`. */
  addHistory(sample: HistorySample, limit: number): void {
    this.#statement(
      "INSERT OR REPLACE INTO history (t, relays, peers, circuits, bytes_relayed) VALUES (?, ?, ?, ?, ?)",
    ).run(
      sample.t,
      sample.relays,
      sample.peers,
      sample.circuits,
      sample.bytes_relayed,
    );
    this.#statement(
      "DELETE FROM history WHERE t NOT IN (SELECT t FROM history ORDER BY t DESC LIMIT ?)",
    ).run(limit);
  }

  /** The newest `limit` samples, oldest first. */
  loadHistory(limit: number): HistorySample[] {
    const rows = this.#statement(
      "SELECT t, relays, peers, circuits, bytes_relayed FROM history ORDER BY t DESC LIMIT ?",
    ).all(limit) as Record<string, number>[];
    return rows.reverse().map((r) => ({
      t: Number(r.t),
      relays: Number(r.relays),
      peers: Number(r.peers),
      circuits: Number(r.circuits),
      bytes_relayed: Number(r.bytes_relayed),
    }));
  }

  /** Number of stored history samples. */
  historySize(): number {
    const row = this.#statement("SELECT count(*) AS n FROM history").get() as {
      n: number;
    };
    return Number(row.n);
  }

  /** Closes the database. */
  close(): void {
    for (const statement of this.#statements.values()) {
      (statement as { finalize?: () => void }).finalize?.();
    }
    this.#statements.clear();
    this.#db.close();
  }
}
