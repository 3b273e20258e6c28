/**
 * Files inside a chat (`/send PATH`): each one travels on its own stream of
 * the chat's connection, beside the messages on stream 0, with the offer,
 * chunk hashes, `.part` files and resume of `lib/transfer`
 * (docs/TRANSFER.md). Our files go out through {@linkcode OutgoingFile}s;
 * the streams the peer opens are its offers, taken by
 * {@linkcode IncomingTransfers}.
 *
 * @module
 */

import { MAX_STREAMS } from "../peer/stream_set.ts";
import {
  type Decision,
  FileSource,
  hashFile,
  type IncomingTransferEvent,
  IncomingTransfers,
  type Offer,
  type OfferToDecide,
  OutgoingFile,
  type PartFile,
  type PeerSession,
  PROGRESS_INTERVAL_MS,
  Reason,
  reasonName,
  type SendHints,
  type SendOutcome,
} from "../transfer/mod.ts";
import type { Scheduler, TimerHandle } from "../udp/mod.ts";

/**
 * A transfer event of the chat: the events of `altnet send` and `altnet
 * receive` (docs/TRANSFER.md §9.1), each with the transfer's `id` (one
 * numbering for both directions) and its `direction`. Our own files name
 * the `peer`, the peer's name `from`.
 */
export type ChatTransferEvent =
  | {
    event: "offered";
    direction: "send";
    id: number;
    peer: string;
    name: string;
    size: number;
    sha256: string;
  }
  | {
    event: "accepted";
    direction: "send";
    id: number;
    peer: string;
    name: string;
    have: number;
    need: number;
  }
  | {
    event: "declined";
    direction: "send";
    id: number;
    peer: string;
    name: string;
    reason: string;
    message: string;
    hint?: string;
  }
  | {
    event: "progress";
    direction: "send";
    id: number;
    peer: string;
    name: string;
    bytes: number;
    total: number;
    rate: number;
    eta_s?: number;
    via: "direct" | "relay";
  }
  | {
    event: "done";
    direction: "send";
    id: number;
    peer: string;
    name: string;
    size: number;
    sha256: string;
    seconds: number;
    rate: number;
    resumed_from: number;
    via: "direct" | "relay";
    retransmits: number;
  }
  | {
    event: "failed";
    direction: "send";
    id: number;
    peer: string;
    name: string;
    message: string;
    hint?: string;
  }
  | (IncomingTransferEvent & { direction: "receive" });

/** Options of {@linkcode ChatTransfers}. */
export interface ChatTransfersOptions {
  scheduler: Scheduler;
  /** Our static public key (the parity of our stream ids). */
  ourKey: Uint8Array;
  /** The chat's peer. */
  peer: string;
  /** Where received files go. */
  outDir: string;
  /** Decides an offer of the peer that passed every check. */
  decide: (offer: OfferToDecide) => Promise<Decision>;
  /** Advice in the failure messages of our sends. */
  hints?: SendHints;
  /** Give up a transfer that moved no byte for this long; default 30 s. */
  stallTimeoutMs?: number;
  /** Give up an offer the peer does not answer; default 120 s. */
  decisionTimeoutMs?: number;
  /** Refuse files larger than this. */
  maxSize?: number;
  /** Free bytes in a folder; default statfs. */
  freeSpace?: (dir: string) => number;
  /** Opens a partial download; default `openPartFile` in `outDir`. */
  openPart?: (offer: Offer, from: string) => PartFile;
  /** Sends what was written: the node's pump. */
  flush: () => void;
  onEvent: (event: ChatTransferEvent) => void;
  /** Called after anything changed. */
  onChange: () => void;
}

/** Advice for a chat's own sends. */
export const CHAT_SEND_HINTS: SendHints = {
  decision: "they did not /accept it; send it again when they are there",
  resume: "send it again with /send: it resumes where it stopped",
  declined: (reason) => {
    switch (reason) {
      case Reason.NO_TERMINAL:
        return "ask them to run chat with --accept-files, or on a terminal";
      case Reason.BAD_NAME:
        return "rename the file and send it again";
      case Reason.BUSY:
        return "wait until their current transfer of this file ends";
      default:
        return undefined;
    }
  },
};

interface Sending {
  id: number;
  file: OutgoingFile;
  /** Whether it was offered on the session yet. */
  attached: boolean;
}

