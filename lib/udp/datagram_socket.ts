/**
 * The one interface altnet's protocol code uses to send and receive UDP
 * datagrams, and its real implementation on `Deno.listenDatagram`.
 *
 * @module
 */

import { type Endpoint, normalizeAddress } from "../wire/mod.ts";

/** One received datagram. */
export interface Datagram {
  /** The payload; valid until the next `receive` on the same socket. */
  data: Uint8Array;
  /** The source address and port, address in canonical text. */
  from: Endpoint;
}

/** Per-datagram options of {@linkcode DatagramSocket.send}. */
export interface SendOptions {
  /**
   * The IP TTL (hop limit) of this datagram only; ignored by sockets whose
   * `supportsTtl` is false.
   */
  ttl?: number;
}

/** A bound UDP socket. */
export interface DatagramSocket {
  /** The local address and port the socket is bound to. */
  readonly local: Endpoint;
  /** Whether `send` honours {@linkcode SendOptions.ttl}. */
  readonly supportsTtl: boolean;
  /** Sends one datagram; resolves once handed to the network stack. */
  send(data: Uint8Array, to: Endpoint, options?: SendOptions): Promise<void>;
  /** The next datagram, or undefined once the socket is closed. */
  receive(): Promise<Datagram | undefined>;
  /** Closes the socket; pending `receive` calls resolve to undefined. */
  close(): void;
}

/** Largest datagram we read; altnet's own are ≤ 1232, STUN may be larger. */
const RECEIVE_BUFFER_SIZE = 2048;

/**
 * Opens a UDP socket bound to `hostname:port` (port 0 = any free port).
 *
 * @example
 * ```ts ignore
 * const socket = await openUdpSocket({ hostname: "127.0.0.1", port: 0 });
 * await socket.send(new Uint8Array([1]), { address: "127.0.0.1", port: 9 });
 * socket.close();
 * ```
 */
export function openUdpSocket(
  options: { hostname: string; port: number },
): Promise<DatagramSocket> {
  const conn = Deno.listenDatagram({
    transport: "udp",
    hostname: options.hostname,
    port: options.port,
  });
  return Promise.resolve(new DenoUdpSocket(conn));
}

class DenoUdpSocket implements DatagramSocket {
  readonly local: Endpoint;
  // Deno.listenDatagram has no unicast TTL option.
  readonly supportsTtl = false;
  readonly #conn: Deno.DatagramConn;
  // Reusing one buffer halves the per-packet cost (measured in the brief).
  readonly #buffer = new Uint8Array(RECEIVE_BUFFER_SIZE);
  #closed = false;

  constructor(conn: Deno.DatagramConn) {
    this.#conn = conn;
    const addr = conn.addr as Deno.NetAddr;
    this.local = { address: normalizeAddress(addr.hostname), port: addr.port };
  }

  async send(data: Uint8Array, to: Endpoint): Promise<void> {
    if (this.#closed) return;
    await this.#conn.send(data, {
      transport: "udp",
      hostname: to.address,
      port: to.port,
    });
  }

  async receive(): Promise<Datagram | undefined> {
    while (!this.#closed) {
      try {
        const [data, addr] = await this.#conn.receive(this.#buffer);
        const net = addr as Deno.NetAddr;
        return {
          data,
          from: { address: normalizeAddress(net.hostname), port: net.port },
        };
      } catch (error) {
        if (this.#closed || error instanceof Deno.errors.BadResource) {
          return undefined;
        }
        // ICMP port-unreachable from an earlier send surfaces here on
        // Linux as ConnectionRefused; it says nothing about this receive.
        if (error instanceof Deno.errors.ConnectionRefused) continue;
        throw error;
      }
    }
    return undefined;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.close();
  }
}
