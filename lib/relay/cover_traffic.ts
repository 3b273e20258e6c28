/**
 * Cover traffic between relays (seed 0's "fake traffic"), sans-I/O.
 *
 * A relay with `--cover-rate R` keeps a Noise IK session with other relays of
 * the directory and sends them, at random moments averaging R per second,
 * `PADDING` messages sealed like any relayed packet and sized like the
 * packets it recently relayed. On the wire they are `TRANSPORT` packets like
 * all others: an observer cannot tell them from relayed data. The receiving
 * relay opens them (the session is authenticated, so nobody can make a relay
 * count forged cover) and drops them silently.
 *
 * @module
 */

import type { KeyPair } from "../crypto/noise/mod.ts";
import type { TransportSession } from "../crypto/transport/mod.ts";
import { HandshakeInitiator, sealMessage } from "../session/mod.ts";
import {
  decodePacket,
  type Endpoint,
  MessageKind,
  PacketType,
  Suite,
  TRANSPORT_HEADER_SIZE,
} from "../wire/mod.ts";

/** Another relay to send cover to. */
export interface CoverTarget {
  endpoint: Endpoint;
  noiseKey: Uint8Array;
}

/** Bytes added around a `PADDING` message: TRANSPORT header and AEAD tag. */
const SEAL_OVERHEAD = TRANSPORT_HEADER_SIZE + 16;
/** Typical relayed packet when nothing was relayed yet (a full segment). */
const DEFAULT_PACKET_SIZE = 1232;
/** Recent relayed packet sizes kept to draw cover sizes from. */
const SIZE_SAMPLES = 256;
/** How long a cover handshake may take before it is started over. */
const HANDSHAKE_PATIENCE_MS = 5_000;
/** Sessions are renewed well before the 180 s limit. */
const SESSION_MAX_AGE_MS = 110_000;

interface Peer {
  target: CoverTarget;
  handshake?: HandshakeInitiator;
  /** When the handshake under way began. */
  handshakeAt: number;
  session?: TransportSession;
  /** When the current session began. */
  startedAt: number;
}

/** Counters of {@linkcode CoverTraffic}. */
export interface CoverCounters {
  packetsSent: number;
  bytesSent: number;
  handshakes: number;
}

/** Sends cover packets to other relays at about `rate` per second. */
export class CoverTraffic {
  readonly counters: CoverCounters = {
    packetsSent: 0,
    bytesSent: 0,
    handshakes: 0,
  };
  readonly #keyPair: KeyPair;
  readonly #rate: number;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #outbox: { data: Uint8Array; to: Endpoint }[] = [];
  readonly #sizes: number[] = [];
  #peers: Peer[] = [];
  #next: number | undefined;

  constructor(
    options: {
      staticKeyPair: KeyPair;
      rate: number;
      now?: () => number;
      random?: () => number;
    },
  ) {
    this.#keyPair = options.staticKeyPair;
    this.#rate = options.rate;
    this.#now = options.now ?? (() => performance.now());
    this.#random = options.random ?? Math.random;
  }