/** The files of one chat, both ways. */
export class ChatTransfers {
  readonly #options: ChatTransfersOptions;
  readonly #incoming: IncomingTransfers;
  readonly #sending: Sending[] = [];
  readonly #failures: string[] = [];
  #session: PeerSession | undefined;
  #ticker: TimerHandle | undefined;
  #nextId = 1;
  #stopped = false;

  constructor(options: ChatTransfersOptions) {
    this.#options = options;
    this.#incoming = new IncomingTransfers({
      scheduler: options.scheduler,
      outDir: options.outDir,
      maxSize: options.maxSize,
      decide: options.decide,
      stallTimeoutMs: options.stallTimeoutMs,
      freeSpace: options.freeSpace,
      openPart: options.openPart,
      flush: options.flush,
      nextId: () => this.#nextId++,
      onEvent: (event) =>
        options.onEvent(
          { ...event, direction: "receive" } as ChatTransferEvent,
        ),
      onChange: options.onChange,
    });
  }

  /** Starts the progress clock. */
  start(): void {
    this.#tick();
  }

  /**
   * The session with the peer is up (its key is trusted): files queued
   * before are offered now, and the peer's streams become its offers.
   */
  onSession(session: PeerSession): void {
    if (this.#session === session) return;
    if (this.#session) this.#incoming.endSession(this.#session);
    this.#session = session;
    this.#incoming.addSession(session);
    for (const sending of this.#sending) {
      if (!sending.file.outcome) this.#attach(sending);
    }
  }

  /**
   * The connection carrying the session was replaced (the peer restarted,
   * the relay closed the circuit): the peer's files on their way are
   * suspended (their partial downloads kept), ours on their way fail with
   * the reason, and resume by chunk hashes when sent again. Files not yet
   * offered wait for the next session.
   */
  endSession(): void {
    const session = this.#session;
    if (!session) return;
    this.#session = undefined;
    session.ended = true;
    this.#incoming.endSession(session);
    const { peer } = this.#options;
    const hints = this.#options.hints ?? CHAT_SEND_HINTS;
    for (const sending of this.#sending) {
      if (!sending.attached || sending.file.outcome) continue;
      sending.file.detach(session);
      sending.file.giveUp(
        `The transfer of ${sending.file.offer.name} stopped: the connection to ${peer} was replaced (it restarted, or the relay closed the circuit)`,
        hints.resume,
      );
    }
    this.#options.onChange();
  }

  /**
   * Hashes the file at `path` and offers it to the peer (at once when the
   * session is up, else once it is); resolves with the transfer's id.
   *
   * @throws {Error} One sentence when the file cannot be sent (missing,
   * unreadable, a folder), or the connection has no free stream left.
   */
  async sendFile(path: string): Promise<number> {
    if (this.#stopped) throw new Error("Cannot send a file: the chat stopped");
    const session = this.#session;
    if (session && [...session.streams.streams()].length >= MAX_STREAMS) {
      throw new Error(
        `Cannot send another file in this chat: the connection has used its ${MAX_STREAMS} streams; start the chat again`,
      );
    }
    let offer: Offer;
    try {
      const info = await Deno.stat(path);
      if (!info.isFile) {
        throw new Error(info.isDirectory ? "it is a folder" : "not a file");
      }
      offer = await hashFile(path);
      // Opened now and closed, so a file we cannot open fails here and not
      // in the middle of the transfer.
      Deno.openSync(path, { read: true }).close();
    } catch (error) {
      throw new Error(`Cannot send ${path}: ${describeFileError(error)}`);
    }
    const id = this.#nextId++;
    const sending: Sending = {
      id,
      attached: false,
      file: undefined as unknown as OutgoingFile,
    };
    const { peer, scheduler } = this.#options;
    sending.file = new OutgoingFile({
      scheduler,
      ourKey: this.#options.ourKey,
      peer,
      offer,
      openSource: () => new FileSource(Deno.openSync(path, { read: true })),
      stallTimeoutMs: this.#options.stallTimeoutMs,
      decisionTimeoutMs: this.#options.decisionTimeoutMs,
      hints: this.#options.hints ?? CHAT_SEND_HINTS,
      flush: this.#options.flush,
      onEvent: (event) => {
        const common = { direction: "send", id, peer, name: offer.name };
        switch (event.event) {
          case "offered":
            this.#options.onEvent({
              event: "offered",
              direction: "send",
              id,
              peer,
              name: offer.name,
              size: offer.size,
              sha256: offer.sha256.toHex(),
            });
            break;
          case "accepted":
          case "progress":
          case "done":
            this.#options.onEvent(
              { ...event, ...common } as ChatTransferEvent,
            );
            break;
        }
      },
      onOutcome: (outcome) => this.#onOutcome(sending, outcome),
    });
    this.#sending.push(sending);
    if (this.#session) this.#attach(sending);
    this.#options.onChange();
    return id;
  }

  /**
   * Whether a file is on its way: ours offered or moving, or the peer's
   * being decided or received. Messages may still be pending.
   */
  get moving(): boolean {
    return this.#incoming.active > 0 ||
      this.#sending.some((s) => s.attached && !s.file.outcome);
  }

  /** Whether a file of ours waits for a session, or is on its way. */
  get sending(): boolean {
    return this.#sending.some((s) => !s.file.outcome);
  }

  /** Why each of our files that did not arrive failed, in order. */
  get failures(): readonly string[] {
    return this.#failures;
  }

  /** Files of ours the peer confirmed. */
  get sent(): number {
    return this.#sending.filter((s) => s.file.outcome?.ok).length;
  }

  /** Files of the peer received and in place. */
  get received(): number {
    return this.#incoming.completed;
  }

  /**
   * Moves every transfer. Call on every pass of the node's driver, before
   * it sends.
   */
  pump(): void {
    this.#incoming.pump();
    for (const sending of this.#sending) {
      if (sending.attached && !sending.file.outcome) sending.file.pump();
    }
  }

  /**
   * Waits up to `graceMs` until the peer acknowledged our last words on
   * its transfers (`DONE`, `DECLINE`, `ERROR`).
   */
  settle(graceMs: number): Promise<void> {
    return this.#incoming.settle(graceMs);
  }

  /**
   * Stops every transfer (the chat ends): the peer is told, partial
   * downloads are kept for a resume. Waits up to `graceMs` for the peer
   * to hear it (on the scheduler's clock: 0 in virtual time).
   */
  async stop(graceMs = 0): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#ticker !== undefined) {
      this.#options.scheduler.clearTimer(this.#ticker);
    }
    for (const sending of this.#sending) {
      sending.file.cancel("Stopped the transfer: the chat ended");
    }
    await this.#incoming.cancelAll(graceMs);
  }

  /** After the node stopped: closes every partial download. */
  async close(): Promise<void> {
    if (this.#session) {
      this.#session.ended = true;
      this.#incoming.endSession(this.#session);
    }
    await this.#incoming.suspendAll();
  }

  #attach(sending: Sending) {
    const session = this.#session!;
    const stream = sending.file.attach(session);
    if (!stream) return;
    this.#incoming.claim(session, stream.streamId);
    sending.attached = true;
    this.#options.flush();
  }

  #onOutcome(sending: Sending, outcome: SendOutcome) {
    const { peer } = this.#options;
    const name = sending.file.offer.name;
    if (!outcome.ok) {
      this.#failures.push(outcome.message);
      if (outcome.declined !== undefined) {
        this.#options.onEvent({
          event: "declined",
          direction: "send",
          id: sending.id,
          peer,
          name,
          reason: reasonName(outcome.declined),
          message: outcome.message,
          ...(outcome.hint ? { hint: outcome.hint } : {}),
        });
      } else {
        this.#options.onEvent({
          event: "failed",
          direction: "send",
          id: sending.id,
          peer,
          name,
          message: outcome.message,
          ...(outcome.hint ? { hint: outcome.hint } : {}),
        });
      }
    }
    this.#options.onChange();
  }

  #tick() {
    if (this.#stopped) return;
    const now = this.#options.scheduler.now();
    this.#incoming.tick(now);
    for (const sending of this.#sending) {
      if (sending.attached) sending.file.tick(now);
    }
    this.#ticker = this.#options.scheduler.setTimer(
      now + PROGRESS_INTERVAL_MS,
      () => this.#tick(),
    );
  }
}

function describeFileError(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) {
    return "permission denied";
  }
  if (error instanceof Deno.errors.IsADirectory) return "it is a folder";
  return (error as Error).message;
}
