/**
 * A small timing harness for plain benchmark scripts: warm an operation up,
 * then run it in time-boxed batches several times and keep the median rate.
 *
 * Time-boxed rather than a fixed count, so that a 2 ms operation and a 2 µs
 * one each get the same wall-clock budget. Operations compared with each
 * other are timed in interleaved rounds. The clock is read between
 * batches, never per operation, so its own cost stays out of fast cells.
 *
 * @module
 */

/** How long to measure one operation, and how often. */
export interface TimingOptions {
  /** Minimum time of each timed run, in milliseconds. */
  budgetMs: number;
  /** Minimum time spent running the operation before timing it. */
  warmupMs: number;
  /** How many timed runs to make; the median is reported. */
  repeats: number;
  /** The clock, in milliseconds. Defaults to `performance.now()`. */
  now?: () => number;
}

/** The outcome of {@linkcode measureRate}. */
export interface Rate {
  /** The median of `runs`: operations per second. */
  opsPerSecond: number;
  /** Operations per second of each timed run, in the order they ran. */
  runs: number[];
  /** How many operations each batch ran between two clock readings. */
  batch: number;
}

/**
 * Measures how many times per second `op` runs; shorthand for
 * {@linkcode measureRates} with a single operation.
 *
 * @example
 * ```ts
 * import { measureRate } from "./timing.ts";
 *
 * const { opsPerSecond } = measureRate(() => crypto.randomUUID(), {
 *   budgetMs: 100,
 *   warmupMs: 20,
 *   repeats: 3,
 * });
 * ```
 *
 * @throws {RangeError} If a budget is not positive or `repeats` is not a
 * positive integer.
 */
export function measureRate(op: () => unknown, options: TimingOptions): Rate {
  return measureRates([op], options)[0];
}

/**
 * Measures how many times per second each of `ops` runs, interleaved: every
 * operation is warmed up first, then each round times every operation once,
 * in order, for `repeats` rounds. Operations that are compared with each
 * other thus share the same stretch of wall-clock time, and a machine that
 * slows down for a while (a busy neighbour, a GC-heavy phase) skews all of
 * them alike instead of one.
 *
 * The warm-up doubles an operation's batch size until one batch takes a
 * twentieth of the budget (so the clock is read about twenty times per
 * run), and lasts at least `warmupMs`. Each run then repeats whole batches
 * until the budget is spent; the rate is operations divided by the time
 * actually elapsed, so overshooting the budget by part of a batch does not
 * bias it.
 *
 * @throws {RangeError} If a budget is not positive or `repeats` is not a
 * positive integer.
 */
export function measureRates(
  ops: readonly (() => unknown)[],
  options: TimingOptions,
): Rate[] {
  const { budgetMs, warmupMs, repeats, now = () => performance.now() } =
    options;
  if (!(budgetMs > 0) || !(warmupMs >= 0)) {
    throw new RangeError(
      `Cannot measure with a budget that is not positive: budget is ${budgetMs} ms, warm-up ${warmupMs} ms`,
    );
  }
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw new RangeError(
      `Cannot measure with a repeat count that is not a positive integer: ${repeats}`,
    );
  }
  const batches = ops.map((op) => warmUp(op, { budgetMs, warmupMs, now }));
  const runs: number[][] = ops.map(() => []);
  for (let round = 0; round < repeats; round++) {
    ops.forEach((op, index) => {
      const batch = batches[index];
      let count = 0;
      let elapsed = 0;
      const start = now();
      do {
        for (let i = 0; i < batch; i++) op();
        count += batch;
        elapsed = now() - start;
      } while (elapsed < budgetMs);
      runs[index].push(count * 1000 / elapsed);
    });
  }
  return ops.map((_, index) => ({
    opsPerSecond: median(runs[index]),
    runs: runs[index],
    batch: batches[index],
  }));
}

/** Runs `op` for at least `warmupMs`; returns the calibrated batch size. */
function warmUp(
  op: () => unknown,
  options: { budgetMs: number; warmupMs: number; now: () => number },
): number {
  const { budgetMs, warmupMs, now } = options;
  const batchTargetMs = budgetMs / 20;
  let batch = 1;
  const warmupStart = now();
  for (;;) {
    const start = now();
    for (let i = 0; i < batch; i++) op();
    const elapsed = now() - start;
    if (elapsed < batchTargetMs && batch < 2 ** 30) {
      batch *= 2;
    } else if (now() - warmupStart >= warmupMs) {
      return batch;
    }
  }
}

/**
 * The median of `values`: the middle one, or the mean of the two middle
 * ones for an even count.
 *
 * @throws {RangeError} If `values` is empty.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) {
    throw new RangeError("Cannot take the median of no values");
  }
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * How far apart the runs of a {@linkcode Rate} are, relative to their
 * median: (max − min) / median. A large spread means a noisy machine.
 */
export function spread(rate: Rate): number {
  return (Math.max(...rate.runs) - Math.min(...rate.runs)) / rate.opsPerSecond;
}
