/**
 * `altnet list`: the relays the directory lists.
 *
 * @module
 */

import type { RelayList, RelayListEntry } from "../lib/directory/mod.ts";
import { formatAddress } from "../lib/directory/mod.ts";
import { fingerprint } from "../lib/identity/mod.ts";
import {
  DIRECTORY_KEY_HELP,
  fetchTrustedRelayList,
  parseDirectoryKey,
} from "./directory_access.ts";
import { parseFlags } from "./flags.ts";
import { IDENTITY_FLAG, IDENTITY_HELP } from "./identity_option.ts";
import { type OutputSinks, PROCESS_SINKS, Reporter } from "./output.ts";
import { DIRECTORY_HELP, parseDirectoryFlag } from "./peer_flags.ts";
import { formatTable, formatUptime } from "./table.ts";

/** One line for `altnet --help`. */
export const summary = "list the relays of the directory (signature checked)";

/** `altnet list --help`. */
export const help = `altnet list: ${summary}

Usage: altnet list [--directory URL] [--directory-key KEY] [--json]

Fetches the directory's signed relay list, checks the directory's signature
(its key pinned on first use in known_directories beside the identity, or
given with --directory-key), the list's validity window and every relay's own
signature, then prints one line per relay.

Options:
${DIRECTORY_HELP}
${DIRECTORY_KEY_HELP}
${IDENTITY_HELP}
  --json             one JSON object per relay ("relay" events, then "done")
  -h, --help         show this help`;

/** Parsed `altnet list` flags. */
export interface ListOptions {
  help: boolean;
  json: boolean;
  directory: string;
  directoryKey?: string;
  identity?: string;
}

/** Parses `altnet list` arguments; throws UsageError on mistakes. */
export function parseListArgs(args: string[]): ListOptions {
  const { values: v } = parseFlags("list", args, {
    ...IDENTITY_FLAG,
    directory: { type: "string" },
    "directory-key": { type: "string" },
  });
  return {
    help: v.help ?? false,
    json: v.json ?? false,
    directory: parseDirectoryFlag(v.directory),
    directoryKey: parseDirectoryKey(v["directory-key"]),
    identity: v.identity,
  };
}

/** The fingerprint of a base64 Noise key. */
export function fingerprintOf(noiseKey: string): string {
  return fingerprint(Uint8Array.fromBase64(noiseKey));
}

/** A relay as `list --json` prints it (camelCase, like every CLI event). */
export function relayEvent(entry: RelayListEntry, now: number) {
  const d = entry.descriptor;
  const s = entry.status;
  return {
    name: d.name,
    fingerprint: fingerprintOf(d.noise_key),
    noiseKey: d.noise_key,
    signingKey: d.signing_key,
    addresses: d.addresses.map((a) => formatAddress(a.host, a.port)),
    flags: d.capabilities,
    uptimeSeconds: Math.floor(
      s.load.uptime_s + Math.max(0, now - s.last_seen) / 1000,
    ),
    peers: s.load.peers,
    circuits: s.load.circuits,
    bytesRelayed: s.load.bytes_relayed,
    bandwidth: d.bandwidth,
    software: d.software,
    contact: d.contact,
    lastSeen: s.last_seen,
  };
}

/** Runs `altnet list`. */
export async function run(
  options: ListOptions,
  context: { env?: Record<string, string | undefined>; sinks?: OutputSinks } =
    {},
): Promise<number> {
  const reporter = new Reporter(options.json, context.sinks ?? PROCESS_SINKS);
  const { list, trust } = await fetchTrustedRelayList(
    options,
    reporter,
    context.env,
  );
  printList(reporter, options.directory, list, trust);
  return 0;
}

function printList(
  reporter: Reporter,
  url: string,
  list: RelayList,
  trust: string,
) {
  const now = Date.now();
  reporter.event(
    "directory",
    {
      url,
      key: list.directory.signing_key,
      fingerprint: fingerprintOf(list.directory.noise_key),
      trust,
      validUntil: list.valid_until,
      relays: list.relays.length,
    },
    `Directory ${url}: signature verified (key ${list.directory.signing_key}), valid until ${
      new Date(list.valid_until).toISOString()
    }, ${list.relays.length} relay${list.relays.length === 1 ? "" : "s"}`,
  );
  const rows = [["NAME", "FINGERPRINT", "ADDRESS", "FLAGS", "UPTIME", "LOAD"]];
  for (const entry of list.relays) {
    const relay = relayEvent(entry, now);
    reporter.event("relay", relay);
    rows.push([
      relay.name,
      relay.fingerprint,
      relay.addresses.join(" "),
      relay.flags.join(","),
      formatUptime(relay.uptimeSeconds),
      `${relay.peers} peer${
        relay.peers === 1 ? "" : "s"
      }, ${relay.circuits} circuit${relay.circuits === 1 ? "" : "s"}`,
    ]);
  }
  if (!reporter.json) {
    if (list.relays.length === 0) {
      reporter.event("empty", {}, "The directory lists no relays yet.");
    } else {
      for (const line of formatTable(rows)) reporter.event("line", {}, line);
    }
  }
  reporter.event("done", { relays: list.relays.length });
}
