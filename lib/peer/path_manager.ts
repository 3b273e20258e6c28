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

import { type Endpoint, NatMapping } from "../wire/mod.ts";
import {
  type BirthdayBudget,
  birthdayRole,
  BirthdaySpray,
} from "./birthday.ts";

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
/**
 * The IP TTL of the opening probes that start every punching round: enough
 * to cross our own NAT (opening its mapping), too little to reach the
 * peer's, where an unsolicited packet would leave a plain Linux router a
 * half-open conntrack entry that pushes the peer's own mapping to another
 * port (PROTOCOL §4.3).
 */
export const OPENING_TTL = 2;
/** Full probes start this long after the opening probes. */
export const OPENING_LEAD_MS = 200;
/** The hard side re-announces its open birthday sockets this often. */
export const BIRTHDAY_ANNOUNCE_MS = 1_000;

/**
 * After a won birthday round the hard side keeps its sockets this long: two
 * spray probes can hit two sockets, and the easy side may settle on the
 * other one, so the hard side follows the socket the peer's traffic comes
 * in on before it closes the rest.
 */
export const BIRTHDAY_SETTLE_MS = 2_000;

/** Socket 0 is the connection's main socket; birthday sockets are 1…n. */
export const MAIN_SOCKET = 0;

/** The path traffic takes now. */
export type CurrentPath =
  | { via: "relay" }
  | {
    via: "direct";
    endpoint: Endpoint;
    rttMs: number;
    /** The local socket the path uses, when not the main one. */
    socket?: number;
  };

/** A probe to send. */
export interface ProbeToSend {
  probeId: bigint;
  to: Endpoint;
  /** The local socket to send it from ({@linkcode MAIN_SOCKET} = 0). */
  socket: number;
  /** An IP TTL for this datagram only (opening probes). */
  ttl?: number;
}

/** Work for the connection's owner besides probes. */
export type PathAction =
  /** Open this many extra sockets and hand them to `onBirthdaySockets`. */
  | { type: "open-sockets"; count: number }
  /** Close every extra socket but `keep`. */
  | { type: "close-sockets"; keep?: number }
  /** Tell the peer our NAT mapping and open birthday sockets (`NAT_INFO`). */
  | { type: "nat-info"; mapping: NatMapping; birthdaySockets: number };

/** What birthday probing did on this connection (for `altnet punch`). */
export interface BirthdayReport {
  /** Our role, once one applied. */
  role?: "hard" | "easy";
  rounds: number;
  /** Extra sockets opened (hard side), over all rounds. */
  socketsOpened: number;
  /** Probes sent: openers from the sockets (hard) or the spray (easy). */
  probesSent: number;
  /** Whether a birthday probe made the direct path. */
  succeeded: boolean;
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

/** Options of {@linkcode PathManager}. */
export interface PathManagerOptions {
  randomId: () => bigint;
  /**
   * Whether the sockets can set a per-datagram TTL: then every round starts
   * with {@linkcode OPENING_TTL} probes.
   */
  lowTtl?: boolean;
  /** Birthday probing budget; absent when no extra sockets can be opened. */
  birthday?: BirthdayBudget;
}

interface SentProbe {
  to: Endpoint;
  sentAt: number;
  socket: number;
  birthday: boolean;
}

interface HardRound {
  /** Undefined while the owner opens them. */
  sockets?: number[];
  until: number;
  announceAt?: number;
  /** The easy side's probes are coming in: stop announcing. */
  heard: boolean;
  /** The round made the direct path; `until` is then the settle deadline. */
  won?: boolean;
}

const keyOf = (e: Endpoint) => `${e.address}|${e.port}`;

const sameEndpoint = (a: Endpoint, b: Endpoint) =>
  a.address === b.address && a.port === b.port;

/** The path state of one peer connection. */
export class PathManager {
  #path: CurrentPath = { via: "relay" };
  #candidates: Endpoint[] = [];
  readonly #probes = new Map<bigint, SentProbe>();
  readonly #reports = new Map<string, CandidateReport>();
  readonly #pendingProbes: ProbeToSend[] = [];
  readonly #randomId: () => bigint;
  readonly #lowTtl: boolean;
  readonly #budget: BirthdayBudget | undefined;
  #openAt: number | undefined;
  #punchUntil: number | undefined;
  #nextPunch: number | undefined;
  #nextDirectProbe: number | undefined;
  #lastDirectReceive = 0;
  #retryAt: number | undefined;
  #changes: PathChange[] = [];
  #actions: PathAction[] = [];
  #localMapping: NatMapping = NatMapping.UNKNOWN;
  #peerMapping: NatMapping = NatMapping.UNKNOWN;
  #infoSent = false;
  #peerPublic: Endpoint | undefined;
  #hard: HardRound | undefined;
  #spray: BirthdaySpray | undefined;
  #birthdayNextAt = 0;
  readonly #birthday: BirthdayReport = {
    rounds: 0,
    socketsOpened: 0,
    probesSent: 0,
    succeeded: false,
  };

