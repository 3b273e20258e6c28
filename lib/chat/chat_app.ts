/**
 * `altnet chat` without its terminal: a {@linkcode PeerNode} talking to one
 * peer over a {@linkcode ChatChannel}, with trust on first use of the peer's
 * key, and files both ways on further streams of the same connection
 * ({@linkcode ChatTransfers}). Input (lines to send, files, decisions) and
 * output (events) are the caller's; the command wires them to stdin/stdout
 * or a TTY.
 *
 * @module
 */

import type { KeyPair } from "../crypto/noise/mod.ts";
import { fingerprint, type TrustStore } from "../identity/mod.ts";
import type { CurrentPath } from "../peer/path_manager.ts";
import {
  PeerNode,
  type PeerNodeEvent,
  type TraversalOptions,
} from "../peer/peer_node.ts";
import { StreamSet } from "../peer/stream_set.ts";
import { describeRefusal } from "../relay/relay_core.ts";
import {
  BULK_ACK_EVERY_SEGMENTS,
  type Decision,
  type Offer,
  type OfferToDecide,
  type PartFile,
  PeerSession,
  Reason,
} from "../transfer/mod.ts";
import type { DatagramSocket, Scheduler } from "../udp/mod.ts";
import { type Endpoint, MessageKind, ReasonCode } from "../wire/mod.ts";
import {
  CHAT_INSTANCE_LENGTH,
  CHAT_STREAM_ID,
  ChatChannel,
  encodeChatText,
  type ReceivedLog,
} from "./chat_channel.ts";
import { type ChatTransferEvent, ChatTransfers } from "./chat_transfers.ts";

/** What the chat shows; `cmd/chat.ts` prints these. */
export type ChatEvent =
  | { event: "registered"; observed: Endpoint; relayFingerprint: string }
  | { event: "waiting"; peer: string; reason: string }
  | {
    event: "peer";
    peer: string;
    fingerprint: string;
    trust: "new" | "match" | "accepted-new-key";
  }
  | {
    event: "path";
    via: "direct" | "relay";
    reason: string;
    /** Probes this side sent to the peer so far (all techniques). */
    probes: number;
    rtt_ms?: number;
    endpoint?: string;
  }
  | { event: "message"; from: string; text: string }
  | { event: "delivered"; id: number }
  | { event: "relay-key"; fingerprint: string; pinned: boolean }
  | {
    event: "nat";
    /** Our NAT's mapping behaviour, from STUN (PROTOCOL §9). */
    mapping: string;
    /** Our public endpoint, `address:port`. */
    public?: string;
  }
  | { event: "fatal"; message: string; hint?: string }
  | ChatTransferEvent;

/** Options of {@linkcode ChatApp}. */
export interface ChatAppOptions {
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
  peer: string;
  /** Address hints for the peer (from `bob@host:port`). */
  hints?: Endpoint[];
  /** Our local candidates. */
  candidates?: Endpoint[];
  acceptNewKey?: boolean;
  /** Where files the peer sends go; default the current folder. */
  outDir?: string;
  /**
   * Decides a file the peer offers (after the checks of `altnet receive`);
   * default: every offer is declined.
   */
  decideOffer?: (offer: OfferToDecide) => Promise<Decision>;
  /** Opens a partial download; default `openPartFile` in `outDir`. */
  openPart?: (offer: Offer, from: string) => PartFile;
  /** Give up a transfer that moved no byte for this long; default 30 s. */
  stallTimeoutMs?: number;
  /** Give up an offer the peer does not answer; default 120 s. */
  decisionTimeoutMs?: number;
  /** Random bytes (the chat's instance id); default `crypto.getRandomValues`. */
  randomBytes?: (length: number) => Uint8Array;
  onEvent: (event: ChatEvent) => void;
}

/** The answer to offers when the owner gives no `decideOffer`. */
const DECLINE_ALL: Decision = {
  accept: false,
  reason: Reason.NO_TERMINAL,
  text: "the receiver does not take files in this chat",
};

