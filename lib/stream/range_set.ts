/**
 * A set of stream offsets kept as sorted, disjoint, non-touching half-open
 * ranges `[start, end)`: what a receiver holds above its cumulative point,
 * and what a sender knows was selectively acknowledged.
 *
 * @module
 */

import type { AckRange } from "../wire/mod.ts";

/**
 * Sorted disjoint half-open ranges of offsets. Adding a range merges it with
 * those it overlaps or touches and reports which offsets were new.
 *
 * @example Usage
 * ```ts
 * import { RangeSet } from "./range_set.ts";
 *
 * const set = new RangeSet();
 * set.add(10, 20);
 * set.add(15, 30); // returns [{ start: 20, end: 30 }], the new part
 * set.ranges(); // [{ start: 10, end: 30 }]
 * ```
 */
export class RangeSet {
  #starts: number[] = [];
  #ends: number[] = [];

  /** How many disjoint ranges the set holds. */
  get count(): number {
    return this.#starts.length;
  }

  /** The lowest offset in the set, or undefined when empty. */
  get first(): number | undefined {
    return this.#starts[0];
  }

  /** One past the highest offset in the set, or undefined when empty. */
  get last(): number | undefined {
    return this.#ends[this.#ends.length - 1];
  }

  /**
   * Adds `[start, end)` and returns the sub-ranges that were not already in
   * the set, ascending.
   */
  add(start: number, end: number): AckRange[] {
    if (!(start < end)) return [];
    const starts = this.#starts, ends = this.#ends;
    // First range that overlaps or touches [start, end): its end >= start.
    const i = this.#firstEndAtOrAbove(start);
    let j = i;
    const fresh: AckRange[] = [];
    let cursor = start;
    while (j < starts.length && starts[j] <= end) {
      if (starts[j] > cursor) fresh.push({ start: cursor, end: starts[j] });
      cursor = Math.max(cursor, ends[j]);
      j++;
    }
    if (cursor < end) fresh.push({ start: cursor, end });
    if (j === i) {
      starts.splice(i, 0, start);
      ends.splice(i, 0, end);
    } else {
      const mergedStart = Math.min(start, starts[i]);
      const mergedEnd = Math.max(end, ends[j - 1]);
      starts.splice(i, j - i, mergedStart);
      ends.splice(i, j - i, mergedEnd);
    }
    return fresh;
  }

  /** Whether every offset of `[start, end)` is in the set. */
  covers(start: number, end: number): boolean {
    if (!(start < end)) return true;
    const i = this.indexOf(start);
    return i >= 0 && this.#ends[i] >= end;
  }

  /** Index of the range holding `offset`, or −1. */
  indexOf(offset: number): number {
    const i = this.#firstEndAbove(offset);
    return i < this.#starts.length && this.#starts[i] <= offset ? i : -1;
  }

  /** Removes every offset below `offset`. */
  removeBelow(offset: number): void {
    const i = this.#firstEndAbove(offset);
    if (i > 0) {
      this.#starts.splice(0, i);
      this.#ends.splice(0, i);
    }
    if (this.#starts.length > 0 && this.#starts[0] < offset) {
      this.#starts[0] = offset;
    }
  }

  /** The range at `index` (ascending order). */
  at(index: number): AckRange {
    return { start: this.#starts[index], end: this.#ends[index] };
  }

  /** All ranges, ascending, as fresh objects. */
  ranges(): AckRange[] {
    return this.#starts.map((start, i) => ({ start, end: this.#ends[i] }));
  }

  /** Empties the set. */
  clear(): void {
    this.#starts = [];
    this.#ends = [];
  }

  #firstEndAtOrAbove(offset: number): number {
    let lo = 0, hi = this.#ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#ends[mid] < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #firstEndAbove(offset: number): number {
    let lo = 0, hi = this.#ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#ends[mid] <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
