import assert from "node:assert/strict";
import {
  encodeMessage,
  MAX_ACK_RANGES,
  MessageKind,
  type StreamAckMessage,
  type StreamDataMessage,
} from "../wire/mod.ts";
import { QUICK_ACK_SEGMENTS, ReceiveStream } from "./receive_stream.ts";
import { DELAYED_ACK_MS } from "./timers.ts";

function data(
  offset: number,
  length: number,
  fin = false,
): StreamDataMessage {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (offset + i) & 0xff;
  return {
    kind: MessageKind.STREAM_DATA,
    streamId: 1,
    fin,
    offset,
    data: bytes,
  };
}

function readAll(rx: ReceiveStream): number[] {
  const out: number[] = [];
  for (let c = rx.read(); c; c = rx.read()) out.push(...c);
  return out;
}

function expected(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => (from + i) & 0xff);
}

function ack(rx: ReceiveStream, now = 0): StreamAckMessage {
  const m = rx.pollAck(now);
  assert.ok(m, "an ACK is due");
  encodeMessage(m); // always a valid wire message
  return m;
}

Deno.test("out-of-order and duplicate segments are delivered exactly once, in order", () => {
  const rx = new ReceiveStream(1);
  rx.receive(data(200, 100), 0);
  rx.receive(data(100, 100), 0);
  rx.receive(data(200, 100), 0); // duplicate, out of order
  assert.equal(rx.read(), undefined);
  rx.receive(data(0, 100), 0);
  rx.receive(data(50, 200), 0); // overlaps delivered bytes
  assert.deepEqual(readAll(rx), expected(0, 300));
  assert.equal(rx.stats.bytesReceived, 300);
  assert.equal(rx.stats.duplicateBytes, 300);
});

Deno.test("overlapping segments of different bounds are stitched without double bytes", () => {
  const rx = new ReceiveStream(1);
  rx.receive(data(10, 20), 0);
  rx.receive(data(25, 30), 0);
  rx.receive(data(5, 10), 0);
  rx.receive(data(0, 60), 0);
  assert.deepEqual(readAll(rx), expected(0, 60));
});

Deno.test("data beyond the window is refused and counted, and buffering stays bounded", () => {
  const rx = new ReceiveStream(1, {
    receiveBuffer: 4096,
    initialWindow: 4096,
  });
  rx.receive(data(0, 1000), 0);
  rx.receive(data(4000, 200), 0); // ends at 4200 > 4096
  rx.receive(data(1_000_000, 500), 0);
  assert.equal(rx.stats.refusedMessages, 2);
  assert.equal(rx.stats.refusedBytes, 700);
  assert.equal(rx.bufferedBytes, 1000);
  // Refused data never triggers an immediate ACK, only the delayed one.
  assert.equal(rx.pollAck(0), undefined);
  rx.onTimeout(DELAYED_ACK_MS);
  assert.equal(ack(rx, DELAYED_ACK_MS).window, 4096 - 1000);
  // Reading opens the window by what was read.
  assert.equal(readAll(rx).length, 1000);
  rx.receive(data(4000, 200), 30);
  assert.equal(rx.stats.refusedMessages, 2);
  const m = ack(rx, 30);
  assert.equal(m.cumulative + m.window, 1000 + 4096);
});

Deno.test("a hostile peer cannot make the receiver hold more than its buffer", () => {
  const limit = 65_536;
  const rx = new ReceiveStream(1, { receiveBuffer: limit });
  // Every other 1000-byte block up to far beyond the window, never in order.
  let offered = 0;
  for (let offset = 1000; offset < 10 * limit; offset += 2000) {
    rx.receive(data(offset, 1000), 0);
    offered += 1000;
  }
  assert.ok(rx.bufferedBytes <= limit);
  assert.equal(rx.stats.bytesReceived, rx.bufferedBytes);
  assert.equal(rx.stats.refusedBytes, offered - rx.stats.bytesReceived);
});

Deno.test("FIN fixes the final size: later data beyond it and other FINs are refused", () => {
  const rx = new ReceiveStream(1);
  rx.receive(data(0, 100, true), 0);
  assert.equal(rx.finalSize, 100);
  rx.receive(data(100, 50), 0);
  rx.receive(data(50, 30, true), 0);
  rx.receive(data(90, 20), 0);
  assert.equal(rx.stats.refusedMessages, 3);
  assert.equal(rx.isFinished, true);
  assert.equal(rx.isReadEnded, false);
  assert.deepEqual(readAll(rx), expected(0, 100));
  assert.equal(rx.isReadEnded, true);
});

Deno.test("a FIN below bytes already received is refused", () => {
  const rx = new ReceiveStream(1);
  rx.receive(data(100, 100), 0);
  rx.receive(data(0, 50, true), 0);
  assert.equal(rx.finalSize, undefined);
  assert.equal(rx.stats.refusedMessages, 1);
});

Deno.test("the FIN takes one position in acknowledgement space", () => {
  const rx = new ReceiveStream(1);
  rx.receive(data(100, 50, true), 0); // FIN above a gap
  let m = ack(rx);
  assert.equal(m.cumulative, 0);
  assert.deepEqual(m.ranges, [{ start: 100, end: 151 }]);
  rx.receive(data(0, 100), 0);
  m = ack(rx);
  assert.equal(m.cumulative, 151);
  assert.deepEqual(m.ranges, []);
  // An empty FIN on its own, out of order.
  const rx2 = new ReceiveStream(1);
  rx2.receive(data(0, 10), 0);
  rx2.receive(data(20, 0, true), 0);
  assert.deepEqual(ack(rx2).ranges, [{ start: 20, end: 21 }]);
});

