/**
 * Choosing between the relay and a direct path, sans-I/O (docs/PROTOCOL.md
 * §4.3).
 *
 * A session starts over the relay at once, so the first message never waits
 * for punching. From the rendezvous time on, both sides send authenticated
 * `PATH_PROBE`s to every candidate of the other; the first probe that comes
 * back acknowledged proves a direct round trip, and traffic moves there. A
 * direct path that stops answering is abandoned within
 * {@linkcode DIRECT_PATH_TIMEOUT_MS} + one probe interval, and traffic goes
 * back to the relay; punching is retried every {@linkcode PUNCH_RETRY_MS} and
 * at once when the local address changes.
 *
 * This class only decides; the connection seals and sends.
 *
 * @module
 */

import type { Endpoint } from "../wire/mod.ts";

/** How often to probe each candidate while punching. */
export const PUNCH_INTERVAL_MS = 200;
/** How long one punching round lasts. */
export const PUNCH_ROUND_MS = 5_000;
/** Probe interval on an established direct path (liveness and RTT). */
export const DIRECT_PROBE_INTERVAL_MS = 1_000;
/**
 * A direct path with no authenticated packet for this long is dead. With
 * probes every second, the switch back to the relay happens at most
 * 5 s + 1 s after the last packet, inside the 6.5 s the design asks for.
 */
export const DIRECT_PATH_TIMEOUT_MS = 5_000;
/** While relayed, try the direct path again this often. */
export const PUNCH_RETRY_MS = 30_000;
/** At most this many candidates are probed. */
export const MAX_PROBED_CANDIDATES = 16;

/** The path traffic takes now. */
export type CurrentPath =
  | { via: "relay" }
  | { via: "direct"; endpoint: Endpoint; rttMs: number };

/** A probe to send. */
export interface ProbeToSend {
  probeId: bigint;
  to: Endpoint;
}

/** What became of the probes to one candidate (for `altnet punch`). */
export interface CandidateReport {
  candidate: Endpoint;
  probesSent: number;
  acks: number;
  /** Fastest round trip seen, in ms. */
  bestRttMs?: number;
  /** Where the acks came from, when not the candidate itself (NAT rewrote it). */
  answeredFrom?: Endpoint;
}

/** A path change to report. */
export interface PathChange {
  path: CurrentPath;
  reason: string;
}

const keyOf = (e: Endpoint) => `${e.address}|${e.port}`;

const sameEndpoint = (a: Endpoint, b: Endpoint) =>
  a.address === b.address && a.port === b.port;

/** The path state of one peer connection. */
export class PathManager {
  #path: CurrentPath = { via: "relay" };
  #candidates: Endpoint[] = [];
  readonly #probes = new Map<bigint, { to: Endpoint; sentAt: number }>();
  readonly #reports = new Map<string, CandidateReport>();
  readonly #randomId: () => bigint;
  #punchUntil: number | undefined;
  #nextPunch: number | undefined;
  #nextDirectProbe: number | undefined;
  #lastDirectReceive = 0;
  #retryAt: number | undefined;
  #changes: PathChange[] = [];

  constructor(options: { randomId: () => bigint }) {
    this.#randomId = options.randomId;
  }

  /** The current path. */
  get path(): CurrentPath {
    return this.#path;
  }

  /** Candidates known for the peer. */
  get candidates(): readonly Endpoint[] {
    return this.#candidates;
  }

