/**
 * The relay's peers: one entry per static key, with its sessions, the address
 * it was last heard from, its registered names and its circuits.
 *
 * @module
 */

import { KeyRing } from "../crypto/transport/mod.ts";
import type { Endpoint } from "../wire/mod.ts";

/** One peer the relay holds a session with. */
export interface RelayPeer {
  /** Its static X25519 key. */
  readonly key: Uint8Array;
  /** `key` in hex: the map key. */
  readonly id: string;
  /** Its sessions (current, previous, next). */
  readonly ring: KeyRing;
  /** Where we send: the source of its latest authenticated packet. */
  address: Endpoint;
  /** When we last received an authenticated packet from it (ms). */
  lastSeen: number;
  /** Names it holds (its reservations). */
  readonly names: Set<string>;
  /** Local addresses it reported, offered to peers that want to reach it. */
  candidates: Endpoint[];
  /** Ids of the circuits it is an end of. */
  readonly circuits: Set<bigint>;
}

/** Why a registration was refused. */
export type RegisterRefusal =
  | { reason: "name-taken" }
  | { reason: "per-peer"; limit: number }
  | { reason: "full"; limit: number };

/**
 * Peers by key and by session index, and names by holder. Enforces the
 * reservation limits; knows nothing about packets.
 */
export class PeerTable {
  readonly #byId = new Map<string, RelayPeer>();
  readonly #byIndex = new Map<number, RelayPeer>();
  readonly #names = new Map<string, RelayPeer>();
  readonly #limits: { maxReservations: number; maxReservationsPerPeer: number };
  readonly #now: () => number;

  constructor(
    limits: { maxReservations: number; maxReservationsPerPeer: number },
    options: { now: () => number },
  ) {
    this.#limits = limits;
    this.#now = options.now;
  }

  /** Peers with a session. */
  get size(): number {
    return this.#byId.size;
  }

  /** Registered names in total (the reservations). */
  get reservations(): number {
    return this.#names.size;
  }

  /** All peers. */
  values(): IterableIterator<RelayPeer> {
    return this.#byId.values();
  }

  /** The peer with this static key, created (without names) if new. */
  upsert(key: Uint8Array, address: Endpoint, now: number): RelayPeer {
    const id = key.toHex();
    let peer = this.#byId.get(id);
    if (!peer) {
      const ring: KeyRing = new KeyRing({
        now: this.#now,
        onDrop: (session) => this.#byIndex.delete(session.localIndex),
      });
      peer = {
        key: key.slice(),
        id,
        ring,
        address,
        lastSeen: now,
        names: new Set(),
        candidates: [],
        circuits: new Set(),
      };
      this.#byId.set(id, peer);
    }
    return peer;
  }

  /** Records that `index` (a session's local index) belongs to `peer`. */
  bindIndex(index: number, peer: RelayPeer): void {
    this.#byIndex.set(index, peer);
  }

  /** Whether a session index is in use (so new indices avoid it). */
  hasIndex(index: number): boolean {
    return this.#byIndex.has(index);
  }

  /** The peer a packet's receiver index names. */
  byIndex(index: number): RelayPeer | undefined {
    return this.#byIndex.get(index);
  }

  /** The peer holding `name`. */
  byName(name: string): RelayPeer | undefined {
    return this.#names.get(name);
  }

  /**
   * Registers `name` for `peer`; renewing a name it already holds always
   * succeeds. Returns the refusal, or `"new"` / `"renewed"`.
   */
  register(peer: RelayPeer, name: string): "new" | "renewed" | RegisterRefusal {
    const holder = this.#names.get(name);
    if (holder === peer) return "renewed";
    if (holder) return { reason: "name-taken" };
    if (peer.names.size >= this.#limits.maxReservationsPerPeer) {
      return { reason: "per-peer", limit: this.#limits.maxReservationsPerPeer };
    }
    if (this.#names.size >= this.#limits.maxReservations) {
      return { reason: "full", limit: this.#limits.maxReservations };
    }
    this.#names.set(name, peer);
    peer.names.add(name);
    return "new";
  }

  /** Frees every name of `peer`. */
  unregister(peer: RelayPeer): void {
    for (const name of peer.names) this.#names.delete(name);
    peer.names.clear();
  }

  /** Forgets `peer` entirely: names, sessions (wiped) and indices. */
  remove(peer: RelayPeer): void {
    this.unregister(peer);
    peer.ring.destroy();
    for (const [index, holder] of this.#byIndex) {
      if (holder === peer) this.#byIndex.delete(index);
    }
    this.#byId.delete(peer.id);
  }
}