/** How often to ask the relay again for a peer that is not there yet. */
export const CONNECT_RETRY_MS = 2_000;

/** A chat with one peer. */
export class ChatApp {
  readonly #options: ChatAppOptions;
  readonly #node: PeerNode;
  /**
   * The streams of the current connection to the peer: each connection
   * (a restart of the peer, a new circuit) starts with fresh ones.
   */
  #streams: StreamSet | undefined;
  /** The messages of the current connection (stream 0 of `#streams`). */
  #channel: ChatChannel | undefined;
  /** A newer connection replaced the session's: end it on the next pass. */
  #replaced = false;
  /** Our chat instance, the same on every connection (chat_channel.ts). */
  readonly #instance: Uint8Array;
  /** The highest message number shown, by peer instance. */
  readonly #received: ReceivedLog = new Map();
  /** Messages not yet acknowledged, sent again on a new connection. */
  readonly #outbox: { id: number; text: string }[] = [];
  #nextId = 1;
  readonly #transfers: ChatTransfers;
  /** The session with the peer, once its key is trusted. */
  #session: PeerSession | undefined;
  #connected = false;
  #stopped = false;
  /** The relay closed our circuit and we did not ask for a new one yet. */
  #circuitClosed = false;
  #fatal: ChatEvent | undefined;
  #retry: ReturnType<Scheduler["setTimer"]> | undefined;
  #waitingSaid = false;
  #waiters: (() => void)[] = [];
  #path: CurrentPath = { via: "relay" };
  #peerKey: Uint8Array | undefined;
  /** Key pinning in progress; `stop` waits for it. */
  #saving: Promise<void>[] = [];
  #sentCount = 0;

