/**
 * The text report of the crypto benchmark: plain aligned tables, one per
 * section, and the overhead ratios spelled out under them.
 *
 * @module
 */

import type { CryptoBenchReport, ThroughputCell } from "./crypto.ts";

type Align = "left" | "right";

/**
 * Lays `rows` out under `headers` in columns two spaces apart, each column
 * as wide as its widest cell.
 */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[],
): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length))
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) =>
      align[column] === "right"
        ? cell.padStart(widths[column])
        : cell.padEnd(widths[column])
    ).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

const grouped = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** A rate or count: grouped digits from 100 up, three figures below. */
export function formatCount(value: number): string {
  return value >= 100 ? grouped.format(value) : value.toPrecision(3);
}

/** A duration in µs: no decimals from 100, one from 10, two below. */
export function formatMicros(value: number): string {
  if (value >= 100) return grouped.format(value);
  return value.toFixed(value >= 10 ? 1 : 2);
}

/** A cost ratio, e.g. `×1.23`. */
export function formatRatio(value: number): string {
  return `×${value.toFixed(2)}`;
}

function formatSpread(value: number, repeats: number): string {
  return repeats > 1 ? `${(value * 100).toFixed(1)}%` : "-";
}

function formatSize(bytes: number): string {
  return `${grouped.format(bytes)} B`;
}

/**
 * Renders a report as text for a terminal.
 *
 * @example
 * ```ts
 * import { QUICK_SETTINGS, runCryptoBench } from "./crypto.ts";
 * import { formatCryptoReport } from "./crypto_report.ts";
 *
 * console.log(formatCryptoReport(runCryptoBench(QUICK_SETTINGS)));
 * ```
 */
export function formatCryptoReport(report: CryptoBenchReport): string {
  const { machine, settings } = report;
  const { repeats } = settings;
  const out: string[] = [];
  out.push(
    "altnet crypto benchmark",
    `Deno ${machine.deno} (V8 ${machine.v8}), ${machine.target}`,
    `CPU: ${machine.cpuModel}, ${machine.cores} logical cores; every figure is one thread on one core`,
    `Method: per cell ${settings.warmupMs} ms warm-up, then ${repeats} timed run${
      repeats === 1 ? "" : "s"
    } of at least ${settings.budgetMs} ms; the median is shown; spread = (max - min) / median`,
    "",
  );

  out.push("1. X25519: one scalar multiplication (DH) or one key pair");
  out.push(formatTable(
    ["", "cell", "ops/s", "µs/op", "spread"],
    report.x25519.map((row) => [
      row.cell.startsWith("altnet") ? "ours" : "raw",
      row.label,
      formatCount(row.opsPerSecond),
      formatMicros(row.microsecondsPerOp),
      formatSpread(row.spread, repeats),
    ]),
    ["left", "left", "right", "right", "right"],
  ));
  out.push("");

  out.push(
    '2. Noise handshakes: both sides in one process, prologue "altnet/1" + suite byte, empty payloads, then Split()',
  );
  out.push(formatTable(
    [
      "pattern",
      "DH/side",
      "X25519 work",
      "hs/s",
      "µs/hs",
      "ceiling/s",
      "overhead",
      "DH-only/s",
      "noble/s",
      "spread",
    ],
    report.handshakes.map((row) => [
      row.pattern,
      String(row.dhPerSide),
      `${row.dhTotal} DH + ${row.keygens} keygen`,
      formatCount(row.handshakesPerSecond),
      formatMicros(row.microsecondsPerHandshake),
      formatCount(row.ceiling),
      formatRatio(row.overhead),
      formatCount(row.ceilingDhOnly),
      formatCount(row.ceilingNoble),
      formatSpread(row.spread, repeats),
    ]),
    [
      "left",
      "right",
      "left",
      "right",
      "right",
      "right",
      "right",
      "right",
      "right",
      "right",
    ],
  ));
  out.push(
    "  ceiling/s: handshakes per second the X25519 work alone allows on raw node:crypto (DH and keygen cells of section 1)",
    "  overhead:  µs/hs over that X25519 time; the rest is BLAKE2s, ChaChaPoly, key import and our state machine",
    "  DH-only/s: the ceiling counting the DH tokens only; noble/s: the full ceiling on raw @noble/curves",
    "",
  );

  out.push(
    "3. Seal + open: one seal and one open per packet, 14-byte TRANSPORT header as associated data",
    "   MB/s counts plaintext bytes once per seal+open (one direction alone runs about twice as fast)",
  );
  const sizes = [...new Set(report.throughput.map((row) => row.size))];
  for (const size of sizes) {
    out.push(`  ${formatSize(size)} plaintext`);
    const skipped: string[] = [];
    const table = formatTable(
      ["cell", "MB/s", "packets/s", "µs/packet", "vs (a)", "spread"],
      report.throughput.filter((row) => row.size === size).map((row) => {
        const name = `(${row.cell}) ${row.label}`;
        if (!row.figures) {
          skipped.push(`    (${row.cell}) not measured: ${row.skipped}`);
          return [name, "n/a", "n/a", "n/a", "n/a", "-"];
        }
        const { figures } = row;
        return [
          name,
          formatCount(figures.megabytesPerSecond),
          formatCount(figures.packetsPerSecond),
          formatMicros(figures.microsecondsPerPacket),
          formatRatio(figures.costVsRaw),
          formatSpread(figures.spread, repeats),
        ];
      }),
      ["left", "right", "right", "right", "right", "right"],
    );
    out.push(indent(table, "    "), ...skipped);
  }
  out.push("");

  out.push(
    "Overhead of our layers, as time per packet over raw node:crypto (a):",
  );
  const ratioLine = (cell: ThroughputCell, what: string) => {
    const parts = sizes.map((size) => {
      const row = report.throughput.find((row) =>
        row.cell === cell && row.size === size
      );
      return `${formatSize(size)} ${
        row?.figures ? formatRatio(row.figures.costVsRaw) : "n/a"
      }`;
    });
    return `  (${cell}) ${what}: ${parts.join(", ")}`;
  };
  out.push(ratioLine("c", "TransportSession"));
  out.push(ratioLine("e", "full data path  "));
  out.push(ratioLine("d", "session + noble "));
  return out.join("\n");
}

function indent(text: string, prefix: string): string {
  return text.split("\n").map((line) => prefix + line).join("\n");
}
