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
import {
  classifyNat,
  type MappingBehaviour,
  natMappingNumber,
} from "../nat/classify.ts";
import { type BindingResult, StunClient } from "../nat/stun_client.ts";
import type { DatagramSocket, Scheduler, TimerHandle } from "../udp/mod.ts";
import {
  type Endpoint,
  isStun,
  MAX_CANDIDATES,
  NatMapping,
  type ReasonCode,
} from "../wire/mod.ts";
import { type BirthdayBudget, DEFAULT_BIRTHDAY_BUDGET } from "./birthday.ts";
import type { CurrentPath } from "./path_manager.ts";
import {
  type ConnectionOutgoing,
  PeerConnection,
  type StreamMux,
} from "./peer_connection.ts";
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
  | {
    type: "nat";
    /** Our NAT's mapping behaviour as STUN showed it. */
    mapping: MappingBehaviour;
    /** Our public endpoint, if a STUN server answered. */
    public?: Endpoint;
    /** Reflexive candidates learned from `stunServers`, now reported. */
    reflexive: Endpoint[];
  }
  | { type: "circuit-closed"; peer: string; reason: ReasonCode };

/** Options of {@linkcode PeerNode}. */
export interface PeerNodeOptions extends TraversalOptions {
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
  /** Receives STUN datagrams that are not answers to the node's own. */
  onStun?: (data: Uint8Array, from: Endpoint) => void;
}

/** How hard a node works to get off the relay (`--stun`, `--birthday`). */
export interface TraversalOptions {
  /**
   * Learn our NAT's mapping with STUN once registered: the relay's port,
   * its RFC 5780 other address, then these servers (`--stun`), whose
   * answers also become candidates. Absent: no discovery.
   */
  natDiscovery?: { stunServers: Endpoint[] };
  /** Opens an extra UDP socket for birthday probing; absent: none. */
  openSocket?: () => Promise<DatagramSocket>;
  /** Birthday probing budget; default {@linkcode DEFAULT_BIRTHDAY_BUDGET}. */
  birthday?: BirthdayBudget;
}

