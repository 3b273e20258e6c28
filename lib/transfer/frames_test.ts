import assert from "node:assert/strict";
import { MAX_CHUNKS, MAX_FILE_SIZE } from "./constants.ts";
import {
  decodeBody,
  encodeAccept,
  encodeData,
  encodeDecline,
  encodeDone,
  encodeError,
  encodeOffer,
  FrameKind,
  FrameReader,
  type Offer,
  Reason,
} from "./frames.ts";
import { seededRandom } from "../udp/mod.ts";

function offer(size: number, chunkSize = 65_536, name = "report.pdf"): Offer {
  const count = Math.ceil(size / chunkSize);
  const chunkHashes = new Uint8Array(32 * count);
  for (let i = 0; i < chunkHashes.length; i++) chunkHashes[i] = i * 7;
  return {
    name,
    size,
    chunkSize,
    sha256: new Uint8Array(32).fill(9),
    chunkHashes,
  };
}

function readAll(bytes: Uint8Array) {
  const reader = new FrameReader();
  reader.push(bytes);
  const out = [];
  for (let r; (r = reader.next());) {
    out.push(r);
    if (!r.ok) break;
  }
  return out;
}

/** Patches the 8-byte size field of an encoded OFFER (bytes 6–13). */
function withSize(bytes: Uint8Array, size: bigint): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setBigUint64(6, size);
  return copy;
}

Deno.test("every frame kind survives encoding and decoding", () => {
  const o = offer(200_000);
  const frames = [
    encodeOffer(o),
    encodeAccept([{ start: 0, end: 2 }, { start: 3, end: 4 }]),
    encodeDecline(Reason.DECLINED, "bob said no"),
    encodeData(65_536, new Uint8Array([1, 2, 3])),
    encodeDone(o.sha256),
    encodeError(Reason.DISK, "the receiver's disk is full"),
  ];
  const results = readAll(frames.reduce((a, b) => {
    const c = new Uint8Array(a.length + b.length);
    c.set(a);
    c.set(b, a.length);
    return c;
  }));
  assert.equal(results.length, 6);
  const [of, ac, de, da, dn, er] = results.map((r) => {
    assert.ok(r.ok);
    return r.frame;
  });
  assert.ok(of.kind === FrameKind.OFFER);
  assert.deepEqual(of.offer, o);
  assert.ok(ac.kind === FrameKind.ACCEPT);
  assert.deepEqual(ac.ranges, [{ start: 0, end: 2 }, { start: 3, end: 4 }]);
  assert.ok(de.kind === FrameKind.DECLINE);
  assert.deepEqual([de.reason, de.text], [Reason.DECLINED, "bob said no"]);
  assert.ok(da.kind === FrameKind.DATA);
  assert.deepEqual([da.offset, [...da.data]], [65_536, [1, 2, 3]]);
  assert.ok(dn.kind === FrameKind.DONE);
  assert.deepEqual(dn.sha256, o.sha256);
  assert.ok(er.kind === FrameKind.ERROR);
  assert.equal(er.text, "the receiver's disk is full");
});

Deno.test("the frame reader finds the same frames however the bytes are cut", () => {
  const bytes = new Uint8Array([
    ...encodeOffer(offer(1_000_000)),
    ...encodeData(0, new Uint8Array(65_536).fill(4)),
    ...encodeError(Reason.CANCELLED, "stop"),
  ]);
  const random = seededRandom(11);
  for (let round = 0; round < 20; round++) {
    const reader = new FrameReader();
    const kinds: number[] = [];
    let at = 0;
    while (at < bytes.length) {
      const n = 1 + Math.floor(random() * 3000);
      reader.push(bytes.subarray(at, at + n));
      at += n;
      for (let r; (r = reader.next());) {
        assert.ok(r.ok);
        kinds.push(r.frame.kind);
      }
    }
    assert.deepEqual(kinds, [FrameKind.OFFER, FrameKind.DATA, FrameKind.ERROR]);
    assert.ok(reader.atBoundary);
  }
});

