/**
 * Test-only: a simulated one-way link (propagation delay, a bottleneck of
 * fixed rate with a drop-tail buffer, seeded random loss, reordering and
 * duplication) and a virtual-time driver that connects streams of two peers
 * through a pair of such links. Messages cross the links as their real wire
 * encoding, so every message the streams produce is also checked against the
 * codec.
 *
 * @module
 */

import {
  AEAD_TAG_SIZE,
  decodeMessage,
  encodeMessage,
  MessageKind,
  type StreamAckMessage,
  type StreamDataMessage,
  TRANSPORT_HEADER_SIZE,
} from "../wire/mod.ts";
import { Stream, type StreamOptions } from "./stream.ts";
import { earliest } from "./timers.ts";

/** Bytes a `TRANSPORT` packet adds around an inner message (header + tag). */
export const TRANSPORT_OVERHEAD: number = TRANSPORT_HEADER_SIZE +
  AEAD_TAG_SIZE;

/**
 * A deterministic pseudo-random generator in [0, 1) (mulberry32), so that a
 * failing seed can be replayed.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options of {@linkcode SimulatedLink}. */
export interface SimulatedLinkOptions {
  /** One-way propagation delay in milliseconds. */
  delayMs: number;
  /** Bottleneck rate in bytes per millisecond; unlimited by default. */
  bytesPerMs?: number;
  /** Drop-tail queue ahead of the bottleneck, in bytes; unlimited by default. */
  bufferBytes?: number;
  /** Probability that a packet is lost after the bottleneck. */
  loss?: number;
  /** Probability that a packet arrives twice. */
  duplicate?: number;
  /** Probability that a packet is held back by `reorderDelayMs`. */
  reorder?: number;
  /** How long a reordered packet is held back; defaults to 5 ms. */
  reorderDelayMs?: number;
  /** Uniform extra delay in [0, jitterMs) per packet (reorders too). */
  jitterMs?: number;
  /** Seed of the random generator. */
  seed?: number;
  /**
   * Bytes the link adds to each packet's length to get its size on the
   * wire. Defaults to {@linkcode TRANSPORT_OVERHEAD}: the packets are inner
   * messages, sealed in `TRANSPORT` packets on a real path.
   */
  overheadBytes?: number;
  /**
   * Drops exactly the packets for which this returns true; `index` counts
   * the packets offered to the link from 0. For exact loss scenarios.
   */
  dropIf?: (index: number, packet: Uint8Array) => boolean;
}

/** What a {@linkcode SimulatedLink} did. */
export interface SimulatedLinkStats {
  /** Packets offered. */
  sent: number;
  /** Packets handed out by `receive`, duplicates included. */
  delivered: number;
  /** Packets lost at random. */
  lost: number;
  /** Packets dropped because the bottleneck buffer was full. */
  queueDrops: number;
  /** Extra copies made. */
  duplicated: number;
  /** Packets held back to arrive out of order. */
  reordered: number;
  /** Bytes that crossed the bottleneck. */
  bytesCarried: number;
}

interface InTransit {
  at: number;
  seq: number;
  packet: Uint8Array;
}

/**
 * A one-way link for tests: packets enter a drop-tail queue, leave it at the
 * bottleneck rate, may be lost, duplicated or held back, and arrive after the
 * propagation delay. Changing the delay affects packets sent afterwards
 * only, as when a path switches.
 */
