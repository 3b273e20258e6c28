/**
 * An in-memory UDP network for tests: hosts with addresses, sockets that
 * implement {@linkcode DatagramSocket}, links with delay, jitter, loss,
 * duplication and an optional bandwidth limit, and NAT devices with the
 * RFC 4787 behaviours of `nat_behaviour.ts`, nested as deep as you like.
 *
 * Every packet moves on a {@linkcode Scheduler}, by default a
 * {@linkcode VirtualScheduler}, and every random choice comes from one seed,
 * so a test run is the same every time.
 *
 * The topology is a tree of realms. The public internet is the root realm;
 * each NAT owns the realm of its private side and has its public address in
 * the realm it sits in (the root, or the private side of another NAT). A
 * packet goes to the holder of its destination address in the sender's
 * realm, or else up to that realm's NAT, which rewrites the source and
 * passes it on outside; a NAT receiving a packet at its public address
 * rewrites the destination and passes it inside. A packet crosses the
 * sender's link (outbound), the internet link if it travels through the root
 * realm, and the receiver's link (inbound); each may delay, duplicate or
 * lose it.
 *
 * Every packet carries an IP TTL: {@linkcode SendOptions.ttl}, or 64. Each
 * router that forwards it takes one off, and a router that would forward
 * it with TTL 0 drops it instead, counted as `"ttl-expired"`. The routers
 * are the NATs and the internet:
 *
 * - a NAT passing a packet outwards checks the TTL before it maps the
 *   packet, so a packet that dies there leaves no mapping (Linux drops it
 *   in forwarding, before MASQUERADE confirms any conntrack state);
 * - a NAT passing a packet inwards through a mapping takes one off after
 *   its filter has judged it: a packet that reaches a NAT's public address
 *   has reached that NAT, and an unsolicited one leaves its half-open entry
 *   (`linuxConntrackQuirk`) whatever TTL it has left, as Linux takes it in
 *   locally without looking at the TTL;
 * - a hairpinned packet is forwarded once, so it counts one hop;
 * - the internet is one hop for every packet delivered to a node of the
 *   root realm, whoever sent it; hosts in one private realm reach each
 *   other with no router between them.
 *
 * So with one NAT on each side, TTL 1 dies inside the sender's own NAT;
 * TTL 2 crosses it (creating the mapping) and dies on the internet, so the
 * other NAT never sees it; TTL 3 reaches the other NAT (leaving its
 * half-open entry there if unsolicited) and goes no further; TTL 4 is
 * delivered. Each further NAT on the path adds one hop.
 *
 * @example
 * ```ts
 * import { createMemoryNetwork } from "./memory_network.ts";
 *
 * const network = createMemoryNetwork({ seed: 1 });
 * network.setLink({ delayMs: 20 });
 * const a = await network.addHost("192.0.2.1").openSocket(1000);
 * const b = await network.addHost("192.0.2.2").openSocket(2000);
 * await a.send(new Uint8Array([42]), b.local);
 * await network.scheduler.advance(20);
 * const datagram = await b.receive(); // { data: [42], from: a.local }
 * ```
 *
 * @module
 */

import { type Endpoint, normalizeAddress } from "../wire/mod.ts";
import type {
  Datagram,
  DatagramSocket,
  SendOptions,
} from "./datagram_socket.ts";
import {
  type NatBehaviourOptions,
  type NatDropReason,
  type NatMappingInfo,
  NatTable,
} from "./nat_behaviour.ts";
import { type Scheduler, VirtualScheduler } from "./scheduler.ts";
import { seededRandom } from "./seeded_random.ts";

/** Largest UDP payload over IPv4: 65535 − 20 (IP header) − 8 (UDP header). */
export const MAX_DATAGRAM_SIZE = 65507;

/** IANA dynamic ports (RFC 6335 §6), where port 0 sockets are bound. */
const FIRST_EPHEMERAL_PORT = 49152;
const LAST_PORT = 65535;

