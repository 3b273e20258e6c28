/**
 * Rate and time left of a transfer, and how they are shown: a progress bar
 * for a terminal and the summary line.
 *
 * @module
 */

/** How far back the rate looks, in milliseconds. */
const RATE_WINDOW_MS = 3_000;

/**
 * The recent rate of a growing byte count: bytes over the last few seconds
 * (so a stall shows at once), starting from the first sample.
 *
 * @example
 * ```ts
 * import { RateMeter } from "./progress.ts";
 *
 * const meter = new RateMeter();
 * meter.sample(0, 0);
 * meter.sample(1000, 5_000_000);
 * meter.rate; // 5000000 bytes per second
 * ```
 */
export class RateMeter {
  #samples: { at: number; bytes: number }[] = [];

  /** Records `bytes` (the total so far) at time `at` (ms). */
  sample(at: number, bytes: number): void {
    this.#samples.push({ at, bytes });
    while (
      this.#samples.length > 2 && at - this.#samples[1].at >= RATE_WINDOW_MS
    ) {
      this.#samples.shift();
    }
  }

  /** Bytes per second over the window; 0 before two samples. */
  get rate(): number {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (!first || last.at <= first.at) return 0;
    return (last.bytes - first.bytes) * 1000 / (last.at - first.at);
  }

  /** Seconds left for `remaining` bytes at the current rate, if known. */
  eta(remaining: number): number | undefined {
    const rate = this.rate;
    return rate > 0 ? remaining / rate : undefined;
  }
}

/** `1536` → `1.5 KiB`, `268435456` → `256.0 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A rate in decimal megabytes per second (as network rates are given). */
export function formatRate(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
}

/** `75` → `1m15s`. */
export function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) {
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  }
  return `${Math.floor(s / 3600)}h${
    String(Math.floor(s % 3600 / 60)).padStart(2, "0")
  }m`;
}

/** What one progress line shows. */
export interface ProgressView {
  bytes: number;
  total: number;
  rate: number;
  etaSeconds?: number;
  via: string;
}

/**
 * One line of a terminal progress bar:
 * `[########------------]  42%  107.5 MiB/256.0 MiB  21.3 MB/s  ETA 7s  direct`.
 */
export function progressBar(view: ProgressView, width = 24): string {
  const fraction = view.total === 0 ? 1 : Math.min(1, view.bytes / view.total);
  const filled = Math.round(fraction * width);
  const bar = "#".repeat(filled) + "-".repeat(width - filled);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const eta = view.etaSeconds === undefined
    ? "ETA --"
    : `ETA ${formatSeconds(view.etaSeconds)}`;
  return `[${bar}] ${percent}  ${formatBytes(view.bytes)}/${
    formatBytes(view.total)
  }  ${formatRate(view.rate)}  ${eta}  ${view.via}`;
}
