/**
 * A peer on the network: one UDP socket shared by its relay session and its
 * end-to-end connections, driven by a {@linkcode Scheduler}. This is the thin
 * driver around the sans-I/O {@linkcode RelayClient} and
 * {@linkcode PeerConnection}s; it routes datagrams between them and the
 * socket and arms one timer for all of them.
 *
 * @module
 */

import type { KeyPair } from "../crypto/noise/mod.ts";
import type { DatagramSocket, Scheduler, TimerHandle } from "../udp/mod.ts";
import { type Endpoint, isStun, type ReasonCode } from "../wire/mod.ts";
import type { CurrentPath } from "./path_manager.ts";
import { PeerConnection, type StreamMux } from "./peer_connection.ts";
import { RelayClient } from "./relay_client.ts";

/** What a peer node reports to its owner (the chat or send command). */
export type PeerNodeEvent =
  | { type: "registered"; observed: Endpoint; relayKey: Uint8Array }
  | {
    type: "refused";
    request: number;
    reason: ReasonCode;
    limit: number;
    text: string;
  }
  | { type: "relay-unreachable"; attempts: number }
  | { type: "connecting"; peer: string; peerKey: Uint8Array }
  | {
    type: "established";
    peer: string;
    remoteStatic: Uint8Array;
    rekey: boolean;
  }
  | { type: "path"; peer: string; path: CurrentPath; reason: string }
  | { type: "failed"; peer: string; reason: string }
  | { type: "retrying"; peer: string; attempt: number }
  | { type: "circuit-closed"; peer: string; reason: ReasonCode };

/** Options of {@linkcode PeerNode}. */
export interface PeerNodeOptions {
  socket: DatagramSocket;
  scheduler: Scheduler;
  staticKeyPair: KeyPair;
  name: string;
  relay: Endpoint;
  relayKey?: Uint8Array;
  /** Local candidates to report (LAN addresses with our port). */
  candidates?: Endpoint[];
  /** The pinned key for a peer name, if any (IK instead of XX). */
  pinnedKey?: (peer: string) => Uint8Array | undefined;
  /** Creates the stream multiplexer of a new connection. */
  createStreams: (peer: string) => StreamMux;
  /** Extra candidates to probe for a peer (address hints from the user). */
  hints?: (peer: string) => Endpoint[];
  onEvent: (event: PeerNodeEvent) => void;
  /**
   * Called on every pass of the driver, before it sends: the moment to read
   * what the streams received and to write more.
   */
  onActivity?: () => void;
  /** Receives STUN datagrams (answers to our own Binding requests). */
  onStun?: (data: Uint8Array, from: Endpoint) => void;
}

interface Link {
  peer: string;
  circuitId: bigint;
  connection: PeerConnection;
}

/** A peer: relay session, connections, one socket, one timer. */
export class PeerNode {
  readonly relayClient: RelayClient;
  readonly #options: PeerNodeOptions;
  readonly #links = new Map<string, Link>();
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  #running = false;
  #loop: Promise<void> | undefined;

  constructor(options: PeerNodeOptions) {
    this.#options = options;
    this.relayClient = new RelayClient({
      staticKeyPair: options.staticKeyPair,
      relay: options.relay,
      relayKey: options.relayKey,
      name: options.name,
      candidates: options.candidates,
      now: () => options.scheduler.now(),
    });
  }

