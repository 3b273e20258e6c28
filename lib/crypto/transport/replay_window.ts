/**
 * Sliding anti-replay window for explicit 64-bit packet counters, after
 * RFC 6479 ("IPsec Anti-Replay Algorithm without Bit Shifting").
 *
 * @module
 */

import { MAX_COUNTER } from "./constants.ts";

// Tuning constants, not protocol: the peer never sees the window, so its size
// only decides how much reordering we tolerate and how much memory it costs.

/** Bits per bitmap word: JavaScript bitwise operators work on 32 bits. */
const BLOCK_BITS = 32;
/** log2(BLOCK_BITS), to split a counter into a word index and a bit index. */
const BLOCK_SHIFT = 5;
/**
 * Words in the ring; a power of two so that the ring index is a mask of the
 * counter's low bits. 512 words is 2 KiB per session.
 */
const RING_BLOCKS = 512;
const RING_MASK = RING_BLOCKS - 1;

/**
 * How far behind the highest accepted counter a packet may arrive and still
 * be accepted: a counter `c` is in the window while `highest - c <=
 * REPLAY_WINDOW_SIZE`. It is 16352, comfortably above the 8192 packets of
 * reordering we promise.
 */
// RFC 6479 §2: one block of the ring is redundant, so the usable window is
// (blocks − 1) × bits; that spare block is what lets the window slide by
// whole blocks (zeroing a block) instead of shifting a bitmap bit by bit.
export const REPLAY_WINDOW_SIZE: number = (RING_BLOCKS - 1) * BLOCK_BITS;

const WINDOW_SIZE_BIG = BigInt(REPLAY_WINDOW_SIZE);
/** Counters one ring covers; a jump this far clears the whole ring. */
const RING_SPAN_BIG = BigInt(RING_BLOCKS * BLOCK_BITS);

/**
 * What the window would say about a counter:
 * - `"fresh"`: never seen and inside (or ahead of) the window;
 * - `"replay"`: already accepted;
 * - `"too-old"`: so far behind the highest accepted counter that the window
 *   no longer remembers whether it was seen, so it must be refused.
 */
export type ReplayVerdict = "fresh" | "replay" | "too-old";

/**
 * Remembers which 64-bit counters were accepted, refusing duplicates and
 * counters older than {@linkcode REPLAY_WINDOW_SIZE} behind the highest one.
 *
 * Security: call {@linkcode ReplayWindow.update} only after the packet's
 * AEAD tag verified. Updating on an unauthenticated counter would let anyone
 * forge a packet with a huge counter and slide the window past every genuine
 * packet still in flight, which would then be refused as too old.
 *
 * @example Usage
 * ```ts
 * import { ReplayWindow } from "./replay_window.ts";
 *
 * const window = new ReplayWindow();
 * if (window.check(7n)) {
 *   // ...decrypt and authenticate the packet first, then:
 *   window.update(7n);
 * }
 * window.check(7n); // false: a replay
 * ```
 */
export class ReplayWindow {
  // RFC 6479 §2: the bitmap is a ring of blocks; the block of counter c is
  // (c >> 5) mod RING_BLOCKS, its bit is c mod 32. Both depend only on the
  // low 32 bits of c, since 2^32 is a multiple of the ring's span.
  #ring = new Uint32Array(RING_BLOCKS);
  /** Highest accepted counter; −1 before the first one. */
  #highest = -1n;
  /**
   * The low 32 bits of #highest as a number (all ones for −1), so that the
   * per-packet path does its index arithmetic on numbers and allocates at
   * most one bigint.
   */
  #highestLow = 0xffff_ffff;

  /** The highest counter accepted so far, or `-1n` if none. */
  get highest(): bigint {
    return this.#highest;
  }

