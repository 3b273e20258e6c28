/**
 * Timers for protocol drivers: the {@linkcode Scheduler} interface that a
 * driver uses instead of `setTimeout`, its real implementation
 * {@linkcode realScheduler}, and {@linkcode VirtualScheduler}, whose clock only
 * moves when a test says so.
 *
 * Deadlines are absolute times in milliseconds on the scheduler's own clock,
 * which fits protocol cores that answer `nextTimeout()` with a time rather
 * than a delay.
 *
 * @module
 */

import { setImmediate } from "node:timers";

declare const timerHandleBrand: unique symbol;

/**
 * Identifies a pending timer; pass it to {@linkcode Scheduler.clearTimer} of
 * the scheduler that made it. Opaque: each scheduler has its own kind.
 */
export type TimerHandle = { readonly [timerHandleBrand]: true };

/** A clock and one-shot timers on it. */
export interface Scheduler {
  /** The current time in milliseconds; only ever grows. */
  now(): number;
  /**
   * Calls `fn` once at `atMs` on this scheduler's clock, or as soon as
   * possible if that time has passed.
   */
  setTimer(atMs: number, fn: () => void): TimerHandle;
  /** Cancels a pending timer; unknown or fired handles are ignored. */
  clearTimer(handle: TimerHandle): void;
}

/** The real clock (`performance.now()`) and real timers (`setTimeout`). */
export const realScheduler: Scheduler = {
  now: () => performance.now(),
  setTimer(atMs: number, fn: () => void): TimerHandle {
    checkDeadline(atMs);
    const id = setTimeout(fn, Math.max(0, atMs - performance.now()));
    return id as unknown as TimerHandle;
  },
  clearTimer(handle: TimerHandle): void {
    clearTimeout(handle as unknown as number);
  },
};

function checkDeadline(atMs: number): void {
  if (typeof atMs !== "number" || Number.isNaN(atMs)) {
    throw new TypeError(
      `Cannot set a timer as its deadline is not a number: ${atMs}`,
    );
  }
}

interface VirtualTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/** Options for {@linkcode VirtualScheduler.runUntil}. */
export interface RunUntilOptions {
  /** Give up after this much virtual time; default 60 000. */
  maxMs?: number;
}

/** Options for {@linkcode VirtualScheduler.runAll}. */
export interface RunAllOptions {
  /** Throw once this many timers have fired; default 1 000 000. */
  maxTimers?: number;
}

/**
 * A scheduler whose time stands still until a test calls
 * {@linkcode VirtualScheduler.advance}, {@linkcode VirtualScheduler.runUntil}
 * or {@linkcode VirtualScheduler.runAll}.
 *
 * Timers fire in deadline order, timers with the same deadline in the order
 * they were set. Before the first timer and after each one, the scheduler
 * yields one macrotask turn, so every promise continuation that is ready
 * (an async receive loop woken by a datagram, say) runs to its next real
 * wait before time moves on. Code driven by it must wait only on this
 * scheduler's timers and on in-memory sockets, never on real I/O or real
 * timers, or it will not be deterministic.
 *
 * @example
 * ```ts
 * import { VirtualScheduler } from "./scheduler.ts";
 *
 * const clock = new VirtualScheduler();
 * const fired: number[] = [];
 * clock.setTimer(20, () => fired.push(clock.now()));
 * clock.setTimer(10, () => fired.push(clock.now()));
 * await clock.advance(15); // fired is [10]
 * await clock.runAll(); // fired is [10, 20]
 * ```
 */
export class VirtualScheduler implements Scheduler {
  #now: number;
  #seq = 0;
  /** A binary min-heap on (at, seq); cancelled timers are removed lazily. */
  #heap: VirtualTimer[] = [];
  /** The timers not yet fired or cleared; each is its own handle. */
  #live = new Set<VirtualTimer>();
  #running = false;

  constructor(options: { startMs?: number } = {}) {
    this.#now = options.startMs ?? 0;
  }