/** What a link does to each packet; every field defaults to 0. */
export interface LinkConditions {
  /** Fixed one-way delay in milliseconds. */
  delayMs?: number;
  /**
   * Extra delay drawn uniformly from [0, jitterMs) for each packet; packets
   * sent closer together than this may arrive out of order.
   */
  jitterMs?: number;
  /** Probability that a packet is lost, 0–1. */
  loss?: number;
  /** Probability that a packet arrives twice, 0–1. */
  duplicate?: number;
}

/** A host's access link can also be slow and have a finite queue. */
export interface HostLinkConditions extends LinkConditions {
  /** Serialization rate; absent means infinitely fast. */
  bandwidthBytesPerSecond?: number;
  /**
   * With a bandwidth, how many bytes may be waiting or being sent; a packet
   * that does not fit is dropped as `"queue-full"`. Absent means no limit.
   */
  queueBytes?: number;
}

/** Which way along a host's link conditions apply. */
export type LinkDirection = "both" | "outbound" | "inbound";

/** Why the network dropped a packet. */
export type DropReason =
  | NatDropReason
  /** Random loss on a link. */
  | "loss"
  /** A host link's queue was full. */
  | "queue-full"
  /** Nobody holds the destination address. */
  | "no-route"
  /** The destination host has no socket on the destination port. */
  | "port-unreachable"
  /** The destination socket already holds its limit of unread datagrams. */
  | "receive-buffer-full"
  /** A host sent to its NAT's public address and the NAT does not hairpin. */
  | "hairpin-disabled"
  /** The datagram's TTL ran out at a router (a NAT or the internet hop). */
  | "ttl-expired";

const DROP_REASONS: readonly DropReason[] = [
  "loss",
  "queue-full",
  "no-route",
  "port-unreachable",
  "receive-buffer-full",
  "hairpin-disabled",
  "ttl-expired",
  "nat-no-mapping",
  "nat-filtered",
  "nat-ports-exhausted",
];

/**
 * Packet counts since the network was made or last reset. Once nothing is
 * in flight, `sent + duplicated === delivered + total of dropped`.
 */
export interface NetworkStats {
  /** Datagrams handed to `send` on an open socket. */
  sent: number;
  /** Extra copies made by duplicating links. */
  duplicated: number;
  /** Datagrams put in a socket's receive queue. */
  delivered: number;
  /** Datagrams lost, by reason. */
  dropped: Record<DropReason, number>;
  /** Datagrams on their way right now. */
  inFlight: number;
}

/** One packet's fate, for {@linkcode MemoryNetworkOptions.trace}. */
export interface PacketEvent {
  /** `"delivered"` into a socket's queue, or why it was dropped. */
  kind: "delivered" | DropReason;
  atMs: number;
  /** Source and destination as they were when it happened. */
  from: Endpoint;
  to: Endpoint;
  size: number;
}

/** Options for {@linkcode createMemoryNetwork}. */
export interface MemoryNetworkOptions<S extends Scheduler> {
  /** The clock packets move on; default a new {@linkcode VirtualScheduler}. */
  scheduler?: S;
  /** Seeds every random choice (loss, jitter, ports); default 1. */
  seed?: number;
  /** Unread datagrams a socket holds before dropping more; default 4096. */
  receiveBufferDatagrams?: number;
  /** Called for every delivery and drop; for debugging a test. */
  trace?: (event: PacketEvent) => void;
}

/** A machine with one address; make it with {@linkcode MemoryNetwork.addHost}. */
export interface MemoryHost {
  /** Its address in its realm (private when behind a NAT). */
  readonly address: string;
  /** The NAT it sits behind, if any. */
  readonly behind: MemoryNat | undefined;
  /**
   * Binds a socket to `port`, or to a free port from 49152–65535 when it is
   * 0 (the default).
   *
   * @throws {Deno.errors.AddrInUse} (as a rejection) when the port is taken
   */
  openSocket(port?: number): Promise<DatagramSocket>;
  /** Replaces the conditions on this host's link, both ways by default. */
  setLink(
    conditions: HostLinkConditions,
    options?: { direction?: LinkDirection },
  ): void;
}