  /** Starts the relay session and the receive loop. */
  start(): void {
    this.#running = true;
    this.relayClient.start(this.#options.scheduler.now());
    this.#loop = this.#receiveLoop();
    this.#pump();
  }

  /** Sends a datagram from the node's socket (STUN requests). */
  sendRaw(data: Uint8Array, to: Endpoint): void {
    this.#send(data, to);
  }

  /** Asks the relay to connect us to `peer`. */
  connect(peer: string): void {
    this.relayClient.connect(peer);
    this.#pump();
  }

  /**
   * Starts over with `peer`: closes its circuit at the relay and forgets the
   * connection, then asks the relay again. The relay opens a new circuit,
   * so both ends make a new connection with a fresh handshake. For when a
   * session cannot come up on the old circuit (the other end restarted and
   * lost its keys while we are not the side that starts handshakes) or a
   * transfer stopped moving.
   */
  reconnect(peer: string): void {
    const link = this.#links.get(peer);
    if (link) {
      this.relayClient.closeCircuit(link.circuitId);
      link.connection.close();
      this.#links.delete(peer);
    }
    this.relayClient.connect(peer);
    this.#pump();
  }

  /** The connection with `peer`, if any. */
  connection(peer: string): PeerConnection | undefined {
    return this.#links.get(peer)?.connection;
  }

  /**
   * Our local addresses changed (new network, DHCP, VPN): report the new
   * candidates to the relay at once (which also shows it our new public
   * address) and punch again toward every peer without waiting.
   */
  onLocalAddressChange(candidates: Endpoint[]): void {
    const now = this.#options.scheduler.now();
    this.relayClient.setCandidates(candidates);
    this.relayClient.sendKeepaliveNow(now);
    for (const link of this.#links.values()) {
      link.connection.paths.onLocalAddressChange(now);
    }
    this.#pump();
  }

  /** Call after writing to a connection's streams: sends what is due. */
  pump(): void {
    this.#pump();
  }

  /** Unregisters, closes every connection and the socket. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    for (const link of this.#links.values()) {
      this.relayClient.closeCircuit(link.circuitId);
    }
    this.relayClient.stop(this.#options.scheduler.now());
    await this.#flushRelay();
    for (const link of this.#links.values()) link.connection.close();
    this.#running = false;
    if (this.#timer !== undefined) {
      this.#options.scheduler.clearTimer(this.#timer);
    }
    this.#options.socket.close();
    await this.#loop;
  }

  async #receiveLoop(): Promise<void> {
    const { socket } = this.#options;
    for (;;) {
      const datagram = await socket.receive();
      if (!datagram) return;
      const now = this.#options.scheduler.now();
      if (isStun(datagram.data)) {
        this.#options.onStun?.(datagram.data.slice(), datagram.from);
      } else if (this.relayClient.isFromRelay(datagram.from)) {
        this.relayClient.receive(datagram.data, now);
      } else {
        const data = datagram.data.slice();
        for (const link of this.#links.values()) {
          if (
            link.connection.receive(data, {
              via: "direct",
              from: datagram.from,
            }, now)
          ) break;
        }
      }
      this.#pump();
    }
  }

  /** Moves events and datagrams until quiet, then re-arms the timer. */
  #pump(): void {
    if (!this.#running) return;
    const now = this.#options.scheduler.now();
    for (let round = 0; round < 16; round++) {
      let moved = this.#drainRelayEvents(now);
      this.#options.onActivity?.();
      for (const link of this.#links.values()) {
        for (let event; (event = link.connection.pollEvent());) {
          moved = true;
          if (event.type === "retrying") {
            // Our handshake went unanswered: maybe the peer never got its
            // RENDEZVOUS; asking again makes the relay send both anew.
            this.relayClient.connect(link.peer);
          }
          this.#options.onEvent({ ...event, peer: link.peer });
        }
        for (let out; (out = link.connection.pollTransmit(now));) {
          moved = true;
          if (out.via === "relay") {
            this.relayClient.forward(link.circuitId, out.data);
          } else {
            this.#send(out.data, out.to);
          }
        }
      }
      for (let out; (out = this.relayClient.pollTransmit());) {
        moved = true;
        this.#send(out.data, out.to);
      }
      if (!moved) break;
    }
    this.#arm();
  }

  #drainRelayEvents(now: number): boolean {
    let moved = false;
    for (let event; (event = this.relayClient.pollEvent());) {
      moved = true;
      switch (event.type) {
        case "registered":
          this.#options.onEvent({
            type: "registered",
            observed: event.observed,
            relayKey: event.relayKey,
          });
          break;
        case "refused":
          this.#options.onEvent(event);
          break;
        case "unreachable":
          this.#options.onEvent({
            type: "relay-unreachable",
            attempts: event.attempts,
          });
          break;
        case "rendezvous":
          this.#onRendezvous(event, now);
          break;
        case "forwarded": {
          for (const link of this.#links.values()) {
            if (link.circuitId === event.circuitId) {
              link.connection.receive(event.packet, { via: "relay" }, now);
            }
          }
          break;
        }
        case "circuit-closed":
          for (const link of this.#links.values()) {
            if (link.circuitId === event.circuitId) {
              link.connection.setRelayAvailable(false);
              this.#options.onEvent({
                type: "circuit-closed",
                peer: link.peer,
                reason: event.reason,
              });
            }
          }
          break;
      }
    }
    return moved;
  }

  #onRendezvous(
    event: {
      requestId: number;
      circuitId: bigint;
      peerKey: Uint8Array;
      peerName: string;
      startInMs: number;
      candidates: Endpoint[];
    },
    now: number,
  ) {
    const existing = this.#links.get(event.peerName);
    if (existing && existing.circuitId === event.circuitId) {
      existing.connection.paths.startPunching(now + event.startInMs);
      existing.connection.onRepeatedRendezvous(now);
      return;
    }
    existing?.connection.close();
    this.#options.onEvent({
      type: "connecting",
      peer: event.peerName,
      peerKey: event.peerKey,
    });
    const connection = new PeerConnection({
      staticKeyPair: this.#options.staticKeyPair,
      pinnedKey: this.#options.pinnedKey?.(event.peerName),
      // The smaller static key initiates: both sides know both keys, so
      // exactly one starts, whichever RENDEZVOUS arrived first or was lost.
      initiator: compareBytes(
        this.#options.staticKeyPair.publicKey,
        event.peerKey,
      ) < 0,
      streams: this.#options.createStreams(event.peerName),
      now: () => this.#options.scheduler.now(),
    });
    connection.paths.addCandidates([
      ...event.candidates,
      ...(this.#options.hints?.(event.peerName) ?? []),
    ]);
    connection.paths.startPunching(now + event.startInMs);
    this.#links.set(event.peerName, {
      peer: event.peerName,
      circuitId: event.circuitId,
      connection,
    });
    connection.start(now);
  }

  #arm() {
    const { scheduler } = this.#options;
    const times = [
      this.relayClient.nextTimeout(),
      ...[...this.#links.values()].map((l) => l.connection.nextTimeout()),
    ].filter((t): t is number => t !== undefined);
    const at = times.length ? Math.min(...times) : Infinity;
    // A pending timer that fires no later is kept: every onTimeout checks
    // its own deadlines, so an early wake-up costs one pass, while moving a
    // timer on every pump (pacing moves the deadline each packet) cost
    // about 7 % of a bulk sender's CPU in clearTimeout/setTimeout.
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    if (this.#timer !== undefined) scheduler.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at === Infinity) return;
    this.#timer = scheduler.setTimer(Math.max(at, scheduler.now()), () => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      const now = scheduler.now();
      this.relayClient.onTimeout(now);
      for (const link of this.#links.values()) link.connection.onTimeout(now);
      this.#pump();
    });
  }

  async #flushRelay() {
    for (let out; (out = this.relayClient.pollTransmit());) {
      await this.#options.socket.send(out.data, out.to).catch(() => {});
    }
  }

  #send(data: Uint8Array, to: Endpoint) {
    // Fire and forget: UDP gives no delivery promise anyway, and a send
    // error (unroutable candidate) must not stop the node.
    this.#options.socket.send(data, to).catch(() => {});
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}