Deno.test("a frame longer than its kind allows is refused before it is buffered", () => {
  const header = new Uint8Array([FrameKind.DATA, 0x7f, 0xff, 0xff, 0xff]);
  const [result] = readAll(header);
  assert.ok(!result.ok);
  assert.equal(result.reason, Reason.PROTOCOL);
  assert.match(result.error, /longer than allowed/);
  const [unknown] = readAll(new Uint8Array([0x42, 0, 0, 0, 0]));
  assert.ok(!unknown.ok);
  assert.match(unknown.error, /unknown kind 66/);
});

Deno.test("after a bad frame the reader stays failed", () => {
  const reader = new FrameReader();
  reader.push(new Uint8Array([0x42, 0, 0, 0, 0]));
  assert.equal(reader.next()?.ok, false);
  reader.push(encodeDone(new Uint8Array(32)));
  assert.equal(reader.next()?.ok, false);
});

Deno.test("an offer of a size beyond 1 TiB is refused as too large", () => {
  const huge = withSize(encodeOffer(offer(1000)), 1n << 50n);
  const [result] = readAll(huge);
  assert.ok(!result.ok);
  assert.equal(result.reason, Reason.TOO_LARGE);
  assert.match(result.error, /beyond what altnet transfers/);
  const edge = offer(MAX_FILE_SIZE, 64 * 1024 * 1024);
  assert.equal(edge.chunkHashes.length, 32 * MAX_CHUNKS);
  const [ok] = readAll(encodeOffer(edge));
  assert.ok(ok.ok);
});

Deno.test("malformed offers are refused with their reason", () => {
  const good = encodeOffer(offer(100_000));
  // Chunk size not a power of two (bytes 14–17).
  const badChunk = good.slice();
  new DataView(badChunk.buffer).setUint32(14, 100_000);
  const [a] = readAll(badChunk);
  assert.ok(!a.ok && a.reason === Reason.BAD_OFFER);
  assert.match(a.error, /not a power of two/);
  // A size that does not match the chunk count and hash list.
  const [b] = readAll(withSize(good, 1_000_000n));
  assert.ok(!b.ok && b.reason === Reason.BAD_OFFER);
  assert.match(b.error, /chunk count/);
  // A name that is not UTF-8.
  const o = offer(10, 65_536, "ab");
  const badName = encodeOffer(o);
  badName[5 + 50] = 0xff;
  const [c] = readAll(badName);
  assert.ok(!c.ok && c.reason === Reason.BAD_NAME);
  // Another protocol version.
  const v2 = good.slice();
  v2[5] = 2;
  const [d] = readAll(v2);
  assert.ok(!d.ok && d.reason === Reason.BAD_OFFER);
  assert.match(d.error, /version 2/);
});

Deno.test("ACCEPT ranges must be ascending, disjoint and not adjacent", () => {
  for (
    const ranges of [
      [{ start: 2, end: 2 }],
      [{ start: 3, end: 5 }, { start: 1, end: 2 }],
      [{ start: 0, end: 2 }, { start: 2, end: 4 }],
    ]
  ) {
    const [r] = readAll(encodeAccept(ranges));
    assert.ok(!r.ok, JSON.stringify(ranges));
    assert.equal(r.reason, Reason.PROTOCOL);
  }
});

Deno.test("decoders never throw on random bodies", () => {
  const random = seededRandom(3);
  for (let i = 0; i < 20_000; i++) {
    const body = new Uint8Array(Math.floor(random() * 120));
    for (let j = 0; j < body.length; j++) body[j] = random() * 256;
    const kind = 1 + Math.floor(random() * 7);
    const result = decodeBody(kind, body);
    assert.equal(typeof result.ok, "boolean");
  }
});

Deno.test("a reason text is cut to 500 bytes on a character boundary", () => {
  const [r] = readAll(encodeError(Reason.DISK, "é".repeat(400)));
  assert.ok(r.ok && r.frame.kind === FrameKind.ERROR);
  assert.equal(r.frame.text, "é".repeat(250));
});
