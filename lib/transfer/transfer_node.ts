/**
 * The network side of `send` and `receive`: a {@linkcode PeerNode} with
 * trust on first use of peer keys (`known_peers`, as chat), one
 * {@linkcode StreamSet} per connection, and the choice of whom to talk to:
 * one named peer (the sender connects to it, again if the relay circuit
 * closes), or anyone who connects (the receiver).
 *
 * @module
 */

import type { TraversalOptions } from "../peer/peer_node.ts";
import type { KeyPair } from "../crypto/noise/mod.ts";
import { fingerprint, type TrustStore } from "../identity/mod.ts";
import type { CurrentPath } from "../peer/path_manager.ts";
import type { StreamMux } from "../peer/peer_connection.ts";
import { PeerNode, type PeerNodeEvent } from "../peer/peer_node.ts";
import { StreamSet } from "../peer/stream_set.ts";
import { describeRefusal } from "../relay/relay_core.ts";
import type { StreamOptions } from "../stream/mod.ts";
import type { DatagramSocket, Scheduler, TimerHandle } from "../udp/mod.ts";
import { type Endpoint, MessageKind, ReasonCode } from "../wire/mod.ts";
import { BULK_ACK_EVERY_SEGMENTS } from "./constants.ts";

/** What the node reports; the commands print these. */
export type LinkEvent =
  | { event: "registered"; observed: Endpoint; relayFingerprint: string }
  | { event: "waiting"; peer: string; reason: string }
  | {
    event: "peer";
    peer: string;
    fingerprint: string;
    trust: "new" | "match" | "accepted-new-key" | "refused";
  }
  | {
    event: "path";
    peer: string;
    via: "direct" | "relay";
    reason: string;
    rtt_ms?: number;
    endpoint?: string;
  }
  | { event: "warning"; message: string; hint?: string }
  | { event: "fatal"; message: string; hint?: string };

/** One connection with one peer; a new connection is a new session. */
export class PeerSession {
  /** The peer's name at the relay. */
  readonly peer: string;
  /** The connection's streams. */
  readonly streams: StreamSet;
  /** The peer's static key, once the handshake completed. */
  key: Uint8Array | undefined;
  /** Whether the key is the pinned one (or newly pinned, or accepted). */
  trusted = false;
  /** Whether the handshake completed. */
  established = false;
  /** Whether a newer connection replaced this one, or the node stopped. */
  ended = false;
  /** The path its packets take. */
  path: CurrentPath = { via: "relay" };

  constructor(peer: string, streams: StreamSet) {
    this.peer = peer;
    this.streams = streams;
  }

  /** The peer's fingerprint, once known. */
  get fingerprint(): string | undefined {
    return this.key ? fingerprint(this.key) : undefined;
  }
}

/** Options of {@linkcode TransferNode}. */
export interface TransferNodeOptions {
  socket: DatagramSocket;
  /** STUN discovery and birthday probing (`--stun`, `--birthday`). */
  traversal?: TraversalOptions;
  scheduler: Scheduler;
  staticKeyPair: KeyPair;
  name: string;
  relay: Endpoint;
  /** Pinned keys of peers (`known_peers`). */
  knownPeers: TrustStore;
  /** Pinned keys of relays by `host:port` (`known_relays`). */
  knownRelays?: TrustStore;
  /** The label of the relay in `knownRelays`. */
  relayLabel?: string;
  /** Our local candidates. */
  candidates?: Endpoint[];
  acceptNewKey?: boolean;
  /** The peer to connect to; absent: accept whoever connects. */
  peer?: string;
  /** Address hints for `peer`. */
  hints?: Endpoint[];
  /** Options of every stream (buffer sizes). */
  streamOptions?: StreamOptions;
  /**
   * With `peer`: whether to connect again when the relay closes the circuit
   * while no direct path carries the session (a transfer still running).
   */
  wantsConnection?: () => boolean;
  onEvent: (event: LinkEvent) => void;
  /** A connection completed its handshake (trusted or not: see `trusted`). */
  onSession: (session: PeerSession) => void;
  /** A session is over (replaced by a new connection, or stopped). */
  onSessionEnded?: (session: PeerSession) => void;
  /** Every pass of the driver, before it sends. */
  onActivity: () => void;
}

/** How often to ask the relay again for a peer that is not there yet. */
export const CONNECT_RETRY_MS = 2_000;

