/**
 * The sending half of file transfer, apart from the network: one file
 * offered to one peer. Each session that carries it gets a new stream and
 * a new {@linkcode OutgoingTransfer} (the receiver resumes from what it
 * verified); progress is reported, and an offer nobody answers or a
 * transfer that stopped moving ends with a clear message.
 *
 * `altnet send` ({@linkcode SendApp}) runs one over a transfer node;
 * `altnet chat` one per `/send`, over the session of its chat.
 *
 * @module
 */

import type { Stream } from "../stream/mod.ts";
import type { Scheduler } from "../udp/mod.ts";
import { DECISION_TIMEOUT_MS, STALL_TIMEOUT_MS } from "./constants.ts";
import { type Offer, Reason } from "./frames.ts";
import { type OutgoingEvent, OutgoingTransfer } from "./outgoing.ts";
import { RateMeter } from "./progress.ts";
import type { ChunkSource } from "./source_file.ts";
import { pickStreamId } from "./stream_ids.ts";
import type { PeerSession } from "./transfer_node.ts";

/** What the sending side reports (docs/TRANSFER.md §9.1). */
export type OutgoingFileEvent =
  | { event: "offered"; peer: string; name: string; size: number }
  | { event: "accepted"; peer: string; have: number; need: number }
  | {
    event: "progress";
    bytes: number;
    total: number;
    rate: number;
    eta_s?: number;
    via: "direct" | "relay";
  }
  | {
    event: "done";
    name: string;
    size: number;
    sha256: string;
    seconds: number;
    rate: number;
    resumed_from: number;
    via: "direct" | "relay";
    /** Segments the stream sent again (loss repaired). */
    retransmits: number;
  };

/** How a send ended. */
export type SendOutcome =
  | { ok: true; sha256: string; seconds: number }
  | {
    ok: false;
    message: string;
    hint?: string;
    /** Set when the receiver declined the offer: its reason. */
    declined?: Reason;
  };

/** The advice given with a failure, for the command that shows it. */
export interface SendHints {
  /** The receiver never answered the offer. */
  decision: string;
  /** What to do to resume a transfer that stopped. */
  resume: string;
  /** After a refusal of this reason, if there is advice. */
  declined: (reason: Reason) => string | undefined;
}

/** The advice of `altnet send`. */
export const SEND_COMMAND_HINTS: SendHints = {
  decision: "check that they run 'altnet receive' and accept",
  resume: "run the same command again to resume",
  declined: (reason) => {
    switch (reason) {
      case Reason.NO_TERMINAL:
        return "ask them to run 'altnet receive' with --yes, or on a terminal";
      case Reason.BAD_NAME:
        return "rename the file and send it again";
      case Reason.UNTRUSTED:
        return "they pinned another key for your name; compare fingerprints";
      case Reason.BUSY:
        return "wait until their current transfer of this file ends";
      default:
        return undefined;
    }
  },
};

/** Options of {@linkcode OutgoingFile}. */
export interface OutgoingFileOptions {
  scheduler: Scheduler;
  /** Our static public key: it fixes the parity of our stream ids. */
  ourKey: Uint8Array;
  /** The receiver's name. */
  peer: string;
  /** What to offer (from `hashFile`). */
  offer: Offer;
  /** Opens the file's bytes; called once per attempt. */
  openSource: () => ChunkSource;
  /** Give up when no byte moved for this long; default 30 s. */
  stallTimeoutMs?: number;
  /** Give up when the receiver neither accepts nor declines; default 120 s. */
  decisionTimeoutMs?: number;
  /** Advice in failure messages; default {@linkcode SEND_COMMAND_HINTS}. */
  hints?: SendHints;
  /** Sends what the transfer wrote: the connection driver's pump. */
  flush: () => void;
  /**
   * No byte moved for `limitMs`: return true when the owner starts over on
   * a new session (the stall clock restarts), false to give up.
   */
  onStall?: (limitMs: number) => boolean;
  onEvent: (event: OutgoingFileEvent) => void;
  /** Called once, when the send succeeded or failed. */
  onOutcome?: (outcome: SendOutcome) => void;
}

