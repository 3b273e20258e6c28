/**
 * A small seeded pseudo-random generator for simulations and tests, so a run
 * with the same seed makes the same choices. Not for anything secret.
 *
 * @module
 */

/**
 * Returns a function that yields numbers in [0, 1) determined by `seed`
 * (any number; it is reduced to 32 bits). The generator walks a Weyl
 * sequence and passes each step through a 32-bit integer mixing function,
 * which is plenty for loss and jitter draws and nowhere near secure.
 *
 * @example
 * ```ts
 * import { seededRandom } from "./seeded_random.ts";
 * const a = seededRandom(7), b = seededRandom(7);
 * a() === b(); // true
 * ```
 */
export function seededRandom(seed: number): () => number {
  if (!Number.isFinite(seed)) {
    throw new TypeError(
      `Cannot seed a random generator with a non-finite number: ${seed}`,
    );
  }
  let state = Math.trunc(seed) >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    z ^= z >>> 15;
    return (z >>> 0) / 0x1_0000_0000;
  };
}