/**
 * Tuning: when the peer is the side that starts handshakes (its static key
 * sorts first) and our connection has no session after this long, it is
 * started over on a new circuit. That happens when we restarted while the
 * peer kept its end of the old circuit: it has a session and no reason to
 * start another. 12 s lets its handshake retries (1, 2, 4, 5 s) run first.
 */
export const SESSION_SETUP_TIMEOUT_MS = 12_000;

/** Give up after starting over this many times without a session. */
export const SESSION_SETUP_ATTEMPTS = 3;

/** Streams of a connection nobody asked for: everything is dropped. */
const DROPPING_MUX: StreamMux = {
  receive() {},
  pollTransmit: () => undefined,
  nextTimeout: () => undefined,
  onTimeout() {},
  onPathChange() {},
};

/** A peer node for file transfer. */
export class TransferNode {
  readonly #options: TransferNodeOptions;
  readonly #node: PeerNode;
  readonly #sessions = new Map<string, PeerSession>();
  #retry: TimerHandle | undefined;
  #fatal: LinkEvent | undefined;
  #saving: Promise<void>[] = [];
  #circuitClosed = false;
  #stopped = false;
  /** Since when the connection to our peer exists without a session. */
  #sessionlessSince: number | undefined;
  /** Times we started over without a session since the last one. */
  #setupAttempts = 0;
  /** The peer's key as the relay announced it. */
  #peerKey: Uint8Array | undefined;
  #saidWaiting = false;