  /** Probes and answers per candidate, in the order candidates were added. */
  candidateReports(): CandidateReport[] {
    return this.#candidates.map((candidate) =>
      this.#reports.get(keyOf(candidate)) ??
        { candidate, probesSent: 0, acks: 0 }
    );
  }

  /** Adds candidates (deduplicated, bounded). */
  addCandidates(candidates: Endpoint[]): void {
    for (const candidate of candidates) {
      if (this.#candidates.length >= MAX_PROBED_CANDIDATES) break;
      if (!this.#candidates.some((c) => sameEndpoint(c, candidate))) {
        this.#candidates.push(candidate);
      }
    }
  }

  /** Starts a punching round at `at` (the rendezvous time). */
  startPunching(at: number): void {
    this.#nextPunch = at;
    this.#punchUntil = at + PUNCH_ROUND_MS;
    this.#retryAt = undefined;
  }

  /** Our local address changed: punch again at once. */
  onLocalAddressChange(now: number): void {
    if (this.#candidates.length > 0) this.startPunching(now);
  }

  /**
   * Probes due at `now`. Call when {@linkcode nextTimeout} is reached; it
   * also detects a dead direct path and schedules retries.
   */
  poll(now: number): ProbeToSend[] {
    const out: ProbeToSend[] = [];
    if (this.#path.via === "direct") {
      if (now - this.#lastDirectReceive >= DIRECT_PATH_TIMEOUT_MS) {
        this.#path = { via: "relay" };
        this.#nextDirectProbe = undefined;
        this.#changes.push({
          path: this.#path,
          reason: "the direct path stopped answering",
        });
        this.#retryAt = now + PUNCH_RETRY_MS;
      } else if (
        this.#nextDirectProbe !== undefined && now >= this.#nextDirectProbe
      ) {
        out.push(this.#probe(this.#path.endpoint, now));
        this.#nextDirectProbe = now + DIRECT_PROBE_INTERVAL_MS;
      }
    }
    if (this.#retryAt !== undefined && now >= this.#retryAt) {
      this.startPunching(now);
    }
    if (
      this.#nextPunch !== undefined && now >= this.#nextPunch &&
      this.#path.via === "relay"
    ) {
      if (now >= this.#punchUntil!) {
        this.#nextPunch = undefined;
        this.#punchUntil = undefined;
        this.#retryAt = now + PUNCH_RETRY_MS;
      } else {
        for (const candidate of this.#candidates) {
          out.push(this.#probe(candidate, now));
        }
        this.#nextPunch = now + PUNCH_INTERVAL_MS;
      }
    }
    this.#forgetOldProbes(now);
    return out;
  }

  /** A probe to send now, outside the schedule (answering a peer's probe). */
  probeNow(to: Endpoint, now: number): ProbeToSend {
    return this.#probe(to, now);
  }

  /** When {@linkcode poll} should run next. */
  nextTimeout(): number | undefined {
    const times = [
      this.#path.via === "relay" ? this.#nextPunch : undefined,
      this.#nextDirectProbe,
      this.#path.via === "direct"
        ? this.#lastDirectReceive + DIRECT_PATH_TIMEOUT_MS
        : undefined,
      this.#retryAt,
    ].filter((t): t is number => t !== undefined);
    return times.length ? Math.min(...times) : undefined;
  }

  /**
   * An authenticated `PATH_PROBE_ACK` for `probeId` arrived from `from`.
   * Moves to the direct path when it proves a round trip.
   */
  onProbeAck(probeId: bigint, from: Endpoint, now: number): void {
    const probe = this.#probes.get(probeId);
    if (!probe) return;
    this.#probes.delete(probeId);
    const rttMs = now - probe.sentAt;
    const report = this.#report(probe.to);
    report.acks++;
    report.bestRttMs = Math.min(report.bestRttMs ?? Infinity, rttMs);
    if (!sameEndpoint(probe.to, from)) report.answeredFrom = from;
    if (this.#path.via === "direct") {
      // Already direct: refresh the path in use; an answer from another
      // candidate is no reason to move (flapping between two working
      // addresses would only confuse the streams).
      if (sameEndpoint(this.#path.endpoint, from)) {
        this.#lastDirectReceive = now;
        this.#path = { via: "direct", endpoint: from, rttMs };
      }
      return;
    }
    this.#lastDirectReceive = now;
    this.#path = { via: "direct", endpoint: from, rttMs };
    this.#nextPunch = undefined;
    this.#punchUntil = undefined;
    this.#retryAt = undefined;
    this.#nextDirectProbe = now + DIRECT_PROBE_INTERVAL_MS;
    this.#changes.push({
      path: this.#path,
      reason: "a direct probe round trip succeeded",
    });
  }

  /**
   * Any authenticated packet arrived directly from `from`: keeps the direct
   * path alive, and makes an unknown source a candidate (the peer moved).
   */
  onDirectReceive(from: Endpoint, now: number): void {
    if (
      this.#path.via === "direct" && sameEndpoint(this.#path.endpoint, from)
    ) {
      this.#lastDirectReceive = now;
    } else if (!this.#candidates.some((c) => sameEndpoint(c, from))) {
      this.addCandidates([from]);
      if (this.#path.via === "relay") this.startPunching(now);
    }
  }

  /** The path changes since the last call, oldest first. */
  takeChanges(): PathChange[] {
    return this.#changes.splice(0);
  }

  #report(candidate: Endpoint): CandidateReport {
    let report = this.#reports.get(keyOf(candidate));
    if (!report) {
      report = { candidate, probesSent: 0, acks: 0 };
      this.#reports.set(keyOf(candidate), report);
    }
    return report;
  }

  #probe(to: Endpoint, now: number): ProbeToSend {
    this.#report(to).probesSent++;
    const probeId = this.#randomId();
    this.#probes.set(probeId, { to, sentAt: now });
    return { probeId, to };
  }

  #forgetOldProbes(now: number) {
    for (const [id, probe] of this.#probes) {
      if (now - probe.sentAt > DIRECT_PATH_TIMEOUT_MS) this.#probes.delete(id);
    }
  }
}
