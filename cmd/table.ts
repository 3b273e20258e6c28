/**
 * Plain text tables for the terminal: columns padded to their widest cell.
 *
 * @module
 */

/**
 * Lines of a table whose first row is the header; columns are separated by
 * two spaces and the last column is not padded.
 *
 * @example
 * ```ts
 * formatTable([["NAME", "RTT"], ["relay-1", "3 ms"]]);
 * // ["NAME     RTT", "relay-1  3 ms"]
 * ```
 */
export function formatTable(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
    });
  }
  return rows.map((row) =>
    row.map((cell, i) =>
      i === row.length - 1
        ? cell
        : cell + " ".repeat(widths[i] - [...cell].length)
    ).join("  ").trimEnd()
  );
}

/** A duration in seconds as `3d 4h`, `2h 5m`, `4m 10s` or `9s`. */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}
