/**
 * The relay as a sans-I/O state machine: datagrams and time in, datagrams,
 * events and a deadline out. The driver (`relay_driver.ts`) owns the socket
 * and the timer.
 *
 * What it does (docs/PROTOCOL.md §1, §4):
 * - answers `PING` with `PONG`;
 * - requires a cookie before any handshake work, then runs Noise IK or XX as
 *   responder and keeps one {@linkcode RelayPeer} per static key, following
 *   it when its address changes;
 * - registers names (reservations), answers `CONNECT` with a `RENDEZVOUS` to
 *   both ends and opens a circuit, and forwards `FORWARD` messages between
 *   circuit ends, re-sealing them in each end's own session;
 * - enforces every limit of {@linkcode RelayLimits} and forgets peers that
 *   miss three keepalives.
 *
 * @module
 */

import type { KeyPair } from "../crypto/noise/mod.ts";
import {
  CookieChecker,
  encodeCookieReply,
  type EstablishedSession,
  InitReplayGuard,
  type PendingResponder,
  respondToInit,
  sealMessage,
  sealTransport,
} from "../session/mod.ts";
import {
  type CircuitClosedMessage,
  type ConnectMessage,
  decodeMessage,
  decodePacket,
  decodeTransport,
  encodePacket,
  type Endpoint,
  type ForwardMessage,
  type HandshakeInitPacket,
  type HandshakeReplyPacket,
  isStun,
  MAX_CANDIDATES,
  type Message,
  MessageKind,
  PacketType,
  ReasonCode,
  type RegisterMessage,
  Suite,
} from "../wire/mod.ts";
import { type Circuit, CircuitTable, otherEnd } from "./circuit_table.ts";
import {
  BURST_SECONDS,
  KEEPALIVE_INTERVAL_MS,
  PENDING_HANDSHAKE_TIMEOUT_MS,
  type RelayLimits,
  RENDEZVOUS_START_DELAY_MS,
  RESERVATION_LIFETIME_MS,
} from "./limits.ts";
import { PeerTable, type RelayPeer } from "./peer_table.ts";
import { RateLimiter } from "./rate_limiter.ts";
import { answerStun, type StunServerAddresses } from "./stun_responder.ts";
import {
  type DropReason,
  newCounters,
  type RelayCounters,
  type RelaySnapshot,
} from "./stats.ts";

/** A datagram to send. */
export interface Outgoing {
  data: Uint8Array;
  to: Endpoint;
  /** Send from the alternate (STUN) port rather than the main one. */
  fromAlternate?: boolean;
}

/**
 * Something worth one log line. Events carry no addresses; `peer` is a
 * fingerprint-like id the driver shows only when asked to be verbose.
 */
export type RelayEvent =
  | {
    type: "reservation-accepted" | "reservation-renewed";
    peer: string;
    name: string;
  }
  | { type: "reservation-timeout"; peer: string; names: string[] }
  | { type: "circuit-accepted"; circuit: string; a: string; b: string }
  | { type: "circuit-closed"; circuit: string; reason: string; bytes: number }
  | {
    type: "refused";
    request: string;
    reason: string;
    limit: number;
    peer?: string;
  }
  | { type: "peer-moved"; peer: string };

/** Options of {@linkcode RelayCore}. */
export interface RelayCoreOptions {
  /** The relay's static X25519 key pair (its identity). */
  staticKeyPair: KeyPair;
  /** Resource limits. */
  limits: RelayLimits;
  /** The clock, in ms. Defaults to `performance.now()`. */
  now?: () => number;
  /** Randomness. Defaults to `crypto.getRandomValues`. */
  randomBytes?: (bytes: Uint8Array) => Uint8Array;
  /** The relay's public addresses, for STUN's RFC 5780 attributes. */
  stunAddresses?: StunServerAddresses;
  /** Whether the driver listens on an alternate port for STUN. */
  hasAlternatePort?: boolean;
  /** Told the size of every datagram that carried relayed data (cover sizes). */
  onRelayedSize?: (size: number) => void;
}

/** How often the core sweeps for stale peers and old circuits. */
const SWEEP_INTERVAL_MS = 1000;
/** Bound on XX handshakes waiting for their third message. */
const MAX_PENDING_HANDSHAKES = 4096;

