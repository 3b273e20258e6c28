import assert from "node:assert/strict";
import { decodeMessage, MessageKind } from "../wire/mod.ts";
import {
  ByteSink,
  ByteSource,
  randomBytes,
  runTransfer,
  SimulatedLink,
  StreamSimulation,
} from "./simulated_link_for_testing.ts";
import { Stream } from "./stream.ts";

const SEGMENT = 1151;

function assertSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(`Byte ${i} differs: ${actual[i]} != ${expected[i]}`);
    }
  }
}

Deno.test("chat messages arrive in order and each gets a delivery receipt", () => {
  const alice = new Stream(3), bob = new Stream(3);
  const sim = new StreamSimulation([alice], [bob], {
    aToB: new SimulatedLink({ delayMs: 20 }),
    bToA: new SimulatedLink({ delayMs: 20 }),
  });
  const messages = ["hello", "how are you?", "bye"].map((t) =>
    new TextEncoder().encode(t)
  );
  const sendAt = [0, 100, 200];
  const ends: number[] = [];
  const receipts: number[] = [];
  const sink = new ByteSink();
  sim.run({
    tick: (now) => {
      while (ends.length < messages.length && now >= sendAt[ends.length]) {
        const m = messages[ends.length];
        assert.equal(alice.write(m), m.length);
        ends.push((ends.at(-1) ?? 0) + m.length);
      }
      while (
        receipts.length < ends.length &&
        alice.acknowledged >= ends[receipts.length]
      ) {
        receipts.push(now);
      }
      sink.drain(bob);
      return sendAt[ends.length];
    },
    done: () => receipts.length === messages.length,
    limitMs: 1000,
  });
  assert.equal(
    new TextDecoder().decode(sink.bytes()),
    "hellohow are you?bye",
  );
  // One RTT (40 ms) plus at most the 25 ms delayed ACK.
  receipts.forEach((t, i) => assert.ok(t - sendAt[i] <= 65, `${t}`));
});

Deno.test("in-order delivery on a clean link, without a single retransmission", () => {
  const payload = randomBytes(300_000, 1);
  const r = runTransfer(payload, { link: { delayMs: 15 }, limitMs: 5_000 });
  assertSameBytes(r.received, payload);
  assert.equal(r.sender.stats.retransmits, 0);
  assert.equal(r.receiver.stats.duplicateBytes, 0);
  assert.equal(r.simulation.decodeFailures, 0);
});

Deno.test("a single lost segment is recovered by fast retransmit, not by the timer", () => {
  const payload = randomBytes(30 * SEGMENT, 2);
  const r = runTransfer(payload, {
    link: { delayMs: 20, dropIf: (i) => i === 5 },
    limitMs: 5_000,
  });
  assertSameBytes(r.received, payload);
  const stats = r.sender.stats;
  assert.equal(stats.timeouts, 0);
  assert.equal(stats.retransmits, 1);
  assert.equal(stats.lostPackets, 1);
  assert.equal(stats.congestionEvents, 1);
});

Deno.test("a lost tail segment is recovered by the retransmission timer", () => {
  const payload = randomBytes(20 * SEGMENT, 3);
  const r = runTransfer(payload, {
    link: { delayMs: 20, dropIf: (i) => i === 19 }, // the last, with the FIN
    limitMs: 5_000,
  });
  assertSameBytes(r.received, payload);
  const stats = r.sender.stats;
  assert.equal(stats.timeouts, 1);
  assert.equal(stats.retransmits, 1);
  // SRTT ≈ 40 ms, so the RTO is the 200 ms floor: done well before 1 s.
  assert.ok(r.timeMs < 400, `${r.timeMs}`);
});

Deno.test("duplicated and reordered segments are delivered exactly once, in order", () => {
  const payload = randomBytes(200_000, 4);
  const r = runTransfer(payload, {
    link: {
      delayMs: 10,
      duplicate: 0.3,
      reorder: 0.3,
      reorderDelayMs: 8,
      jitterMs: 3,
      seed: 4,
    },
    limitMs: 10_000,
  });
  assertSameBytes(r.received, payload);
  assert.ok(r.receiver.stats.duplicateBytes > 0);
  assert.ok(r.simulation.aToB.stats.duplicated > 0);
  assert.ok(r.simulation.aToB.stats.reordered > 0);
});

