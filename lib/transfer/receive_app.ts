/**
 * `altnet receive` without its terminal: registered at a relay, it takes
 * connections from any peer (trust on first use of its key), and every
 * stream a peer opens is a transfer: the offer is checked (name, size, free
 * space, key), put to the owner's decision, then received, verified and put
 * in place. Several transfers may run at once. Socket, clock, decisions and
 * the output folder are the caller's.
 *
 * @module
 */

import type { KeyPair } from "../crypto/noise/mod.ts";
import type { TrustStore } from "../identity/mod.ts";
import type { StreamOptions } from "../stream/mod.ts";
import type { DatagramSocket, Scheduler, TimerHandle } from "../udp/mod.ts";
import type { Endpoint } from "../wire/mod.ts";
import { PROGRESS_INTERVAL_MS, STALL_TIMEOUT_MS } from "./constants.ts";
import { checkFileName } from "./file_name.ts";
import { type Offer, Reason } from "./frames.ts";
import { type IncomingEvent, IncomingTransfer } from "./incoming.ts";
import {
  freeSpace as realFreeSpace,
  heldBytes,
  openPartFile,
  type PartFile,
} from "./part_file.ts";
import { formatBytes, RateMeter } from "./progress.ts";
import {
  type LinkEvent,
  type PeerSession,
  TransferNode,
} from "./transfer_node.ts";

/** What `receive` shows; `cmd/receive.ts` prints these. */
export type ReceiveEvent =
  | LinkEvent
  | {
    event: "offer";
    id: number;
    from: string;
    fingerprint: string;
    name: string;
    size: number;
    sha256: string;
  }
  | {
    event: "accepted";
    id: number;
    from: string;
    name: string;
    have: number;
    need: number;
    part: string;
  }
  | {
    event: "declined";
    id: number;
    from: string;
    name?: string;
    reason: string;
    message: string;
  }
  | {
    event: "progress";
    id: number;
    from: string;
    name: string;
    bytes: number;
    total: number;
    rate: number;
    eta_s?: number;
    via: "direct" | "relay";
  }
  | {
    event: "done";
    id: number;
    from: string;
    name: string;
    path: string;
    size: number;
    sha256: string;
    seconds: number;
    rate: number;
    resumed_from: number;
    via: "direct" | "relay";
  }
  | {
    event: "failed";
    id: number;
    from: string;
    name?: string;
    message: string;
    /** Whether the download was kept for a resume. */
    kept: boolean;
  }
  | {
    event: "suspended";
    id: number;
    from: string;
    name: string;
    message: string;
  };

/** What the owner is asked about an offer that passed every check. */
export interface OfferToDecide {
  id: number;
  from: string;
  fingerprint: string;
  offer: Offer;
  /** Bytes a partial download already holds (a resume). */
  held: number;
  /** Aborted when the sender gives up before the answer. */
  signal: AbortSignal;
}

/** The owner's answer. */
export type Decision =
  | { accept: true }
  | { accept: false; reason: Reason; text: string };

/** Options of {@linkcode ReceiveApp}. */
export interface ReceiveAppOptions {
  socket: DatagramSocket;
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

interface Entry {
  id: number;
  session: PeerSession;
  transfer: IncomingTransfer;
  meter: RateMeter;
  acceptedAt?: number;
  decision?: AbortController;
  ended: boolean;
}

const REASON_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Reason).map(([name, code]) => [code, name.toLowerCase()]),
);

/** Receiving files from whoever connects. */
export class ReceiveApp {
  readonly #options: ReceiveAppOptions;
  readonly #node: TransferNode;
  readonly #sessions = new Set<PeerSession>();
  readonly #seen = new WeakMap<PeerSession, Set<number>>();
  readonly #entries: Entry[] = [];
  #nextId = 1;
  #ticker: TimerHandle | undefined;
  #completed = 0;
  #failed = 0;
  #waiters: (() => void)[] = [];

  constructor(options: ReceiveAppOptions) {
    this.#options = options;
    this.#node = new TransferNode({
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
      onSession: (session) => {
        this.#sessions.add(session);
        this.#seen.set(session, new Set([0]));
      },
      onSessionEnded: (session) => this.#onSessionEnded(session),
      onActivity: () => this.#onActivity(),
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
    return this.#completed;
  }

  /** Transfers that failed or were declined. */
  get failed(): number {
    return this.#failed;
  }

