/**
 * `altnet send` without its terminal: connect to one peer, offer one file on
 * a new stream, send what the receiver lacks, and finish when it confirms
 * the file is verified and in place. Starts over on a new connection (the
 * receiver resumes) when the relay circuit had to be replaced. Socket,
 * clock and file are the caller's.
 *
 * @module
 */

import type { TraversalOptions } from "../peer/peer_node.ts";
import type { KeyPair } from "../crypto/noise/mod.ts";
import type { TrustStore } from "../identity/mod.ts";
import type { StreamOptions } from "../stream/mod.ts";
import type { DatagramSocket, Scheduler, TimerHandle } from "../udp/mod.ts";
import type { Endpoint } from "../wire/mod.ts";
import { PROGRESS_INTERVAL_MS } from "./constants.ts";
import type { Offer } from "./frames.ts";
import type { OutgoingTransfer } from "./outgoing.ts";
import {
  OutgoingFile,
  type OutgoingFileEvent,
  type SendOutcome,
} from "./outgoing_file.ts";
import type { ChunkSource } from "./source_file.ts";
import { type LinkEvent, TransferNode } from "./transfer_node.ts";

/** What `send` shows; `cmd/send.ts` prints these. */
export type SendEvent = LinkEvent | OutgoingFileEvent;

/** Options of {@linkcode SendApp}. */
export interface SendAppOptions {
  socket: DatagramSocket;
  /** STUN discovery and birthday probing (`--stun`, `--birthday`). */
  traversal?: TraversalOptions;
  scheduler: Scheduler;
  staticKeyPair: KeyPair;
  name: string;
  relay: Endpoint;
  knownPeers: TrustStore;
  knownRelays?: TrustStore;
  relayLabel?: string;
  peer: string;
  hints?: Endpoint[];
  candidates?: Endpoint[];
  acceptNewKey?: boolean;
  /** What to offer (from `hashFile`). */
  offer: Offer;
  /** Opens the file's bytes; called once per attempt. */
  openSource: () => ChunkSource;
  streamOptions?: StreamOptions;
  /** Give up when no byte moved for this long; default 30 s. */
  stallTimeoutMs?: number;
  /** Give up when the receiver neither accepts nor declines; default 120 s. */
  decisionTimeoutMs?: number;
  onEvent: (event: SendEvent) => void;
}

/** Sending one file to one peer. */
export class SendApp {
  readonly #options: SendAppOptions;
  readonly #node: TransferNode;
  readonly #file: OutgoingFile;
  #ticker: TimerHandle | undefined;
  /** Whether a stall already made us start over once. */
  #retriedStall = false;

  constructor(options: SendAppOptions) {
    this.#options = options;
    this.#file = new OutgoingFile({
      scheduler: options.scheduler,
      ourKey: options.staticKeyPair.publicKey,
      peer: options.peer,
      offer: options.offer,
      openSource: options.openSource,
      stallTimeoutMs: options.stallTimeoutMs,
      decisionTimeoutMs: options.decisionTimeoutMs,
      flush: () => this.#node.pump(),
      onStall: (limit) => this.#onStall(limit),
      onEvent: options.onEvent,
    });
    this.#node = new TransferNode({
      traversal: options.traversal,
      socket: options.socket,
      scheduler: options.scheduler,
      staticKeyPair: options.staticKeyPair,
      name: options.name,
      relay: options.relay,
      knownPeers: options.knownPeers,
      knownRelays: options.knownRelays,
      relayLabel: options.relayLabel,
      candidates: options.candidates,
      acceptNewKey: options.acceptNewKey,
      peer: options.peer,
      hints: options.hints,
      streamOptions: options.streamOptions,
      wantsConnection: () => this.#file.outcome === undefined,
      onEvent: (event) => this.#onLinkEvent(event),
      onSession: (session) => {
        if (!session.trusted) return;
        this.#file.attach(session);
        this.#node.pump();
      },
      onSessionEnded: (session) => this.#file.detach(session),
      onActivity: () => this.#file.pump(),
    });
  }

  /** Registers at the relay and looks for the peer. */
  start(): void {
    this.#node.start();
    this.#tick();
  }

  /** How it ended, once it did. */
  get outcome(): SendOutcome | undefined {
    return this.#file.outcome;
  }

  /** The transfer of the current attempt. */
  get transfer(): OutgoingTransfer | undefined {
    return this.#file.transfer;
  }

  /** Resolves when the send succeeded or failed. */
  finished(): Promise<SendOutcome> {
    return this.#file.finished();
  }

  /**
   * Stops the transfer (the user pressed Ctrl-C): tells the receiver, which
   * keeps what it has for a resume.
   */
  cancel(): void {
    this.#file.cancel(
      "Stopped the transfer",
      "run the same command again to resume",
    );
  }

  /** Our local addresses changed: tell the relay, punch again at once. */
  onLocalAddressChange(candidates: Endpoint[]): void {
    this.#node.onLocalAddressChange(candidates);
  }

  /** Says goodbye to the relay and closes the socket. */
  async stop(): Promise<void> {
    if (this.#ticker !== undefined) {
      this.#options.scheduler.clearTimer(this.#ticker);
    }
    await this.#node.stop();
  }

  #onLinkEvent(event: LinkEvent) {
    this.#options.onEvent(event);
    if (event.event === "fatal") {
      this.#file.giveUp(event.message, event.hint);
    }
  }

  /**
   * The other end may have restarted on a circuit we still hold: start
   * over once on a new one before giving up.
   */
  #onStall(limit: number): boolean {
    if (this.#retriedStall) return false;
    this.#retriedStall = true;
    this.#options.onEvent({
      event: "waiting",
      peer: this.#options.peer,
      reason: `no progress for ${Math.round(limit / 1000)} s: connecting again`,
    });
    this.#node.reconnect();
    return true;
  }

  /** Progress events, and the watch for a transfer that stopped moving. */
  #tick() {
    if (this.#file.outcome) return;
    const now = this.#options.scheduler.now();
    this.#node.checkSession(now);
    this.#file.tick(now);
    if (this.#file.outcome) return;
    this.#ticker = this.#options.scheduler.setTimer(
      now + PROGRESS_INTERVAL_MS,
      () => this.#tick(),
    );
  }
}
