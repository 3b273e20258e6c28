/**
 * A peer's side of the relay protocol, sans-I/O: the session with one relay,
 * registration, keepalives, rendezvous requests and forwarded packets.
 *
 * The relay session is a Noise IK handshake when the relay's key is known
 * (pinned, or from the directory) and XX on first contact; the caller pins
 * the key the `registered` event reports.
 *
 * @module
 */

import type { KeyPair } from "../crypto/noise/mod.ts";
import {
  KeyRing,
  REKEY_TIMEOUT_MS,
  type TransportSession,
} from "../crypto/transport/mod.ts";
import {
  HandshakeInitiator,
  sealMessage,
  sealTransport,
} from "../session/mod.ts";
import {
  decodeMessage,
  decodePacket,
  decodeTransport,
  type Endpoint,
  type Message,
  MessageKind,
  PacketType,
  ReasonCode,
  Suite,
} from "../wire/mod.ts";

/** What the relay client tells its owner. */
export type RelayClientEvent =
  | {
    type: "registered";
    /** Our address as the relay sees it (our public address behind NAT). */
    observed: Endpoint;
    /** The relay's static key, to pin. */
    relayKey: Uint8Array;
    keepaliveMs: number;
  }
  | {
    type: "refused";
    request: number;
    reason: ReasonCode;
    limit: number;
    text: string;
  }
  | {
    type: "rendezvous";
    requestId: number;
    circuitId: bigint;
    peerKey: Uint8Array;
    peerName: string;
    startInMs: number;
    candidates: Endpoint[];
  }
  | { type: "forwarded"; circuitId: bigint; packet: Uint8Array }
  | { type: "circuit-closed"; circuitId: bigint; reason: ReasonCode }
  | { type: "unreachable"; attempts: number };

/** Options of {@linkcode RelayClient}. */
export interface RelayClientOptions {
  /** Our static key pair. */
  staticKeyPair: KeyPair;
  /** The relay's address. */
  relay: Endpoint;
  /** The relay's static key when known: IK instead of XX. */
  relayKey?: Uint8Array;
  /** The name to register under. */
  name: string;
  /** Our local candidates (LAN addresses with our port). */
  candidates?: Endpoint[];
  /** Handshake attempts before giving up (each waits REKEY_TIMEOUT). */
  maxAttempts?: number;
  /** Monotonic clock in ms. Defaults to `performance.now()`. */
  now?: () => number;
  /** Wall clock for IK timestamps. Defaults to `Date.now`. */
  wallClock?: () => number;
  /** Randomness. Defaults to `crypto.getRandomValues`. */
  randomBytes?: (bytes: Uint8Array) => Uint8Array;
}

/** A datagram to send. */
export interface ClientOutgoing {
  data: Uint8Array;
  to: Endpoint;
}

/** First wait for REGISTERED before resending REGISTER; doubles each time. */
const REGISTER_RETRY_MS = 1000;
/** REGISTER resends before the handshake starts over. */
const REGISTER_ATTEMPTS = 4;

/** Default keepalive until the relay tells us its own. */
const DEFAULT_KEEPALIVE_MS = 15_000;

/** The relay session, registration and requests of one peer. */
export class RelayClient {
  readonly relay: Endpoint;
  readonly #options: RelayClientOptions;
  readonly #now: () => number;
  readonly #randomBytes: (bytes: Uint8Array) => Uint8Array;
  readonly #ring: KeyRing;
  readonly #outbox: ClientOutgoing[] = [];
  readonly #events: RelayClientEvent[] = [];
  /** Messages waiting for the session (sent once registered or confirmed). */
  readonly #queue: Message[] = [];
  #relayKey: Uint8Array | undefined;
  #handshake: HandshakeInitiator | undefined;
  #attempts = 0;
  #retryAt: number | undefined;
  /** Until REGISTERED arrives: when to resend REGISTER (and XX message 3). */
  #registerRetryAt: number | undefined;
  #registerAttempts = 0;
  #finalPacket: Uint8Array | undefined;
  #keepaliveAt: number | undefined;
  #keepaliveMs = DEFAULT_KEEPALIVE_MS;
  #lastHeard = 0;
  #registered = false;
  #candidates: Endpoint[];
  #nextRequestId = 1;
  #stopped = false;