  constructor(options: ChatAppOptions) {
    this.#options = options;
    this.#instance = (options.randomBytes ??
      ((n) => crypto.getRandomValues(new Uint8Array(n))))(
        CHAT_INSTANCE_LENGTH,
      );
    this.#transfers = new ChatTransfers({
      scheduler: options.scheduler,
      ourKey: options.staticKeyPair.publicKey,
      peer: options.peer,
      outDir: options.outDir ?? ".",
      decide: options.decideOffer ?? (() => Promise.resolve(DECLINE_ALL)),
      openPart: options.openPart,
      stallTimeoutMs: options.stallTimeoutMs,
      decisionTimeoutMs: options.decisionTimeoutMs,
      flush: () => this.#node.pump(),
      onEvent: (event) => options.onEvent(event),
      onChange: () => this.#wake(),
    });
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
      pinnedKey: (peer) =>
        options.acceptNewKey ? undefined : options.knownPeers.get(peer),
      createStreams: (peer) =>
        peer === options.peer
          ? this.#onNewConnection()
          : new StreamSet({ ackEverySegments: BULK_ACK_EVERY_SEGMENTS }),
      hints: () => options.hints ?? [],
      onEvent: (event) => void this.#onNodeEvent(event),
      onActivity: () => this.#drain(),
    });
  }

  /** Registers at the relay and starts looking for the peer. */
  start(): void {
    this.#node.start();
    this.#transfers.start();
  }

  /** Whether the session with the peer is up. */
  get connected(): boolean {
    return this.#connected;
  }

  /** The current path. */
  get path(): CurrentPath {
    return this.#path;
  }

  /** The peer's fingerprint once connected. */
  get peerFingerprint(): string | undefined {
    return this.#peerKey ? fingerprint(this.#peerKey) : undefined;
  }

  /** Messages sent so far. */
  get sentCount(): number {
    return this.#sentCount;
  }

  /** Messages sent and not yet acknowledged. */
  get pending(): number {
    return this.#outbox.length;
  }

  /** The fatal error that stopped the chat, if any. */
  get fatal(): ChatEvent | undefined {
    return this.#fatal;
  }

  /** Queues a message; returns its id for the `delivered` event. */
  send(text: string): number {
    encodeChatText(text);
    const id = this.#nextId++;
    this.#outbox.push({ id, text });
    this.#channel?.send(text);
    this.#sentCount++;
    this.#node.pump();
    return id;
  }

  /**
   * Offers the file at `path` to the peer on a stream of its own (once the
   * session is up); resolves with the transfer's id, which its events
   * carry.
   *
   * @throws {Error} One sentence when the file cannot be sent (missing,
   * unreadable, a folder).
   */
  async sendFile(path: string): Promise<number> {
    const id = await this.#transfers.sendFile(path);
    this.#node.pump();
    return id;
  }

  /** The files of this chat: counts and failures. */
  get files(): {
    sending: boolean;
    moving: boolean;
    sent: number;
    received: number;
    failures: readonly string[];
  } {
    const t = this.#transfers;
    return {
      sending: t.sending,
      moving: t.moving,
      sent: t.sent,
      received: t.received,
      failures: t.failures,
    };
  }

  /**
   * Resolves true when every sent message was acknowledged and every file
   * ended (arrived, declined or failed) both ways; false when the chat
   * failed, or `timeoutMs` passed while no file was moving (a file on its
   * way has timeouts of its own).
   */
  waitUntilIdle(timeoutMs: number): Promise<boolean> {
    const { scheduler } = this.#options;
    const deadline = scheduler.now() + timeoutMs;
    return new Promise((resolve) => {
      const check = () => {
        if (this.#fatal) return resolve(false);
        const files = this.#transfers;
        if (
          this.#outbox.length === 0 && this.#node.relayClient.registered &&
          !files.sending && !files.moving
        ) {
          return resolve(true);
        }
        if (scheduler.now() >= deadline && !files.moving) {
          return resolve(false);
        }
        this.#waiters.push(check);
      };
      scheduler.setTimer(deadline, () => this.#wake());
      check();
    });
  }

  /**
   * Waits up to `graceMs` until the peer acknowledged our last words on
   * its transfers (`DONE`, `DECLINE`, `ERROR`): call before `stop`, or a
   * sender may never learn that its file arrived.
   */
  settleTransfers(graceMs: number): Promise<void> {
    return this.#transfers.settle(graceMs);
  }

  /**
   * Stops every file on its way, both ways (the user leaves): the peer is
   * told, partial downloads are kept. Waits up to `graceMs` for the peer to
   * hear it.
   */
  cancelTransfers(graceMs: number): Promise<void> {
    return this.#transfers.stop(graceMs);
  }

  /**
   * Resolves when every sent message was acknowledged (true), or when
   * `timeoutMs` passes or the chat failed (false).
   */
  waitUntilDelivered(timeoutMs: number): Promise<boolean> {
    const { scheduler } = this.#options;
    const deadline = scheduler.now() + timeoutMs;
    return new Promise((resolve) => {
      const check = () => {
        if (this.#fatal) return resolve(false);
        // Registered too: even with nothing to send, chat proves the relay
        // answers before it reports success.
        if (this.#outbox.length === 0 && this.#node.relayClient.registered) {
          return resolve(true);
        }
        if (scheduler.now() >= deadline) return resolve(false);
        this.#waiters.push(check);
      };
      scheduler.setTimer(deadline, () => this.#wake());
      check();
    });
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
    await this.#transfers.stop(0);
    await this.#node.stop();
    await this.#transfers.close();
    await Promise.allSettled(this.#saving);
    this.#wake();
  }

  #onNodeEvent(event: PeerNodeEvent) {
    const { onEvent, peer } = this.#options;
    switch (event.type) {
      case "registered": {
        const relayFingerprint = fingerprint(event.relayKey);
        onEvent({
          event: "registered",
          observed: event.observed,
          relayFingerprint,
        });
        this.#saving.push(this.#pinRelay(event.relayKey));
        this.#connect();
        break;
      }
      case "refused":
        if (
          event.request === MessageKind.CONNECT &&
          event.reason === ReasonCode.PEER_NOT_FOUND
        ) {
          // Said once; #connect keeps asking until the peer shows up.
          if (!this.#waitingSaid) {
            this.#waitingSaid = true;
            onEvent({
              event: "waiting",
              peer,
              reason: `${peer} is not registered at the relay yet`,
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
        if (event.peer !== peer) break;
        const verdict = this.#options.knownPeers.check(peer, event.peerKey);
        if (verdict === "changed" && !this.#options.acceptNewKey) {
          const pinned = this.#options.knownPeers.get(peer)!;
          this.#fail(
            `The key of ${peer} changed: pinned ${
              fingerprint(pinned)
            }, now offered ${fingerprint(event.peerKey)}`,
            `if ${peer} really has a new key (check the fingerprint with them), run again with --accept-new-key`,
          );
        }
        break;
      }
      case "established":
        if (event.peer === peer) {
          this.#saving.push(this.#onEstablished(event.remoteStatic));
        }
        break;
      case "path":
        if (event.peer !== peer) break;
        this.#path = event.path;
        if (this.#session) this.#session.path = event.path;
        onEvent({
          event: "path",
          via: event.path.via,
          reason: event.reason,
          probes: this.#node.connection(peer)?.paths.probesSent() ?? 0,
          ...(event.path.via === "direct"
            ? {
              rtt_ms: Math.round(event.path.rttMs),
              endpoint:
                `${event.path.endpoint.address}:${event.path.endpoint.port}`,
            }
            : {}),
        });
        // Back on the relay with its circuit closed: ask for a new one.
        this.#maybeReconnect();
        break;
      case "nat":
        onEvent({
          event: "nat",
          mapping: event.mapping,
          ...(event.public
            ? { public: `${event.public.address}:${event.public.port}` }
            : {}),
        });
        break;
      case "failed":
        if (event.peer === peer) {
          this.#fail(
            `Cannot set up an encrypted session with ${peer}: ${event.reason}`,
            "if you pinned an old key for this peer, check it with them",
          );
        }
        break;
      case "circuit-closed":
        if (event.peer !== peer) break;
        if (!this.#connected) {
          this.#fail(`The relay closed the circuit to ${peer}`);
        } else {
          this.#circuitClosed = true;
          this.#maybeReconnect();
        }
        break;
    }
    this.#drain();
  }

  async #onEstablished(remoteStatic: Uint8Array) {
    const { knownPeers, peer, acceptNewKey, onEvent } = this.#options;
    const verdict = knownPeers.check(peer, remoteStatic);
    if (verdict === "changed" && !acceptNewKey) {
      return this.#fail(
        `The key of ${peer} changed: now ${fingerprint(remoteStatic)}`,
        `if ${peer} really has a new key, run again with --accept-new-key`,
      );
    }
    const first = !this.#connected;
    this.#connected = true;
    this.#peerKey = remoteStatic;
    this.#endReplacedSession();
    if (!this.#session && this.#streams) {
      // One session per connection, on the connection's streams.
      this.#session = new PeerSession(peer, this.#streams);
      this.#session.key = remoteStatic;
      this.#session.trusted = true;
      this.#session.established = true;
      this.#session.path = this.#path;
      this.#transfers.onSession(this.#session);
    }
    if (first) {
      onEvent({
        event: "peer",
        peer,
        fingerprint: fingerprint(remoteStatic),
        trust: verdict === "changed" ? "accepted-new-key" : verdict,
      });
      onEvent({
        event: "path",
        via: "relay",
        reason: "the session starts over the relay while punching",
        probes: 0,
      });
    }
    this.#node.pump();
    if (verdict !== "match") {
      try {
        await knownPeers.pin(peer, remoteStatic);
      } catch (error) {
        this.#fail(
          `Cannot save the key of ${peer}: ${(error as Error).message}`,
          `check that ${knownPeers.path} is writable`,
        );
      }
    }
  }

  async #pinRelay(relayKey: Uint8Array) {
    const { knownRelays, relayLabel } = this.#options;
    if (!knownRelays || !relayLabel) return;
    const verdict = knownRelays.check(relayLabel, relayKey);
    if (verdict === "new") await knownRelays.pin(relayLabel, relayKey);
  }

  /**
   * Asks the relay for the peer, and again every CONNECT_RETRY_MS until a
   * rendezvous arrives: the peer may not be there yet, and a CONNECT or its
   * RENDEZVOUS may be lost.
   */
  #connect() {
    if (this.#retry !== undefined) {
      this.#options.scheduler.clearTimer(this.#retry);
    }
    this.#retry = undefined;
    if (
      this.#fatal || this.#stopped || this.#node.connection(this.#options.peer)
    ) return;
    this.#node.connect(this.#options.peer);
    this.#retry = this.#options.scheduler.setTimer(
      this.#options.scheduler.now() + CONNECT_RETRY_MS,
      () => this.#connect(),
    );
  }

  /**
   * The relay closed our circuit and no direct path carries the session:
   * ask for a new circuit (as `altnet send` does). The relay's rendezvous
   * makes a new connection, and the chat carries on over it.
   */
  #maybeReconnect() {
    if (!this.#circuitClosed || this.#fatal || this.#stopped) return;
    if (this.#path.via === "direct") return;
    this.#circuitClosed = false;
    this.#node.reconnect(this.#options.peer);
    // Then every CONNECT_RETRY_MS until a rendezvous arrives (the peer may
    // be gone for a while, a CONNECT or its RENDEZVOUS may be lost).
    const { scheduler } = this.#options;
    if (this.#retry !== undefined) scheduler.clearTimer(this.#retry);
    this.#retry = scheduler.setTimer(
      scheduler.now() + CONNECT_RETRY_MS,
      () => this.#connect(),
    );
  }

  /**
   * A new connection to the peer (PeerNode's `createStreams`): fresh
   * streams and a fresh channel on them, with every message not yet
   * acknowledged written again under its number (the peer shows it only if
   * it did not before). The files of the old session end on the next pass,
   * outside the node's rendezvous handling.
   */
  #onNewConnection(): StreamSet {
    const old = this.#channel;
    if (old) this.#readChannel(old);
    // Transfer streams acknowledge every 8 segments, as in `altnet send`;
    // chat's small messages are acknowledged by the delayed-ACK timer
    // either way.
    const streams = new StreamSet({
      ackEverySegments: BULK_ACK_EVERY_SEGMENTS,
    });
    const channel = new ChatChannel(streams.get(CHAT_STREAM_ID), {
      instance: this.#instance,
      firstNumber: this.#outbox[0]?.id ?? this.#nextId,
      received: this.#received,
    });
    for (const { text } of this.#outbox) channel.send(text);
    this.#streams = streams;
    this.#channel = channel;
    this.#path = { via: "relay" };
    if (this.#session) this.#replaced = true;
    return streams;
  }

  #endReplacedSession() {
    if (!this.#replaced) return;
    this.#replaced = false;
    this.#session = undefined;
    this.#transfers.endSession();
  }

  /** Hands received messages and receipts to the owner; moves the files. */
  #drain() {
    this.#endReplacedSession();
    this.#transfers.pump();
    if (this.#channel) {
      this.#readChannel(this.#channel);
      this.#channel.flush();
    }
    this.#wake();
  }

  #readChannel(channel: ChatChannel) {
    for (const text of channel.receive()) {
      this.#options.onEvent({
        event: "message",
        from: this.#options.peer,
        text,
      });
    }
    for (const id of channel.delivered()) {
      // Numbers are acknowledged in order, so the outbox empties from the
      // front; a number below its head was already reported.
      if (this.#outbox[0]?.id !== id) continue;
      this.#outbox.shift();
      this.#options.onEvent({ event: "delivered", id });
    }
  }

  #fail(message: string, hint?: string) {
    if (this.#fatal) return;
    this.#fatal = { event: "fatal", message, hint };
    this.#options.onEvent(this.#fatal);
    this.#wake();
  }

  #wake() {
    const waiters = this.#waiters.splice(0);
    for (const waiter of waiters) waiter();
  }
}