/** The relay's protocol logic. */
export class RelayCore {
  readonly counters: RelayCounters = newCounters();
  readonly #keyPair: KeyPair;
  readonly #limits: RelayLimits;
  readonly #now: () => number;
  readonly #randomBytes: (bytes: Uint8Array) => Uint8Array;
  readonly #startedAt: number;
  readonly #cookies: CookieChecker;
  readonly #initGuard = new InitReplayGuard();
  readonly #packetLimiter: RateLimiter;
  readonly #handshakeLimiter: RateLimiter;
  readonly #peers: PeerTable;
  readonly #circuits: CircuitTable;
  readonly #pending = new Map<
    number,
    { responder: PendingResponder; createdAt: number }
  >();
  readonly #outbox: Outgoing[] = [];
  readonly #stunAddresses: StunServerAddresses;
  readonly #hasAlternatePort: boolean;
  readonly #onRelayedSize: ((size: number) => void) | undefined;
  readonly #events: RelayEvent[] = [];
  #nextSweep: number;
  #closing = false;

  constructor(options: RelayCoreOptions) {
    this.#keyPair = options.staticKeyPair;
    this.#limits = options.limits;
    this.#now = options.now ?? (() => performance.now());
    this.#randomBytes = options.randomBytes ??
      ((bytes) => crypto.getRandomValues(bytes));
    this.#startedAt = this.#now();
    this.#stunAddresses = options.stunAddresses ?? {};
    this.#hasAlternatePort = options.hasAlternatePort ?? false;
    this.#onRelayedSize = options.onRelayedSize;
    this.#nextSweep = this.#startedAt + SWEEP_INTERVAL_MS;
    this.#cookies = new CookieChecker({
      now: this.#now,
      randomBytes: this.#randomBytes,
    });
    this.#packetLimiter = new RateLimiter({
      rate: this.#limits.packetRate,
      burst: this.#limits.packetRate * BURST_SECONDS,
    });
    this.#handshakeLimiter = new RateLimiter({
      rate: this.#limits.registrationRate,
      burst: this.#limits.registrationRate * BURST_SECONDS,
    });
    this.#peers = new PeerTable(this.#limits, { now: this.#now });
    this.#circuits = new CircuitTable(this.#limits, {
      randomId: () =>
        new DataView(this.#randomBytes(new Uint8Array(8)).buffer)
          .getBigUint64(0),
    });
  }

  /** Handles one datagram received from `from`. Never throws on its bytes. */
  receive(
    data: Uint8Array,
    from: Endpoint,
    now: number = this.#now(),
    options: { onAlternate?: boolean } = {},
  ): void {
    this.counters.packetsIn++;
    this.counters.bytesIn += data.length;
    if (!this.#packetLimiter.take(from.address, now)) {
      return this.#drop("rate-limited");
    }
    if (isStun(data)) {
      const reply = answerStun(data, from, {
        ...this.#stunAddresses,
        onAlternate: options.onAlternate ?? false,
        hasAlternate: this.#hasAlternatePort,
      });
      if (!reply) return this.#drop("malformed");
      this.counters.stunRequests++;
      this.counters.packetsOut++;
      this.counters.bytesOut += reply.data.length;
      this.#outbox.push({
        data: reply.data,
        to: from,
        fromAlternate: reply.fromAlternate,
      });
      return;
    }
    // Only STUN is served on the alternate port.
    if (options.onAlternate) return this.#drop("unsupported");
    const decoded = decodePacket(data);
    if (!decoded.ok) return this.#drop("malformed");
    const packet = decoded.value;
    switch (packet.type) {
      case PacketType.PING:
        return this.#send(
          encodePacket({
            type: PacketType.PONG,
            nonce: packet.nonce,
            observed: from,
          }),
          from,
        );
      case PacketType.HANDSHAKE_INIT:
        return this.#onInit(packet, data, from, now);
      case PacketType.HANDSHAKE_REPLY:
        return this.#onFinal(packet, from, now);
      case PacketType.TRANSPORT:
        return this.#onTransport(data, from, now);
      default:
        return this.#drop("unexpected-message");
    }
  }

  /** The next datagram to send, if any. */
  pollTransmit(): Outgoing | undefined {
    return this.#outbox.shift();
  }

  /** The next event worth logging, if any. */
  pollEvent(): RelayEvent | undefined {
    return this.#events.shift();
  }

  /** When {@linkcode onTimeout} should next run (ms on the `now` clock). */
  nextTimeout(): number {
    return this.#nextSweep;
  }

  /** Expires stale peers, old circuits and abandoned handshakes. */
  onTimeout(now: number = this.#now()): void {
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + SWEEP_INTERVAL_MS;
    for (const peer of [...this.#peers.values()]) {
      if (now - peer.lastSeen >= RESERVATION_LIFETIME_MS) {
        this.#forget(peer, "timeout", now);
      } else {
        peer.ring.expire(now);
      }
    }
    for (const circuit of [...this.#circuits.values()]) {
      if (now - circuit.createdAt >= this.#limits.maxCircuitDurationMs) {
        this.#closeCircuit(circuit, ReasonCode.CIRCUIT_EXPIRED, now);
      }
    }
    for (const [index, pending] of this.#pending) {
      if (now - pending.createdAt >= PENDING_HANDSHAKE_TIMEOUT_MS) {
        pending.responder.destroy();
        this.#pending.delete(index);
      }
    }
  }

  /**
   * Tells every peer the relay is going away (`CIRCUIT_CLOSED` with
   * `SHUTTING_DOWN` for each circuit) and wipes all sessions.
   */
  shutdown(now: number = this.#now()): void {
    this.#closing = true;
    for (const circuit of [...this.#circuits.values()]) {
      this.#closeCircuit(circuit, ReasonCode.SHUTTING_DOWN, now);
    }
    for (const peer of [...this.#peers.values()]) this.#peers.remove(peer);
    for (const pending of this.#pending.values()) pending.responder.destroy();
    this.#pending.clear();
  }

  /** Aggregate figures for the statistics line, metrics and the directory. */
  snapshot(now: number = this.#now()): RelaySnapshot {
    return {
      uptimeMs: now - this.#startedAt,
      peers: this.#peers.size,
      reservations: this.#peers.reservations,
      circuits: this.#circuits.size,
      counters: this.counters,
    };
  }

  // --- handshakes -------------------------------------------------------

  #onInit(
    init: HandshakeInitPacket,
    bytes: Uint8Array,
    from: Endpoint,
    now: number,
  ): void {
    if (this.#closing) return this.#drop("unsupported");
    if (init.suite !== Suite.IK && init.suite !== Suite.XX) {
      return this.#drop("unsupported");
    }
    if (!this.#cookies.verify(init.cookie, from, now)) {
      // Stateless, and 38 bytes against at least 256: no amplification.
      this.counters.cookieReplies++;
      return this.#send(
        encodeCookieReply(bytes, {
          senderIndex: init.senderIndex,
          cookie: this.#cookies.issue(from, now),
        }),
        from,
      );
    }
    if (!this.#handshakeLimiter.take(from.address, now)) {
      return this.#drop("rate-limited");
    }
    const answer = respondToInit(init, {
      staticKeyPair: this.#keyPair,
      senderIndex: this.#freshIndex(),
      randomBytes: this.#randomBytes,
      now: this.#now,
    });
    if (!answer.ok) return this.#drop("handshake-failed");
    if (answer.established) {
      const { established } = answer;
      if (
        established.timestamp === undefined ||
        !this.#initGuard.accept(
          established.remoteStatic!,
          established.timestamp,
        )
      ) {
        established.session.destroy();
        return this.#drop("replayed-init");
      }
      this.#install(established, from, now);
    } else if (answer.pending) {
      if (this.#pending.size >= MAX_PENDING_HANDSHAKES) {
        answer.pending.destroy();
        return this.#drop("rate-limited");
      }
      this.#pending.set(answer.pending.localIndex, {
        responder: answer.pending,
        createdAt: now,
      });
    }
    this.#send(answer.replyPacket, from);
  }

  #onFinal(reply: HandshakeReplyPacket, from: Endpoint, now: number): void {
    const pending = this.#pending.get(reply.receiverIndex);
    if (!pending) return this.#drop("unknown-index");
    const result = pending.responder.receiveFinal(reply, now);
    if (!result.ok) {
      if (result.reason === "decrypt") {
        this.#pending.delete(reply.receiverIndex);
      }
      return this.#drop("handshake-failed");
    }
    this.#pending.delete(reply.receiverIndex);
    this.#install(result.established, from, now);
  }

  #install(established: EstablishedSession, from: Endpoint, now: number) {
    this.counters.handshakes++;
    const peer = this.#peers.upsert(established.remoteStatic!, from, now);
    peer.ring.install(established.session);
    this.#peers.bindIndex(established.session.localIndex, peer);
    // The session is `next` until the peer's first packet confirms it;
    // the address and liveness move only with authenticated data.
  }

  #freshIndex(): number {
    for (;;) {
      const index = new DataView(this.#randomBytes(new Uint8Array(4)).buffer)
        .getUint32(0);
      if (!this.#peers.hasIndex(index) && !this.#pending.has(index)) {
        return index;
      }
    }
  }

  // --- data -------------------------------------------------------------

  #onTransport(bytes: Uint8Array, from: Endpoint, now: number): void {
    const view = decodeTransport(bytes);
    if (!view.ok) return this.#drop("malformed");
    const peer = this.#peers.byIndex(view.value.receiverIndex);
    if (!peer) return this.#drop("unknown-index");
    const opened = peer.ring.open({
      receiverIndex: view.value.receiverIndex,
      counter: view.value.counter,
      ciphertext: view.value.ciphertext,
      ad: view.value.header,
    }, now);
    if (!opened.ok) {
      return this.#drop(
        opened.reason === "too-old"
          ? "replay"
          : opened.reason === "unknown-index" ||
              opened.reason === "counter-limit"
          ? "expired"
          : opened.reason,
      );
    }
    // Authenticated: this is the peer, wherever it now is (roaming).
    if (
      peer.address.address !== from.address || peer.address.port !== from.port
    ) {
      this.#events.push({ type: "peer-moved", peer: shortId(peer) });
      peer.address = from;
    }
    peer.lastSeen = now;
    if (opened.plaintext.length === 0) return; // keepalive
    const message = decodeMessage(opened.plaintext);
    if (!message.ok) return this.#drop("malformed");
    this.#onMessage(peer, message.value, now);
  }

  #onMessage(peer: RelayPeer, message: Message, now: number): void {
    switch (message.kind) {
      case MessageKind.REGISTER:
        return this.#onRegister(peer, message, now);
      case MessageKind.KEEPALIVE:
        peer.candidates = message.candidates.slice(0, MAX_CANDIDATES);
        // Answer, so the peer learns the relay is alive and its NAT keeps
        // the mapping open in both directions.
        return this.#sendTo(peer, new Uint8Array(0), now);
      case MessageKind.CONNECT:
        return this.#onConnect(peer, message, now);
      case MessageKind.FORWARD:
        return this.#onForward(peer, message, now);
      case MessageKind.CIRCUIT_CLOSED:
        return this.#onCircuitClosed(peer, message, now);
      case MessageKind.UNREGISTER:
        return this.#forget(peer, "unregister", now);
      case MessageKind.PADDING:
        // Cover traffic from another relay: authenticated, then dropped.
        this.counters.coverReceived++;
        return;
      default:
        return this.#drop("unexpected-message");
    }
  }

  #onRegister(peer: RelayPeer, message: RegisterMessage, now: number) {
    if (this.#closing) {
      return this.#refuse(peer, message.kind, ReasonCode.SHUTTING_DOWN, 0, now);
    }
    const outcome = this.#peers.register(peer, message.name);
    if (typeof outcome === "object") {
      const reason = outcome.reason === "name-taken"
        ? ReasonCode.NAME_TAKEN
        : outcome.reason === "per-peer"
        ? ReasonCode.RESERVATIONS_PER_PEER
        : ReasonCode.RESERVATIONS_FULL;
      const limit = "limit" in outcome ? outcome.limit : 0;
      return this.#refuse(peer, message.kind, reason, limit, now);
    }
    peer.candidates = message.candidates.slice(0, MAX_CANDIDATES);
    if (outcome === "new") this.counters.reservationsAccepted++;
    else this.counters.reservationsRenewed++;
    this.#events.push({
      type: outcome === "new" ? "reservation-accepted" : "reservation-renewed",
      peer: shortId(peer),
      name: message.name,
    });
    this.#sendMessage(peer, {
      kind: MessageKind.REGISTERED,
      observed: peer.address,
      keepaliveMs: KEEPALIVE_INTERVAL_MS,
      lifetimeMs: RESERVATION_LIFETIME_MS,
    }, now);
  }

  #onConnect(peer: RelayPeer, message: ConnectMessage, now: number) {
    const kind = message.kind;
    if (peer.names.size === 0) {
      return this.#refuse(
        peer,
        kind,
        ReasonCode.BAD_REQUEST,
        0,
        now,
        "register first",
      );
    }
    const target = this.#peers.byName(message.target);
    if (!target) {
      return this.#refuse(peer, kind, ReasonCode.PEER_NOT_FOUND, 0, now);
    }
    if (target === peer) {
      return this.#refuse(
        peer,
        kind,
        ReasonCode.BAD_REQUEST,
        0,
        now,
        "cannot connect to yourself",
      );
    }
    const opened = this.#circuits.open(peer, target, now);
    if (!("id" in opened)) {
      const reason = opened.reason === "full"
        ? ReasonCode.CIRCUITS_FULL
        : ReasonCode.CIRCUITS_PER_PEER;
      return this.#refuse(peer, kind, reason, opened.limit, now);
    }
    if (opened.createdAt === now && opened.bytes === 0) {
      this.counters.circuitsAccepted++;
      this.#events.push({
        type: "circuit-accepted",
        circuit: opened.id.toString(16),
        a: shortId(peer),
        b: shortId(target),
      });
    }
    this.#rendezvous(peer, target, opened, message.requestId, now);
    this.#rendezvous(target, peer, opened, 0, now);
  }

  #rendezvous(
    to: RelayPeer,
    about: RelayPeer,
    circuit: Circuit,
    requestId: number,
    now: number,
  ) {
    const candidates = [about.address, ...about.candidates].slice(0, 9);
    this.#sendMessage(to, {
      kind: MessageKind.RENDEZVOUS,
      requestId,
      circuitId: circuit.id,
      peerKey: about.key,
      peerName: [...about.names][0],
      startInMs: RENDEZVOUS_START_DELAY_MS,
      candidates,
    }, now);
  }

  #onForward(peer: RelayPeer, message: ForwardMessage, now: number) {
    const circuit = this.#circuits.get(message.circuitId);
    const other = circuit && otherEnd(circuit, peer);
    if (!circuit || !other) return this.#drop("unknown-circuit");
    if (now - circuit.createdAt >= this.#limits.maxCircuitDurationMs) {
      this.#drop("circuit-budget");
      return this.#closeCircuit(circuit, ReasonCode.CIRCUIT_EXPIRED, now);
    }
    if (circuit.bytes + message.packet.length > this.#limits.maxCircuitBytes) {
      this.#drop("circuit-budget");
      return this.#closeCircuit(circuit, ReasonCode.CIRCUIT_BYTES, now);
    }
    if (!other.ring.sendingSession(now)) return this.#drop("peer-unreachable");
    circuit.bytes += message.packet.length;
    this.counters.bytesRelayed += message.packet.length;
    this.counters.packetsRelayed++;
    this.#sendMessage(other, {
      kind: MessageKind.FORWARD,
      circuitId: circuit.id,
      packet: message.packet,
    }, now);
    const sent = this.#outbox.at(-1);
    if (sent) this.#onRelayedSize?.(sent.data.length);
  }

  #onCircuitClosed(
    peer: RelayPeer,
    message: CircuitClosedMessage,
    now: number,
  ) {
    const circuit = this.#circuits.get(message.circuitId);
    if (!circuit || !otherEnd(circuit, peer)) {
      return this.#drop("unknown-circuit");
    }
    this.#closeCircuit(circuit, ReasonCode.NORMAL, now, peer);
  }

  #closeCircuit(
    circuit: Circuit,
    reason: ReasonCode,
    now: number,
    except?: RelayPeer,
  ) {
    this.#circuits.close(circuit.id);
    this.counters.circuitsClosed++;
    this.#events.push({
      type: "circuit-closed",
      circuit: circuit.id.toString(16),
      reason: reasonName(reason),
      bytes: circuit.bytes,
    });
    for (const end of [circuit.a, circuit.b]) {
      if (end === except) continue;
      this.#sendMessage(end, {
        kind: MessageKind.CIRCUIT_CLOSED,
        circuitId: circuit.id,
        reason,
      }, now);
    }
  }

  #forget(peer: RelayPeer, why: "timeout" | "unregister", now: number) {
    for (const id of [...peer.circuits]) {
      const circuit = this.#circuits.get(id);
      if (circuit) this.#closeCircuit(circuit, ReasonCode.NORMAL, now, peer);
    }
    if (why === "timeout") {
      this.counters.reservationsTimedOut++;
      this.#events.push({
        type: "reservation-timeout",
        peer: shortId(peer),
        names: [...peer.names],
      });
    }
    this.#peers.remove(peer);
  }

  // --- output -----------------------------------------------------------

  #refuse(
    peer: RelayPeer,
    requestKind: number,
    reason: ReasonCode,
    limit: number,
    now: number,
    detail?: string,
  ) {
    this.counters.refusals++;
    this.#events.push({
      type: "refused",
      request: kindName(requestKind),
      reason: reasonName(reason),
      limit,
      peer: shortId(peer),
    });
    this.#sendMessage(peer, {
      kind: MessageKind.REFUSED,
      requestKind,
      reason,
      limit,
      text: detail ?? describeRefusal(reason, limit),
    }, now);
  }

  #sendMessage(peer: RelayPeer, message: Message, now: number) {
    const session = peer.ring.sendingSession(now);
    if (!session) return this.#drop("peer-unreachable");
    this.#send(sealMessage(session, message, now), peer.address);
  }

  #sendTo(peer: RelayPeer, plaintext: Uint8Array, now: number) {
    const session = peer.ring.sendingSession(now);
    if (!session) return this.#drop("peer-unreachable");
    this.#send(sealTransport(session, plaintext, now), peer.address);
  }

  #send(data: Uint8Array, to: Endpoint) {
    this.counters.packetsOut++;
    this.counters.bytesOut += data.length;
    this.#outbox.push({ data, to });
  }

  #drop(reason: DropReason) {
    this.counters.dropped[reason]++;
  }
}

