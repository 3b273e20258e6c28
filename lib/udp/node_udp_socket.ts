/**
 * A {@linkcode DatagramSocket} on `node:dgram`, which, unlike
 * `Deno.listenDatagram`, can set the IP TTL of the datagrams it sends: what
 * a low-TTL hole-punching opener needs (docs/PROTOCOL.md, hard NATs).
 *
 * Two properties of Deno's `node:dgram` shape this driver:
 *
 * - `setTTL` takes effect at once, but `send` reaches the kernel only later
 *   (after an asynchronous address lookup), so a TTL set around one `send`
 *   would apply to whatever `sendto` runs meanwhile. A datagram with a TTL is
 *   therefore sent alone: earlier sends finish first, then the TTL is set,
 *   the datagram sent and its callback awaited, then the TTL put back; sends
 *   issued meanwhile wait in order behind it.
 * - `setTTL` sets `IP_TTL` only, which an IPv6 socket applies to IPv4
 *   destinations but not to IPv6 ones (their hop limit stays the default;
 *   seen in network namespaces). An IPv6 socket thus reports
 *   `supportsTtl: false` and ignores the option, so that no caller believes
 *   a full-TTL datagram died early.
 *
 * `node:dgram` pushes datagrams as they come, so received ones wait in a
 * bounded queue; when it is full, further ones are dropped and counted in
 * {@linkcode NodeUdpSocket.receiveQueueDrops}.
 *
 * @module
 */

import dgram from "node:dgram";
import { type Endpoint, normalizeAddress } from "../wire/mod.ts";
import type {
  Datagram,
  DatagramSocket,
  SendOptions,
} from "./datagram_socket.ts";

/** The TTL a socket sends with when no option says otherwise (Linux's). */
export const DEFAULT_SOCKET_TTL = 64;

/** Unread datagrams a socket holds before it drops more. */
const DEFAULT_RECEIVE_QUEUE_DATAGRAMS = 4096;

/** Options for {@linkcode openNodeUdpSocket}. */
export interface NodeUdpSocketOptions {
  /** Address to bind: IPv4 text, or IPv6 text such as `"::"` (dual-stack). */
  hostname: string;
  /** Port to bind; 0 picks a free one. */
  port: number;
  /** Unread datagrams kept before dropping more; default 4096. */
  receiveQueueDatagrams?: number;
  /**
   * The TTL put back after a datagram sent with its own; default 64, what
   * Linux gives a new socket (`net.ipv4.ip_default_ttl`).
   */
  defaultTtl?: number;
}

/** A {@linkcode DatagramSocket} that also says what its queue dropped. */
export interface NodeUdpSocket extends DatagramSocket {
  /** Datagrams dropped because the receive queue was full. */
  readonly receiveQueueDrops: number;
}

function checkTtl(ttl: number, what: string): void {
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) {
    throw new RangeError(`Cannot ${what} with a TTL outside 1–255: ${ttl}`);
  }
}

/**
 * Opens a UDP socket on `node:dgram` bound to `hostname:port`. IPv4 sockets
 * honour {@linkcode SendOptions.ttl}; see the module notes for IPv6.
 *
 * @example
 * ```ts ignore
 * const socket = await openNodeUdpSocket({ hostname: "0.0.0.0", port: 0 });
 * // Opens our NAT's mapping, dies at the next router.
 * await socket.send(probe, peer, { ttl: 2 });
 * socket.close();
 * ```
 *
 * @throws {Deno.errors.AddrInUse} (as a rejection) when the port is taken
 * @throws {RangeError} (as a rejection) for a bad queue size or TTL
 */
export async function openNodeUdpSocket(
  options: NodeUdpSocketOptions,
): Promise<NodeUdpSocket> {
  const capacity = options.receiveQueueDatagrams ??
    DEFAULT_RECEIVE_QUEUE_DATAGRAMS;
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(
      `Cannot open a socket with a receive queue under one datagram: ${capacity}`,
    );
  }
  const defaultTtl = options.defaultTtl ?? DEFAULT_SOCKET_TTL;
  checkTtl(defaultTtl, "open a socket");
  const ipv6 = options.hostname.includes(":");
  const socket = dgram.createSocket({ type: ipv6 ? "udp6" : "udp4" });
  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error & { code?: string }) => {
      try {
        socket.close();
      } catch {
        // It never opened: nothing to release.
      }
      reject(
        error.code === "EADDRINUSE"
          ? new Deno.errors.AddrInUse(
            `Cannot open a socket as the port is in use: ${options.hostname} port ${options.port}`,
          )
          : error,
      );
    };
    socket.once("error", failed);
    socket.bind({ address: options.hostname, port: options.port }, () => {
      socket.off("error", failed);
      resolve();
    });
  });
  return new NodeDgramSocket(socket, {
    capacity,
    defaultTtl,
    supportsTtl: !ipv6,
  });
}

