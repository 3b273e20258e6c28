// A hostile sender talks to a real receiver app (in-memory network, virtual
// time) and writes whatever frames it likes: every bad offer or bad data is
// refused with a clear reason, and nothing appears under the offered name.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { TrustStore } from "../identity/mod.ts";
import type { Stream } from "../stream/mod.ts";
import { MAX_BLOCK_SIZE } from "./constants.ts";
import {
  encodeData,
  encodeOffer,
  type Frame,
  FrameKind,
  FrameReader,
  type Offer,
  Reason,
} from "./frames.ts";
import { pickStreamId } from "./stream_ids.ts";
import { TransferNode } from "./transfer_node.ts";
import {
  createTransferWorld,
  fillPattern,
  type TransferWorld,
} from "./transfer_world_for_testing.ts";

const CHUNK = 16_384;

function honestOffer(name: string, bytes: Uint8Array): Offer {
  const count = Math.ceil(bytes.length / CHUNK);
  const chunkHashes = new Uint8Array(32 * count);
  for (let i = 0; i < count; i++) {
    chunkHashes.set(
      createHash("sha256").update(bytes.subarray(i * CHUNK, (i + 1) * CHUNK))
        .digest(),
      32 * i,
    );
  }
  return {
    name,
    size: bytes.length,
    chunkSize: CHUNK,
    sha256: new Uint8Array(createHash("sha256").update(bytes).digest()),
    chunkHashes,
  };
}

/**
 * Connects as alice, writes `first` on a new stream, then lets `react`
 * answer each frame from the receiver; resolves with the frames received
 * once the receiver finished its side of the stream.
 */
async function hostileSend(
  w: TransferWorld,
  port: number,
  first: Uint8Array,
  react: (frame: Frame, write: (bytes: Uint8Array) => void) => void = () => {},
): Promise<Frame[]> {
  const socket = await w.hosts.sender.openSocket(port);
  const frames: Frame[] = [];
  const reader = new FrameReader();
  let stream: Stream | undefined;
  const node: TransferNode = new TransferNode({
    socket,
    scheduler: w.clock,
    staticKeyPair: w.keys.sender,
    name: "alice",
    relay: w.relay,
    knownPeers: await TrustStore.open(join(w.dir, "mallory", "known_peers")),
    peer: "bob",
    candidates: [socket.local],
    onEvent: () => {},
    onSession: (session) => {
      stream = session.streams.get(
        pickStreamId(w.keys.sender.publicKey, session.key!, () => false),
      );
      stream.write(first);
      node.pump();
    },
    onActivity: () => {
      if (!stream) return;
      for (let b; (b = stream.read());) reader.push(b);
      for (let r; (r = reader.next());) {
        assert.ok(r.ok, "the receiver's frames are well formed");
        frames.push(r.frame);
        react(r.frame, (bytes) => stream!.write(bytes));
      }
    },
  });
  node.start();
  const ended = await w.clock.runUntil(
    () => stream?.isReceiveFinished === true,
    { maxMs: 30_000 },
  );
  await node.stop();
  assert.ok(
    ended,
    `the receiver never finished; got ${JSON.stringify(frames)}`,
  );
  return frames;
}

function reasonOf(frames: Frame[], kind: number) {
  const frame = frames.find((f) => f.kind === kind);
  assert.ok(
    frame &&
      (frame.kind === FrameKind.DECLINE || frame.kind === FrameKind.ERROR),
    `no frame of kind ${kind} in ${JSON.stringify(frames)}`,
  );
  return frame;
}