  /** Transfers running (offered, deciding or receiving). */
  get active(): number {
    return this.#entries.filter((e) => !e.ended).length;
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
  async cancelAll(graceMs = 500): Promise<void> {
    const running = this.#entries.filter((e) => !e.ended);
    for (const entry of running) {
      entry.decision?.abort();
      entry.ended = true;
      await entry.transfer.cancel(
        Reason.CANCELLED,
        "the receiver stopped the transfer",
      );
    }
    this.#node.pump();
    await this.flush(graceMs);
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
  async flush(graceMs = 10_000): Promise<void> {
    const { scheduler } = this.#options;
    const deadline = scheduler.now() + graceMs;
    while (
      scheduler.now() < deadline &&
      this.#entries.some((e) =>
        e.transfer.stream.sender.isFinishing &&
        !e.transfer.stream.isSendFinished &&
        !e.session.ended
      )
    ) {
      await new Promise<void>((resolve) =>
        scheduler.setTimer(scheduler.now() + 20, resolve)
      );
    }
  }

  /** Says goodbye to the relay and closes the socket; keeps partial downloads. */
  async stop(): Promise<void> {
    if (this.#ticker !== undefined) {
      this.#options.scheduler.clearTimer(this.#ticker);
    }
    await this.#node.stop();
    await Promise.all(this.#entries.map((e) => e.transfer.suspend()));
  }

  #onSessionEnded(session: PeerSession) {
    this.#sessions.delete(session);
    for (const entry of this.#entries) {
      if (entry.session !== session || entry.ended) continue;
      this.#suspend(entry, `the connection to ${session.peer} ended`);
    }
  }

  #suspend(entry: Entry, message: string) {
    entry.ended = true;
    entry.decision?.abort();
    const offer = entry.transfer.offer;
    const receiving = entry.transfer.state === "receiving";
    entry.transfer.suspend();
    if (receiving && offer) {
      this.#options.onEvent({
        event: "suspended",
        id: entry.id,
        from: entry.session.peer,
        name: offer.name,
        message: `${message}; the partial download is kept for a resume`,
      });
    }
    this.#wake();
  }

  #onActivity() {
    for (const session of this.#sessions) {
      const seen = this.#seen.get(session)!;
      for (const stream of session.streams.streams()) {
        if (seen.has(stream.streamId)) continue;
        seen.add(stream.streamId);
        this.#open(session, stream);
      }
    }
    for (const entry of this.#entries) {
      if (!entry.ended || entry.transfer.finished) entry.transfer.pump();
    }
  }

  #open(session: PeerSession, stream: IncomingTransfer["stream"]) {
    const id = this.#nextId++;
    const entry: Entry = {
      id,
      session,
      meter: new RateMeter(),
      ended: false,
      transfer: undefined as unknown as IncomingTransfer,
    };
    entry.transfer = new IncomingTransfer(stream, {
      outDir: this.#options.outDir,
      force: this.#options.force,
      now: () => this.#options.scheduler.now(),
      openPart: (offer) =>
        this.#options.openPart?.(offer, session.peer) ??
          openPartFile(this.#options.outDir, offer, { from: session.peer }),
      onEvent: (event) => this.#onTransferEvent(entry, event),
    });
    this.#entries.push(entry);
  }

  #onTransferEvent(entry: Entry, event: IncomingEvent) {
    const from = entry.session.peer;
    const now = this.#options.scheduler.now();
    const name = entry.transfer.offer?.name;
    switch (event.type) {
      case "offer":
        void this.#onOffer(entry, event.offer);
        break;
      case "accepted":
        entry.acceptedAt = now;
        entry.meter.sample(now, event.have);
        this.#options.onEvent({
          event: "accepted",
          id: entry.id,
          from,
          name: name!,
          have: event.have,
          need: event.need,
          part: event.partPath,
        });
        break;
      case "declined":
        entry.ended = true;
        this.#failed++;
        this.#options.onEvent({
          event: "declined",
          id: entry.id,
          from,
          ...(name !== undefined ? { name } : {}),
          reason: REASON_NAMES[event.reason] ?? String(event.reason),
          message: event.text,
        });
        break;
      case "verifying":
        break;
      case "done": {
        entry.ended = true;
        this.#completed++;
        const offer = entry.transfer.offer!;
        const seconds = (now - (entry.acceptedAt ?? now)) / 1000;
        const moved = offer.size - entry.transfer.resumedFrom;
        this.#progress(entry, now, true);
        this.#options.onEvent({
          event: "done",
          id: entry.id,
          from,
          name: offer.name,
          path: event.path,
          size: offer.size,
          sha256: offer.sha256.toHex(),
          seconds,
          rate: seconds > 0 ? moved / seconds : 0,
          resumed_from: entry.transfer.resumedFrom,
          via: entry.session.path.via === "direct" ? "direct" : "relay",
        });
        break;
      }
      case "failed": {
        const wasEnded = entry.ended;
        entry.ended = true;
        entry.decision?.abort();
        if (wasEnded) break;
        this.#failed++;
        this.#options.onEvent({
          event: "failed",
          id: entry.id,
          from,
          ...(name !== undefined ? { name } : {}),
          message: event.by === "peer"
            ? `${from} stopped sending${name ? ` ${name}` : ""}: ${event.text}`
            : `Receiving${
              name ? ` ${name}` : ""
            } from ${from} failed: ${event.text}`,
          kept: entry.transfer.part !== undefined,
        });
        break;
      }
    }
    this.#wake();
  }

  async #onOffer(entry: Entry, offer: Offer) {
    const { session, transfer } = entry;
    const from = session.peer;
    this.#options.onEvent({
      event: "offer",
      id: entry.id,
      from,
      fingerprint: session.fingerprint ?? "",
      name: offer.name,
      size: offer.size,
      sha256: offer.sha256.toHex(),
    });
    const decline = (reason: Reason, text: string) => {
      transfer.decline(reason, text);
      this.#node.pump();
    };
    const badName = checkFileName(offer.name);
    if (badName) {
      return decline(
        Reason.BAD_NAME,
        `the file name ${JSON.stringify(offer.name)} is refused: ${badName}`,
      );
    }
    const { maxSize } = this.#options;
    if (maxSize !== undefined && offer.size > maxSize) {
      return decline(
        Reason.TOO_LARGE,
        `the file (${
          formatBytes(offer.size)
        }) is larger than the receiver's limit of ${formatBytes(maxSize)}`,
      );
    }
    if (!session.trusted) {
      return decline(
        Reason.UNTRUSTED,
        `the receiver has another key pinned for ${from}`,
      );
    }
    const same = this.#entries.filter((e) =>
      e !== entry && e.transfer.offer !== undefined &&
      sameContent(e.transfer.offer, offer)
    );
    const running = same.find((e) => !e.ended);
    if (running && running.session.peer !== from) {
      return decline(
        Reason.BUSY,
        `the receiver is already receiving this file from ${running.session.peer}`,
      );
    }
    // The same sender started again (a restart on a connection the receiver
    // kept, or a new circuit): the new attempt takes over the partial
    // download once the old one saved its progress and let go of the file.
    if (running) this.#suspend(running, `${from} started the transfer again`);
    await Promise.all(same.map((e) => e.transfer.suspend()));
    const held = heldBytes(this.#options.outDir, offer);
    let free: number;
    try {
      free = (this.#options.freeSpace ?? realFreeSpace)(this.#options.outDir);
    } catch {
      free = Infinity;
    }
    if (offer.size - held > free) {
      return decline(
        Reason.TOO_LARGE,
        `the file needs ${
          formatBytes(offer.size - held)
        } and the receiver has ${formatBytes(free)} free`,
      );
    }
    if (transfer.finished) return;
    entry.decision = new AbortController();
    let decision: Decision;
    try {
      decision = await this.#options.decide({
        id: entry.id,
        from,
        fingerprint: session.fingerprint ?? "",
        offer,
        held,
        signal: entry.decision.signal,
      });
    } catch (error) {
      decision = {
        accept: false,
        reason: Reason.DECLINED,
        text: `the receiver could not decide: ${(error as Error).message}`,
      };
    }
    entry.decision = undefined;
    if (transfer.finished || entry.ended) return;
    if (decision.accept) {
      transfer.accept();
      this.#node.pump();
    } else {
      decline(decision.reason, decision.text);
    }
  }

  #tick() {
    const now = this.#options.scheduler.now();
    const stall = this.#options.stallTimeoutMs ?? STALL_TIMEOUT_MS;
    for (const entry of this.#entries) {
      if (entry.ended) continue;
      const state = entry.transfer.state;
      if (state === "receiving") this.#progress(entry, now, false);
      if (
        (state === "receiving" || state === "awaiting-offer") &&
        now - entry.transfer.lastActivity >= stall
      ) {
        this.#suspend(
          entry,
          `no data from ${entry.session.peer} for ${
            Math.round(stall / 1000)
          } s`,
        );
      }
    }
    // Forget what ended, so a long-running receiver stays small.
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const entry = this.#entries[i];
      if (
        entry.ended && entry.transfer.settled &&
        (entry.transfer.stream.isSendFinished || entry.session.ended)
      ) {
        this.#entries.splice(i, 1);
      }
    }
    this.#ticker = this.#options.scheduler.setTimer(
      now + PROGRESS_INTERVAL_MS,
      () => this.#tick(),
    );
  }

  #progress(entry: Entry, now: number, final: boolean) {
    const offer = entry.transfer.offer;
    if (!offer) return;
    const bytes = final ? offer.size : entry.transfer.received;
    entry.meter.sample(now, bytes);
    const eta = entry.meter.eta(offer.size - bytes);
    this.#options.onEvent({
      event: "progress",
      id: entry.id,
      from: entry.session.peer,
      name: offer.name,
      bytes,
      total: offer.size,
      rate: Math.round(entry.meter.rate),
      ...(eta !== undefined ? { eta_s: Math.round(eta) } : {}),
      via: entry.session.path.via === "direct" ? "direct" : "relay",
    });
  }

  #wake() {
    const waiters = this.#waiters.splice(0);
    for (const waiter of waiters) waiter();
  }
}

function sameContent(a: Offer, b: Offer): boolean {
  return a.size === b.size && a.chunkSize === b.chunkSize &&
    a.sha256.toHex() === b.sha256.toHex();
}
