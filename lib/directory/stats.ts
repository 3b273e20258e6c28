/**
 * The directory's statistics: one snapshot shape for `GET /v1/stats` (JSON)
 * and `GET /metrics` (Prometheus text exposition format 0.0.4,
 * https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * @module
 */

import type { CounterName, NetworkTotals, RejectReason } from "./registry.ts";
import { REJECT_REASONS } from "./registry.ts";

/** Everything `/v1/stats` reports. */
export interface DirectoryStats {
  /** Seconds since this process started. */
  uptime_s: number;
  /** Sums over the listed relays. */
  totals: NetworkTotals;
  /** Cumulative since the database was created (they survive restarts). */
  counters: Record<CounterName, number>;
  /** Refused requests by reason, cumulative like `counters`. */
  rejected: Record<RejectReason, number>;
  /** Connected dashboards. */
  dashboard_clients: number;
  /** The relay list currently served. */
  relay_list: { relays: number; bytes: number; valid_until: number };
}

/** Builds the counters part of a snapshot from the registry's map. */
export function countersFrom(map: ReadonlyMap<string, number>): {
  counters: DirectoryStats["counters"];
  rejected: DirectoryStats["rejected"];
} {
  const names: CounterName[] = [
    "registrations",
    "updates",
    "heartbeats",
    "deregistrations",
    "expirations",
  ];
  return {
    counters: Object.fromEntries(
      names.map((n) => [n, map.get(n) ?? 0]),
    ) as DirectoryStats["counters"],
    rejected: Object.fromEntries(
      REJECT_REASONS.map((r) => [r, map.get(`rejected:${r}`) ?? 0]),
    ) as DirectoryStats["rejected"],
  };
}

/** The Prometheus text for `stats`. */
export function formatDirectoryMetrics(stats: DirectoryStats): string {
  const lines: string[] = [];
  const metric = (
    name: string,
    type: "gauge" | "counter",
    help: string,
    samples: [Record<string, string> | undefined, number][],
  ) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      // Label values here are our own identifiers, never client input.
      const text = labels
        ? `{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",")}}`
        : "";
      lines.push(`${name}${text} ${value}`);
    }
  };
  const t = stats.totals;
  metric(
    "altnet_directory_uptime_seconds",
    "gauge",
    "Seconds since the directory process started.",
    [[undefined, stats.uptime_s]],
  );
  metric("altnet_directory_relays", "gauge", "Relays listed.", [[
    undefined,
    t.relays,
  ]]);
  metric(
    "altnet_directory_network_peers",
    "gauge",
    "Peers with a session, summed over the listed relays.",
    [[undefined, t.peers]],
  );
  metric(
    "altnet_directory_network_circuits",
    "gauge",
    "Open circuits, summed over the listed relays.",
    [[undefined, t.circuits]],
  );
  metric(
    "altnet_directory_network_relayed_bytes",
    "gauge",
    "Bytes relayed since each relay started, summed over the listed relays.",
    [[undefined, t.bytes_relayed]],
  );
  metric(
    "altnet_directory_network_bandwidth_bytes_per_second",
    "gauge",
    "Declared bandwidth, summed over the listed relays.",
    [[undefined, t.bandwidth]],
  );
  metric(
    "altnet_directory_events_total",
    "counter",
    "Accepted relay events since the database was created.",
    Object.entries(stats.counters).map(([event, n]) => [{ event }, n]),
  );
  metric(
    "altnet_directory_rejected_requests_total",
    "counter",
    "Refused requests since the database was created, by reason.",
    Object.entries(stats.rejected).map(([reason, n]) => [{ reason }, n]),
  );
  metric(
    "altnet_directory_dashboard_clients",
    "gauge",
    "Connected live dashboards.",
    [[undefined, stats.dashboard_clients]],
  );
  metric(
    "altnet_directory_relay_list_bytes",
    "gauge",
    "Size of the signed relay list served.",
    [[undefined, stats.relay_list.bytes]],
  );
  metric(
    "altnet_directory_relay_list_valid_until_seconds",
    "gauge",
    "When the signed relay list served expires, Unix time.",
    [[undefined, stats.relay_list.valid_until / 1000]],
  );
  return lines.join("\n") + "\n";
}