/** A NAT device; make it with {@linkcode MemoryNetwork.addNat}. */
export interface MemoryNat {
  /** Its address in the realm it sits in. */
  readonly publicAddress: string;
  /** The NAT it sits behind, if any. */
  readonly behind: MemoryNat | undefined;
  /** Its behaviour, defaults filled in. */
  readonly config: Readonly<Required<NatBehaviourOptions>>;
  /** Its live mappings now. */
  mappings(): NatMappingInfo[];
  /** Forgets all mappings, as a reboot would. */
  clearMappings(): void;
}

/** Options for {@linkcode MemoryNetwork.addNat}. */
export interface NatDeviceOptions extends NatBehaviourOptions {
  /** Its address on the outside. */
  publicAddress: string;
  /** Put this NAT behind another one. */
  behind?: MemoryNat;
}

/** A simulated network; see {@linkcode createMemoryNetwork}. */
export interface MemoryNetwork<S extends Scheduler = VirtualScheduler> {
  /** The clock packets move on; advance it to let them arrive. */
  readonly scheduler: S;
  /**
   * Adds a host with `address` on the internet, or in the private realm of
   * `options.behind`.
   *
   * @throws {TypeError} when the address is not IPv4/IPv6 text or is taken
   * in that realm
   */
  addHost(address: string, options?: { behind?: MemoryNat }): MemoryHost;
  /**
   * Adds a NAT whose public address is on the internet, or in the private
   * realm of `options.behind`.
   */
  addNat(options: NatDeviceOptions): MemoryNat;
  /** Replaces the conditions on the internet, which every packet between realms' public sides crosses. */
  setLink(conditions: LinkConditions): void;
  /** A snapshot of the packet counts. */
  readonly stats: NetworkStats;
  /** Sets every count but `inFlight` back to 0. */
  resetStats(): void;
}

/**
 * Makes an empty in-memory network. With no scheduler given it runs on its
 * own {@linkcode VirtualScheduler}, found at `network.scheduler`.
 *
 * @example
 * ```ts
 * import { createMemoryNetwork } from "./memory_network.ts";
 * import { NAT_PRESETS } from "./nat_behaviour.ts";
 *
 * const network = createMemoryNetwork({ seed: 7 });
 * const nat = network.addNat({
 *   publicAddress: "203.0.113.1",
 *   ...NAT_PRESETS.portRestrictedCone,
 * });
 * const laptop = network.addHost("192.168.1.10", { behind: nat });
 * const server = network.addHost("198.51.100.1");
 * ```
 */
export function createMemoryNetwork<S extends Scheduler = VirtualScheduler>(
  options: MemoryNetworkOptions<S> = {},
): MemoryNetwork<S> {
  return new Network(options);
}

interface Packet {
  src: Endpoint;
  dst: Endpoint;
  data: Uint8Array;
  /** Hops left: every NAT and the internet between realms is one router. */
  ttl: number;
}

/** The TTL of a datagram sent without one (Linux's default). */
const DEFAULT_TTL = 64;

/**
 * A router forwards `packet` one hop: undefined (and counted as dropped)
 * when its TTL would reach 0, as Linux drops it before NAT confirms any
 * state for it.
 */
function forwardHop(
  network: Network<Scheduler>,
  packet: Packet,
): Packet | undefined {
  if (packet.ttl <= 1) {
    network.drop("ttl-expired", packet);
    return undefined;
  }
  return { ...packet, ttl: packet.ttl - 1 };
}

function checkProbability(name: string, value: number | undefined): number {
  const p = value ?? 0;
  if (!(p >= 0 && p <= 1)) {
    throw new RangeError(`Cannot set link ${name} outside 0–1: ${value}`);
  }
  return p;
}