interface Link {
  peer: string;
  circuitId: bigint;
  connection: PeerConnection;
  /** Extra sockets for birthday probing, by id (1…n). */
  sockets: Map<number, DatagramSocket>;
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
  readonly #stun: StunClient;
  #natMapping: NatMapping = NatMapping.UNKNOWN;
  #discovery: Promise<void> | undefined;

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
    this.#stun = new StunClient(
      (data, to) => this.#send(data, to),
      options.scheduler,
    );
  }

  /** Our NAT's mapping as discovery found it (`NAT_INFO` numbering). */
  get natMapping(): NatMapping {
    return this.#natMapping;
  }

  /**
   * Sets our NAT's mapping behaviour (from discovery or the owner's own
   * STUN tests); every connection tells its peer, for birthday probing.
   */
  setNatMapping(mapping: NatMapping): void {
    this.#natMapping = mapping;
    const now = this.#options.scheduler.now();
    for (const link of this.#links.values()) {
      link.connection.setLocalMapping(mapping, now);
    }
    this.#pump();
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
      this.#closeSockets(link);
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
    this.#stun.close();
    for (const link of this.#links.values()) this.#closeSockets(link);
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
        const data = datagram.data.slice();
        if (!this.#stun.handle(data, datagram.from)) {
          this.#options.onStun?.(data, datagram.from);
        }
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
          if (event.type === "open-sockets") {
            this.#openSockets(link, event.count);
            continue;
          }
          if (event.type === "close-sockets") {
            this.#closeSockets(link, event.keep);
            continue;
          }
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
            this.#sendDirect(link, out);
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
          if (this.#options.natDiscovery && !this.#discovery) {
            this.#discovery = this.#discoverNat(
              this.#options.natDiscovery.stunServers,
            );
          }
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
    if (existing) {
      existing.connection.close();
      this.#closeSockets(existing);
    }
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
      lowTtl: this.#options.socket.supportsTtl,
      birthday: this.#options.openSocket
        ? this.#options.birthday ?? DEFAULT_BIRTHDAY_BUDGET
        : undefined,
    });
    connection.paths.addCandidates([
      ...event.candidates,
      ...(this.#options.hints?.(event.peerName) ?? []),
    ]);
    // The relay puts the endpoint it sees first: our peer's public one.
    if (event.candidates[0]) {
      connection.paths.setPeerPublic(event.candidates[0]);
    }
    connection.paths.setLocalMapping(this.#natMapping);
    connection.paths.startPunching(now + event.startInMs);
    this.#links.set(event.peerName, {
      peer: event.peerName,
      circuitId: event.circuitId,
      connection,
      sockets: new Map(),
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

  #sendDirect(
    link: Link,
    out: Extract<ConnectionOutgoing, { via: "direct" }>,
  ) {
    const socket = out.socket === undefined
      ? this.#options.socket
      : link.sockets.get(out.socket);
    if (!socket) return;
    if (out.ttl !== undefined && !socket.supportsTtl) {
      // An opening probe at full TTL could reach the peer's NAT early and
      // spoil a plain Linux router's mapping: better not sent at all.
      return;
    }
    const options = out.ttl !== undefined ? { ttl: out.ttl } : undefined;
    socket.send(out.data, out.to, options).catch(() => {});
  }

  /** Opens birthday sockets for `link`, then hands their ids over. */
  async #openSockets(link: Link, count: number) {
    const open = this.#options.openSocket;
    // One round at a time per node: peers that all claim an easy NAT must
    // not make us hold hundreds of sockets each.
    const busy = [...this.#links.values()].some((l) =>
      l !== link && l.sockets.size > 1
    );
    if (busy) count = 0;
    const opened = open
      ? await Promise.all(
        Array.from({ length: count }, () => open().catch(() => undefined)),
      )
      : [];
    const sockets = opened.filter((s): s is DatagramSocket => s !== undefined);
    if (!this.#running || this.#links.get(link.peer) !== link) {
      for (const socket of sockets) socket.close();
      return;
    }
    const ids: number[] = [];
    let id = 1;
    for (const socket of sockets) {
      while (link.sockets.has(id)) id++;
      link.sockets.set(id, socket);
      ids.push(id);
      this.#receiveOn(link, id, socket);
    }
    link.connection.onBirthdaySockets(ids, this.#options.scheduler.now());
    this.#pump();
  }

  async #receiveOn(link: Link, id: number, socket: DatagramSocket) {
    for (;;) {
      const datagram = await socket.receive().catch(() => undefined);
      if (!datagram) return;
      if (isStun(datagram.data)) continue;
      link.connection.receive(datagram.data.slice(), {
        via: "direct",
        from: datagram.from,
        socket: id,
      }, this.#options.scheduler.now());
      this.#pump();
    }
  }

  #closeSockets(link: Link, keep?: number) {
    for (const [id, socket] of link.sockets) {
      if (id === keep) continue;
      socket.close();
      link.sockets.delete(id);
    }
  }

  /** STUN tests of our mapping (RFC 5780 §4.3), then tell connections. */
  async #discoverNat(servers: Endpoint[]) {
    const { relay } = this.#options;
    const first = await this.#stun.binding(relay);
    const reflexive: Endpoint[] = [];
    let second: BindingResult | undefined;
    for (const server of [first?.otherAddress, ...servers]) {
      if (!server || !this.#running) continue;
      const result = await this.#stun.binding(server);
      if (!result) continue;
      second ??= result;
      if (servers.includes(server)) reflexive.push(result.mapped);
    }
    if (!this.#running) return;
    const local = this.#options.candidates ?? [];
    const nat = classifyNat({
      local: [...local, this.#options.socket.local],
      first: first ?? second,
      second: first ? second : undefined,
      changePort: "untested",
    });
    const fresh = reflexive.filter((r) =>
      !local.some((l) => l.address === r.address && l.port === r.port)
    );
    if (fresh.length > 0) {
      this.relayClient.setCandidates(
        [...local, ...fresh].slice(0, MAX_CANDIDATES),
      );
      this.relayClient.sendKeepaliveNow(this.#options.scheduler.now());
    }
    this.#options.onEvent({
      type: "nat",
      mapping: nat.mapping,
      public: nat.public,
      reflexive: fresh,
    });
    this.setNatMapping(natMappingNumber(nat.mapping));
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
