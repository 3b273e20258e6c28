/**
 * A socket that talks to the relay only: every datagram to or from anyone
 * else is dropped, so no direct path can form and every packet takes the
 * relay. For `--relay-only` (checking and measuring a relay).
 *
 * @module
 */

import type { DatagramSocket } from "../udp/mod.ts";
import type { Endpoint } from "../wire/mod.ts";

const same = (a: Endpoint, b: Endpoint) =>
  a.address === b.address && a.port === b.port;

/**
 * Wraps `socket` so that it exchanges datagrams with `relay` only.
 *
 * @example
 * ```ts ignore
 * const socket = relayOnlySocket(await openUdpSocket({ hostname: "0.0.0.0", port: 0 }), relay);
 * ```
 */
export function relayOnlySocket(
  socket: DatagramSocket,
  relay: Endpoint,
): DatagramSocket {
  return {
    local: socket.local,
    supportsTtl: socket.supportsTtl,
    send: (data, to, options) =>
      same(to, relay) ? socket.send(data, to, options) : Promise.resolve(),
    async receive() {
      for (;;) {
        const datagram = await socket.receive();
        if (!datagram || same(datagram.from, relay)) return datagram;
      }
    },
    close: () => socket.close(),
  };
}