/** A short, non-reversible id for logs: the first 8 hex digits of the key. */
function shortId(peer: RelayPeer): string {
  return peer.id.slice(0, 8);
}

const REASON_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(ReasonCode).map(([name, code]) => [code, name]),
);

/** The name of a reason code, e.g. `CIRCUITS_PER_PEER`. */
export function reasonName(reason: number): string {
  return REASON_NAMES[reason] ?? `UNKNOWN_${reason}`;
}

const KIND_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(MessageKind).map(([name, kind]) => [kind, name]),
);

function kindName(kind: number): string {
  return KIND_NAMES[kind] ?? `KIND_${kind}`;
}

/** The sentence a refused peer sees. */
export function describeRefusal(reason: number, limit: number): string {
  switch (reason) {
    case ReasonCode.RESERVATIONS_FULL:
      return `The relay holds its maximum of ${limit} reservations`;
    case ReasonCode.RESERVATIONS_PER_PEER:
      return `This key already holds its maximum of ${limit} reservations`;
    case ReasonCode.CIRCUITS_FULL:
      return `The relay carries its maximum of ${limit} circuits`;
    case ReasonCode.CIRCUITS_PER_PEER:
      return `A peer of this circuit already has its maximum of ${limit} circuits`;
    case ReasonCode.RATE_LIMITED:
      return "Too many requests from this address";
    case ReasonCode.NAME_TAKEN:
      return "Another key holds this name";
    case ReasonCode.PEER_NOT_FOUND:
      return "No peer is registered under this name";
    case ReasonCode.CIRCUIT_EXPIRED:
      return "The circuit reached its maximum duration";
    case ReasonCode.CIRCUIT_BYTES:
      return "The circuit reached its byte budget";
    case ReasonCode.SHUTTING_DOWN:
      return "The relay is shutting down";
    default:
      return "Bad request";
  }
}