function checkNonNegative(name: string, value: number | undefined): number {
  const x = value ?? 0;
  if (!(x >= 0 && x < Infinity)) {
    throw new RangeError(
      `Cannot set link ${name} to a negative or non-finite value: ${value}`,
    );
  }
  return x;
}

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 0 || port > LAST_PORT) {
    throw new RangeError(`Cannot ${what} as the port is not 0–65535: ${port}`);
  }
}

function emptyDrops(): Record<DropReason, number> {
  return Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<
    DropReason,
    number
  >;
}

/** One direction of a link, with its own transmit queue. */
class Link {
  #delayMs = 0;
  #jitterMs = 0;
  #loss = 0;
  #duplicate = 0;
  #bandwidth: number | undefined;
  #queueBytes: number | undefined;
  #busyUntil = 0;

  set(conditions: HostLinkConditions): void {
    const delayMs = checkNonNegative("delayMs", conditions.delayMs);
    const jitterMs = checkNonNegative("jitterMs", conditions.jitterMs);
    const loss = checkProbability("loss", conditions.loss);
    const duplicate = checkProbability("duplicate", conditions.duplicate);
    const bandwidth = conditions.bandwidthBytesPerSecond;
    if (bandwidth !== undefined && !(bandwidth > 0)) {
      throw new RangeError(
        `Cannot set link bandwidth to a non-positive value: ${bandwidth}`,
      );
    }
    const queueBytes = conditions.queueBytes;
    if (queueBytes !== undefined && !(queueBytes >= 0)) {
      throw new RangeError(
        `Cannot set link queue to a negative size: ${queueBytes}`,
      );
    }
    this.#delayMs = delayMs;
    this.#jitterMs = jitterMs;
    this.#loss = loss;
    this.#duplicate = duplicate;
    this.#bandwidth = bandwidth;
    this.#queueBytes = queueBytes;
  }

  /**
   * Carries `packet` across, then calls `onward` with it (twice if
   * duplicated). With no delay `onward` runs at once unless `alwaysTimer`.
   */
  carry(
    network: Network<Scheduler>,
    packet: Packet,
    onward: (packet: Packet) => void,
    alwaysTimer: boolean,
  ): void {
    if (this.#loss > 0 && network.random() < this.#loss) {
      network.drop("loss", packet);
      return;
    }
    const now = network.scheduler.now();
    let departure = now;
    if (this.#bandwidth !== undefined) {
      const start = Math.max(now, this.#busyUntil);
      const backlog = (start - now) * this.#bandwidth / 1000;
      if (
        this.#queueBytes !== undefined &&
        backlog + packet.data.length > this.#queueBytes
      ) {
        network.drop("queue-full", packet);
        return;
      }
      this.#busyUntil = start + packet.data.length * 1000 / this.#bandwidth;
      departure = this.#busyUntil;
    }
    let copies = 1;
    if (this.#duplicate > 0 && network.random() < this.#duplicate) {
      copies = 2;
      network.countDuplicate();
    }
    for (let i = 0; i < copies; i++) {
      const jitter = this.#jitterMs > 0 ? network.random() * this.#jitterMs : 0;
      const at = departure + this.#delayMs + jitter;
      if (at <= now && !alwaysTimer) onward(packet);
      else network.later(at, () => onward(packet));
    }
  }
}

/** The set of addresses reachable without crossing a NAT. */
class Realm {
  readonly nodes = new Map<string, Host | Nat>();
  constructor(readonly nat: Nat | undefined) {}