Deno.test("in-order data is acknowledged every second segment or after 25 ms", () => {
  const rx = new ReceiveStream(1);
  rx.receive(data(0, 1000), 0);
  assert.equal(rx.pollAck(0), undefined);
  assert.equal(rx.nextTimeout(), DELAYED_ACK_MS);
  rx.receive(data(1000, 1000), 5);
  assert.equal(ack(rx, 5).cumulative, 2000);
  assert.equal(rx.nextTimeout(), undefined);
  rx.receive(data(2000, 1000), 10);
  assert.equal(rx.pollAck(34), undefined);
  rx.onTimeout(35);
  assert.equal(ack(rx, 35).cumulative, 3000);
});

Deno.test("out-of-order, gap-filling and duplicate segments are acknowledged at once", () => {
  const rx = new ReceiveStream(1);
  rx.receive(data(1000, 1000), 0);
  assert.deepEqual(ack(rx).ranges, [{ start: 1000, end: 2000 }]);
  rx.receive(data(0, 1000), 0);
  const m = ack(rx);
  assert.equal(m.cumulative, 2000);
  assert.deepEqual(m.ranges, []);
  rx.receive(data(0, 1000), 0);
  assert.equal(ack(rx).cumulative, 2000);
  // An empty segment (a window probe) too.
  rx.receive(data(2000, 0), 0);
  assert.equal(ack(rx).cumulative, 2000);
});

Deno.test("at most 16 ranges are reported, the most recently received first chosen", () => {
  const rx = new ReceiveStream(1);
  // 20 islands: [200k, 200k + 100) for k = 1..20, received in order.
  for (let k = 1; k <= 20; k++) rx.receive(data(200 * k, 100), k);
  let m = ack(rx);
  assert.equal(m.ranges.length, MAX_ACK_RANGES);
  // The 16 most recent: islands 5..20, ascending on the wire.
  assert.deepEqual(
    m.ranges.map((r) => r.start / 200),
    Array.from({ length: 16 }, (_, i) => i + 5),
  );
  // Island 1 grows: it is now the most recent and must be reported.
  rx.receive(data(300, 50), 30);
  m = ack(rx);
  assert.equal(m.ranges.length, MAX_ACK_RANGES);
  assert.deepEqual(m.ranges[0], { start: 200, end: 350 });
  assert.ok(m.ranges.some((r) => r.start === 4000)); // island 20 still there
  for (let i = 1; i < m.ranges.length; i++) {
    assert.ok(m.ranges[i].start > m.ranges[i - 1].end);
  }
});

Deno.test("reading a quarter of the buffer sends a window update", () => {
  const rx = new ReceiveStream(1, {
    receiveBuffer: 8000,
    initialWindow: 8000,
  });
  for (let offset = 0; offset < 8000; offset += 1000) {
    rx.receive(data(offset, 1000), 0);
  }
  const full = ack(rx);
  assert.equal(full.window, 0);
  rx.read();
  assert.equal(rx.pollAck(1), undefined); // 1000 < 8000 / 4
  rx.read();
  const update = ack(rx, 1);
  assert.equal(update.window, 2000);
});

Deno.test("constructor refuses bad stream ids and buffers", () => {
  assert.throws(() => new ReceiveStream(70_000), RangeError);
  assert.throws(
    () => new ReceiveStream(1, { receiveBuffer: 1000 }),
    RangeError,
  );
  assert.throws(
    () => new ReceiveStream(1, { receiveBuffer: 2 ** 33 }),
    RangeError,
  );
});

Deno.test("a bulk receiver may acknowledge in-order data every n segments; loss is still acknowledged at once", () => {
  const rx = new ReceiveStream(1, { ackEverySegments: 8 });
  for (let i = 0; i < 7; i++) {
    rx.receive(data(i * 100, 100), 0);
    assert.equal(rx.pollAck(0), undefined, `segment ${i}`);
  }
  rx.receive(data(700, 100), 0);
  assert.equal(ack(rx).cumulative, 800);
  // A gap: acknowledged at once, whatever the setting.
  rx.receive(data(900, 100), 1);
  assert.deepEqual(ack(rx, 1).ranges, [{ start: 900, end: 1000 }]);
  rx.receive(data(800, 100), 2);
  ack(rx, 2);
  // After a loss sign, every second segment again for a while…
  rx.receive(data(1000, 100), 3);
  assert.equal(rx.pollAck(3), undefined);
  rx.receive(data(1100, 100), 3);
  assert.equal(ack(rx, 3).cumulative, 1200);
  // …then every n once the path is clean.
  let offset = 1200;
  for (let i = 0; i < QUICK_ACK_SEGMENTS; i++, offset += 100) {
    rx.receive(data(offset, 100), 4);
    rx.pollAck(4);
  }
  rx.makeAck();
  for (let i = 0; i < 7; i++, offset += 100) {
    rx.receive(data(offset, 100), 5);
    assert.equal(rx.pollAck(5), undefined);
  }
  // The delayed-ACK timer still bounds the wait, and its firing (the
  // sender ran short of window) brings back every second segment.
  rx.onTimeout(5 + DELAYED_ACK_MS);
  assert.ok(rx.pollAck(5 + DELAYED_ACK_MS));
  rx.receive(data(offset, 100), 40);
  rx.receive(data(offset + 100, 100), 40);
  assert.ok(rx.pollAck(40));
  assert.throws(
    () => new ReceiveStream(1, { ackEverySegments: 0 }),
    RangeError,
  );
});