  now(): number {
    return this.#now;
  }

  setTimer(atMs: number, fn: () => void): TimerHandle {
    checkDeadline(atMs);
    const timer = { at: Math.max(atMs, this.#now), seq: ++this.#seq, fn };
    this.#live.add(timer);
    this.#push(timer);
    return timer as unknown as TimerHandle;
  }

  clearTimer(handle: TimerHandle): void {
    this.#live.delete(handle as unknown as VirtualTimer);
  }

  /** How many timers are waiting to fire. */
  get pendingTimers(): number {
    return this.#live.size;
  }

  /** The deadline of the next timer, or undefined when none is waiting. */
  nextDeadline(): number | undefined {
    return this.#peek()?.at;
  }

  /**
   * Lets every promise continuation that is ready run, without moving time.
   * Awaiting one `setImmediate` turn drains the whole microtask queue,
   * including continuations queued while it drains.
   */
  settle(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) {
      throw new RangeError(
        `Cannot advance virtual time by a negative or NaN amount: ${ms}`,
      );
    }
    await this.#run(this.#now + ms, undefined, Infinity);
  }

  /**
   * Fires timers in order until `predicate` holds (checked before the first
   * and after each one) or `maxMs` of virtual time has passed; resolves to
   * whether the predicate held. On success the clock stays at the moment it
   * came true; on failure it stands at the limit.
   */
  runUntil(
    predicate: () => boolean,
    options: RunUntilOptions = {},
  ): Promise<boolean> {
    const maxMs = options.maxMs ?? 60_000;
    if (!(maxMs >= 0)) {
      throw new RangeError(
        `Cannot run until a condition with a negative or NaN limit: ${maxMs}`,
      );
    }
    return this.#run(this.#now + maxMs, predicate, Infinity);
  }

  /**
   * Fires timers until none is left; the clock ends at the last deadline.
   *
   * @throws {RangeError} when more than `maxTimers` fire, which usually
   * means a timer that keeps setting itself again (use `advance` then)
   */
  async runAll(options: RunAllOptions = {}): Promise<void> {
    const maxTimers = options.maxTimers ?? 1_000_000;
    await this.#run(Infinity, undefined, maxTimers);
  }

  async #run(
    limit: number,
    predicate: (() => boolean) | undefined,
    maxTimers: number,
  ): Promise<boolean> {
    if (this.#running) {
      throw new Error(
        "Cannot move virtual time as it is already being moved: do not call advance, runUntil or runAll from a timer or a driver",
      );
    }
    this.#running = true;
    try {
      await this.settle();
      let fired = 0;
      while (true) {
        if (predicate?.()) return true;
        const next = this.#peek();
        if (next === undefined || next.at > limit) break;
        if (++fired > maxTimers) {
          throw new RangeError(
            `Cannot run all timers as more than ${maxTimers} fired: a timer probably sets itself again, use advance or runUntil`,
          );
        }
        this.#pop();
        this.#live.delete(next);
        this.#now = next.at;
        next.fn();
        await this.settle();
      }
      if (limit !== Infinity) this.#now = Math.max(this.#now, limit);
      return false;
    } finally {
      this.#running = false;
    }
  }

  #before(a: VirtualTimer, b: VirtualTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(timer: VirtualTimer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  /** The earliest live timer, dropping cancelled ones off the top. */
  #peek(): VirtualTimer | undefined {
    while (this.#heap.length > 0) {
      const top = this.#heap[0];
      if (this.#live.has(top)) return top;
      this.#pop();
    }
    return undefined;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    while (true) {
      const left = 2 * i + 1, right = left + 1;
      let least = i;
      if (left < heap.length && this.#before(heap[left], heap[least])) {
        least = left;
      }
      if (right < heap.length && this.#before(heap[right], heap[least])) {
        least = right;
      }
      if (least === i) break;
      [heap[i], heap[least]] = [heap[least], heap[i]];
      i = least;
    }
  }
}