  constructor(options: RelayClientOptions) {
    this.#options = options;
    this.relay = options.relay;
    this.#relayKey = options.relayKey;
    this.#candidates = options.candidates ?? [];
    this.#now = options.now ?? (() => performance.now());
    this.#randomBytes = options.randomBytes ??
      ((bytes) => crypto.getRandomValues(bytes));
    this.#ring = new KeyRing({ now: this.#now });
  }

  /** Whether the relay accepted our registration. */
  get registered(): boolean {
    return this.#registered;
  }

  /** The relay's key, once known. */
  get relayKey(): Uint8Array | undefined {
    return this.#relayKey;
  }

  /** Starts the handshake with the relay. */
  start(now: number = this.#now()): void {
    this.#attempts = 0;
    this.#beginHandshake(now);
  }

  /** Asks the relay to connect us with the peer registered as `target`. */
  connect(target: string): number {
    const requestId = this.#nextRequestId++;
    this.#sendOrQueue({ kind: MessageKind.CONNECT, requestId, target });
    return requestId;
  }

  /** Sends an end-to-end packet to the other end of `circuitId`. */
  forward(circuitId: bigint, packet: Uint8Array): boolean {
    const session = this.#ring.sendingSession(this.#now());
    if (!session || !this.#registered) return false;
    this.#push(
      sealMessage(session, { kind: MessageKind.FORWARD, circuitId, packet }),
    );
    return true;
  }

