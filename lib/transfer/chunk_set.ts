/**
 * The chunks of a file a receiver has verified: a bitmap that turns into the
 * ranges of an `ACCEPT` (what is still needed) and into the state file.
 *
 * @module
 */

import type { ChunkRange } from "./frames.ts";

/**
 * A fixed-size set of chunk indices.
 *
 * @example
 * ```ts
 * import { ChunkSet } from "./chunk_set.ts";
 *
 * const verified = new ChunkSet(5);
 * verified.add(0);
 * verified.add(3);
 * verified.missingRanges(); // [{ start: 1, end: 3 }, { start: 4, end: 5 }]
 * ```
 */
export class ChunkSet {
  /** How many chunks the file has. */
  readonly count: number;
  readonly #bits: Uint8Array;
  #size = 0;

  constructor(count: number, bits?: Uint8Array) {
    this.count = count;
    this.#bits = new Uint8Array(Math.ceil(count / 8));
    if (bits !== undefined) {
      if (bits.length !== this.#bits.length) {
        throw new RangeError(
          `Cannot load a bitmap of ${bits.length} bytes for ${count} chunks`,
        );
      }
      for (let i = 0; i < count; i++) {
        if (bits[i >> 3] & (1 << (i & 7))) this.add(i);
      }
    }
  }

  /** How many chunks are in the set. */
  get size(): number {
    return this.#size;
  }

  /** Whether every chunk is in the set. */
  get complete(): boolean {
    return this.#size === this.count;
  }

  has(index: number): boolean {
    return (this.#bits[index >> 3] & (1 << (index & 7))) !== 0;
  }

  add(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) {
      throw new RangeError(
        `Cannot add a chunk outside [0, ${this.count}): ${index}`,
      );
    }
    if (this.has(index)) return;
    this.#bits[index >> 3] |= 1 << (index & 7);
    this.#size++;
  }

  delete(index: number): void {
    if (!this.has(index)) return;
    this.#bits[index >> 3] &= ~(1 << (index & 7));
    this.#size--;
  }

  /** A copy of the bitmap (bit i of byte i/8, least significant first). */
  toBytes(): Uint8Array {
    return this.#bits.slice();
  }

  /** The chunks not in the set, as ascending, non-adjacent ranges. */
  missingRanges(): ChunkRange[] {
    const ranges: ChunkRange[] = [];
    let start = -1;
    for (let i = 0; i <= this.count; i++) {
      const missing = i < this.count && !this.has(i);
      if (missing && start < 0) start = i;
      if (!missing && start >= 0) {
        ranges.push({ start, end: i });
        start = -1;
      }
    }
    return ranges;
  }
}
