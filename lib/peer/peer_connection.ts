/**
 * One end-to-end connection with another peer, sans-I/O: the Noise session
 * (IK when the peer's key is pinned, XX on first contact), its rekeys, the
 * choice between relay and direct path, and the streams it carries.
 *
 * Output datagrams are either `{ via: "relay" }` (the caller wraps them in a
 * `FORWARD` on the circuit) or `{ via: "direct", to }`.
 *
 * @module
 */

import type { KeyPair } from "../crypto/noise/mod.ts";
import { KeyRing } from "../crypto/transport/mod.ts";
import {
  type EstablishedSession,
  HandshakeInitiator,
  InitReplayGuard,
  type PendingResponder,
  respondToInit,
  sealMessage,
  sealTransport,
} from "../session/mod.ts";
import {
  decodeMessage,
  decodePacket,
  decodeTransport,
  type Endpoint,
  type HandshakeInitPacket,
  type Message,
  MessageKind,
  type NatMapping,
  type Packet,
  PacketType,
  type StreamAckMessage,
  type StreamDataMessage,
  Suite,
} from "../wire/mod.ts";
import type { BirthdayBudget } from "./birthday.ts";
import {
  type CurrentPath,
  MAIN_SOCKET,
  PathManager,
  type ProbeToSend,
} from "./path_manager.ts";

/** Retry an unanswered handshake after this long. */
export const HANDSHAKE_RETRY_MS = 1_000;
/** The longest wait between handshake attempts. */
const HANDSHAKE_RETRY_MAX_MS = 5_000;
/** Give up a handshake after this many attempts. */
export const HANDSHAKE_ATTEMPTS = 8;
/** First wait for a sign of the responder before resending the confirmation. */
const CONFIRM_RETRY_MS = 500;
/** Confirmation resends before the handshake starts over. */
const CONFIRM_ATTEMPTS = 5;
/** XX handshakes waiting for their third message, at most. */
const MAX_PENDING_HANDSHAKES = 8;

/** What a stream multiplexer offers the connection. */
export interface StreamMux {
  receive(message: StreamDataMessage | StreamAckMessage, now: number): void;
  pollTransmit(now: number): Message | undefined;
  nextTimeout(): number | undefined;
  onTimeout(now: number): void;
  onPathChange(now: number): void;
}

/** A datagram the connection wants sent. */
export type ConnectionOutgoing =
  | { via: "relay"; data: Uint8Array }
  | {
    via: "direct";
    to: Endpoint;
    data: Uint8Array;
    /** The local socket to send from; absent = the main socket. */
    socket?: number;
    /** An IP TTL for this datagram only. */
    ttl?: number;
  };

/** Where a datagram came from. */
export type ConnectionSource =
  | { via: "relay" }
  | {
    via: "direct";
    from: Endpoint;
    /** The local socket it arrived on; absent = the main socket. */
    socket?: number;
  };

/** What the connection tells its owner. */
export type ConnectionEvent =
  | { type: "established"; remoteStatic: Uint8Array; rekey: boolean }
  | { type: "path"; path: CurrentPath; reason: string }
  | { type: "failed"; reason: string }
  | { type: "retrying"; attempt: number }
  /** Open `count` extra sockets and call `onBirthdaySockets` with them. */
  | { type: "open-sockets"; count: number }
  /** Close this connection's extra sockets, all but `keep`. */
  | { type: "close-sockets"; keep?: number };

/** Options of {@linkcode PeerConnection}. */
export interface PeerConnectionOptions {
  staticKeyPair: KeyPair;
  /** The pinned key of the peer, if any (IK); undefined means XX. */
  pinnedKey?: Uint8Array;
  /** Whether we start the handshake (the side that asked for rendezvous). */
  initiator: boolean;
  /** The streams this connection carries. */
  streams: StreamMux;
  /** Whether the sockets can lower one datagram's TTL (opening probes). */
  lowTtl?: boolean;
  /** Birthday probing budget; absent when no extra sockets can be opened. */
  birthday?: BirthdayBudget;
  now?: () => number;
  wallClock?: () => number;
  randomBytes?: (bytes: Uint8Array) => Uint8Array;
}

