/**
 * `altnet receive` without its terminal: registered at a relay, it takes
 * connections from any peer (trust on first use of its key), and every
 * stream a peer opens is a transfer: the offer is checked (name, size, free
 * space, key), put to the owner's decision, then received, verified and put
 * in place. Several transfers may run at once. Socket, clock, decisions and
 * the output folder are the caller's; the transfers themselves are
 * {@linkcode IncomingTransfers}'.
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
import {
  type Decision,
  type IncomingTransferEvent,
  IncomingTransfers,
  type OfferToDecide,
} from "./incoming_transfers.ts";
import type { PartFile } from "./part_file.ts";
import { type LinkEvent, TransferNode } from "./transfer_node.ts";

/** What `receive` shows; `cmd/receive.ts` prints these. */
export type ReceiveEvent = LinkEvent | IncomingTransferEvent;

/** Options of {@linkcode ReceiveApp}. */
export interface ReceiveAppOptions {
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
  candidates?: Endpoint[];
  acceptNewKey?: boolean;
  /** Where files go. */
  outDir: string;
  /** Replace existing files of the same name. */
  force?: boolean;
  /** Refuse files larger than this. */
  maxSize?: number;
  /** Decides an offer that passed every check. */
  decide: (offer: OfferToDecide) => Promise<Decision>;
  streamOptions?: StreamOptions;
  /** Suspend a transfer after this long without data; default 30 s. */
  stallTimeoutMs?: number;
  /** Free bytes in a folder; default statfs. */
  freeSpace?: (dir: string) => number;
  /** Opens a partial download; default `openPartFile` in `outDir`. */
  openPart?: (offer: Offer, from: string) => PartFile;
  onEvent: (event: ReceiveEvent) => void;
}

/** Receiving files from whoever connects. */
export class ReceiveApp {
  readonly #options: ReceiveAppOptions;
  readonly #node: TransferNode;
  readonly #incoming: IncomingTransfers;
  #ticker: TimerHandle | undefined;
  #waiters: (() => void)[] = [];

  constructor(options: ReceiveAppOptions) {
    this.#options = options;
    this.#incoming = new IncomingTransfers({
      scheduler: options.scheduler,
      outDir: options.outDir,
      force: options.force,
      maxSize: options.maxSize,
      decide: options.decide,
      stallTimeoutMs: options.stallTimeoutMs,
      freeSpace: options.freeSpace,
      openPart: options.openPart,
      flush: () => this.#node.pump(),
      onEvent: options.onEvent,
      onChange: () => this.#wake(),
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
      streamOptions: options.streamOptions,
      onEvent: (event) => {
        options.onEvent(event);
        this.#wake();
      },
      onSession: (session) => this.#incoming.addSession(session),
      onSessionEnded: (session) => this.#incoming.endSession(session),
      onActivity: () => this.#incoming.pump(),
    });
  }

  /** Registers at the relay; from then on peers may connect. */
  start(): void {
    this.#node.start();
    this.#tick();
  }

  /** The fatal error that stopped receiving, if any. */
  get fatal(): LinkEvent | undefined {
    return this.#node.fatal;
  }

  /** Whether the relay accepted our registration. */
  get registered(): boolean {
    return this.#node.registered;
  }

  /** Files received and in place. */
  get completed(): number {
    return this.#incoming.completed;
  }

  /** Transfers that failed or were declined. */
  get failed(): number {
    return this.#incoming.failed;
  }

  /** Transfers running (offered, deciding or receiving). */
  get active(): number {
    return this.#incoming.active;
  }

  /** Resolves when `predicate` holds (checked after every event). */
  until(predicate: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (predicate()) resolve();
        else this.#waiters.push(check);
      };
      check();
    });
  }

  /**
   * Stops every running transfer (Ctrl-C): tells each sender, saves what
   * was verified, and waits up to `graceMs` for the senders to hear it.
   */
  cancelAll(graceMs = 500): Promise<void> {
    return this.#incoming.cancelAll(graceMs);
  }

  /** Our local addresses changed: tell the relay, punch again at once. */
  onLocalAddressChange(candidates: Endpoint[]): void {
    this.#node.onLocalAddressChange(candidates);
  }

  /**
   * Waits up to `graceMs` until the senders acknowledged our last words
   * (`DONE`, `DECLINE`, `ERROR`): call before stopping, or a sender may
   * never learn that its file arrived.
   */
  flush(graceMs = 10_000): Promise<void> {
    return this.#incoming.settle(graceMs);
  }

  /** Says goodbye to the relay and closes the socket; keeps partial downloads. */
  async stop(): Promise<void> {
    if (this.#ticker !== undefined) {
      this.#options.scheduler.clearTimer(this.#ticker);
    }
    await this.#node.stop();
    await this.#incoming.suspendAll();
  }

  #tick() {
    const now = this.#options.scheduler.now();
    this.#incoming.tick(now);
    this.#ticker = this.#options.scheduler.setTimer(
      now + PROGRESS_INTERVAL_MS,
      () => this.#tick(),
    );
  }

  #wake() {
    const waiters = this.#waiters.splice(0);
    for (const waiter of waiters) waiter();
  }
}