  claim(address: string, node: Host | Nat): void {
    if (this.nodes.has(address)) {
      throw new TypeError(
        `Cannot add ${
          node instanceof Host ? "host" : "NAT"
        } as its address is taken in that realm: ${address}`,
      );
    }
    this.nodes.set(address, node);
  }
}

class Network<S extends Scheduler> implements MemoryNetwork<S> {
  readonly scheduler: S;
  readonly random: () => number;
  readonly receiveBufferDatagrams: number;
  readonly #seed: number;
  readonly #root = new Realm(undefined);
  readonly #internet = new Link();
  readonly #trace: ((event: PacketEvent) => void) | undefined;
  #natCount = 0;
  #hostCount = 0;
  #sent = 0;
  #duplicated = 0;
  #delivered = 0;
  #dropped = emptyDrops();
  #inFlight = 0;

  constructor(options: MemoryNetworkOptions<S>) {
    this.scheduler = options.scheduler ??
      (new VirtualScheduler() as Scheduler as S);
    this.#seed = options.seed ?? 1;
    this.random = seededRandom(this.#seed);
    this.receiveBufferDatagrams = options.receiveBufferDatagrams ?? 4096;
    if (!(this.receiveBufferDatagrams >= 1)) {
      throw new RangeError(
        `Cannot make a network with a receive buffer under one datagram: ${this.receiveBufferDatagrams}`,
      );
    }
    this.#trace = options.trace;
  }

  addHost(address: string, options: { behind?: MemoryNat } = {}): MemoryHost {
    const realm = this.#realmBehind(options.behind);
    // Each host draws ephemeral ports from its own stream, so adding
    // traffic elsewhere does not move them.
    const host = new Host(
      this,
      normalizeAddress(address),
      realm,
      seededRandom(this.#seed + 0x5bd1e995 * ++this.#hostCount),
    );
    realm.claim(host.address, host);
    return host;
  }

  addNat(options: NatDeviceOptions): MemoryNat {
    const realm = this.#realmBehind(options.behind);
    const table = new NatTable(options, {
      random: seededRandom(this.#seed + 0x27d4eb2f * ++this.#natCount),
    });
    const nat = new Nat(
      this,
      normalizeAddress(options.publicAddress),
      realm,
      table,
    );
    realm.claim(nat.publicAddress, nat);
    return nat;
  }

  setLink(conditions: LinkConditions): void {
    const { delayMs, jitterMs, loss, duplicate } = conditions;
    this.#internet.set({ delayMs, jitterMs, loss, duplicate });
  }

  get stats(): NetworkStats {
    return {
      sent: this.#sent,
      duplicated: this.#duplicated,
      delivered: this.#delivered,
      dropped: { ...this.#dropped },
      inFlight: this.#inFlight,
    };
  }

  resetStats(): void {
    this.#sent = 0;
    this.#duplicated = 0;
    this.#delivered = 0;
    this.#dropped = emptyDrops();
  }

  #realmBehind(nat: MemoryNat | undefined): Realm {
    if (nat === undefined) return this.#root;
    if (!(nat instanceof Nat) || nat.network !== this) {
      throw new TypeError("Cannot put a node behind a NAT of another network");
    }
    return nat.inside;
  }

  /** A packet appears in `realm`; send it towards its destination. */
  arrive(realm: Realm, packet: Packet): void {
    const node = realm.nodes.get(packet.dst.address);
    if (node === undefined) {
      if (realm.nat === undefined) this.drop("no-route", packet);
      else realm.nat.fromInside(packet);
      return;
    }
    const onward = (p: Packet) => node.fromOutside(p);
    if (realm === this.#root) {
      // The internet between realms is one router hop.
      const hop = forwardHop(this, packet);
      if (hop) this.#internet.carry(this, hop, onward, false);
    } else onward(packet);
  }

  later(atMs: number, fn: () => void): void {
    this.#inFlight++;
    this.scheduler.setTimer(atMs, () => {
      this.#inFlight--;
      fn();
    });
  }

  countSent(): void {
    this.#sent++;
  }

  countDuplicate(): void {
    this.#duplicated++;
  }

  delivered(packet: Packet): void {
    this.#delivered++;
    this.#event("delivered", packet);
  }

  drop(reason: DropReason, packet: Packet): void {
    this.#dropped[reason]++;
    this.#event(reason, packet);
  }

  #event(kind: PacketEvent["kind"], packet: Packet): void {
    this.#trace?.({
      kind,
      atMs: this.scheduler.now(),
      from: { ...packet.src },
      to: { ...packet.dst },
      size: packet.data.length,
    });
  }
}

class Host implements MemoryHost {
  readonly #network: Network<Scheduler>;
  readonly address: string;
  readonly #realm: Realm;
  readonly #random: () => number;
  readonly #up = new Link();
  readonly #down = new Link();
  readonly #sockets = new Map<number, MemorySocket>();

