import assert from "node:assert/strict";
import {
  fingerprint,
  FINGERPRINT_CHARS,
  normalizeFingerprint,
} from "./fingerprint.ts";

Deno.test("a fingerprint is five groups of four base32 characters", () => {
  const print = fingerprint(new Uint8Array(32).fill(7));
  assert.match(print, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){4}$/);
  assert.equal(print.replaceAll("-", "").length, FINGERPRINT_CHARS);
});

Deno.test("fingerprints are stable and differ for one flipped key bit", () => {
  const key = new Uint8Array(32).fill(1);
  const flipped = key.slice();
  flipped[31] ^= 0x80;
  assert.equal(fingerprint(key), fingerprint(key.slice()));
  assert.notEqual(fingerprint(key), fingerprint(flipped));
});

Deno.test("the fingerprint of a known key never changes", () => {
  // Pinned so an accidental change of label, hash or alphabet is caught:
  // people compare these aloud and store them. Computed independently with
  // Python: base64.b32encode(sha256(b"altnet fingerprint v1" + bytes(32)))[:20]
  assert.equal(fingerprint(new Uint8Array(32)), "HBZ3-XRPF-2IGS-CABG-KUIR");
});

Deno.test("typed fingerprints are normalized or rejected", () => {
  const print = fingerprint(new Uint8Array(32).fill(9));
  assert.equal(
    normalizeFingerprint(print.toLowerCase().replaceAll("-", " ")),
    print,
  );
  assert.equal(normalizeFingerprint(print.slice(0, -1)), undefined);
  assert.equal(normalizeFingerprint(print.replace(/.$/, "1")), undefined);
});

Deno.test("a key of the wrong length cannot be fingerprinted", () => {
  assert.throws(() => fingerprint(new Uint8Array(33)), RangeError);
});
