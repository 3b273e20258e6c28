/**
 * Circuits: pairs of peers the relay forwards between, with their limits and
 * budgets.
 *
 * @module
 */

import type { RelayPeer } from "./peer_table.ts";

/** One forwarding circuit between two registered peers. */
export interface Circuit {
  readonly id: bigint;
  readonly a: RelayPeer;
  readonly b: RelayPeer;
  readonly createdAt: number;
  /** Bytes forwarded so far, both directions. */
  bytes: number;
}

/** Why a circuit was refused. */
export type CircuitRefusal =
  | { reason: "full"; limit: number }
  | { reason: "per-peer"; limit: number };

/** The circuits of a relay. */
export class CircuitTable {
  readonly #circuits = new Map<bigint, Circuit>();
  readonly #limits: { maxCircuits: number; maxCircuitsPerPeer: number };
  readonly #randomId: () => bigint;

  constructor(
    limits: { maxCircuits: number; maxCircuitsPerPeer: number },
    options: { randomId: () => bigint },
  ) {
    this.#limits = limits;
    this.#randomId = options.randomId;
  }

  /** Circuits open now. */
  get size(): number {
    return this.#circuits.size;
  }

  /** All circuits. */
  values(): IterableIterator<Circuit> {
    return this.#circuits.values();
  }

  /** The circuit with this id. */
  get(id: bigint): Circuit | undefined {
    return this.#circuits.get(id);
  }

  /**
   * The circuit between `a` and `b`: the existing one (so a retried CONNECT
   * is idempotent) or a new one within the limits.
   */
  open(a: RelayPeer, b: RelayPeer, now: number): Circuit | CircuitRefusal {
    for (const id of a.circuits) {
      const existing = this.#circuits.get(id);
      if (existing && (existing.a === b || existing.b === b)) return existing;
    }
    if (this.#circuits.size >= this.#limits.maxCircuits) {
      return { reason: "full", limit: this.#limits.maxCircuits };
    }
    if (
      a.circuits.size >= this.#limits.maxCircuitsPerPeer ||
      b.circuits.size >= this.#limits.maxCircuitsPerPeer
    ) {
      return { reason: "per-peer", limit: this.#limits.maxCircuitsPerPeer };
    }
    let id = this.#randomId();
    while (this.#circuits.has(id)) id = this.#randomId();
    const circuit: Circuit = { id, a, b, createdAt: now, bytes: 0 };
    this.#circuits.set(id, circuit);
    a.circuits.add(id);
    b.circuits.add(id);
    return circuit;
  }

  /** Closes a circuit; returns it if it was open. */
  close(id: bigint): Circuit | undefined {
    const circuit = this.#circuits.get(id);
    if (!circuit) return undefined;
    this.#circuits.delete(id);
    circuit.a.circuits.delete(id);
    circuit.b.circuits.delete(id);
    return circuit;
  }
}

/** The other end of `circuit` seen from `peer`, or undefined if not an end. */
export function otherEnd(
  circuit: Circuit,
  peer: RelayPeer,
): RelayPeer | undefined {
  if (circuit.a === peer) return circuit.b;
  if (circuit.b === peer) return circuit.a;
  return undefined;
}