  constructor(
    network: Network<Scheduler>,
    address: string,
    realm: Realm,
    random: () => number,
  ) {
    this.#network = network;
    this.address = address;
    this.#realm = realm;
    this.#random = random;
  }

  get behind(): MemoryNat | undefined {
    return this.#realm.nat;
  }

  openSocket(port = 0): Promise<DatagramSocket> {
    try {
      checkPort(port, "open a socket");
      if (port === 0) port = this.#freePort();
      if (this.#sockets.has(port)) {
        throw new Deno.errors.AddrInUse(
          `Cannot open a socket as the port is in use: ${this.address} port ${port}`,
        );
      }
      const socket = new MemorySocket(this, { address: this.address, port });
      this.#sockets.set(port, socket);
      return Promise.resolve(socket);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  setLink(
    conditions: HostLinkConditions,
    options: { direction?: LinkDirection } = {},
  ): void {
    const direction = options.direction ?? "both";
    if (!["both", "outbound", "inbound"].includes(direction)) {
      throw new TypeError(
        `Cannot set a link in an unknown direction: ${direction}`,
      );
    }
    if (direction !== "inbound") this.#up.set(conditions);
    if (direction !== "outbound") this.#down.set(conditions);
  }

  #freePort(): number {
    const span = LAST_PORT - FIRST_EPHEMERAL_PORT + 1;
    const start = Math.floor(this.#random() * span);
    for (let i = 0; i < span; i++) {
      const port = FIRST_EPHEMERAL_PORT + (start + i) % span;
      if (!this.#sockets.has(port)) return port;
    }
    throw new Deno.errors.AddrInUse(
      `Cannot open a socket as every ephemeral port is in use: ${this.address}`,
    );
  }

  /** Called by a socket's `send`, after checking its arguments. */
  transmit(packet: Packet): void {
    this.#network.countSent();
    this.#up.carry(
      this.#network,
      packet,
      (p) => this.#network.arrive(this.#realm, p),
      true,
    );
  }

  /** A packet for this host reached its link. */
  fromOutside(packet: Packet): void {
    this.#down.carry(this.#network, packet, (p) => this.#deliver(p), false);
  }

  #deliver(packet: Packet): void {
    const socket = this.#sockets.get(packet.dst.port);
    if (socket === undefined) {
      this.#network.drop("port-unreachable", packet);
    } else if (
      socket.queued >= this.#network.receiveBufferDatagrams
    ) {
      this.#network.drop("receive-buffer-full", packet);
    } else {
      socket.enqueue({ data: packet.data.slice(), from: { ...packet.src } });
      this.#network.delivered(packet);
    }
  }

  unbind(socket: MemorySocket): void {
    if (this.#sockets.get(socket.local.port) === socket) {
      this.#sockets.delete(socket.local.port);
    }
  }
}

class Nat implements MemoryNat {
  readonly network: Network<Scheduler>;
  readonly publicAddress: string;
  readonly inside: Realm;
  readonly #outside: Realm;
  readonly #table: NatTable;

  constructor(
    network: Network<Scheduler>,
    publicAddress: string,
    outside: Realm,
    table: NatTable,
  ) {
    this.network = network;
    this.publicAddress = publicAddress;
    this.#outside = outside;
    this.#table = table;
    this.inside = new Realm(this);
  }

