/**
 * The relay's counters, the 60-second statistics line and the Prometheus
 * text exposition.
 *
 * @module
 */

/** Reasons a relay drops a datagram; each is counted apart. */
export type DropReason =
  | "malformed"
  | "rate-limited"
  | "handshake-failed"
  | "replayed-init"
  | "unknown-index"
  | "replay"
  | "auth"
  | "expired"
  | "unexpected-message"
  | "unknown-circuit"
  | "circuit-budget"
  | "peer-unreachable"
  | "unsupported";

/** Every counter a relay keeps. Only aggregate numbers: no names, no addresses. */
export interface RelayCounters {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** End-to-end bytes forwarded between circuit ends. */
  bytesRelayed: number;
  packetsRelayed: number;
  handshakes: number;
  cookieReplies: number;
  stunRequests: number;
  /** Cover packets received from other relays (dropped after opening). */
  coverReceived: number;
  /** Cover packets this relay sent. */
  coverSent: number;
  reservationsAccepted: number;
  reservationsRenewed: number;
  reservationsTimedOut: number;
  circuitsAccepted: number;
  circuitsClosed: number;
  refusals: number;
  dropped: Record<DropReason, number>;
}

/** Fresh zeroed counters. */
export function newCounters(): RelayCounters {
  return {
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    bytesRelayed: 0,
    packetsRelayed: 0,
    handshakes: 0,
    cookieReplies: 0,
    stunRequests: 0,
    coverReceived: 0,
    coverSent: 0,
    reservationsAccepted: 0,
    reservationsRenewed: 0,
    reservationsTimedOut: 0,
    circuitsAccepted: 0,
    circuitsClosed: 0,
    refusals: 0,
    dropped: {
      "malformed": 0,
      "rate-limited": 0,
      "handshake-failed": 0,
      "replayed-init": 0,
      "unknown-index": 0,
      "replay": 0,
      "auth": 0,
      "expired": 0,
      "unexpected-message": 0,
      "unknown-circuit": 0,
      "circuit-budget": 0,
      "peer-unreachable": 0,
      "unsupported": 0,
    },
  };
}

/** A snapshot for the statistics line, `/metrics` and the directory. */
export interface RelaySnapshot {
  uptimeMs: number;
  peers: number;
  reservations: number;
  circuits: number;
  counters: RelayCounters;
}

/** The statistics line printed every 60 s. */
export function formatStatsLine(s: RelaySnapshot): string {
  const dropped = Object.entries(s.counters.dropped)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason}=${n}`)
    .join(" ") || "none";
  return `stats: uptime ${
    formatDuration(s.uptimeMs)
  }, ${s.peers} peers, ${s.reservations} reservations, ${s.circuits} circuits, ${
    formatBytes(s.counters.bytesRelayed)
  } relayed in ${s.counters.packetsRelayed} packets, dropped: ${dropped}`;
}

/**
 * Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/).
 */
export function formatPrometheus(s: RelaySnapshot): string {
  const lines: string[] = [];
  const metric = (
    name: string,
    type: "gauge" | "counter",
    help: string,
    samples: [Record<string, string> | undefined, number][],
  ) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const text = labels
        ? `{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",")}}`
        : "";
      lines.push(`${name}${text} ${value}`);
    }
  };
  const c = s.counters;
  metric(
    "altnet_relay_uptime_seconds",
    "gauge",
    "Seconds since the relay started.",
    [[undefined, s.uptimeMs / 1000]],
  );
  metric("altnet_relay_peers", "gauge", "Peers with a session.", [[
    undefined,
    s.peers,
  ]]);
  metric("altnet_relay_reservations", "gauge", "Registered names.", [[
    undefined,
    s.reservations,
  ]]);
  metric("altnet_relay_circuits", "gauge", "Open circuits.", [[
    undefined,
    s.circuits,
  ]]);
  metric(
    "altnet_relay_packets_total",
    "counter",
    "Datagrams received and sent.",
    [
      [{ direction: "in" }, c.packetsIn],
      [{ direction: "out" }, c.packetsOut],
    ],
  );
  metric(
    "altnet_relay_bytes_total",
    "counter",
    "UDP payload bytes received and sent.",
    [
      [{ direction: "in" }, c.bytesIn],
      [{ direction: "out" }, c.bytesOut],
    ],
  );
  metric(
    "altnet_relay_relayed_bytes_total",
    "counter",
    "End-to-end bytes forwarded between circuit ends.",
    [[undefined, c.bytesRelayed]],
  );
  metric(
    "altnet_relay_relayed_packets_total",
    "counter",
    "End-to-end packets forwarded.",
    [[undefined, c.packetsRelayed]],
  );
  metric("altnet_relay_handshakes_total", "counter", "Completed handshakes.", [[
    undefined,
    c.handshakes,
  ]]);
  metric(
    "altnet_relay_cookie_replies_total",
    "counter",
    "Cookie challenges sent.",
    [[undefined, c.cookieReplies]],
  );
  metric(
    "altnet_relay_reservation_events_total",
    "counter",
    "Reservation events.",
    [
      [{ event: "accepted" }, c.reservationsAccepted],
      [{ event: "renewed" }, c.reservationsRenewed],
      [{ event: "timeout" }, c.reservationsTimedOut],
    ],
  );
  metric("altnet_relay_circuit_events_total", "counter", "Circuit events.", [
    [{ event: "accepted" }, c.circuitsAccepted],
    [{ event: "closed" }, c.circuitsClosed],
  ]);
  metric("altnet_relay_refusals_total", "counter", "Requests refused.", [[
    undefined,
    c.refusals,
  ]]);
  metric(
    "altnet_relay_dropped_packets_total",
    "counter",
    "Datagrams dropped, by reason.",
    Object.entries(c.dropped).map(([reason, n]) => [{ reason }, n]),
  );
  return lines.join("\n") + "\n";
}

function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${m}m` : m > 0 ? `${m}m${s % 60}s` : `${s}s`;
}

function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}
