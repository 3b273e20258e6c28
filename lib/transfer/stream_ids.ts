/**
 * Which stream id a new transfer takes (docs/TRANSFER.md §1): random, so a
 * restarted sender never lands on the stream of its earlier run that the
 * receiver may still hold, and of a parity fixed by the two keys, so two
 * peers sending to each other at once never pick the same id. Stream 0 is
 * chat's.
 *
 * @module
 */

/**
 * A random stream id in [1, 65535], odd when our static key sorts before
 * the peer's (bytewise), even otherwise, and not `used`.
 *
 * @example
 * ```ts
 * import { pickStreamId } from "./stream_ids.ts";
 *
 * const id = pickStreamId(new Uint8Array([1]), new Uint8Array([2]), () => false);
 * id % 2; // 1
 * ```
 */
export function pickStreamId(
  ourKey: Uint8Array,
  peerKey: Uint8Array,
  used: (id: number) => boolean,
  random: () => number = () => crypto.getRandomValues(new Uint16Array(1))[0],
): number {
  const parity = compareBytes(ourKey, peerKey) < 0 ? 1 : 0;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const id = (random() & 0xfffe) | parity;
    if (id !== 0 && !used(id)) return id;
  }
  throw new RangeError("Cannot find a free stream id after 1000 tries");
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}