Deno.test("offers with unsafe names are declined and write nothing", async () => {
  const w = await createTransferWorld();
  try {
    const bob = await w.receiver();
    const bytes = new Uint8Array(100);
    const names: [string, RegExp][] = [
      ["../../.ssh/authorized_keys", /path separator/],
      ["/etc/passwd", /path separator/],
      ["..", /names a folder/],
      ["NUL.txt", /device name/],
      ["evil\u0000.txt", /control characters/],
      ["a\u202etxt.exe", /reordering/],
    ];
    for (const [i, [name, why]] of names.entries()) {
      const frames = await hostileSend(
        w,
        9200 + i,
        encodeOffer(honestOffer(name, bytes)),
      );
      const decline = reasonOf(frames, FrameKind.DECLINE);
      assert.equal(decline.reason, Reason.BAD_NAME, name);
      assert.match(decline.text, /file name .* is refused/);
      assert.match(decline.text, why);
      assert.equal(frames.some((f) => f.kind === FrameKind.ACCEPT), false);
    }
    assert.deepEqual([...Deno.readDirSync(bob.outDir)], []);
    assert.equal(
      bob.events.filter((e) => e.event === "declined").length,
      names.length,
    );
  } finally {
    await w.close();
  }
});

Deno.test("offers too large for the protocol, the limit or the disk are declined", async () => {
  const w = await createTransferWorld();
  try {
    const bob = await w.receiver({
      maxSize: 10_000_000,
      freeSpace: () => 1_000_000,
    });
    // Beyond 1 TiB: the size field of the offer says 2^50.
    const huge = encodeOffer(honestOffer("huge.bin", new Uint8Array(10)));
    new DataView(huge.buffer).setBigUint64(6, 1n << 50n);
    const a = reasonOf(await hostileSend(w, 9300, huge), FrameKind.DECLINE);
    assert.equal(a.reason, Reason.TOO_LARGE);
    assert.match(a.text, /beyond what altnet transfers \(1 TiB\)/);
    // Over --max-size.
    const big: Offer = {
      ...honestOffer("big.bin", new Uint8Array(0)),
      size: 20_000_000,
      chunkSize: 1_048_576,
      chunkHashes: new Uint8Array(32 * 20),
    };
    const b = reasonOf(
      await hostileSend(w, 9301, encodeOffer(big)),
      FrameKind.DECLINE,
    );
    assert.equal(b.reason, Reason.TOO_LARGE);
    assert.match(b.text, /larger than the receiver's limit of 9\.5 MiB/);
    // Within the limit, beyond the free space.
    const roomy: Offer = {
      ...big,
      size: 5_000_000,
      chunkHashes: new Uint8Array(32 * 5),
    };
    const c = reasonOf(
      await hostileSend(w, 9302, encodeOffer(roomy)),
      FrameKind.DECLINE,
    );
    assert.equal(c.reason, Reason.TOO_LARGE);
    assert.match(c.text, /needs 4\.8 MiB and the receiver has 976\.6 KiB free/);
    assert.deepEqual([...Deno.readDirSync(bob.outDir)], []);
  } finally {
    await w.close();
  }
});

/** Sends the blocks of `bytes` for the chunks an ACCEPT asks for. */
function sendAccepted(bytes: Uint8Array) {
  return (frame: Frame, write: (b: Uint8Array) => void) => {
    if (frame.kind !== FrameKind.ACCEPT) return;
    for (const range of frame.ranges) {
      for (let c = range.start; c < range.end; c++) {
        const end = Math.min((c + 1) * CHUNK, bytes.length);
        for (let at = c * CHUNK; at < end; at += MAX_BLOCK_SIZE) {
          write(
            encodeData(
              at,
              bytes.subarray(at, Math.min(end, at + MAX_BLOCK_SIZE)),
            ),
          );
        }
      }
    }
  };
}

Deno.test("a chunk that does not match its hash is refused and never counted", async () => {
  const w = await createTransferWorld();
  try {
    const bob = await w.receiver();
    const bytes = new Uint8Array(3 * CHUNK + 100);
    fillPattern(bytes, 4);
    const offer = honestOffer("lie.bin", bytes);
    const tampered = bytes.slice();
    tampered[CHUNK + 5] ^= 1; // chunk 1
    const frames = await hostileSend(
      w,
      9400,
      encodeOffer(offer),
      sendAccepted(tampered),
    );
    const error = reasonOf(frames, FrameKind.ERROR);
    assert.equal(error.reason, Reason.VERIFY_FAILED);
    assert.match(error.text, /chunk 1 did not match its SHA-256/);
    assert.ok(!(await exists(join(bob.outDir, "lie.bin"))));
    // Chunk 0 stays verified for a resume; chunk 1 does not.
    await w.clock.advance(100);
    const state = JSON.parse(
      await Deno.readTextFile(join(bob.outDir, "lie.bin.part.state")),
    );
    assert.equal(Uint8Array.fromBase64(state.verified)[0], 0b0001);
  } finally {
    await w.close();
  }
});

Deno.test("a file that does not match the offered SHA-256 never takes its name", async () => {
  const w = await createTransferWorld();
  try {
    const bob = await w.receiver();
    const bytes = new Uint8Array(2 * CHUNK);
    fillPattern(bytes, 5);
    const offer = { ...honestOffer("whole.bin", bytes) };
    offer.sha256 = offer.sha256.slice();
    offer.sha256[0] ^= 0xff;
    const frames = await hostileSend(
      w,
      9500,
      encodeOffer(offer),
      sendAccepted(bytes),
    );
    const error = reasonOf(frames, FrameKind.ERROR);
    assert.equal(error.reason, Reason.VERIFY_FAILED);
    assert.match(error.text, /did not match the SHA-256 of the offer/);
    assert.equal(frames.some((f) => f.kind === FrameKind.DONE), false);
    assert.ok(!(await exists(join(bob.outDir, "whole.bin"))));
  } finally {
    await w.close();
  }
});

Deno.test("data for ranges never requested, beyond the size, or before ACCEPT is refused", async () => {
  const w = await createTransferWorld();
  try {
    const bob = await w.receiver();
    const bytes = new Uint8Array(4 * CHUNK);
    fillPattern(bytes, 6);
    const offer = honestOffer("order.bin", bytes);
    // Chunk 2 first, when chunk 0 was asked for first.
    const skip = await hostileSend(w, 9600, encodeOffer(offer), (f, write) => {
      if (f.kind === FrameKind.ACCEPT) {
        write(encodeData(2 * CHUNK, bytes.subarray(2 * CHUNK, 3 * CHUNK)));
      }
    });
    const a = reasonOf(skip, FrameKind.ERROR);
    assert.equal(a.reason, Reason.PROTOCOL);
    assert.match(a.text, /range never requested: offset 32768, expected 0/);
    // Bytes past the declared end of the file.
    const small = honestOffer("short.bin", bytes.subarray(0, 100));
    const past = await hostileSend(w, 9601, encodeOffer(small), (f, write) => {
      if (f.kind === FrameKind.ACCEPT) {
        write(encodeData(0, bytes.subarray(0, 200)));
      }
    });
    const b = reasonOf(past, FrameKind.ERROR);
    assert.match(
      b.text,
      /beyond the declared size: bytes 0–200 of a 100-byte file/,
    );
    // Data offered before the receiver accepted.
    const eager = await hostileSend(
      w,
      9602,
      new Uint8Array([
        ...encodeOffer(honestOffer("eager.bin", bytes)),
        ...encodeData(0, bytes.subarray(0, 10)),
      ]),
    );
    const c = reasonOf(eager, FrameKind.ERROR);
    assert.match(c.text, /before the offer was accepted/);
    for (const name of ["order.bin", "short.bin", "eager.bin"]) {
      assert.ok(!(await exists(join(bob.outDir, name))), name);
    }
  } finally {
    await w.close();
  }
});

Deno.test("garbage instead of an offer is refused as a protocol error", async () => {
  const w = await createTransferWorld();
  try {
    await w.receiver();
    const frames = await hostileSend(
      w,
      9700,
      new Uint8Array([0x42, 0, 0, 0, 1, 0]),
    );
    const error = reasonOf(frames, FrameKind.ERROR);
    assert.equal(error.reason, Reason.PROTOCOL);
    assert.match(error.text, /unknown kind 66/);
  } finally {
    await w.close();
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
