/**
 * Turning what the user typed into addresses: host names, and our own local
 * candidates.
 *
 * @module
 */

import { type Endpoint, normalizeAddress } from "../wire/mod.ts";

/**
 * Resolves `host` to an IPv4 or IPv6 address: a literal is returned as is,
 * `localhost` is 127.0.0.1, anything else is looked up in DNS (A, then AAAA).
 * Returns undefined when it does not resolve.
 */
export async function resolveHost(host: string): Promise<string | undefined> {
  try {
    return normalizeAddress(host);
  } catch {
    // Not a literal address: a name.
  }
  if (host === "localhost") return "127.0.0.1";
  for (const type of ["A", "AAAA"] as const) {
    try {
      const records = await Deno.resolveDns(host, type, {
        signal: AbortSignal.timeout(3000),
      });
      if (records.length > 0) return normalizeAddress(records[0]);
    } catch {
      // NXDOMAIN, timeout or no resolver: try the next type.
    }
  }
  return undefined;
}

/**
 * Our direct-path candidates: the socket's own address, or every
 * non-loopback IPv4 interface address when bound to the wildcard.
 */
export function localCandidates(local: Endpoint): Endpoint[] {
  if (local.address !== "0.0.0.0" && local.address !== "::") return [local];
  const out: Endpoint[] = [];
  try {
    for (const iface of Deno.networkInterfaces()) {
      if (iface.family !== "IPv4" || iface.address.startsWith("127.")) continue;
      out.push({ address: normalizeAddress(iface.address), port: local.port });
    }
  } catch {
    // No permission to list interfaces: the relay's view suffices.
  }
  return out.slice(0, 8);
}