/** One file going to one peer. */
export class OutgoingFile {
  readonly #options: OutgoingFileOptions;
  readonly #hints: SendHints;
  readonly #meter = new RateMeter();
  #transfer: OutgoingTransfer | undefined;
  #session: PeerSession | undefined;
  #outcome: SendOutcome | undefined;
  #waiters: (() => void)[] = [];
  #startedAt: number | undefined;
  #lastBytes = -1;
  #lastMoveAt = 0;
  #offeredAt = 0;

  constructor(options: OutgoingFileOptions) {
    this.#options = options;
    this.#hints = options.hints ?? SEND_COMMAND_HINTS;
  }

  /** What is offered. */
  get offer(): Offer {
    return this.#options.offer;
  }

  /** How it ended, once it did. */
  get outcome(): SendOutcome | undefined {
    return this.#outcome;
  }

  /** The transfer of the current attempt. */
  get transfer(): OutgoingTransfer | undefined {
    return this.#transfer;
  }

  /** Resolves when the send succeeded or failed. */
  finished(): Promise<SendOutcome> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.#outcome) resolve(this.#outcome);
        else this.#waiters.push(check);
      };
      check();
    });
  }

  /**
   * Offers the file on a new stream of `session` (a trusted one): the first
   * attempt, or a new one after the connection was replaced (the old
   * attempt is cancelled). Returns the stream, or undefined when the send
   * is already over. The `OFFER` is written, not sent: call the driver's
   * pump after (once the owner noted the stream as its own).
   */
  attach(session: PeerSession): Stream | undefined {
    if (this.#outcome || !session.key) return undefined;
    this.#session = session;
    const old = this.#transfer;
    this.#transfer = undefined;
    if (old && !old.finished) {
      // The old connection is gone, its stream with it (its events are
      // no longer listened to).
      old.cancel(Reason.CANCELLED, "the connection was replaced");
    }
    const streamId = pickStreamId(
      this.#options.ourKey,
      session.key,
      (id) => [...session.streams.streams()].some((s) => s.streamId === id),
    );
    const { offer } = this.#options;
    const stream = session.streams.get(streamId);
    const transfer = new OutgoingTransfer(
      stream,
      offer,
      this.#options.openSource(),
      (event) => {
        if (transfer !== this.#transfer) return;
        this.#onTransferEvent(event);
      },
    );
    this.#transfer = transfer;
    const now = this.#options.scheduler.now();
    this.#offeredAt = now;
    this.#lastMoveAt = now;
    this.#options.onEvent({
      event: "offered",
      peer: session.peer,
      name: offer.name,
      size: offer.size,
    });
    return stream;
  }

  /**
   * The session carrying the transfer is over: the transfer waits for the
   * next one (or times out).
   */
  detach(session: PeerSession): void {
    if (session === this.#session) this.#session = undefined;
  }

  /**
   * Moves the transfer: reads the receiver's frames, writes data. Call on
   * every pass of the connection driver.
   */
  pump(): void {
    const transfer = this.#transfer;
    if (!transfer) return;
    transfer.pump();
    const delivered = transfer.delivered;
    if (delivered !== this.#lastBytes) {
      this.#lastBytes = delivered;
      this.#lastMoveAt = this.#options.scheduler.now();
    }
  }

  /**
   * Progress events, and the watch for an offer nobody answers and a
   * transfer that stopped moving. Call every `PROGRESS_INTERVAL_MS`.
   */
  tick(now: number): void {
    const transfer = this.#transfer;
    if (this.#outcome || !transfer || transfer.finished) return;
    if (transfer.state === "offered") {
      const limit = this.#options.decisionTimeoutMs ?? DECISION_TIMEOUT_MS;
      if (now - this.#offeredAt >= limit) {
        this.#finish({
          ok: false,
          message:
            `${this.#options.peer} did not answer the offer of ${this.#options.offer.name} within ${
              Math.round(limit / 1000)
            } s`,
          hint: this.#hints.decision,
        });
      }
      return;
    }
    const stall = this.#options.stallTimeoutMs ?? STALL_TIMEOUT_MS;
    // Once everything is sent the receiver may re-read a large file from
    // its disk to check it: allow for that (10 MB/s at least).
    const limit = transfer.state === "sent"
      ? stall + this.#options.offer.size / 10_000
      : stall;
    if (now - this.#lastMoveAt >= limit) {
      if (this.#options.onStall?.(limit)) {
        this.#lastMoveAt = now;
      } else {
        const { name, size, sha256 } = this.#options.offer;
        const peer = this.#options.peer;
        this.#finish(
          transfer.state === "sent" && transfer.delivered === size
            ? {
              ok: false,
              message:
                `${peer} received every byte of ${name} but did not confirm it within ${
                  Math.round(limit / 1000)
                } s`,
              hint:
                `ask them whether ${name} arrived (sha256 ${sha256.toHex()}); sending again resumes if not`,
            }
            : {
              ok: false,
              message: `The transfer of ${name} stalled: no progress for ${
                Math.round(limit / 1000)
              } s`,
              hint: this.#hints.resume,
            },
        );
        return;
      }
    }
    this.#emitProgress(now);
  }

  /**
   * Stops the transfer (the user asked): tells the receiver, which keeps
   * what it has for a resume.
   */
  cancel(message: string, hint?: string): void {
    if (this.#outcome) return;
    this.#transfer?.cancel(Reason.CANCELLED, "the sender stopped the transfer");
    this.#options.flush();
    this.#finish({ ok: false, message, hint });
  }

  /**
   * Ends the send with a failure that is not the transfer's (the
   * connection failed); the receiver is told if it can still hear.
   */
  giveUp(message: string, hint?: string): void {
    this.#finish({ ok: false, message, hint });
  }

  #onTransferEvent(event: OutgoingEvent) {
    const { peer, offer } = this.#options;
    const now = this.#options.scheduler.now();
    switch (event.type) {
      case "accepted":
        this.#startedAt ??= now;
        this.#lastMoveAt = now;
        this.#meter.sample(now, event.have);
        this.#options.onEvent({
          event: "accepted",
          peer,
          have: event.have,
          need: event.need,
        });
        break;
      case "declined":
        this.#finish({
          ok: false,
          message: `${peer} declined ${offer.name}: ${event.text}`,
          hint: this.#hints.declined(event.reason),
          declined: event.reason,
        });
        break;
      case "done": {
        const seconds = (now - (this.#startedAt ?? now)) / 1000;
        const moved = offer.size - (this.#transfer?.resumedFrom ?? 0);
        this.#emitProgress(now);
        const sha256 = offer.sha256.toHex();
        this.#options.onEvent({
          event: "done",
          name: offer.name,
          size: offer.size,
          sha256,
          seconds,
          rate: seconds > 0 ? moved / seconds : 0,
          resumed_from: this.#transfer?.resumedFrom ?? 0,
          via: this.#via(),
          retransmits: this.#transfer?.stream.stats.retransmits ?? 0,
        });
        this.#finish({ ok: true, sha256, seconds });
        break;
      }
      case "failed":
        this.#finish({
          ok: false,
          message: event.by === "peer"
            ? `${peer} stopped the transfer of ${offer.name}: ${event.text}`
            : `The transfer of ${offer.name} failed: ${event.text}`,
          hint:
            event.reason === Reason.DISK || event.reason === Reason.CANCELLED ||
              event.reason === Reason.VERIFY_FAILED
              ? this.#hints.resume
              : undefined,
        });
        break;
    }
  }

  #emitProgress(now: number) {
    const transfer = this.#transfer;
    if (!transfer) return;
    const bytes = transfer.delivered;
    this.#meter.sample(now, bytes);
    const total = this.#options.offer.size;
    const eta = this.#meter.eta(total - bytes);
    this.#options.onEvent({
      event: "progress",
      bytes,
      total,
      rate: Math.round(this.#meter.rate),
      ...(eta !== undefined ? { eta_s: Math.round(eta) } : {}),
      via: this.#via(),
    });
  }

  #via(): "direct" | "relay" {
    return this.#session?.path.via === "direct" ? "direct" : "relay";
  }

  #finish(outcome: SendOutcome) {
    if (this.#outcome) return;
    this.#outcome = outcome;
    if (!outcome.ok && this.#transfer && !this.#transfer.finished) {
      this.#transfer.cancel(Reason.CANCELLED, outcome.message);
      this.#options.flush();
    }
    this.#options.onOutcome?.(outcome);
    const waiters = this.#waiters.splice(0);
    for (const waiter of waiters) waiter();
  }
}