  constructor(options: TransferNodeOptions) {
    this.#options = options;
    const relayKey = options.relayLabel
      ? options.knownRelays?.get(options.relayLabel)
      : undefined;
    this.#node = new PeerNode({
      ...options.traversal,
      socket: options.socket,
      scheduler: options.scheduler,
      staticKeyPair: options.staticKeyPair,
      name: options.name,
      relay: options.relay,
      relayKey,
      candidates: options.candidates,
      // The peer we send to is reached with IK on its pinned key. Anyone
      // else is met with XX, so that a sender whose key changed still
      // completes a handshake and is told why its files are declined.
      pinnedKey: (peer) =>
        options.acceptNewKey || peer !== options.peer
          ? undefined
          : options.knownPeers.get(peer),
      createStreams: (peer) => this.#createStreams(peer),
      hints: (peer) => peer === options.peer ? options.hints ?? [] : [],
      onEvent: (event) => this.#onNodeEvent(event),
      onActivity: () => options.onActivity(),
    });
  }

  /** Registers at the relay (and, with a peer, starts looking for it). */
  start(): void {
    this.#node.start();
  }

  /** The fatal error that stopped the node, if any. */
  get fatal(): LinkEvent | undefined {
    return this.#fatal;
  }

  /** Whether the relay accepted our registration. */
  get registered(): boolean {
    return this.#node.relayClient.registered;
  }

  /** The current session with `peer`, if any. */
  session(peer: string): PeerSession | undefined {
    return this.#sessions.get(peer);
  }

  /**
   * With a peer: starts over on a new circuit (see
   * {@linkcode PeerNode.reconnect}); the relay's rendezvous then makes new
   * connections at both ends, and a transfer resumes on the new session.
   */
  reconnect(): void {
    const target = this.#options.peer;
    if (target === undefined || this.#fatal || this.#stopped) return;
    this.#circuitClosed = false;
    this.#sessionlessSince = undefined;
    this.#node.reconnect(target);
    // Ask again later if this CONNECT or its RENDEZVOUS gets lost.
    const { scheduler } = this.#options;
    if (this.#retry !== undefined) scheduler.clearTimer(this.#retry);
    this.#retry = scheduler.setTimer(
      scheduler.now() + CONNECT_RETRY_MS,
      () => this.#connect(),
    );
  }

  /**
   * Call now and then (a second or so): starts over when the connection to
   * our peer has had no session for {@linkcode SESSION_SETUP_TIMEOUT_MS}.
   */
  checkSession(now: number): void {
    const target = this.#options.peer;
    if (target === undefined || this.#fatal || this.#stopped) return;
    const connection = this.#node.connection(target);
    if (!connection || connection.established) {
      this.#sessionlessSince = undefined;
      if (connection) this.#setupAttempts = 0;
      return;
    }
    // When we start the handshakes our own retries run, and fail loudly.
    const peerStarts = this.#peerKey !== undefined &&
      compareBytes(this.#peerKey, this.#options.staticKeyPair.publicKey) < 0;
    if (!peerStarts) return;
    this.#sessionlessSince ??= now;
    if (now - this.#sessionlessSince < SESSION_SETUP_TIMEOUT_MS) return;
    if (this.#setupAttempts >= SESSION_SETUP_ATTEMPTS) {
      this.#fail(
        `Cannot set up an encrypted session with ${target}: no session after ${
          SESSION_SETUP_ATTEMPTS + 1
        } tries`,
        `check that ${target} is running and reachable, then run again`,
      );
      return;
    }
    this.#setupAttempts++;
    this.reconnect();
  }

  /** Call after writing to a stream: sends what is due. */
  pump(): void {
    this.#node.pump();
  }

  /** Our local addresses changed: tell the relay, punch again at once. */
  onLocalAddressChange(candidates: Endpoint[]): void {
    this.#node.onLocalAddressChange(candidates);
  }

  /** Says goodbye to the relay and closes the socket. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry !== undefined) {
      this.#options.scheduler.clearTimer(this.#retry);
    }
    await this.#node.stop();
    for (const session of this.#sessions.values()) this.#end(session);
    await Promise.allSettled(this.#saving);
  }

  #createStreams(peer: string): StreamMux {
    if (this.#options.peer !== undefined && peer !== this.#options.peer) {
      return DROPPING_MUX;
    }
    const old = this.#sessions.get(peer);
    const session = new PeerSession(
      peer,
      new StreamSet({
        ackEverySegments: BULK_ACK_EVERY_SEGMENTS,
        ...this.#options.streamOptions,
      }),
    );
    this.#sessions.set(peer, session);
    if (old) this.#end(old);
    return session.streams;
  }

  #end(session: PeerSession) {
    if (session.ended) return;
    session.ended = true;
    this.#options.onSessionEnded?.(session);
  }

  #onNodeEvent(event: PeerNodeEvent) {
    const { onEvent, peer: target } = this.#options;
    switch (event.type) {
      case "registered":
        onEvent({
          event: "registered",
          observed: event.observed,
          relayFingerprint: fingerprint(event.relayKey),
        });
        this.#saving.push(this.#pinRelay(event.relayKey));
        this.#connect();
        break;
      case "refused":
        if (
          event.request === MessageKind.CONNECT &&
          event.reason === ReasonCode.PEER_NOT_FOUND && target !== undefined
        ) {
          // Said once, not at every retry (#connect asks again).
          if (!this.#saidWaiting) {
            this.#saidWaiting = true;
            onEvent({
              event: "waiting",
              peer: target,
              reason: `${target} is not registered at the relay yet`,
            });
          }
        } else {
          this.#fail(
            `The relay refused: ${
              event.text || describeRefusal(event.reason, event.limit)
            }`,
            event.request === MessageKind.REGISTER
              ? "choose another name, or another relay"
              : "try again later, or another relay",
          );
        }
        break;
      case "relay-unreachable":
        this.#fail(
          `Cannot reach the relay at ${this.#options.relay.address}:${this.#options.relay.port}: no answer to ${event.attempts} handshakes`,
          "check the address and that the relay is running",
        );
        break;
      case "connecting": {
        if (event.peer === target) {
          this.#peerKey = event.peerKey;
          this.#saidWaiting = false;
        }
        if (event.peer !== target || this.#options.acceptNewKey) break;
        // The relay tells us the key before the handshake: refuse early.
        if (
          this.#options.knownPeers.check(event.peer, event.peerKey) ===
            "changed"
        ) {
          this.#keyChanged(event.peer, event.peerKey);
        }
        break;
      }
      case "established": {
        const session = this.#sessions.get(event.peer);
        if (!session || session.established) break;
        this.#saving.push(this.#onEstablished(session, event.remoteStatic));
        break;
      }
      case "path": {
        const session = this.#sessions.get(event.peer);
        if (!session) break;
        session.path = event.path;
        onEvent({
          event: "path",
          peer: event.peer,
          via: event.path.via,
          reason: event.reason,
          ...(event.path.via === "direct"
            ? {
              rtt_ms: Math.round(event.path.rttMs),
              endpoint:
                `${event.path.endpoint.address}:${event.path.endpoint.port}`,
            }
            : {}),
        });
        this.#maybeReconnect();
        break;
      }
      case "failed":
        if (event.peer === target) {
          this.#fail(
            `Cannot set up an encrypted session with ${event.peer}: ${event.reason}`,
            "if you pinned an old key for this peer, check it with them",
          );
        } else if (target === undefined) {
          onEvent({
            event: "warning",
            message:
              `Cannot set up an encrypted session with ${event.peer}: ${event.reason}`,
          });
        }
        break;
      case "circuit-closed":
        if (event.peer !== target) break;
        if (!this.#sessions.get(event.peer)?.established) {
          this.#fail(`The relay closed the circuit to ${event.peer}`);
        } else {
          this.#circuitClosed = true;
          this.#maybeReconnect();
        }
        break;
    }
  }

  async #onEstablished(session: PeerSession, key: Uint8Array) {
    const { knownPeers, acceptNewKey, onEvent, peer: target } = this.#options;
    session.key = key;
    session.established = true;
    const verdict = knownPeers.check(session.peer, key);
    if (verdict === "changed" && !acceptNewKey) {
      if (session.peer === target) return this.#keyChanged(session.peer, key);
      session.trusted = false;
      const pinned = knownPeers.get(session.peer)!;
      onEvent({
        event: "peer",
        peer: session.peer,
        fingerprint: fingerprint(key),
        trust: "refused",
      });
      onEvent({
        event: "warning",
        message: `Refused files from ${session.peer}: its key changed, pinned ${
          fingerprint(pinned)
        }, now ${fingerprint(key)}`,
        hint:
          `if ${session.peer} really has a new key (check the fingerprint with them), run again with --accept-new-key`,
      });
      this.#options.onSession(session);
      return;
    }
    session.trusted = true;
    onEvent({
      event: "peer",
      peer: session.peer,
      fingerprint: fingerprint(key),
      trust: verdict === "changed" ? "accepted-new-key" : verdict,
    });
    onEvent({
      event: "path",
      peer: session.peer,
      via: session.path.via === "direct" ? "direct" : "relay",
      reason: "the session starts over the relay while punching",
    });
    this.#options.onSession(session);
    this.#node.pump();
    if (verdict !== "match") {
      try {
        await knownPeers.pin(session.peer, key);
      } catch (error) {
        this.#fail(
          `Cannot save the key of ${session.peer}: ${(error as Error).message}`,
          `check that ${knownPeers.path} is writable`,
        );
      }
    }
  }

  #keyChanged(peer: string, key: Uint8Array) {
    const pinned = this.#options.knownPeers.get(peer)!;
    this.#fail(
      `The key of ${peer} changed: pinned ${fingerprint(pinned)}, now offered ${
        fingerprint(key)
      }`,
      `if ${peer} really has a new key (check the fingerprint with them), run again with --accept-new-key`,
    );
  }

  async #pinRelay(relayKey: Uint8Array) {
    const { knownRelays, relayLabel } = this.#options;
    if (!knownRelays || !relayLabel) return;
    if (knownRelays.check(relayLabel, relayKey) === "new") {
      await knownRelays.pin(relayLabel, relayKey);
    }
  }

  /**
   * Asks the relay for our peer, and again every {@linkcode CONNECT_RETRY_MS}
   * until a rendezvous made a connection: the peer may not be registered
   * yet, and a `CONNECT` or its `RENDEZVOUS` may be lost.
   */
  #connect() {
    const { scheduler } = this.#options;
    if (this.#retry !== undefined) scheduler.clearTimer(this.#retry);
    this.#retry = undefined;
    const target = this.#options.peer;
    if (target === undefined || this.#fatal || this.#stopped) return;
    if (this.#node.connection(target)) return;
    this.#node.connect(target);
    this.#retry = scheduler.setTimer(
      scheduler.now() + CONNECT_RETRY_MS,
      () => this.#connect(),
    );
  }

  /**
   * The relay closed our circuit (its byte or time budget, or a restart)
   * and no direct path carries the session: ask for a new circuit. The
   * relay's rendezvous then makes a new connection, and the owner starts
   * over on it (a transfer resumes).
   */
  #maybeReconnect() {
    const target = this.#options.peer;
    if (!this.#circuitClosed || target === undefined || this.#stopped) return;
    const session = this.#sessions.get(target);
    if (session?.path.via === "direct") return;
    if (!(this.#options.wantsConnection?.() ?? false)) return;
    this.reconnect();
  }

  #fail(message: string, hint?: string) {
    if (this.#fatal) return;
    this.#fatal = { event: "fatal", message, hint };
    this.#options.onEvent(this.#fatal);
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}