/** A send waiting behind a datagram with a TTL. */
interface Deferred {
  data: Uint8Array;
  to: Endpoint;
  ttl: number | undefined;
  resolve: () => void;
  reject: (error: unknown) => void;
}

class NodeDgramSocket implements NodeUdpSocket {
  readonly local: Endpoint;
  readonly supportsTtl: boolean;
  readonly #socket: dgram.Socket;
  readonly #defaultTtl: number;
  // A ring of received datagrams: node:dgram pushes, receive() pulls.
  readonly #queue: (Datagram | undefined)[];
  #head = 0;
  #queued = 0;
  #waiters: ((datagram: Datagram | undefined) => void)[] = [];
  #drops = 0;
  /** Sends handed to node:dgram whose callback has not run yet. */
  #inFlight = 0;
  #onDrained: (() => void)[] = [];
  /** Sends waiting while a TTL'd one is under way; see the module notes. */
  #deferred: Deferred[] = [];
  #pumping = false;
  #closed = false;

  constructor(
    socket: dgram.Socket,
    options: { capacity: number; defaultTtl: number; supportsTtl: boolean },
  ) {
    this.#socket = socket;
    this.#defaultTtl = options.defaultTtl;
    this.supportsTtl = options.supportsTtl;
    this.#queue = new Array(options.capacity);
    const { address, port } = socket.address();
    this.local = { address: normalizeAddress(address), port };
    socket.on("message", (message, remote) => this.#onMessage(message, remote));
    // An ICMP error from an earlier send may surface as a receive error; it
    // says nothing about the socket, and node:dgram keeps receiving.
    socket.on("error", () => {});
  }

  get receiveQueueDrops(): number {
    return this.#drops;
  }

  send(data: Uint8Array, to: Endpoint, options?: SendOptions): Promise<void> {
    // Like the Deno driver, a closed socket swallows sends.
    if (this.#closed) return Promise.resolve();
    let ttl = options?.ttl;
    if (ttl !== undefined) {
      try {
        checkTtl(ttl, "send a datagram");
      } catch (error) {
        return Promise.reject(error);
      }
      if (!this.supportsTtl) ttl = undefined;
    }
    if (ttl === undefined && !this.#pumping) return this.#sendNow(data, to);
    // Copied: the caller may reuse its buffer before this one goes out.
    return new Promise((resolve, reject) => {
      this.#deferred.push({ data: data.slice(), to, ttl, resolve, reject });
      if (!this.#pumping) this.#pump();
    });
  }

  receive(): Promise<Datagram | undefined> {
    if (this.#queued > 0) {
      const datagram = this.#queue[this.#head]!;
      this.#queue[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.#queue.length;
      this.#queued--;
      return Promise.resolve(datagram);
    }
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.fill(undefined);
    this.#queued = 0;
    try {
      this.#socket.close();
    } catch {
      // Already closed underneath us: nothing left to release.
    }
    for (const resolve of this.#waiters.splice(0)) resolve(undefined);
    for (const send of this.#deferred.splice(0)) send.resolve();
  }

  #onMessage(message: Uint8Array, remote: dgram.RemoteInfo): void {
    if (this.#closed) return;
    // A copy of the right size: node:dgram reads each datagram into a fresh
    // 64 KiB buffer, which a queue of views would keep alive.
    const datagram = {
      data: new Uint8Array(message),
      from: { address: normalizeAddress(remote.address), port: remote.port },
    };
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter(datagram);
      return;
    }
    const capacity = this.#queue.length;
    if (this.#queued === capacity) {
      this.#drops++;
      return;
    }
    this.#queue[(this.#head + this.#queued) % capacity] = datagram;
    this.#queued++;
  }

  /** Hands one datagram to node:dgram; resolves when its callback runs. */
  #sendNow(data: Uint8Array, to: Endpoint): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#inFlight++;
      const done = (error: Error | null) => {
        if (--this.#inFlight === 0) {
          for (const drained of this.#onDrained.splice(0)) drained();
        }
        if (error && !this.#closed) reject(error);
        else resolve();
      };
      try {
        this.#socket.send(data, to.port, to.address, done);
      } catch (error) {
        done(error as Error);
      }
    });
  }

  #drained(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#onDrained.push(resolve));
  }

  /**
   * Sends the deferred datagrams in order: plain ones at once, one with a
   * TTL alone once everything before it has gone (see the module notes).
   */
  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#deferred.length > 0 && !this.#closed) {
        const next = this.#deferred.shift()!;
        if (next.ttl === undefined) {
          this.#sendNow(next.data, next.to).then(next.resolve, next.reject);
          continue;
        }
        await this.#drained();
        if (this.#closed) {
          next.resolve();
          break;
        }
        try {
          this.#socket.setTTL(next.ttl);
          try {
            await this.#sendNow(next.data, next.to);
          } finally {
            if (!this.#closed) this.#socket.setTTL(this.#defaultTtl);
          }
          next.resolve();
        } catch (error) {
          next.reject(error);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }
}
