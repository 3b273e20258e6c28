/**
 * The bytes a sender has accepted from the application and not yet seen
 * cumulatively acknowledged, addressed by stream offset.
 *
 * @module
 */

/**
 * Written bytes kept as the chunks they were written in (copied, so the
 * caller may reuse its buffers). Slices inside one chunk are views; chunks
 * are never modified, so a view stays valid after it is released.
 *
 * @example Usage
 * ```ts
 * import { SendBuffer } from "./send_buffer.ts";
 *
 * const buffer = new SendBuffer();
 * buffer.append(new Uint8Array([1, 2, 3]));
 * buffer.append(new Uint8Array([4, 5]));
 * buffer.slice(2, 4); // Uint8Array [3, 4]
 * ```
 */
export class SendBuffer {
  #chunks: Uint8Array[] = [];
  #starts: number[] = [];
  #head = 0;
  #end = 0;
  #released = 0;

  /** One past the last byte written. */
  get end(): number {
    return this.#end;
  }

  /** Bytes held: written and not released. */
  get size(): number {
    return this.#end - this.#released;
  }

  /** Copies `bytes` to the end of the buffer. */
  append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#chunks.push(bytes.slice());
    this.#starts.push(this.#end);
    this.#end += bytes.length;
  }

  /**
   * Bytes `[start, end)`, which must be held: a view when they lie in one
   * chunk, a fresh copy otherwise.
   */
  slice(start: number, end: number): Uint8Array {
    if (start < this.#released || end > this.#end || start > end) {
      throw new RangeError(
        `Cannot slice bytes the send buffer does not hold: [${start}, ${end})`,
      );
    }
    if (start === end) return new Uint8Array(0);
    let i = this.#chunkIndex(start);
    const first = this.#chunks[i];
    const firstStart = this.#starts[i];
    if (end <= firstStart + first.length) {
      return first.subarray(start - firstStart, end - firstStart);
    }
    const out = new Uint8Array(end - start);
    let at = 0;
    let offset = start;
    while (offset < end) {
      const chunk = this.#chunks[i];
      const chunkStart = this.#starts[i];
      const from = offset - chunkStart;
      const to = Math.min(chunk.length, end - chunkStart);
      out.set(chunk.subarray(from, to), at);
      at += to - from;
      offset += to - from;
      i++;
    }
    return out;
  }

  /** Forgets every byte below `offset`. */
  releaseBelow(offset: number): void {
    if (offset <= this.#released) return;
    this.#released = Math.min(offset, this.#end);
    while (
      this.#head < this.#chunks.length &&
      this.#starts[this.#head] + this.#chunks[this.#head].length <=
        this.#released
    ) {
      this.#chunks[this.#head] = EMPTY;
      this.#head++;
    }
    if (this.#head > 64 && this.#head * 2 > this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#starts = this.#starts.slice(this.#head);
      this.#head = 0;
    }
  }

  #chunkIndex(offset: number): number {
    // Last chunk starting at or before offset.
    let lo = this.#head, hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.#starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

const EMPTY = new Uint8Array(0);