  /** Tells the relay we closed `circuitId`. */
  closeCircuit(circuitId: bigint): void {
    this.#sendOrQueue({
      kind: MessageKind.CIRCUIT_CLOSED,
      circuitId,
      reason: ReasonCode.NORMAL,
    });
  }

  /** Updates the local candidates reported with the next keepalive. */
  setCandidates(candidates: Endpoint[]): void {
    this.#candidates = candidates;
  }

  /** Unregisters (best effort) and forgets the session. */
  stop(now: number = this.#now()): void {
    const session = this.#ring.sendingSession(now);
    if (session && this.#registered) {
      this.#push(sealMessage(session, { kind: MessageKind.UNREGISTER }, now));
    }
    this.#stopped = true;
    this.#ring.destroy();
    this.#handshake?.destroy();
  }

  /** Whether `data` from `from` is ours to handle (it came from the relay). */
  isFromRelay(from: Endpoint): boolean {
    return from.address === this.relay.address && from.port === this.relay.port;
  }

  /** Handles one datagram from the relay. Never throws on its bytes. */
  receive(data: Uint8Array, now: number = this.#now()): boolean {
    if (this.#stopped) return false;
    const decoded = decodePacket(data);
    if (!decoded.ok) return false;
    const packet = decoded.value;
    if (packet.type === PacketType.COOKIE_REPLY) {
      if (this.#handshake?.acceptCookie(packet)) {
        this.#push(this.#handshake.packet);
        this.#retryAt = now + REKEY_TIMEOUT_MS;
      }
      return true;
    }
    if (packet.type === PacketType.HANDSHAKE_REPLY) {
      const handshake = this.#handshake;
      if (!handshake) return false;
      const result = handshake.receiveReply(packet, now);
      if (!result.ok) return false;
      this.#handshake = undefined;
      this.#retryAt = undefined;
      this.#finalPacket = result.finalPacket;
      if (result.finalPacket) this.#push(result.finalPacket);
      this.#relayKey = result.established.remoteStatic;
      this.#ring.install(result.established.session);
      this.#lastHeard = now;
      // Register at once: it also confirms the session to the relay. Until
      // REGISTERED comes back, resend it (and XX's third message, whose
      // loss would leave the relay without the session).
      this.#sendRegister(result.established.session, now);
      this.#registerAttempts = 0;
      this.#registerRetryAt = now + REGISTER_RETRY_MS;
      return true;
    }
    if (packet.type !== PacketType.TRANSPORT) return false;
    const view = decodeTransport(data);
    if (!view.ok) return false;
    const opened = this.#ring.open({
      receiverIndex: view.value.receiverIndex,
      counter: view.value.counter,
      ciphertext: view.value.ciphertext,
      ad: view.value.header,
    }, now);
    if (!opened.ok) return false;
    this.#lastHeard = now;
    if (opened.plaintext.length === 0) return true;
    const message = decodeMessage(opened.plaintext);
    if (message.ok) this.#onMessage(message.value, now);
    return true;
  }

  /** The next datagram to send, if any. */
  pollTransmit(): ClientOutgoing | undefined {
    return this.#outbox.shift();
  }

  /** The next event, if any. */
  pollEvent(): RelayClientEvent | undefined {
    return this.#events.shift();
  }

  /** When {@linkcode onTimeout} should run next. */
  nextTimeout(): number | undefined {
    if (this.#stopped) return undefined;
    const times = [this.#retryAt, this.#keepaliveAt, this.#registerRetryAt]
      .filter((t) => t !== undefined) as number[];
    return times.length ? Math.min(...times) : undefined;
  }

  /** Retries handshakes, sends keepalives, rekeys, detects a dead relay. */
  onTimeout(now: number = this.#now()): void {
    if (this.#stopped) return;
    if (this.#retryAt !== undefined && now >= this.#retryAt) {
      this.#beginHandshake(now);
    }
    if (this.#registerRetryAt !== undefined && now >= this.#registerRetryAt) {
      this.#retryRegister(now);
    }
    if (this.#keepaliveAt !== undefined && now >= this.#keepaliveAt) {
      this.#keepaliveAt = now + this.#keepaliveMs;
      if (now - this.#lastHeard >= 3 * this.#keepaliveMs) {
        // The relay stopped answering (restarted, or our NAT mapping
        // changed): start over; our registration is renewed on success.
        this.#registered = false;
        this.#keepaliveAt = undefined;
        this.#attempts = 0;
        this.#beginHandshake(now);
        return;
      }
      const session = this.#ring.sendingSession(now);
      if (session) {
        this.#push(sealMessage(session, {
          kind: MessageKind.KEEPALIVE,
          candidates: this.#candidates,
        }, now));
        if (session.needsRekey(now) && !this.#handshake) {
          this.#attempts = 0;
          this.#beginHandshake(now);
        }
      } else if (!this.#handshake) {
        this.#attempts = 0;
        this.#beginHandshake(now);
      }
    }
  }

  #retryRegister(now: number) {
    this.#registerAttempts++;
    const session = this.#ring.sendingSession(now);
    if (!session || this.#registerAttempts > REGISTER_ATTEMPTS) {
      // The session never took at the relay: start over.
      this.#registerRetryAt = undefined;
      this.#attempts = 0;
      this.#beginHandshake(now);
      return;
    }
    if (this.#finalPacket) this.#push(this.#finalPacket);
    this.#sendRegister(session, now);
    this.#registerRetryAt = now +
      REGISTER_RETRY_MS * 2 ** Math.min(this.#registerAttempts, 3);
  }

  #beginHandshake(now: number) {
    if (this.#attempts >= (this.#options.maxAttempts ?? 5)) {
      this.#retryAt = undefined;
      this.#handshake?.destroy();
      this.#handshake = undefined;
      this.#events.push({ type: "unreachable", attempts: this.#attempts });
      return;
    }
    this.#attempts++;
    this.#handshake?.destroy();
    this.#handshake = new HandshakeInitiator({
      suite: this.#relayKey ? Suite.IK : Suite.XX,
      staticKeyPair: this.#options.staticKeyPair,
      remoteStatic: this.#relayKey,
      senderIndex: this.#freshIndex(),
      now: this.#now,
      wallClock: this.#options.wallClock,
      randomBytes: this.#randomBytes,
    });
    this.#push(this.#handshake.packet);
    // 1 s, 2 s, 4 s, then REKEY_TIMEOUT: a lost first packet should not
    // cost the user five seconds.
    this.#retryAt = now +
      Math.min(REKEY_TIMEOUT_MS, 1000 * 2 ** (this.#attempts - 1));
  }

  #onMessage(message: Message, now: number) {
    switch (message.kind) {
      case MessageKind.REGISTERED: {
        this.#registerRetryAt = undefined;
        this.#finalPacket = undefined;
        const first = !this.#registered;
        this.#registered = true;
        this.#keepaliveMs = message.keepaliveMs || DEFAULT_KEEPALIVE_MS;
        this.#keepaliveAt = now + this.#keepaliveMs;
        if (first) {
          this.#events.push({
            type: "registered",
            observed: message.observed,
            relayKey: this.#relayKey!,
            keepaliveMs: this.#keepaliveMs,
          });
        }
        this.#flushQueue(now);
        return;
      }
      case MessageKind.REFUSED:
        if (message.requestKind === MessageKind.REGISTER) {
          this.#registerRetryAt = undefined;
        }
        this.#events.push({
          type: "refused",
          request: message.requestKind,
          reason: message.reason,
          limit: message.limit,
          text: message.text,
        });
        return;
      case MessageKind.RENDEZVOUS:
        this.#events.push({
          type: "rendezvous",
          requestId: message.requestId,
          circuitId: message.circuitId,
          peerKey: message.peerKey.slice(),
          peerName: message.peerName,
          startInMs: message.startInMs,
          candidates: message.candidates,
        });
        return;
      case MessageKind.FORWARD:
        this.#events.push({
          type: "forwarded",
          circuitId: message.circuitId,
          packet: message.packet.slice(),
        });
        return;
      case MessageKind.CIRCUIT_CLOSED:
        this.#events.push({
          type: "circuit-closed",
          circuitId: message.circuitId,
          reason: message.reason,
        });
        return;
    }
  }

  #sendRegister(session: TransportSession, now: number) {
    this.#push(sealMessage(session, {
      kind: MessageKind.REGISTER,
      name: this.#options.name,
      candidates: this.#candidates,
    }, now));
  }

  #sendOrQueue(message: Message) {
    const now = this.#now();
    const session = this.#ring.sendingSession(now);
    if (session && this.#registered) {
      this.#push(sealMessage(session, message, now));
    } else {
      this.#queue.push(message);
    }
  }

  #flushQueue(now: number) {
    const session = this.#ring.sendingSession(now);
    if (!session) return;
    for (const message of this.#queue.splice(0)) {
      this.#push(sealMessage(session, message, now));
    }
  }

  #push(data: Uint8Array) {
    this.#outbox.push({ data, to: this.relay });
  }

  #freshIndex(): number {
    return new DataView(this.#randomBytes(new Uint8Array(4)).buffer)
      .getUint32(0);
  }

  /** Sends a `KEEPALIVE` with our candidates now, not at the next tick. */
  sendKeepaliveNow(now: number = this.#now()): void {
    const session = this.#ring.sendingSession(now);
    if (!session || !this.#registered) return;
    this.#push(sealMessage(session, {
      kind: MessageKind.KEEPALIVE,
      candidates: this.#candidates,
    }, now));
  }

  /** Sends an empty keepalive on the relay session (tests, liveness). */
  sendKeepalive(now: number = this.#now()): void {
    const session = this.#ring.sendingSession(now);
    if (session) this.#push(sealTransport(session, new Uint8Array(0), now));
  }
}
