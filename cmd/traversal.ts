/**
 * Wiring `--stun` and `--birthday` into a peer node: the STUN servers for
 * NAT discovery, and extra sockets for birthday probing.
 *
 * @module
 */

import type { BirthdayBudget } from "../lib/peer/birthday.ts";
import { resolveHost } from "../lib/peer/addresses.ts";
import type { TraversalOptions } from "../lib/peer/peer_node.ts";
import { type DatagramSocket, openUdpSocket } from "../lib/udp/mod.ts";
import { UserError } from "../lib/user_error.ts";
import type { HostPort } from "./flags.ts";

/**
 * Opens a peer's UDP socket on `port` (0 = any) with the driver that can
 * set a per-datagram TTL when there is one (opening probes, PROTOCOL §6.1).
 */
export function openPeerSocket(port: number): Promise<DatagramSocket> {
  return openUdpSocket({ hostname: "0.0.0.0", port });
}

/** The traversal options of a peer command from its flags. */
export async function traversalOptions(
  flags: { stun?: HostPort; birthday: BirthdayBudget },
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
    openSocket: () => openPeerSocket(0),
    birthday: flags.birthday,
  };
}