Deno.test("both directions carry data and finish", () => {
  const a = new Stream(9), b = new Stream(9);
  const sim = new StreamSimulation([a], [b], {
    aToB: new SimulatedLink({ delayMs: 10, loss: 0.05, seed: 5 }),
    bToA: new SimulatedLink({ delayMs: 10, loss: 0.05, seed: 6 }),
  });
  const fromA = randomBytes(50_000, 7), fromB = randomBytes(70_000, 8);
  const sourceA = new ByteSource(fromA), sourceB = new ByteSource(fromB);
  const sinkA = new ByteSink(), sinkB = new ByteSink();
  sim.run({
    tick: () => {
      sourceA.pump(a);
      sourceB.pump(b);
      sinkA.drain(a);
      sinkB.drain(b);
    },
    done: () => a.isFinished && b.isFinished,
    limitMs: 20_000,
  });
  assertSameBytes(sinkB.bytes(), fromA);
  assertSameBytes(sinkA.bytes(), fromB);
  assert.equal(a.isSendFinished && a.isReceiveFinished, true);
  assert.equal(a.receiver.isReadEnded && b.receiver.isReadEnded, true);
  assert.equal(a.acknowledged, fromA.length);
});

Deno.test("a slow reader's window is never exceeded and nothing is refused", () => {
  const window = 16_384;
  const options = { receiveBuffer: window, initialWindow: window };
  const a = new Stream(1, options), b = new Stream(1, options);
  const sim = new StreamSimulation([a], [b], {
    aToB: new SimulatedLink({ delayMs: 10 }),
    bToA: new SimulatedLink({ delayMs: 10 }),
  });
  const payload = randomBytes(200_000, 9);
  const source = new ByteSource(payload);
  const out: Uint8Array[] = [];
  let nextRead = 0;
  let maxBuffered = 0;
  sim.run({
    tick: (now) => {
      source.pump(a);
      if (now >= nextRead) {
        // Reads one chunk every 5 ms: about 230 KB/s.
        const chunk = b.read();
        if (chunk) out.push(chunk);
        nextRead = now + 5;
      }
      maxBuffered = Math.max(maxBuffered, b.receiver.bufferedBytes);
      // The sender never goes beyond what the receiver allowed.
      assert.ok(a.sender.stats.peerWindowEnd <= b.receiver.readOffset + window);
      return nextRead;
    },
    done: () => a.isSendFinished && b.receiver.isReadEnded,
    limitMs: 60_000,
  });
  const sink = new Uint8Array(payload.length);
  let at = 0;
  for (const c of out) sink.set(c, (at += c.length) - c.length);
  assertSameBytes(sink, payload);
  assert.ok(maxBuffered <= window);
  assert.ok(maxBuffered > window / 2); // the window was the limit
  assert.equal(b.stats.refusedMessages, 0);
});

Deno.test("ACKs carry at most 16 ranges when the receiver has more gaps, and the transfer completes", () => {
  const payload = randomBytes(700_000, 10);
  let maxRanges = 0;
  const r = runTransfer(payload, {
    // Once slow start has grown the window, every other one of 80 segments
    // is lost: 40 gaps in one window.
    link: { delayMs: 20, dropIf: (i) => i >= 250 && i < 330 && i % 2 === 1 },
    reverse: {
      delayMs: 20,
      dropIf: (_, packet) => {
        const m = decodeMessage(packet);
        assert.ok(m.ok);
        if (m.value.kind === MessageKind.STREAM_ACK) {
          maxRanges = Math.max(maxRanges, m.value.ranges.length);
        }
        return false;
      },
    },
    limitMs: 10_000,
  });
  assertSameBytes(r.received, payload);
  assert.equal(maxRanges, 16);
  assert.equal(r.sender.stats.retransmits, 40);
});

