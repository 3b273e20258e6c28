/**
 * The receiving half of file transfer, apart from the network: every stream
 * a peer opens on a session is a transfer. Each offer is checked (name,
 * size, free space, key, the same file from another peer), put to the
 * owner's decision, then received, verified and put in place; progress is
 * reported and a transfer that stopped moving is suspended. Several
 * transfers may run at once, over several sessions.
 *
 * `altnet receive` ({@linkcode ReceiveApp}) runs one over the sessions of a
 * transfer node; `altnet chat` over the one session of its chat.
 *
 * @module
 */

import type { Scheduler } from "../udp/mod.ts";
import { STALL_TIMEOUT_MS } from "./constants.ts";
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
import type { PeerSession } from "./transfer_node.ts";

/** What the receiving side reports (docs/TRANSFER.md §9.1). */
export type IncomingTransferEvent =
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

/** Options of {@linkcode IncomingTransfers}. */
export interface IncomingTransfersOptions {
  scheduler: Scheduler;
  /** Where files go. */
  outDir: string;
  /** Replace existing files of the same name. */
  force?: boolean;
  /** Refuse files larger than this. */
  maxSize?: number;
  /** Decides an offer that passed every check. */
  decide: (offer: OfferToDecide) => Promise<Decision>;
  /** Suspend a transfer after this long without data; default 30 s. */
  stallTimeoutMs?: number;
  /** Free bytes in a folder; default statfs. */
  freeSpace?: (dir: string) => number;
  /** Opens a partial download; default `openPartFile` in `outDir`. */
  openPart?: (offer: Offer, from: string) => PartFile;
  /** Sends what the transfers wrote: the connection driver's pump. */
  flush: () => void;
  /** Numbers the transfers (shared with the owner's own); default 1, 2, 3… */
  nextId?: () => number;
  onEvent: (event: IncomingTransferEvent) => void;
  /** Called after anything changed: an event, a transfer suspended. */
  onChange?: () => void;
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

/** The §2.4 name of a reason in lower case (`no_terminal`), for `--json`. */
export function reasonName(reason: Reason): string {
  return REASON_NAMES[reason] ?? String(reason);
}

const REASON_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Reason).map(([name, code]) => [code, name.toLowerCase()]),
);

/** The transfers peers open to us. */
export class IncomingTransfers {
  readonly #options: IncomingTransfersOptions;
  readonly #sessions = new Set<PeerSession>();
  /** Stream ids of each session already taken (as transfers, or claimed). */
  readonly #seen = new WeakMap<PeerSession, Set<number>>();
  readonly #entries: Entry[] = [];
  #nextId = 1;
  #completed = 0;
  #failed = 0;

  constructor(options: IncomingTransfersOptions) {
    this.#options = options;
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

  /**
   * From now on, every stream the peer opens on `session` is a transfer;
   * stream 0 (chat's) never is.
   */
  addSession(session: PeerSession): void {
    this.#sessions.add(session);
    if (!this.#seen.has(session)) this.#seen.set(session, new Set([0]));
  }

  /**
   * Marks a stream of `session` as not a transfer to us: one we opened
   * ourselves to send a file.
   */
  claim(session: PeerSession, streamId: number): void {
    this.#seen.get(session)?.add(streamId);
  }

  /**
   * The session is over (replaced or stopped): its running transfers are
   * suspended, their partial downloads kept for a resume.
   */
  endSession(session: PeerSession): void {
    this.#sessions.delete(session);
    for (const entry of this.#entries) {
      if (entry.session !== session || entry.ended) continue;
      this.#suspend(entry, `the connection to ${session.peer} ended`);
    }
  }

  /**
   * Finds the streams peers opened since the last call and moves every
   * transfer. Call on every pass of the connection driver.
   */
  pump(): void {
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

  /**
   * Progress events, and the watch for transfers that stopped moving.
   * Call every `PROGRESS_INTERVAL_MS`.
   */
  tick(now: number): void {
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
    this.#options.flush();
    await this.settle(graceMs);
  }

  /**
   * Waits up to `graceMs` until the senders acknowledged our last words
   * (`DONE`, `DECLINE`, `ERROR`): call before stopping, or a sender may
   * never learn that its file arrived.
   */
  async settle(graceMs = 10_000): Promise<void> {
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

  /** Saves progress and closes every partial download (the node stopped). */
  async suspendAll(): Promise<void> {
    await Promise.all(this.#entries.map((e) => e.transfer.suspend()));
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
    this.#options.onChange?.();
  }

  #open(session: PeerSession, stream: IncomingTransfer["stream"]) {
    const id = this.#options.nextId?.() ?? this.#nextId++;
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
          reason: reasonName(event.reason),
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
    this.#options.onChange?.();
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
      this.#options.flush();
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
      this.#options.flush();
    } else {
      decline(decision.reason, decision.text);
    }
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
}

function sameContent(a: Offer, b: Offer): boolean {
  return a.size === b.size && a.chunkSize === b.chunkSize &&
    a.sha256.toHex() === b.sha256.toHex();
}
