/**
 * Wiring `altnet punch` to the terminal: resolve, diagnose, print the report.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { type Identity, TrustStore } from "../lib/identity/mod.ts";
import { diagnosePunch, type PunchReport } from "../lib/nat/punch_diagnosis.ts";
import { localCandidates, resolveHost } from "../lib/peer/addresses.ts";
import { realScheduler } from "../lib/udp/mod.ts";
import { openPeerSocket } from "./traversal.ts";
import { UserError } from "../lib/user_error.ts";
import type { Endpoint } from "../lib/wire/mod.ts";
import type { HostPort } from "./flags.ts";
import { PROCESS_SINKS, type Reporter } from "./output.ts";
import type { PunchOptions } from "./punch.ts";

/** Runs the diagnosis and prints it; exit 0 when a session came up. */
export async function runPunch(
  options: PunchOptions,
  loaded: { identity: Identity; path: string },
  reporter: Reporter,
): Promise<number> {
  if (!options.relay) {
    throw new UserError("No relay given", {
      hint: "pass --relay HOST:PORT",
    });
  }
  const relay = await resolveEndpoint(options.relay, "relay");
  const stunServers = options.stun
    ? [await resolveEndpoint(options.stun, "STUN server")]
    : [];
  const peer = options.peer.kind === "host-port"
    ? options.peer.host
    : options.peer.name;
  const knownPeers = await TrustStore.open(
    join(dirname(loaded.path), "known_peers"),
  );
  const knownRelays = await TrustStore.open(
    join(dirname(loaded.path), "known_relays"),
  );
  let socket;
  try {
    socket = await openPeerSocket(options.port, "ttl");
  } catch (error) {
    throw new UserError(
      `Cannot listen on UDP port ${options.port}: ${(error as Error).message}`,
      { hint: "choose another <port>, or 0 for any" },
    );
  }
  const report = await diagnosePunch({
    socket,
    scheduler: realScheduler,
    staticKeyPair: {
      publicKey: loaded.identity.noisePublicKey,
      privateKey: loaded.identity.noisePrivateKey,
    },
    name: options.name,
    relay,
    relayKey: knownRelays.get(`${options.relay.host}:${options.relay.port}`),
    peer,
    pinnedKey: knownPeers.get(peer),
    candidates: localCandidates(socket.local),
    stunServers,
    openProbeSocket: () => openPeerSocket(0, "ttl"),
    onProgress: (text) => {
      if (!options.json) PROCESS_SINKS.stderr(`… ${text}`);
    },
  });
  if (options.json) {
    reporter.event("done", JSON.parse(JSON.stringify(report)));
  } else {
    for (const line of formatReport(report, options.name, relay)) {
      PROCESS_SINKS.stdout(line);
    }
  }
  return report.verdict === "no-connection" ? 1 : 0;
}

async function resolveEndpoint(hp: HostPort, what: string): Promise<Endpoint> {
  const address = await resolveHost(hp.host);
  if (!address) {
    throw new UserError(`Cannot resolve the ${what} host: ${hp.host}`, {
      hint: "check the name, or use an IP address",
    });
  }
  return { address, port: hp.port };
}

/** The human report, one line each. */
export function formatReport(
  r: PunchReport,
  name: string,
  relay: Endpoint,
): string[] {
  const show = (e?: Endpoint) =>
    e
      ? (e.address.includes(":")
        ? `[${e.address}]:${e.port}`
        : `${e.address}:${e.port}`)
      : "-";
  const row = (label: string, value: string) =>
    `  ${label.padEnd(20)} ${value}`;
  const more = (value: string) => `  ${"".padEnd(20)} ${value}`;
  const lines = [
    `altnet punch: ${name} → ${r.peer.name} via relay ${show(relay)}`,
    "",
    "This side",
    row("local candidates", r.local.map(show).join(", ") || "-"),
    row(
      "public address",
      r.nat.public
        ? `${show(r.nat.public)}${
          r.nat.behindNat ? " (behind NAT)" : " (no NAT)"
        }${r.nat.portPreserved ? ", port preserved" : ""}`
        : "unknown",
    ),
    row("NAT mapping", r.nat.mapping),
    row("NAT filtering", r.nat.filtering),
  ];
  for (const note of r.nat.notes) lines.push(more(`· ${note}`));
  r.stun.forEach((s, i) =>
    lines.push(
      (i === 0 ? row : (_: string, v: string) => more(v))(
        "STUN",
        `${show(s.server)}${s.change ? " (answer from other port)" : ""} → ${
          s.result
            ? `${show(s.result.mapped)} in ${Math.round(s.result.rttMs)} ms`
            : "no answer"
        }`,
      ),
    )
  );
  lines.push("", `Peer ${r.peer.name}`);
  lines.push(
    row(
      "relay",
      r.relay.registered
        ? `registered; the relay sees us as ${show(r.relay.observed)}`
        : `not registered${r.relay.refused ? `: ${r.relay.refused}` : ""}`,
    ),
  );
  lines.push(
    row(
      "session",
      r.peer.established
        ? `established over the relay after ${r.peer.establishedMs} ms`
        : "not established",
    ),
  );
  lines.push(row("peer NAT mapping", r.peer.mapping));
  lines.push(
    row(
      "opening probes",
      r.peer.lowTtlOpening
        ? "TTL 2 first (opens our NAT, stops short of the peer's)"
        : "full TTL (this socket cannot set a TTL)",
    ),
  );
  if (r.peer.birthday.rounds > 0) {
    const b = r.peer.birthday;
    lines.push(
      row(
        "birthday probing",
        `${b.role} side, ${b.rounds} round(s), ${
          b.role === "hard"
            ? `${b.socketsOpened} sockets opened`
            : `${b.probesSent} probes sent`
        }, ${b.succeeded ? "hit" : "no hit"}`,
      ),
    );
  }
  r.peer.candidates.forEach((c, i) =>
    lines.push(
      (i === 0 ? row : (_: string, v: string) => more(v))(
        "candidates",
        `${
          show(c.candidate).padEnd(24)
        } ${c.probesSent} probes, ${c.acks} answered${
          c.bestRttMs !== undefined
            ? `, best rtt ${Math.round(c.bestRttMs)} ms`
            : ""
        }${c.answeredFrom ? ` (answers from ${show(c.answeredFrom)})` : ""}`,
      ),
    )
  );
  lines.push(
    row(
      "direct path",
      r.peer.direct
        ? `up after ${r.peer.directMs} ms via ${
          show(r.peer.directEndpoint)
        }, rtt ${r.peer.rttMs} ms`
        : "none",
    ),
  );
  if (r.peer.technique) lines.push(row("technique", r.peer.technique));
  lines.push("", `Verdict: ${r.verdict.toUpperCase()}`);
  for (const reason of r.reasons) lines.push(`  · ${reason}`);
  return lines;
}
