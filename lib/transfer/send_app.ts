/**
 * `altnet send` without its terminal: connect to one peer, offer one file on
 * a new stream, send what the receiver lacks, and finish when it confirms
 * the file is verified and in place. Starts over on a new connection (the
 * receiver resumes) when the relay circuit had to be replaced. Socket,
 * clock and file are the caller's.
 *
 * @module
 */

import type { KeyPair } from "../crypto/noise/mod.ts";
import type { TrustStore } from "../identity/mod.ts";
import type { StreamOptions } from "../stream/mod.ts";
import type { DatagramSocket, Scheduler, TimerHandle } from "../udp/mod.ts";
import type { Endpoint } from "../wire/mod.ts";
import {
  DECISION_TIMEOUT_MS,
  PROGRESS_INTERVAL_MS,
  STALL_TIMEOUT_MS,
} from "./constants.ts";
import { type Offer, Reason } from "./frames.ts";
import { OutgoingTransfer } from "./outgoing.ts";
import { RateMeter } from "./progress.ts";
import type { ChunkSource } from "./source_file.ts";
import { pickStreamId } from "./stream_ids.ts";
import {
  type LinkEvent,
  type PeerSession,
  TransferNode,
} from "./transfer_node.ts";

/** What `send` shows; `cmd/send.ts` prints these. */
export type SendEvent =
  | LinkEvent
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

/** Options of {@linkcode SendApp}. */
export interface SendAppOptions {
  socket: DatagramSocket;
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

/** How a send ended. */
export type SendOutcome =
  | { ok: true; sha256: string; seconds: number }
  | { ok: false; message: string; hint?: string };

/** Sending one file to one peer. */
export class SendApp {
  readonly #options: SendAppOptions;
  readonly #node: TransferNode;
  readonly #meter = new RateMeter();
  #transfer: OutgoingTransfer | undefined;
  #session: PeerSession | undefined;
  #outcome: SendOutcome | undefined;
  #waiters: (() => void)[] = [];
  #ticker: TimerHandle | undefined;
  #startedAt: number | undefined;
  #lastBytes = -1;
  #lastMoveAt = 0;
  #offeredAt = 0;
  /** Whether a stall already made us start over once. */
  #retriedStall = false;

  constructor(options: SendAppOptions) {
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
      peer: options.peer,
      hints: options.hints,
      streamOptions: options.streamOptions,
      wantsConnection: () => this.#outcome === undefined,
      onEvent: (event) => this.#onLinkEvent(event),
      onSession: (session) => this.#onSession(session),
      onSessionEnded: (session) => {
        if (session === this.#session) this.#session = undefined;
      },
      onActivity: () => this.#onActivity(),
    });
  }

  /** Registers at the relay and looks for the peer. */
  start(): void {
    this.#node.start();
    this.#tick();
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
   * Stops the transfer (the user pressed Ctrl-C): tells the receiver, which
   * keeps what it has for a resume.
   */
  cancel(): void {
    if (this.#outcome) return;
    this.#transfer?.cancel(Reason.CANCELLED, "the sender stopped the transfer");
    this.#node.pump();
    this.#finish({
      ok: false,
      message: "Stopped the transfer",
      hint: "run the same command again to resume",
    });
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
    if (event.event === "fatal") {
      this.#options.onEvent(event);
      this.#finish({ ok: false, message: event.message, hint: event.hint });
      return;
    }
    this.#options.onEvent(event);
  }

  #onSession(session: PeerSession) {
    if (!session.trusted || this.#outcome) return;
    this.#session = session;
    const old = this.#transfer;
    this.#transfer = undefined;
    if (old && !old.finished) {
      // The old connection is gone, its stream with it (its events are
      // no longer listened to).
      old.cancel(Reason.CANCELLED, "the connection was replaced");
    }
    const streamId = pickStreamId(
      this.#options.staticKeyPair.publicKey,
      session.key!,
      (id) => [...session.streams.streams()].some((s) => s.streamId === id),
    );
    const { offer } = this.#options;
    const transfer = new OutgoingTransfer(
      session.streams.get(streamId),
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
    this.#node.pump();
  }

  #onTransferEvent(
    event: Parameters<ConstructorParameters<typeof OutgoingTransfer>[3]>[0],
  ) {
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
          hint: declineHint(event.reason),
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
              ? "run the same command again to resume"
              : undefined,
        });
        break;
    }
  }

  #onActivity() {
    const transfer = this.#transfer;
    if (!transfer) return;
    transfer.pump();
    const delivered = transfer.delivered;
    if (delivered !== this.#lastBytes) {
      this.#lastBytes = delivered;
      this.#lastMoveAt = this.#options.scheduler.now();
    }
  }

  /** Progress events, and the watch for a transfer that stopped moving. */
  #tick() {
    if (this.#outcome) return;
    const now = this.#options.scheduler.now();
    this.#node.checkSession(now);
    const transfer = this.#transfer;
    if (transfer && !transfer.finished) {
      const stall = this.#options.stallTimeoutMs ?? STALL_TIMEOUT_MS;
      if (transfer.state === "offered") {
        const limit = this.#options.decisionTimeoutMs ?? DECISION_TIMEOUT_MS;
        if (now - this.#offeredAt >= limit) {
          this.#finish({
            ok: false,
            message: `${this.#options.peer} did not answer the offer within ${
              Math.round(limit / 1000)
            } s`,
            hint: "check that they run 'altnet receive' and accept",
          });
          return;
        }
      } else {
        // Once everything is sent the receiver may re-read a large file
        // from its disk to check it: allow for that (10 MB/s at least).
        const limit = transfer.state === "sent"
          ? stall + this.#options.offer.size / 10_000
          : stall;
        if (now - this.#lastMoveAt >= limit && !this.#retriedStall) {
          // The other end may have restarted on a circuit we still hold:
          // start over once on a new one before giving up.
          this.#retriedStall = true;
          this.#lastMoveAt = now;
          this.#options.onEvent({
            event: "waiting",
            peer: this.#options.peer,
            reason: `no progress for ${
              Math.round(limit / 1000)
            } s: connecting again`,
          });
          this.#node.reconnect();
        } else if (now - this.#lastMoveAt >= limit) {
          const { name, size } = this.#options.offer;
          this.#finish(
            transfer.state === "sent" && transfer.delivered === size
              ? {
                ok: false,
                message:
                  `${this.#options.peer} received every byte of ${name} but did not confirm it within ${
                    Math.round(limit / 1000)
                  } s`,
                hint:
                  `ask them whether ${name} arrived (sha256 ${this.#options.offer.sha256.toHex()}); running again resumes if not`,
              }
              : {
                ok: false,
                message: `The transfer of ${name} stalled: no progress for ${
                  Math.round(limit / 1000)
                } s`,
                hint: "run the same command again to resume where it stopped",
              },
          );
          return;
        }
        this.#emitProgress(now);
      }
    }
    this.#ticker = this.#options.scheduler.setTimer(
      now + PROGRESS_INTERVAL_MS,
      () => this.#tick(),
    );
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
      this.#node.pump();
    }
    const waiters = this.#waiters.splice(0);
    for (const waiter of waiters) waiter();
  }
}

function declineHint(reason: Reason): string | undefined {
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
}