  /**
   * Says whether `counter` would be accepted, and if not why, without
   * recording anything.
   *
   * @param counter A 64-bit unsigned counter.
   * @returns The verdict.
   * @throws {RangeError} If `counter` is outside the 64-bit unsigned range.
   */
  verdict(counter: bigint): ReplayVerdict {
    assertCounter(counter);
    if (counter > this.#highest) return "fresh";
    const behind = this.#highest - counter;
    if (behind > WINDOW_SIZE_BIG) return "too-old";
    return this.#isSet(this.#lowBehind(behind)) ? "replay" : "fresh";
  }

  /**
   * Says whether `counter` would be accepted, without recording it. Use it
   * to drop a replayed or stale packet before spending an AEAD open on it.
   *
   * @param counter A 64-bit unsigned counter.
   * @returns `true` if the counter is fresh.
   * @throws {RangeError} If `counter` is outside the 64-bit unsigned range.
   */
  check(counter: bigint): boolean {
    return this.verdict(counter) === "fresh";
  }

  /**
   * Records `counter` as accepted, sliding the window forward if it is the
   * highest so far. Call it only once the packet has been authenticated.
   *
   * @param counter A 64-bit unsigned counter.
   * @returns `true` if the counter was fresh and is now recorded; `false` for
   * a duplicate or a counter that is too old, which must be dropped.
   * @throws {RangeError} If `counter` is outside the 64-bit unsigned range.
   */
  update(counter: bigint): boolean {
    assertCounter(counter);
    let low: number;
    if (counter > this.#highest) {
      low = this.#slideTo(counter);
    } else {
      const behind = this.#highest - counter;
      if (behind > WINDOW_SIZE_BIG) return false;
      low = this.#lowBehind(behind);
    }
    const index = (low >>> BLOCK_SHIFT) & RING_MASK;
    const bit = 1 << (low & (BLOCK_BITS - 1));
    const word = this.#ring[index];
    if ((word & bit) !== 0) return false;
    this.#ring[index] = word | bit;
    return true;
  }

  /** Forgets every counter, as if newly created. */
  reset(): void {
    this.#ring.fill(0);
    this.#highest = -1n;
    this.#highestLow = 0xffff_ffff;
  }

  /** Low 32 bits of the counter `behind` below the highest (in the window). */
  #lowBehind(behind: bigint): number {
    // `>>> 0` reduces modulo 2^32, negative differences included.
    return (this.#highestLow - Number(behind)) >>> 0;
  }

  #isSet(low: number): boolean {
    const word = this.#ring[(low >>> BLOCK_SHIFT) & RING_MASK];
    return (word & (1 << (low & (BLOCK_BITS - 1)))) !== 0;
  }

  /** Makes `counter` the highest and returns its low 32 bits. */
  #slideTo(counter: bigint): number {
    // RFC 6479 §2: moving forward zeroes the blocks between the old highest
    // block (exclusive) and the new one (inclusive); the bits of the blocks
    // left in place stay valid. A jump of a whole ring or more clears it all.
    const ahead = counter - this.#highest;
    const from = this.#highestLow;
    let count: number;
    let low: number;
    if (ahead < RING_SPAN_BIG) {
      // Both sums stay far below 2^53, so number arithmetic is exact.
      const sum = from + Number(ahead);
      count = Math.floor(sum / BLOCK_BITS) - (from >>> BLOCK_SHIFT);
      low = sum >>> 0;
    } else {
      count = RING_BLOCKS;
      low = Number(BigInt.asUintN(32, counter));
    }
    const fromBlock = from >>> BLOCK_SHIFT;
    for (let i = 1; i <= count; i++) {
      this.#ring[(fromBlock + i) & RING_MASK] = 0;
    }
    this.#highest = counter;
    this.#highestLow = low;
    return low;
  }
}

function assertCounter(counter: bigint): void {
  if (counter < 0n || counter > MAX_COUNTER) {
    throw new RangeError(
      `Cannot use a counter outside the 64-bit unsigned range: ${counter}`,
    );
  }
}