/** One end-to-end connection. */
export class PeerConnection {
  readonly paths: PathManager;
  readonly #options: PeerConnectionOptions;
  readonly #now: () => number;
  readonly #randomBytes: (bytes: Uint8Array) => Uint8Array;
  readonly #ring: KeyRing;
  readonly #guard = new InitReplayGuard({ capacity: 4 });
  readonly #outbox: ConnectionOutgoing[] = [];
  readonly #events: ConnectionEvent[] = [];
  readonly #pending = new Map<number, PendingResponder>();
  #handshake: HandshakeInitiator | undefined;
  #handshakeAttempts = 0;
  #handshakeRetryAt: number | undefined;
  #remoteStatic: Uint8Array | undefined;
  /**
   * Until the responder shows it has our new session (any packet from it
   * under that session), resend what completes the handshake: XX's third
   * message, and a keepalive that confirms the session (WireGuard's rule).
   */
  #confirm:
    | {
      localIndex: number;
      finalPacket?: Uint8Array;
      source: ConnectionSource;
      attempts: number;
      at: number;
    }
    | undefined;
  #relayAvailable = true;
  #closed = false;

  constructor(options: PeerConnectionOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#randomBytes = options.randomBytes ??
      ((bytes) => crypto.getRandomValues(bytes));
    this.#ring = new KeyRing({ now: this.#now });
    this.#remoteStatic = options.pinnedKey;
    this.paths = new PathManager({
      randomId: () =>
        new DataView(this.#randomBytes(new Uint8Array(8)).buffer)
          .getBigUint64(0),
      lowTtl: options.lowTtl,
      birthday: options.birthday,
    });
  }

  /** The peer's authenticated static key, once a handshake completed. */
  get remoteStatic(): Uint8Array | undefined {
    return this.#ring.current ? this.#remoteStatic : undefined;
  }

  /** Whether a session can carry data now. */
  get established(): boolean {
    return this.#ring.sendingSession(this.#now()) !== undefined;
  }

  /** Starts the handshake if we are the initiator. */
  start(now: number = this.#now()): void {
    if (this.#options.initiator) this.#beginHandshake(now);
  }

  /**
   * The relay introduced us again: the peer may have restarted and lost its
   * session, so the initiator starts a fresh handshake rather than wait for
   * its next rekey (up to two minutes).
   */
  onRepeatedRendezvous(now: number = this.#now()): void {
    if (!this.#options.initiator || this.#handshake || this.#closed) return;
    this.#handshakeAttempts = 0;
    this.#beginHandshake(now);
  }

  /** Our NAT's mapping behaviour, learned by STUN; told to the peer. */
  setLocalMapping(mapping: NatMapping, now: number = this.#now()): void {
    this.paths.setLocalMapping(mapping);
    this.#drainPaths(now);
  }

  /** The extra sockets asked for with `open-sockets` are open: their ids. */
  onBirthdaySockets(sockets: number[], now: number = this.#now()): void {
    this.paths.onBirthdaySockets(sockets, now);
    this.#drainPaths(now);
  }

  /** Whether the relay circuit can carry packets. */
  setRelayAvailable(available: boolean): void {
    this.#relayAvailable = available;
  }

  /**
   * A datagram for this connection: `via` says whether it came inside a
   * `FORWARD` from the relay or directly from `from`. Never throws on its
   * bytes; returns false when it was not ours or not valid.
   */
  receive(
    data: Uint8Array,
    source: ConnectionSource,
    now: number = this.#now(),
  ): boolean {
    if (this.#closed) return false;
    const decoded = decodePacket(data);
    if (!decoded.ok) return false;
    const packet = decoded.value;
    switch (packet.type) {
      case PacketType.HANDSHAKE_INIT:
        return this.#onInit(packet, source);
      case PacketType.HANDSHAKE_REPLY:
        return this.#onReply(packet, source, now);
      case PacketType.TRANSPORT:
        return this.#onTransport(data, source, now);
      default:
        return false;
    }
  }

  /** The next datagram to send. */
  pollTransmit(now: number = this.#now()): ConnectionOutgoing | undefined {
    if (this.#outbox.length === 0) this.#pullStreams(now);
    return this.#outbox.shift();
  }

  /** The next event. */
  pollEvent(): ConnectionEvent | undefined {
    return this.#events.shift();
  }

  /** When {@linkcode onTimeout} should run next. */
  nextTimeout(): number | undefined {
    // Probes need a session to be sealed in; until there is one (a
    // responder waits for the initiator's confirmation), the path timers
    // wait too, or a due probe would wake us again and again.
    const canSend = this.#ring.sendingSession(this.#now()) !== undefined;
    const times = [
      this.#handshakeRetryAt,
      this.#confirm?.at,
      canSend ? this.paths.nextTimeout() : undefined,
      this.#options.streams.nextTimeout(),
    ].filter((t): t is number => t !== undefined);
    return times.length ? Math.min(...times) : undefined;
  }

  /** Runs due timers: handshake retries, probes, path liveness, rekeys. */
  onTimeout(now: number = this.#now()): void {
    if (this.#closed) return;
    if (this.#handshakeRetryAt !== undefined && now >= this.#handshakeRetryAt) {
      this.#beginHandshake(now);
    }
    if (this.#confirm && now >= this.#confirm.at) this.#resendConfirmation(now);
    const session = this.#ring.sendingSession(now);
    if (session) {
      this.#drainPaths(now);
      if (
        session.isInitiator && session.needsRekey(now) && !this.#handshake
      ) {
        this.#handshakeAttempts = 0;
        this.#beginHandshake(now);
      }
    }
    this.#ring.expire(now);
    this.#options.streams.onTimeout(now);
  }

  /** Forgets all keys. */
  close(): void {
    this.#closed = true;
    this.#ring.destroy();
    this.#handshake?.destroy();
    for (const pending of this.#pending.values()) pending.destroy();
  }

  /** Sends due probes, carries out path actions and reports changes. */
  #drainPaths(now: number) {
    const session = this.#ring.sendingSession(now);
    if (!session || this.#closed) return;
    for (const probe of this.paths.poll(now)) this.#sendProbe(probe, now);
    for (const action of this.paths.takeActions()) {
      if (action.type === "nat-info") {
        this.#send(sealMessage(session, {
          kind: MessageKind.NAT_INFO,
          mapping: action.mapping,
          birthdaySockets: action.birthdaySockets,
        }, now));
      } else {
        this.#events.push(action);
      }
    }
    this.#reportPathChanges(now);
  }

  #sendProbe(probe: ProbeToSend, now: number) {
    const session = this.#ring.sendingSession(now);
    if (!session) return;
    this.#outbox.push({
      via: "direct",
      to: probe.to,
      data: sealMessage(session, {
        kind: MessageKind.PATH_PROBE,
        probeId: probe.probeId,
      }, now),
      ...socketField(probe.socket),
      ...(probe.ttl !== undefined ? { ttl: probe.ttl } : {}),
    });
  }

  // --- handshakes -------------------------------------------------------

  #beginHandshake(now: number) {
    if (this.#handshakeAttempts >= HANDSHAKE_ATTEMPTS) {
      this.#handshakeRetryAt = undefined;
      this.#events.push({
        type: "failed",
        reason: `no answer to ${HANDSHAKE_ATTEMPTS} handshake attempts`,
      });
      return;
    }
    this.#handshakeAttempts++;
    if (this.#handshakeAttempts > 1) {
      // The owner asks the relay again too: a lost RENDEZVOUS to the peer
      // would otherwise leave it deaf to our handshake.
      this.#events.push({ type: "retrying", attempt: this.#handshakeAttempts });
    }
    this.#handshake?.destroy();
    const known = this.#remoteStatic;
    this.#handshake = new HandshakeInitiator({
      suite: known ? Suite.IK : Suite.XX,
      staticKeyPair: this.#options.staticKeyPair,
      remoteStatic: known,
      senderIndex: this.#freshIndex(),
      now: this.#now,
      wallClock: this.#options.wallClock,
      randomBytes: this.#randomBytes,
    });
    this.#sendHandshake(this.#handshake.packet);
    // 1 s, 2 s, 4 s, then every 5 s: a lost packet should cost about a
    // second, a peer that is gone should not be flooded.
    this.#handshakeRetryAt = now +
      Math.min(
        HANDSHAKE_RETRY_MAX_MS,
        HANDSHAKE_RETRY_MS * 2 ** (this.#handshakeAttempts - 1),
      );
  }

  #onInit(init: HandshakeInitPacket, source: ConnectionSource): boolean {
    // Handshakes come through the relay (which proved the sender's
    // address), or directly from the validated direct endpoint.
    if (
      source.via === "direct" &&
      !this.paths.isOnPath(source.from, source.socket)
    ) {
      return false;
    }
    if (init.suite !== Suite.IK && init.suite !== Suite.XX) return false;
    const answer = respondToInit(init, {
      staticKeyPair: this.#options.staticKeyPair,
      senderIndex: this.#freshIndex(),
      now: this.#now,
      randomBytes: this.#randomBytes,
    });
    if (!answer.ok) return false;
    if (answer.established) {
      const { established } = answer;
      if (
        established.timestamp === undefined ||
        !this.#guard.accept(established.remoteStatic!, established.timestamp)
      ) {
        established.session.destroy();
        return false;
      }
      this.#install(established);
    } else if (answer.pending) {
      if (this.#pending.size >= MAX_PENDING_HANDSHAKES) {
        answer.pending.destroy();
        return false;
      }
      this.#pending.set(answer.pending.localIndex, answer.pending);
    }
    this.#sendHandshake(answer.replyPacket, source);
    return true;
  }

  #onReply(
    reply: Extract<Packet, { type: typeof PacketType.HANDSHAKE_REPLY }>,
    source: ConnectionSource,
    now: number,
  ): boolean {
    const pending = this.#pending.get(reply.receiverIndex);
    if (pending) {
      const result = pending.receiveFinal(reply, now);
      if (!result.ok) return false;
      this.#pending.delete(reply.receiverIndex);
      this.#install(result.established);
      return true;
    }
    const handshake = this.#handshake;
    if (!handshake || handshake.senderIndex !== reply.receiverIndex) {
      return false;
    }
    const result = handshake.receiveReply(reply, now);
    if (!result.ok) return false;
    this.#handshake = undefined;
    this.#handshakeRetryAt = undefined;
    if (result.finalPacket) this.#sendHandshake(result.finalPacket, source);
    this.#install(result.established);
    // Confirm the session to the responder at once (WireGuard's rule).
    const session = this.#ring.sendingSession(now);
    if (session) this.#send(sealTransport(session, new Uint8Array(0), now));
    this.#confirm = {
      localIndex: result.established.session.localIndex,
      finalPacket: result.finalPacket,
      source,
      attempts: 0,
      at: now + CONFIRM_RETRY_MS,
    };
    return true;
  }

  #resendConfirmation(now: number) {
    const confirm = this.#confirm!;
    confirm.attempts++;
    if (confirm.attempts > CONFIRM_ATTEMPTS) {
      // The responder never took the session: start a new handshake.
      this.#confirm = undefined;
      this.#handshakeAttempts = 0;
      this.#beginHandshake(now);
      return;
    }
    if (confirm.finalPacket) {
      this.#sendHandshake(confirm.finalPacket, confirm.source);
    }
    const session = this.#ring.current;
    if (session && session.localIndex === confirm.localIndex) {
      this.#send(sealTransport(session, new Uint8Array(0), now));
    }
    confirm.at = now + CONFIRM_RETRY_MS * 2 ** Math.min(confirm.attempts, 3);
  }

  #install(established: EstablishedSession) {
    const rekey = this.#ring.current !== undefined ||
      this.#ring.next !== undefined;
    this.#remoteStatic = established.remoteStatic;
    this.#ring.install(established.session);
    this.#events.push({
      type: "established",
      remoteStatic: established.remoteStatic!,
      rekey,
    });
  }

  #sendHandshake(
    data: Uint8Array,
    source?: ConnectionSource,
  ) {
    if (source?.via === "direct") {
      this.#outbox.push({
        via: "direct",
        to: source.from,
        data,
        ...socketField(source.socket),
      });
    } else if (source?.via === "relay" || this.#relayAvailable) {
      this.#outbox.push({ via: "relay", data });
    } else {
      this.#send(data);
    }
  }

  // --- data -------------------------------------------------------------

  #onTransport(
    data: Uint8Array,
    source: ConnectionSource,
    now: number,
  ): boolean {
    const view = decodeTransport(data);
    if (!view.ok) return false;
    const opened = this.#ring.open({
      receiverIndex: view.value.receiverIndex,
      counter: view.value.counter,
      ciphertext: view.value.ciphertext,
      ad: view.value.header,
    }, now);
    if (!opened.ok) return false;
    if (this.#confirm?.localIndex === opened.session.localIndex) {
      this.#confirm = undefined;
    }
    if (opened.confirmed) {
      // The initiator's first packet under our new session: answer, so it
      // knows we have the session and stops resending its confirmation.
      this.#send(sealTransport(opened.session, new Uint8Array(0), now));
    }
    if (source.via === "direct") {
      this.paths.onDirectReceive(source.from, now, source.socket);
    }
    if (opened.plaintext.length === 0) return true;
    const message = decodeMessage(opened.plaintext);
    if (!message.ok) return true;
    const m = message.value;
    switch (m.kind) {
      case MessageKind.PATH_PROBE:
        // Answer on the path it came by: only a direct probe proves a
        // direct round trip.
        if (source.via === "direct") {
          this.#outbox.push({
            via: "direct",
            to: source.from,
            data: sealMessage(opened.session, {
              kind: MessageKind.PATH_PROBE_ACK,
              probeId: m.probeId,
              observed: source.from,
            }, now),
            ...socketField(source.socket),
          });
          // The peer's probe got through our NAT, so our mapping toward it
          // is open now: probe back at once instead of waiting for the next
          // punch interval.
          if (this.paths.path.via === "relay") {
            this.#sendProbe(
              this.paths.probeNow(source.from, now, source.socket),
              now,
            );
          }
        }
        break;
      case MessageKind.PATH_PROBE_ACK:
        if (source.via === "direct") {
          this.paths.onProbeAck(m.probeId, source.from, now, source.socket);
          this.#drainPaths(now);
        }
        break;
      case MessageKind.NAT_INFO:
        this.paths.onPeerNatInfo(m.mapping, m.birthdaySockets, now);
        this.#drainPaths(now);
        break;
      case MessageKind.STREAM_DATA:
      case MessageKind.STREAM_ACK:
        this.#options.streams.receive(m, now);
        break;
    }
    return true;
  }

  #pullStreams(now: number) {
    const session = this.#ring.sendingSession(now);
    if (!session) return;
    for (let i = 0; i < 64; i++) {
      const message = this.#options.streams.pollTransmit(now);
      if (!message) return;
      this.#send(sealMessage(session, message, now));
    }
  }

  /** Sends on the current path: direct when proven, else the relay. */
  #send(data: Uint8Array) {
    const path = this.paths.path;
    if (path.via === "direct") {
      this.#outbox.push({
        via: "direct",
        to: path.endpoint,
        data,
        ...socketField(path.socket),
      });
    } else {
      this.#outbox.push({ via: "relay", data });
    }
  }

  #reportPathChanges(now: number) {
    const changes = this.paths.takeChanges();
    if (changes.length > 0) this.#options.streams.onPathChange(now);
    for (const change of changes) {
      this.#events.push({
        type: "path",
        path: change.path,
        reason: change.reason,
      });
    }
  }

  #freshIndex(): number {
    return new DataView(this.#randomBytes(new Uint8Array(4)).buffer)
      .getUint32(0);
  }
}

/** `{ socket }` for an extra socket, nothing for the main one. */
function socketField(socket: number | undefined): { socket?: number } {
  return socket === undefined || socket === MAIN_SOCKET ? {} : { socket };
}