export class SimulatedLink {
  #options: SimulatedLinkOptions;
  #random: () => number;
  #busyUntil = 0;
  #heap: InTransit[] = [];
  #seq = 0;
  #stats: SimulatedLinkStats = {
    sent: 0,
    delivered: 0,
    lost: 0,
    queueDrops: 0,
    duplicated: 0,
    reordered: 0,
    bytesCarried: 0,
  };

  /** Makes a link; see {@linkcode SimulatedLinkOptions}. */
  constructor(options: SimulatedLinkOptions) {
    this.#options = { ...options };
    this.#random = seededRandom(options.seed ?? 1);
  }

  /** A snapshot of the counters. */
  get stats(): SimulatedLinkStats {
    return { ...this.#stats };
  }

  /** Sets the one-way delay for packets sent from now on. */
  setDelay(delayMs: number): void {
    this.#options.delayMs = delayMs;
  }

  /**
   * Moves to another path: packets sent from now on see `changes` applied
   * and a queue of their own, while those already on the old path still
   * arrive as scheduled, unless `oldPathDies`.
   */
  switchPath(
    changes: Partial<SimulatedLinkOptions>,
    now: number,
    options: { oldPathDies?: boolean } = {},
  ): void {
    this.#options = { ...this.#options, ...changes };
    this.#busyUntil = now;
    if (options.oldPathDies) {
      this.#stats.lost += this.#heap.length;
      this.#heap = [];
    }
  }

  /** Offers a packet at `now`. */
  send(packet: Uint8Array, now: number): void {
    const o = this.#options;
    const size = packet.length + (o.overheadBytes ?? TRANSPORT_OVERHEAD);
    const index = this.#stats.sent++;
    if (o.dropIf?.(index, packet)) {
      this.#stats.lost++;
      return;
    }
    const rate = o.bytesPerMs ?? Infinity;
    let departure = now;
    if (rate !== Infinity) {
      const backlog = Math.max(0, this.#busyUntil - now) * rate;
      if (backlog + size > (o.bufferBytes ?? Infinity)) {
        this.#stats.queueDrops++;
        return;
      }
      departure = Math.max(now, this.#busyUntil) + size / rate;
      this.#busyUntil = departure;
    }
    this.#stats.bytesCarried += size;
    if (this.#random() < (o.loss ?? 0)) {
      this.#stats.lost++;
      return;
    }
    let at = departure + o.delayMs;
    if (o.jitterMs) at += this.#random() * o.jitterMs;
    if (this.#random() < (o.reorder ?? 0)) {
      this.#stats.reordered++;
      at += o.reorderDelayMs ?? 5;
    }
    this.#push(at, packet);
    if (this.#random() < (o.duplicate ?? 0)) {
      this.#stats.duplicated++;
      this.#push(at + this.#random() * 2, packet);
    }
  }

  /** When the next packet arrives, if any is in transit. */
  nextArrival(): number | undefined {
    return this.#heap[0]?.at;
  }

  /** The next packet that arrived at or before `now`, if any. */
  receive(now: number): Uint8Array | undefined {
    const top = this.#heap[0];
    if (top === undefined || top.at > now) return undefined;
    this.#pop();
    this.#stats.delivered++;
    return top.packet;
  }

  #push(at: number, packet: Uint8Array): void {
    const heap = this.#heap;
    heap.push({ at, seq: this.#seq++, packet });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l], heap[m])) m = l;
      if (r < heap.length && before(heap[r], heap[m])) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  }
}

function before(a: InTransit, b: InTransit): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Options of {@linkcode StreamSimulation.run}. */
export interface RunOptions {
  /** Stop once this returns true (checked after each step's sends). */
  done: (now: number) => boolean;
  /**
   * The applications' turn at each step: write, read, change links. May
   * return when it wants its next turn, in virtual ms, if no packet or
   * stream timer comes sooner.
   */
  tick?: (now: number) => number | void;
  /** Throw if virtual time passes this, in milliseconds. */
  limitMs: number;
}

/**
 * Two peers, each with streams, joined by a link each way. Virtual time
 * jumps from event to event (an arrival or a stream timer).
 */
export class StreamSimulation {
  /** Virtual time, in milliseconds. */
  now = 0;
  /** Messages that failed to decode (must stay 0). */
  decodeFailures = 0;
  readonly #a: Map<number, Stream>;
  readonly #b: Map<number, Stream>;
  /** Link carrying A's messages to B. */
  readonly aToB: SimulatedLink;
  /** Link carrying B's messages to A. */
  readonly bToA: SimulatedLink;

  /** Joins streams `a` (peer A) and `b` (peer B) with the two links. */
  constructor(
    a: Stream[],
    b: Stream[],
    links: {
      aToB: SimulatedLink;
      bToA: SimulatedLink;
    },
  ) {
    this.#a = new Map(a.map((s) => [s.streamId, s]));
    this.#b = new Map(b.map((s) => [s.streamId, s]));
    this.aToB = links.aToB;
    this.bToA = links.bToA;
  }

  /** Runs until `done`; returns the virtual time it took. */
  run(options: RunOptions): number {
    let stuck = 0;
    for (;;) {
      const wake = options.tick?.(this.now);
      this.#flush(this.#a, this.aToB);
      this.#flush(this.#b, this.bToA);
      if (options.done(this.now)) return this.now;
      const next = earliest(
        typeof wake === "number" && wake > this.now ? wake : undefined,
        this.aToB.nextArrival(),
        this.bToA.nextArrival(),
        ...[...this.#a.values(), ...this.#b.values()].map((s) =>
          s.nextTimeout()
        ),
      );
      if (next === undefined) {
        throw new Error(`Simulation stalled at ${this.now} ms`);
      }
      if (next > options.limitMs) {
        throw new Error(
          `Simulation exceeded its limit: ${options.limitMs} ms`,
        );
      }
      if (next <= this.now) {
        if (++stuck > 100_000) {
          throw new Error(`Simulation spins at ${this.now} ms`);
        }
      } else {
        stuck = 0;
        this.now = next;
      }
      this.#deliver(this.aToB, this.#b);
      this.#deliver(this.bToA, this.#a);
      for (const s of [...this.#a.values(), ...this.#b.values()]) {
        const t = s.nextTimeout();
        if (t !== undefined && t <= this.now) s.onTimeout(this.now);
      }
    }
  }

  #flush(streams: Map<number, Stream>, link: SimulatedLink): void {
    for (const stream of streams.values()) {
      for (
        let m = stream.pollTransmit(this.now);
        m !== undefined;
        m = stream.pollTransmit(this.now)
      ) {
        link.send(encodeMessage(m), this.now);
      }
    }
  }

  #deliver(link: SimulatedLink, streams: Map<number, Stream>) {
    for (
      let bytes = link.receive(this.now);
      bytes !== undefined;
      bytes = link.receive(this.now)
    ) {
      const result = decodeMessage(bytes);
      if (
        !result.ok ||
        (result.value.kind !== MessageKind.STREAM_DATA &&
          result.value.kind !== MessageKind.STREAM_ACK)
      ) {
        this.decodeFailures++;
        continue;
      }
      const message = result.value as StreamDataMessage | StreamAckMessage;
      streams.get(message.streamId)?.receive(message, this.now);
    }
  }
}

/** Feeds a byte array into a stream as its send buffer allows, then FIN. */
export class ByteSource {
  readonly #bytes: Uint8Array;
  #offset = 0;

  /** Will write `bytes`, then finish the stream (unless `finish` is false). */
  constructor(bytes: Uint8Array, readonly finish = true) {
    this.#bytes = bytes;
  }

  /** Bytes written so far. */
  get written(): number {
    return this.#offset;
  }

  /** Writes what the stream takes; finishes once all is written. */
  pump(stream: Stream): void {
    if (stream.sender.isFinishing) return;
    if (this.#offset < this.#bytes.length) {
      this.#offset += stream.write(this.#bytes.subarray(this.#offset));
    }
    if (this.#offset === this.#bytes.length && this.finish) stream.finish();
  }
}

/** Collects everything a stream delivers. */
export class ByteSink {
  #chunks: Uint8Array[] = [];
  #length = 0;

  /** Bytes collected so far. */
  get length(): number {
    return this.#length;
  }

  /** Reads everything the stream has ready. */
  drain(stream: Stream): void {
    for (let c = stream.read(); c !== undefined; c = stream.read()) {
      this.#chunks.push(c);
      this.#length += c.length;
    }
  }

  /** All bytes collected, in one array. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** Options of {@linkcode runTransfer}. */
export interface TransferOptions {
  /** The link carrying data (A → B). */
  link: SimulatedLinkOptions;
  /** The link carrying ACKs (B → A); defaults to `link` without a bottleneck. */
  reverse?: SimulatedLinkOptions;
  /** Options of both streams. */
  stream?: StreamOptions;
  /** Throw if the transfer takes longer than this, in virtual ms. */
  limitMs: number;
  /**
   * Called at each step, after the applications wrote and read; may return
   * when it wants its next turn.
   */
  tick?: (now: number, transfer: TransferParts) => number | void;
}

/** The moving parts of a transfer, for a `tick` that changes the path. */
export interface TransferParts {
  /** The sending stream (A). */
  sender: Stream;
  /** The receiving stream (B). */
  receiver: Stream;
  /** The simulation and its links. */
  simulation: StreamSimulation;
}

/** What {@linkcode runTransfer} observed. */
export interface TransferResult {
  /** The bytes B read, in order. */
  received: Uint8Array;
  /** Virtual time until both ends saw the stream finished, in ms. */
  timeMs: number;
  /** The sending stream (A). */
  sender: Stream;
  /** The receiving stream (B). */
  receiver: Stream;
  /** The simulation, for link statistics. */
  simulation: StreamSimulation;
}

/**
 * Sends `payload` from A to B on stream 1 over simulated links, B reading as
 * fast as it arrives, until A's FIN is acknowledged and B has read it all.
 */
export function runTransfer(
  payload: Uint8Array,
  options: TransferOptions,
): TransferResult {
  const sender = new Stream(1, options.stream);
  const receiver = new Stream(1, options.stream);
  const reverse = options.reverse ?? {
    ...options.link,
    bytesPerMs: undefined,
    bufferBytes: undefined,
    dropIf: undefined,
    seed: (options.link.seed ?? 1) + 7919,
  };
  const simulation = new StreamSimulation([sender], [receiver], {
    aToB: new SimulatedLink(options.link),
    bToA: new SimulatedLink(reverse),
  });
  const source = new ByteSource(payload);
  const sink = new ByteSink();
  const timeMs = simulation.run({
    tick: (now) => {
      source.pump(sender);
      sink.drain(receiver);
      return options.tick?.(now, { sender, receiver, simulation });
    },
    done: () => sender.isSendFinished && receiver.receiver.isReadEnded,
    limitMs: options.limitMs,
  });
  return { received: sink.bytes(), timeMs, sender, receiver, simulation };
}

/** `length` seeded pseudo-random bytes. */
export function randomBytes(length: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (random() * 256) | 0;
  return out;
}
