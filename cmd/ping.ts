/**
 * `altnet ping`: UDP round trips to every listed relay.
 *
 * @module
 */

import {
  formatAddress,
  probeRelays,
  type ProbeResult,
  type ProbeTarget,
  type RelayAddress,
} from "../lib/directory/mod.ts";
import { type DatagramSocket, openUdpSocket } from "../lib/udp/mod.ts";
import { normalizeAddress } from "../lib/wire/mod.ts";
import {
  DIRECTORY_KEY_HELP,
  fetchTrustedRelayList,
  parseDirectoryKey,
} from "./directory_access.ts";
import { parseDuration, parseFlags, parseInteger } from "./flags.ts";
import { IDENTITY_FLAG, IDENTITY_HELP } from "./identity_option.ts";
import { fingerprintOf } from "./list.ts";
import { type OutputSinks, PROCESS_SINKS, Reporter } from "./output.ts";
import { DIRECTORY_HELP, parseDirectoryFlag } from "./peer_flags.ts";
import { formatTable } from "./table.ts";

/** One line for `altnet --help`. */
export const summary = "measure round trips to every listed relay";

/** `altnet ping --help`. */
export const help = `altnet ping: ${summary}

Usage: altnet ping [--directory URL] [--directory-key KEY] [--count N]
                   [--timeout D] [--json]

Fetches the verified relay list (as 'altnet list'), then sends N PING packets
over UDP to each relay's first address and waits for its PONG. Prints the
fastest and median round trip and the loss, fastest relay first; a relay that
does not answer shows 100 % loss.

Options:
${DIRECTORY_HELP}
${DIRECTORY_KEY_HELP}
  --count N          probes per relay (default 5, at most 100)
  --timeout D        how long to wait for each answer (default 1s)
${IDENTITY_HELP}
  --json             one JSON object per relay ("relay" events, then "done")
  -h, --help         show this help`;

/** Parsed `altnet ping` flags. */
export interface PingOptions {
  help: boolean;
  json: boolean;
  directory: string;
  directoryKey?: string;
  identity?: string;
  count: number;
  timeoutMs: number;
}

/** Parses `altnet ping` arguments; throws UsageError on mistakes. */
export function parsePingArgs(args: string[]): PingOptions {
  const { values: v } = parseFlags("ping", args, {
    ...IDENTITY_FLAG,
    directory: { type: "string" },
    "directory-key": { type: "string" },
    count: { type: "string" },
    timeout: { type: "string" },
  });
  return {
    help: v.help ?? false,
    json: v.json ?? false,
    directory: parseDirectoryFlag(v.directory),
    directoryKey: parseDirectoryKey(v["directory-key"]),
    identity: v.identity,
    count: v.count === undefined
      ? 5
      : parseInteger(v.count, "--count", { min: 1, max: 100 }),
    timeoutMs: v.timeout === undefined
      ? 1000
      : Math.min(parseDuration(v.timeout, "--timeout"), 60_000),
  };
}

interface Relay {
  name: string;
  fingerprint: string;
  address: string;
  /** Undefined when the host name did not resolve. */
  target?: ProbeTarget;
}

/** The relay's first address as an IP endpoint (resolving a DNS name). */
async function resolve(
  address: RelayAddress,
): Promise<ProbeTarget["endpoint"] | undefined> {
  try {
    return { address: normalizeAddress(address.host), port: address.port };
  } catch {
    // A DNS name: take its first IPv4 address, else its first IPv6 one.
  }
  for (const type of ["A", "AAAA"] as const) {
    try {
      const [ip] = await Deno.resolveDns(address.host, type);
      if (ip) return { address: normalizeAddress(ip), port: address.port };
    } catch {
      // try the next record type
    }
  }
  return undefined;
}

/** Runs `altnet ping`. */
export async function run(
  options: PingOptions,
  context: { env?: Record<string, string | undefined>; sinks?: OutputSinks } =
    {},
): Promise<number> {
  const reporter = new Reporter(options.json, context.sinks ?? PROCESS_SINKS);
  const { list } = await fetchTrustedRelayList(options, reporter, context.env);
  const relays: Relay[] = await Promise.all(list.relays.map(async (entry) => {
    const d = entry.descriptor;
    const first = d.addresses[0];
    const endpoint = await resolve(first);
    const print = fingerprintOf(d.noise_key);
    return {
      name: d.name,
      fingerprint: print,
      address: formatAddress(first.host, first.port),
      target: endpoint ? { id: print, endpoint } : undefined,
    };
  }));
  reporter.event(
    "directory",
    { url: options.directory, relays: relays.length },
    relays.length === 0
      ? `The directory at ${options.directory} lists no relays yet.`
      : `Pinging ${relays.length} relay${
        relays.length === 1 ? "" : "s"
      } from ${options.directory}, ${options.count} probe${
        options.count === 1 ? "" : "s"
      } each…`,
  );
  const targets = relays.flatMap((r) => r.target ? [r.target] : []);
  const sockets: DatagramSocket[] = [];
  let results: ProbeResult[] = [];
  try {
    sockets.push(await openUdpSocket({ hostname: "0.0.0.0", port: 0 }));
    if (targets.some((t) => t.endpoint.address.includes(":"))) {
      // Without IPv6 on this machine, IPv6 relays just show as lost.
      await openUdpSocket({ hostname: "::", port: 0 })
        .then((s) => sockets.push(s), () => {});
    }
    results = await probeRelays(sockets, targets, {
      count: options.count,
      timeoutMs: options.timeoutMs,
    });
  } finally {
    for (const socket of sockets) socket.close();
  }
  const byId = new Map(results.map((r) => [r.id, r]));
  const rows = relays.map((relay) => ({
    relay,
    result: byId.get(relay.fingerprint),
  }));
  rows.sort((a, b) =>
    (a.result?.medianMs ?? Infinity) - (b.result?.medianMs ?? Infinity) ||
    (a.relay.name < b.relay.name ? -1 : 1)
  );
  const table = [["NAME", "FINGERPRINT", "ADDRESS", "MIN", "MEDIAN", "LOSS"]];
  for (const { relay, result } of rows) {
    const sent = result?.sent ?? options.count;
    const received = result?.received ?? 0;
    const loss = sent === 0 ? 1 : 1 - received / sent;
    reporter.event("relay", {
      name: relay.name,
      fingerprint: relay.fingerprint,
      address: relay.address,
      sent,
      received,
      loss,
      minMs: round(result?.minMs),
      medianMs: round(result?.medianMs),
      rttsMs: result?.rttsMs.map((r) => round(r)) ?? [],
      ...(relay.target ? {} : { error: "the host name does not resolve" }),
    });
    table.push([
      relay.name,
      relay.fingerprint,
      relay.address,
      formatMs(result?.minMs),
      formatMs(result?.medianMs),
      `${Math.round(loss * 100)} %${
        !relay.target
          ? " (host name does not resolve)"
          : received === 0
          ? " (no answer)"
          : ""
      }`,
    ]);
  }
  if (!reporter.json && relays.length > 0) {
    for (const line of formatTable(table)) reporter.event("line", {}, line);
  }
  reporter.event("done", {
    relays: relays.length,
    answered: rows.filter((r) => (r.result?.received ?? 0) > 0).length,
  });
  return 0;
}

function round(ms: number | undefined): number | null {
  return ms === undefined ? null : Math.round(ms * 1000) / 1000;
}

function formatMs(ms: number | undefined): string {
  if (ms === undefined) return "–";
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(1)} ms`;
}
