/**
 * Wiring `--stun` and `--birthday` into a peer node: the STUN servers for
 * NAT discovery, and extra sockets for birthday probing.
 *
 * @module
 */

import type { BirthdayBudget } from "../lib/peer/birthday.ts";
import { resolveHost } from "../lib/peer/addresses.ts";
import type { TraversalOptions } from "../lib/peer/peer_node.ts";
import {
  type DatagramSocket,
  openNodeUdpSocket,
  openUdpSocket,
} from "../lib/udp/mod.ts";
import { UserError } from "../lib/user_error.ts";
import type { HostPort } from "./flags.ts";

/**
 * Which UDP driver a peer command uses: `ttl` (node:dgram, can send the
 * low-TTL opening probes of PROTOCOL §6.1) or `fast` (Deno.listenDatagram,
 * about 3× cheaper per received datagram by `deno task bench:udp`, no TTL).
 * Chat and punch move little data and want every technique; send and
 * receive move bulk data and take the fast one.
 */
export type PeerSocketKind = "ttl" | "fast";

/** Opens a peer's UDP socket on `port` (0 = any) with the `kind` driver. */
export function openPeerSocket(
  port: number,
  kind: PeerSocketKind,
): Promise<DatagramSocket> {
  return kind === "ttl"
    ? openNodeUdpSocket({ hostname: "0.0.0.0", port })
    : openUdpSocket({ hostname: "0.0.0.0", port });
}

/** The traversal options of a peer command from its flags. */
export async function traversalOptions(
  flags: { stun?: HostPort; birthday: BirthdayBudget },
  kind: PeerSocketKind,
): Promise<TraversalOptions> {
  const stunServers = [];
  if (flags.stun) {
    const address = await resolveHost(flags.stun.host);
    if (!address) {
      throw new UserError(
        `Cannot resolve the STUN server host: ${flags.stun.host}`,
        { hint: "check the name, or use an IP address" },
      );
    }
    stunServers.push({ address, port: flags.stun.port });
  }
  return {
    natDiscovery: { stunServers },
    openSocket: () => openPeerSocket(0, kind),
    birthday: flags.birthday,
  };
}