  get behind(): MemoryNat | undefined {
    return this.#outside.nat;
  }

  get config(): Readonly<Required<NatBehaviourOptions>> {
    return this.#table.config;
  }

  mappings(): NatMappingInfo[] {
    return this.#table.mappings(this.network.scheduler.now());
  }

  clearMappings(): void {
    this.#table.clear();
  }

  /** A packet from the private side for an address not on that side. */
  fromInside(packet: Packet): void {
    const hairpin = packet.dst.address === this.publicAddress;
    if (hairpin && !this.#table.config.hairpinning) {
      this.network.drop("hairpin-disabled", packet);
      return;
    }
    // TTL first: Linux drops an expiring packet before NAT keeps state.
    const hop = forwardHop(this.network, packet);
    if (!hop) return;
    packet = hop;
    const now = this.network.scheduler.now();
    const out = this.#table.outbound(packet.src, packet.dst, now);
    if (!out.ok) {
      this.network.drop(out.reason, packet);
      return;
    }
    const translated = {
      ...packet,
      src: { address: this.publicAddress, port: out.publicPort },
    };
    // RFC 4787 REQ-9: a hairpinned packet comes back in from the sender's
    // public endpoint, as if it had gone out and returned; it was forwarded
    // once, and its hop is already counted.
    if (hairpin) this.#inbound(translated, false);
    else this.network.arrive(this.#outside, translated);
  }

  /** A packet for the public address. */
  fromOutside(packet: Packet): void {
    this.#inbound(packet, true);
  }

  #inbound(packet: Packet, countHop: boolean): void {
    const now = this.network.scheduler.now();
    const verdict = this.#table.inbound(packet.dst.port, packet.src, now);
    if (!verdict.ok) {
      this.network.drop(verdict.reason, packet);
      return;
    }
    const hop = countHop ? forwardHop(this.network, packet) : packet;
    if (hop) {
      this.network.arrive(this.inside, { ...hop, dst: verdict.internal });
    }
  }
}

class MemorySocket implements DatagramSocket {
  readonly local: Endpoint;
  readonly supportsTtl = true;
  readonly #host: Host;
  #queue: Datagram[] = [];
  #waiters: ((datagram: Datagram | undefined) => void)[] = [];
  #closed = false;

  constructor(host: Host, local: Endpoint) {
    this.#host = host;
    this.local = local;
  }

  get queued(): number {
    return this.#queue.length;
  }

  send(data: Uint8Array, to: Endpoint, options?: SendOptions): Promise<void> {
    // Like the real socket, a closed one swallows sends.
    if (this.#closed) return Promise.resolve();
    try {
      if (!(data instanceof Uint8Array)) {
        throw new TypeError("Cannot send a datagram that is not a Uint8Array");
      }
      if (data.length > MAX_DATAGRAM_SIZE) {
        throw new RangeError(
          `Cannot send a datagram larger than ${MAX_DATAGRAM_SIZE} bytes: ${data.length}`,
        );
      }
      checkPort(to.port, "send a datagram");
      if (to.port === 0) {
        throw new RangeError("Cannot send a datagram as the port is 0");
      }
      const dst = { address: normalizeAddress(to.address), port: to.port };
      // Copy now: the caller may reuse its buffer as soon as we return.
      const ttl = options?.ttl ?? DEFAULT_TTL;
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) {
        throw new RangeError(`Cannot send with a TTL outside 1–255: ${ttl}`);
      }
      this.#host.transmit({
        src: { ...this.local },
        dst,
        data: data.slice(),
        ttl,
      });
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  receive(): Promise<Datagram | undefined> {
    const next = this.#queue.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#host.unbind(this);
    for (const resolve of this.#waiters.splice(0)) resolve(undefined);
  }

  enqueue(datagram: Datagram): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(datagram);
    else this.#queue.push(datagram);
  }
}