Deno.test("a path change from 10 to 80 to 10 ms RTT loses and duplicates nothing", () => {
  const payload = randomBytes(2_000_000, 11);
  const rtts: number[] = [];
  let phase = 0;
  const r = runTransfer(payload, {
    link: { delayMs: 5, bytesPerMs: 2500, bufferBytes: 100_000, seed: 11 },
    reverse: { delayMs: 5 },
    tick: (now, { sender, receiver, simulation }) => {
      const switchTo = (delay: number) => {
        simulation.aToB.switchPath({ delayMs: delay }, now);
        simulation.bToA.switchPath({ delayMs: delay }, now);
        sender.onPathChange(now);
        receiver.onPathChange(now);
        phase++;
      };
      if (phase === 0 && now >= 150) switchTo(40);
      else if (phase === 1 && now >= 550) {
        rtts.push(sender.stats.minRtt!);
        switchTo(5);
      } else if (phase === 2 && now >= 700) {
        rtts.push(sender.stats.minRtt!);
        phase++;
      }
    },
    limitMs: 10_000,
  });
  assertSameBytes(r.received, payload);
  assert.equal(phase, 3, "the transfer spanned both path changes");
  // The RTT estimate restarted on each path: its minimum is the new path's
  // (plus at most one segment's serialisation and a delayed ACK's wait).
  assert.ok(rtts[0] >= 80 && rtts[0] < 110, `${rtts}`);
  assert.ok(rtts[1] >= 10 && rtts[1] < 40, `${rtts}`);
});

Deno.test("a path that dies mid-transfer (everything in flight lost) loses nothing", () => {
  const payload = randomBytes(1_000_000, 12);
  let switched = false;
  const r = runTransfer(payload, {
    link: { delayMs: 5, bytesPerMs: 2500, bufferBytes: 100_000, seed: 12 },
    reverse: { delayMs: 5 },
    tick: (now, { sender, receiver, simulation }) => {
      if (!switched && now >= 200) {
        switched = true;
        const dies = { oldPathDies: true };
        simulation.aToB.switchPath({ delayMs: 30 }, now, dies);
        simulation.bToA.switchPath({ delayMs: 30 }, now, dies);
        sender.onPathChange(now);
        receiver.onPathChange(now);
      }
    },
    limitMs: 10_000,
  });
  assertSameBytes(r.received, payload);
  assert.ok(switched);
  assert.ok(r.sender.stats.retransmits > 0);
  assert.equal(r.sender.stats.timeouts, 0);
});

Deno.test("a lost window update is rescued by a window probe", () => {
  const window = 16_384;
  const options = { receiveBuffer: window, initialWindow: window };
  const a = new Stream(1, options), b = new Stream(1, options);
  // Every ACK that reopens a closed window is lost the first time.
  let closed = false;
  const sim = new StreamSimulation([a], [b], {
    aToB: new SimulatedLink({ delayMs: 10 }),
    bToA: new SimulatedLink({
      delayMs: 10,
      dropIf: (_, packet) => {
        const m = decodeMessage(packet);
        if (!m.ok || m.value.kind !== MessageKind.STREAM_ACK) return false;
        if (m.value.window === 0) closed = true;
        else if (closed) {
          closed = false;
          return true;
        }
        return false;
      },
    }),
  });
  const payload = randomBytes(100_000, 13);
  const source = new ByteSource(payload);
  const sink = new ByteSink();
  let readAt = 0;
  sim.run({
    tick: (now) => {
      source.pump(a);
      if (now >= readAt) {
        // The reader wakes every 300 ms and empties the buffer.
        sink.drain(b);
        readAt = now + 300;
      }
      return readAt;
    },
    done: () => a.isSendFinished && b.receiver.isReadEnded,
    limitMs: 60_000,
  });
  assertSameBytes(sink.bytes(), payload);
  assert.ok(a.stats.windowProbes > 0);
  assert.equal(b.stats.refusedMessages, 0);
});