  /** The relays to cover-talk to (from the directory, without ourselves). */
  setTargets(targets: CoverTarget[], now: number = this.#now()): void {
    const keep = new Map(
      this.#peers.map((p) => [`${p.target.noiseKey.toHex()}`, p]),
    );
    this.#peers = targets.map((target) =>
      keep.get(target.noiseKey.toHex()) ??
        { target, startedAt: now, handshakeAt: 0 }
    );
    if (this.#peers.length > 0 && this.#next === undefined && this.#rate > 0) {
      this.#next = now + this.#interval();
    }
  }

  /** Records the size of a datagram the relay just relayed. */
  observeRelayedSize(size: number): void {
    if (this.#sizes.length < SIZE_SAMPLES) this.#sizes.push(size);
    else this.#sizes[Math.floor(this.#random() * SIZE_SAMPLES)] = size;
  }

  /**
   * Takes a datagram if it answers one of our cover handshakes; returns
   * false for everything else (the relay core handles it).
   */
  receive(
    data: Uint8Array,
    from: Endpoint,
    now: number = this.#now(),
  ): boolean {
    const peer = this.#peers.find((p) =>
      p.handshake && p.target.endpoint.address === from.address &&
      p.target.endpoint.port === from.port
    );
    if (!peer?.handshake) return false;
    const decoded = decodePacket(data);
    if (!decoded.ok) return false;
    const packet = decoded.value;
    if (packet.type === PacketType.COOKIE_REPLY) {
      if (!peer.handshake.acceptCookie(packet)) return false;
      this.#push(peer.handshake.packet, peer.target.endpoint);
      return true;
    }
    if (
      packet.type === PacketType.HANDSHAKE_REPLY &&
      packet.receiverIndex === peer.handshake.senderIndex
    ) {
      const result = peer.handshake.receiveReply(packet, now);
      if (!result.ok) return false;
      peer.handshake = undefined;
      peer.session?.destroy();
      peer.session = result.established.session;
      peer.startedAt = now;
      this.counters.handshakes++;
      return true;
    }
    return false;
  }

  /** The next datagram to send. */
  pollTransmit(): { data: Uint8Array; to: Endpoint } | undefined {
    return this.#outbox.shift();
  }

  /** When {@linkcode onTimeout} should run. */
  nextTimeout(): number | undefined {
    return this.#next;
  }

  /** Sends the cover packet that is due, and schedules the next. */
  onTimeout(now: number = this.#now()): void {
    if (this.#next === undefined || now < this.#next) return;
    this.#next = now + this.#interval();
    if (this.#peers.length === 0) return;
    const peer = this.#peers[Math.floor(this.#random() * this.#peers.length)];
    const session = peer.session;
    if (
      !session || now - peer.startedAt > SESSION_MAX_AGE_MS ||
      !session.canSend(now)
    ) {
      // A handshake under way gets its time (a cookie round trip, a reply)
      // before a new one replaces it; meanwhile the old session, if still
      // valid, keeps carrying cover.
      const waiting = peer.handshake &&
        now - peer.handshakeAt < HANDSHAKE_PATIENCE_MS;
      if (!waiting) this.#handshake(peer, now);
      if (!session?.canSend(now)) return;
    }
    const size = Math.max(SEAL_OVERHEAD + 1, this.#drawSize());
    const data = sealMessage(session, {
      kind: MessageKind.PADDING,
      size: size - SEAL_OVERHEAD,
    }, now);
    this.counters.packetsSent++;
    this.counters.bytesSent += data.length;
    this.#push(data, peer.target.endpoint);
  }

  /** Wipes every session. */
  close(): void {
    for (const peer of this.#peers) {
      peer.session?.destroy();
      peer.handshake?.destroy();
    }
    this.#peers = [];
    this.#next = undefined;
  }

  #handshake(peer: Peer, now: number) {
    peer.handshake?.destroy();
    peer.handshake = new HandshakeInitiator({
      suite: Suite.IK,
      staticKeyPair: this.#keyPair,
      remoteStatic: peer.target.noiseKey,
      senderIndex: Math.floor(this.#random() * 0xffffffff) >>> 0,
      now: this.#now,
    });
    peer.handshakeAt = now;
    this.#push(peer.handshake.packet, peer.target.endpoint);
  }

  /** Exponential gaps: a Poisson process, so timing reveals nothing. */
  #interval(): number {
    return (-Math.log(1 - this.#random()) / this.#rate) * 1000;
  }

  #drawSize(): number {
    if (this.#sizes.length === 0) return DEFAULT_PACKET_SIZE;
    return this.#sizes[Math.floor(this.#random() * this.#sizes.length)];
  }

  #push(data: Uint8Array, to: Endpoint) {
    this.#outbox.push({ data, to });
  }
}