  constructor(options: PathManagerOptions) {
    this.#randomId = options.randomId;
    this.#lowTtl = options.lowTtl ?? false;
    const budget = options.birthday;
    this.#budget = budget && budget.sockets > 0 && budget.probes > 0 &&
        budget.maxRounds > 0
      ? budget
      : undefined;
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

  /** The peer's NAT mapping, from its `NAT_INFO`. */
  get peerMapping(): NatMapping {
    return this.#peerMapping;
  }

  /** Every probe sent so far: to candidates, opening, and birthday ones. */
  probesSent(): number {
    let total = this.#birthday.probesSent;
    for (const report of this.#reports.values()) total += report.probesSent;
    return total;
  }

  /** What birthday probing did so far. */
  birthdayReport(): BirthdayReport {
    return { ...this.#birthday };
  }

  /**
   * The peer's public endpoint as the relay saw it (the first candidate of
   * `RENDEZVOUS`): the address a birthday spray aims at.
   */
  setPeerPublic(endpoint: Endpoint): void {
    this.#peerPublic = endpoint;
  }

  /** Our own NAT's mapping behaviour, once STUN told us. */
  setLocalMapping(mapping: NatMapping): void {
    if (mapping === this.#localMapping) return;
    this.#localMapping = mapping;
    this.#infoSent = false;
  }

  /**
   * The peer's `NAT_INFO`: its mapping, and how many birthday sockets it
   * holds open now (an easy side starts its spray on that).
   */
  onPeerNatInfo(mapping: NatMapping, birthdaySockets: number, now: number) {
    const first = this.#peerMapping === NatMapping.UNKNOWN &&
      mapping !== NatMapping.UNKNOWN;
    this.#peerMapping = mapping;
    // Answer a first announcement, so one lost NAT_INFO costs no round.
    if (first) this.#infoSent = false;
    if (birthdaySockets === 0) {
      this.#spray = undefined;
      return;
    }
    // A peer that keeps announcing rounds gets at most `maxRounds` sprays,
    // and only ever at its own public address (the one the relay saw), so
    // NAT_INFO cannot aim our probes at anybody else.
    if (
      !this.#budget || this.#spray || this.#path.via === "direct" ||
      !this.#peerPublic ||
      this.#birthday.rounds >= this.#budget.maxRounds ||
      birthdayRole(this.#localMapping, mapping) !== "easy"
    ) return;
    this.#birthday.role = "easy";
    this.#birthday.rounds++;
    this.#spray = new BirthdaySpray(
      this.#peerPublic.address,
      this.#budget,
      (n) => Number(this.#randomId() % BigInt(n)),
      now,
    );
  }

  /** The extra sockets asked for with `open-sockets` are open: their ids. */
  onBirthdaySockets(sockets: number[], now: number): void {
    const round = this.#hard;
    if (!round || round.sockets || !this.#peerPublic) {
      if (sockets.length) this.#actions.push({ type: "close-sockets" });
      return;
    }
    round.sockets = sockets;
    round.until = now + this.#budget!.roundMs;
    round.announceAt = now;
    this.#birthday.socketsOpened += sockets.length;
    // One packet from each socket opens a port on our NAT toward the peer;
    // at low TTL it dies before the peer's NAT, which must not see it.
    for (const socket of sockets) {
      const probe = this.#probe(this.#peerPublic, now, socket, true);
      if (this.#lowTtl) probe.ttl = OPENING_TTL;
      this.#pendingProbes.push(probe);
    }
    this.#birthday.probesSent += sockets.length;
  }

  /** Actions for the owner, oldest first. */
  takeActions(): PathAction[] {
    return this.#actions.splice(0);
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

  /**
   * Starts a punching round at `at` (the rendezvous time): opening probes
   * first when the socket can lower their TTL, full probes after.
   */
  startPunching(at: number): void {
    if (this.#lowTtl) {
      this.#openAt = at;
      this.#nextPunch = at + OPENING_LEAD_MS;
    } else {
      this.#nextPunch = at;
    }
    this.#punchUntil = at + PUNCH_ROUND_MS;
    this.#retryAt = undefined;
    // Tell the peer our NAT again each round: a lost NAT_INFO costs one
    // round, not the connection's birthday probing.
    this.#infoSent = false;
  }

  /** Our local address changed: punch again at once, birthday rounds too. */
  onLocalAddressChange(now: number): void {
    if (this.#candidates.length > 0) this.startPunching(now);
    this.#birthday.rounds = 0;
    this.#birthdayNextAt = now;
    this.#infoSent = false;
  }

  /**
   * Probes due at `now`. Call when {@linkcode nextTimeout} is reached; it
   * also detects a dead direct path and schedules retries.
   */
  poll(now: number): ProbeToSend[] {
    const out: ProbeToSend[] = this.#pendingProbes.splice(0);
    if (this.#path.via === "direct") {
      if (now - this.#lastDirectReceive >= DIRECT_PATH_TIMEOUT_MS) {
        if (this.#path.socket !== undefined) {
          this.#actions.push({ type: "close-sockets" });
          this.#hard = undefined;
        }
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
        const path = this.#path;
        out.push(
          this.#probe(
            path.endpoint,
            now,
            path.socket ?? MAIN_SOCKET,
            path.socket !== undefined,
          ),
        );
        this.#nextDirectProbe = now + DIRECT_PROBE_INTERVAL_MS;
      }
    }
    if (this.#retryAt !== undefined && now >= this.#retryAt) {
      this.startPunching(now);
    }
    if (
      this.#openAt !== undefined && now >= this.#openAt &&
      this.#path.via === "relay"
    ) {
      this.#openAt = undefined;
      for (const candidate of this.#candidates) {
        const probe = this.#probe(candidate, now, MAIN_SOCKET, false);
        probe.ttl = OPENING_TTL;
        out.push(probe);
      }
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
          out.push(this.#probe(candidate, now, MAIN_SOCKET, false));
        }
        this.#nextPunch = now + PUNCH_INTERVAL_MS;
      }
    }
    this.#pollBirthday(now, out);
    this.#forgetOldProbes(now);
    return out;
  }

  /**
   * A probe to send now, outside the schedule (answering a peer's probe),
   * from the socket the peer's probe came in on.
   */
  probeNow(to: Endpoint, now: number, socket = MAIN_SOCKET): ProbeToSend {
    return this.#probe(to, now, socket, socket !== MAIN_SOCKET);
  }

  /** When {@linkcode poll} should run next. */
  nextTimeout(): number | undefined {
    const relayed = this.#path.via === "relay";
    const times = [
      this.#pendingProbes.length ? 0 : undefined,
      relayed ? this.#openAt : undefined,
      relayed ? this.#nextPunch : undefined,
      relayed ? this.#spray?.nextTimeout() : undefined,
      this.#hard?.announceAt,
      this.#hard?.sockets ? this.#hard.until : undefined,
      relayed && this.#wantsHardRound()
        ? Math.max(this.#birthdayNextAt, 0)
        : undefined,
      !this.#infoSent && this.#localMapping !== NatMapping.UNKNOWN
        ? 0
        : undefined,
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
  onProbeAck(
    probeId: bigint,
    from: Endpoint,
    now: number,
    socket = MAIN_SOCKET,
  ): void {
    const probe = this.#probes.get(probeId);
    if (!probe || probe.socket !== socket) return;
    this.#probes.delete(probeId);
    const rttMs = now - probe.sentAt;
    if (!probe.birthday) {
      const report = this.#report(probe.to);
      report.acks++;
      report.bestRttMs = Math.min(report.bestRttMs ?? Infinity, rttMs);
      if (!sameEndpoint(probe.to, from)) report.answeredFrom = from;
    }
    if (this.#path.via === "direct") {
      // Already direct: refresh the path in use; an answer from another
      // candidate is no reason to move (flapping between two working
      // addresses would only confuse the streams).
      if (this.#onPath(from, socket)) {
        this.#lastDirectReceive = now;
        this.#path = directPath(from, rttMs, socket);
      }
      return;
    }
    this.#lastDirectReceive = now;
    this.#path = directPath(from, rttMs, socket);
    this.#nextPunch = undefined;
    this.#openAt = undefined;
    this.#punchUntil = undefined;
    this.#retryAt = undefined;
    this.#spray = undefined;
    this.#nextDirectProbe = now + DIRECT_PROBE_INTERVAL_MS;
    if (probe.birthday) this.#birthday.succeeded = true;
    if (this.#hard?.sockets) {
      // The round is won: settle, then keep the one socket in use.
      this.#hard.won = true;
      this.#hard.until = now + BIRTHDAY_SETTLE_MS;
      this.#hard.announceAt = undefined;
      this.#announce(0);
    } else if (this.#hard) {
      this.#actions.push({ type: "close-sockets" });
      this.#hard = undefined;
    }
    this.#changes.push({
      path: this.#path,
      reason: probe.birthday
        ? "a birthday probe round trip succeeded"
        : "a direct probe round trip succeeded",
    });
  }

  /**
   * Any authenticated packet arrived directly from `from`: keeps the direct
   * path alive, and makes an unknown source a candidate (the peer moved).
   */
  onDirectReceive(from: Endpoint, now: number, socket = MAIN_SOCKET): void {
    const path = this.#path;
    if (path.via === "direct" && this.#onPath(from, socket)) {
      this.#lastDirectReceive = now;
    } else if (
      path.via === "direct" && this.#hard?.won && socket !== MAIN_SOCKET &&
      sameEndpoint(path.endpoint, from)
    ) {
      // The peer settled on another of our sockets: follow it.
      this.#path = directPath(from, path.rttMs, socket);
      this.#lastDirectReceive = now;
    } else if (socket !== MAIN_SOCKET) {
      // The easy side's spray found one of our birthday sockets.
      if (this.#hard) this.#hard.heard = true;
    } else if (!this.#candidates.some((c) => sameEndpoint(c, from))) {
      this.addCandidates([from]);
      if (this.#path.via === "relay") this.startPunching(now);
    }
  }

  /** The path changes since the last call, oldest first. */
  takeChanges(): PathChange[] {
    return this.#changes.splice(0);
  }

  /** Whether `from` on `socket` is the direct path in use. */
  isOnPath(from: Endpoint, socket = MAIN_SOCKET): boolean {
    return this.#path.via === "direct" && this.#onPath(from, socket);
  }

  #onPath(from: Endpoint, socket: number): boolean {
    const path = this.#path;
    return path.via === "direct" && sameEndpoint(path.endpoint, from) &&
      (path.socket ?? MAIN_SOCKET) === socket;
  }

  #wantsHardRound(): boolean {
    return this.#budget !== undefined && this.#hard === undefined &&
      this.#peerPublic !== undefined &&
      this.#birthday.rounds < this.#budget.maxRounds &&
      birthdayRole(this.#localMapping, this.#peerMapping) === "hard";
  }

  #pollBirthday(now: number, out: ProbeToSend[]) {
    if (!this.#infoSent && this.#localMapping !== NatMapping.UNKNOWN) {
      this.#announce(this.#hard?.sockets?.length ?? 0);
    }
    const settled = this.#hard?.won && now >= this.#hard.until;
    if (settled) {
      const path = this.#path;
      this.#actions.push({
        type: "close-sockets",
        keep: path.via === "direct" ? path.socket : undefined,
      });
      this.#hard = undefined;
    }
    if (this.#path.via !== "relay") return;
    if (this.#wantsHardRound() && now >= this.#birthdayNextAt) {
      this.#birthday.role = "hard";
      this.#birthday.rounds++;
      this.#hard = { until: Infinity, heard: false };
      this.#actions.push({
        type: "open-sockets",
        count: this.#budget!.sockets,
      });
    }
    const round = this.#hard;
    if (round?.sockets) {
      if (now >= round.until) {
        this.#actions.push({ type: "close-sockets" });
        this.#announce(0);
        this.#hard = undefined;
        this.#birthdayNextAt = now + PUNCH_RETRY_MS;
      } else if (round.announceAt !== undefined && now >= round.announceAt) {
        this.#announce(round.sockets.length);
        round.announceAt = round.heard ? undefined : now + BIRTHDAY_ANNOUNCE_MS;
      }
    }
    if (this.#spray) {
      for (const to of this.#spray.due(now)) {
        out.push(this.#probe(to, now, MAIN_SOCKET, true));
        this.#birthday.probesSent++;
      }
    }
  }

  #announce(birthdaySockets: number) {
    this.#infoSent = true;
    this.#actions.push({
      type: "nat-info",
      mapping: this.#localMapping,
      birthdaySockets,
    });
  }

  #report(candidate: Endpoint): CandidateReport {
    let report = this.#reports.get(keyOf(candidate));
    if (!report) {
      report = { candidate, probesSent: 0, acks: 0 };
      this.#reports.set(keyOf(candidate), report);
    }
    return report;
  }

  #probe(
    to: Endpoint,
    now: number,
    socket: number,
    birthday: boolean,
  ): ProbeToSend {
    if (!birthday) this.#report(to).probesSent++;
    const probeId = this.#randomId();
    this.#probes.set(probeId, { to, sentAt: now, socket, birthday });
    return { probeId, to, socket };
  }

  #forgetOldProbes(now: number) {
    for (const [id, probe] of this.#probes) {
      if (now - probe.sentAt > DIRECT_PATH_TIMEOUT_MS) this.#probes.delete(id);
    }
  }
}

function directPath(
  endpoint: Endpoint,
  rttMs: number,
  socket: number,
): CurrentPath {
  return socket === MAIN_SOCKET
    ? { via: "direct", endpoint, rttMs }
    : { via: "direct", endpoint, rttMs, socket };
}
