/**
 * Birthday-paradox probing for a peer behind an endpoint-dependent
 * ("symmetric") NAT, sans-I/O (docs/PROTOCOL.md §4.4).
 *
 * A symmetric NAT gives every destination a new random public port, so the
 * other peer cannot know where to punch. But when the other peer's own NAT
 * maps endpoint-independently, the ports can be made to meet: the hard side
 * opens `sockets` local sockets and sends one packet from each toward the
 * easy side's public endpoint, which opens `sockets` random public ports on
 * its NAT, each admitting that endpoint. The easy side then probes `probes`
 * distinct random ports of the hard side's public address; every probe that
 * lands on an open port goes through, is answered from that socket, and
 * proves a direct round trip. With `n` ports open out of `R` possible, `p`
 * probes all miss with probability `(1 − n/R)^p`: 256 sockets and 1024
 * probes over Linux's 64,512 ports succeed 98.3 % of the time
 * ({@linkcode birthdaySuccessOdds}).
 *
 * This module holds the budget, the role decision and the easy side's
 * paced spray; {@linkcode PathManager} runs the rounds.
 *
 * @module
 */

import { type Endpoint, NatMapping } from "../wire/mod.ts";

/** How much birthday probing may cost; a documented setting (PROTOCOL §4.4). */
export interface BirthdayBudget {
  /** Sockets the hard side opens per round (each sends one packet). */
  sockets: number;
  /** Probes the easy side sends per round, to distinct random ports. */
  probes: number;
  /** The easy side's probe rate. */
  probesPerSecond: number;
  /** How long the hard side holds its sockets open per round, in ms. */
  roundMs: number;
  /** Rounds per connection, counted again after a local address change. */
  maxRounds: number;
}

/**
 * The default budget: Tailscale's 256 against 1024, sent at 500 probes/s
 * (about 2 s and 70 kB per round on the easy side), three rounds at most.
 */
export const DEFAULT_BIRTHDAY_BUDGET: Readonly<BirthdayBudget> = Object.freeze(
  {
    sockets: 256,
    probes: 1024,
    probesPerSecond: 500,
    roundMs: 10_000,
    maxRounds: 3,
  },
);

/** The easy side sends its probes in batches this far apart. */
export const BIRTHDAY_BATCH_MS = 20;

/** The lowest public port probed: Linux NAT maps ports ≥ 1024 to ≥ 1024. */
export const BIRTHDAY_FIRST_PORT = 1024;

/** Ports a NAT may pick from ({@linkcode BIRTHDAY_FIRST_PORT}–65535). */
export const BIRTHDAY_PORT_RANGE = 65536 - BIRTHDAY_FIRST_PORT;

/**
 * Which side of a birthday round we would be: `hard` behind an
 * endpoint-dependent NAT facing an endpoint-independent one, `easy` the
 * other way round, none otherwise (plain punching works, or nothing does).
 */
export function birthdayRole(
  local: NatMapping,
  peer: NatMapping,
): "hard" | "easy" | undefined {
  if (
    local === NatMapping.ENDPOINT_DEPENDENT &&
    peer === NatMapping.ENDPOINT_INDEPENDENT
  ) return "hard";
  if (
    local === NatMapping.ENDPOINT_INDEPENDENT &&
    peer === NatMapping.ENDPOINT_DEPENDENT
  ) return "easy";
  return undefined;
}

/** The chance that at least one of `probes` distinct probes hits one of `sockets` open ports. */
export function birthdaySuccessOdds(
  sockets: number,
  probes: number,
  range: number = BIRTHDAY_PORT_RANGE,
): number {
  // Distinct probes: the exact hypergeometric miss probability.
  let miss = 1;
  for (let i = 0; i < probes && miss > 0; i++) {
    miss *= Math.max(0, range - sockets - i) / (range - i);
  }
  return 1 - miss;
}

/**
 * Checks a budget, throwing a `RangeError` that names the bad field.
 * Zero sockets or probes turn birthday probing off.
 */
export function checkBirthdayBudget(budget: BirthdayBudget): void {
  const limits: [keyof BirthdayBudget, number, number][] = [
    ["sockets", 0, 1024],
    ["probes", 0, 16_384],
    ["probesPerSecond", 1, 10_000],
    ["roundMs", 1_000, 120_000],
    ["maxRounds", 0, 100],
  ];
  for (const [field, min, max] of limits) {
    const value = budget[field];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(
        `Cannot use a birthday budget with ${field} outside ${min}–${max}: ${value}`,
      );
    }
  }
}

/** The easy side's spray: distinct random ports of one address, paced. */
export class BirthdaySpray {
  readonly #address: string;
  readonly #total: number;
  readonly #perBatch: number;
  readonly #randomPort: () => number;
  readonly #tried = new Set<number>();
  #nextAt: number;

  /**
   * @param address the hard side's public address
   * @param randomBelow a uniform random integer in `[0, n)`
   */
  constructor(
    address: string,
    budget: BirthdayBudget,
    randomBelow: (n: number) => number,
    now: number,
  ) {
    this.#address = address;
    this.#total = Math.min(budget.probes, BIRTHDAY_PORT_RANGE);
    this.#perBatch = Math.max(
      1,
      Math.round(budget.probesPerSecond * BIRTHDAY_BATCH_MS / 1000),
    );
    this.#randomPort = () =>
      BIRTHDAY_FIRST_PORT + randomBelow(BIRTHDAY_PORT_RANGE);
    this.#nextAt = now;
  }

  /** Probes sent so far. */
  get sent(): number {
    return this.#tried.size;
  }

  /** Whether every probe of the round is out. */
  get done(): boolean {
    return this.#tried.size >= this.#total;
  }

  /** When {@linkcode due} has more, or undefined when done. */
  nextTimeout(): number | undefined {
    return this.done ? undefined : this.#nextAt;
  }

  /** The endpoints to probe now (one batch), if a batch is due. */
  due(now: number): Endpoint[] {
    if (this.done || now < this.#nextAt) return [];
    const out: Endpoint[] = [];
    while (out.length < this.#perBatch && !this.done) {
      const port = this.#randomPort();
      if (this.#tried.has(port)) continue;
      this.#tried.add(port);
      out.push({ address: this.#address, port });
    }
    this.#nextAt = now + BIRTHDAY_BATCH_MS;
    return out;
  }
}
