import assert from "node:assert/strict";
import {
  type AckRange,
  encodeMessage,
  MessageKind,
  type StreamAckMessage,
  type StreamDataMessage,
} from "../wire/mod.ts";
import {
  DEFAULT_MAX_DATA_SIZE,
  INITIAL_RTO_MS,
  MAX_RTO_MS,
} from "./constants.ts";
import { ReceiveStream } from "./receive_stream.ts";
import { SendStream } from "./send_stream.ts";

const MSS = 1000;

function ackOf(
  cumulative: number,
  ranges: AckRange[] = [],
  window = 1 << 20,
): StreamAckMessage {
  return {
    kind: MessageKind.STREAM_ACK,
    streamId: 1,
    cumulative,
    window,
    ranges,
  };
}

function drain(tx: SendStream, now: number): StreamDataMessage[] {
  const out: StreamDataMessage[] = [];
  for (let m = tx.pollTransmit(now); m; m = tx.pollTransmit(now)) {
    encodeMessage(m); // always a valid wire message
    out.push(m);
  }
  return out;
}

function sender(options = {}): SendStream {
  return new SendStream(1, { maxDataSize: MSS, pacing: false, ...options });
}

Deno.test("default segments fit a relayed STREAM_DATA (1151 bytes)", () => {
  assert.equal(DEFAULT_MAX_DATA_SIZE, 1151);
  const tx = new SendStream(1);
  tx.write(new Uint8Array(5000));
  const sent = drain(tx, 0);
  assert.deepEqual(sent.map((m) => m.data.length), [
    1151,
    1151,
    1151,
    1151,
    396,
  ]);
  assert.ok(sent.every((m) => encodeMessage(m).length <= 1163));
});

Deno.test("write accepts up to the send buffer and frees space as bytes are acknowledged", () => {
  const tx = sender({ sendBuffer: 10_000 });
  assert.equal(tx.write(new Uint8Array(25_000)), 10_000);
  assert.equal(tx.write(new Uint8Array(1)), 0);
  drain(tx, 0);
  tx.receive(ackOf(4000), 50);
  assert.equal(tx.acknowledged, 4000);
  assert.equal(tx.writable, 4000);
  tx.finish();
  assert.throws(() => tx.write(new Uint8Array(1)), TypeError);
});

Deno.test("the sender never exceeds the peer's window and probes a closed one", () => {
  const tx = sender({ initialWindow: 4096 });
  tx.write(new Uint8Array(100_000));
  let sent = drain(tx, 0);
  assert.equal(Math.max(...sent.map((m) => m.offset + m.data.length)), 4096);
  // cumulative 2000 + window 3000: the peer accepts up to 5000.
  tx.receive(ackOf(2000, [], 3000), 10);
  sent = drain(tx, 10);
  assert.equal(Math.max(...sent.map((m) => m.offset + m.data.length)), 5000);
  // A late ACK with a smaller right edge does not shrink the window.
  tx.receive(ackOf(1000, [], 1000), 11);
  assert.equal(tx.stats.peerWindowEnd, 5000);
  // Everything acknowledged, window closed: the persist timer probes.
  tx.receive(ackOf(5000, [], 0), 20);
  assert.deepEqual(drain(tx, 20), []);
  const probeAt = tx.nextTimeout();
  assert.ok(probeAt !== undefined && probeAt > 20);
  tx.onTimeout(probeAt);
  const [probe] = drain(tx, probeAt);
  assert.equal(probe.offset, 5000);
  assert.equal(probe.data.length, 0);
  assert.equal(tx.stats.windowProbes, 1);
  // The probe's answer opens the window; sending resumes.
  tx.receive(ackOf(5000, [], 2000), probeAt + 10);
  sent = drain(tx, probeAt + 10);
  assert.equal(sent.at(-1)!.offset + sent.at(-1)!.data.length, 7000);
});

Deno.test("a single loss is repaired by fast retransmit after three SACKed segments, not by the timer", () => {
  const tx = sender();
  tx.write(new Uint8Array(10 * MSS));
  assert.equal(drain(tx, 0).length, 10); // the initial window
  tx.receive(ackOf(1000), 40); // segment 0 arrived; segment 1 is lost
  assert.deepEqual(drain(tx, 40), []);
  tx.receive(ackOf(1000, [{ start: 2000, end: 3000 }]), 41);
  tx.receive(ackOf(1000, [{ start: 2000, end: 4000 }]), 41);
  assert.deepEqual(drain(tx, 41), []); // two are not enough
  tx.receive(ackOf(1000, [{ start: 2000, end: 5000 }]), 42);
  const [retransmission, ...rest] = drain(tx, 42);
  assert.equal(retransmission.offset, 1000);
  assert.equal(rest.length, 0);
  const stats = tx.stats;
  assert.equal(stats.retransmits, 1);
  assert.equal(stats.lostPackets, 1);
  assert.equal(stats.timeouts, 0);
  assert.equal(stats.congestionEvents, 1);
  // β × the initial window: ACKs did not grow cwnd, as the sender had no
  // more data and so was not limited by it.
  assert.equal(stats.cwnd, 10 * MSS * 0.7);
});

Deno.test("a segment overtaken by later deliveries is lost after 9/8 RTT (time threshold)", () => {
  const tx = sender();
  tx.write(new Uint8Array(3 * MSS));
  drain(tx, 0);
  tx.receive(ackOf(1000, [{ start: 2000, end: 3000 }]), 40);
  assert.deepEqual(drain(tx, 40), []);
  // SRTT 40, latest 40: lost at 0 + 45 ms.
  assert.equal(tx.nextTimeout(), 45);
  tx.onTimeout(45);
  assert.equal(drain(tx, 45)[0].offset, 1000);
  assert.equal(tx.stats.timeouts, 0);
});

Deno.test("a tail loss is repaired by the retransmission timer", () => {
  const tx = sender();
  tx.write(new Uint8Array(3 * MSS));
  tx.finish();
  drain(tx, 0);
  tx.receive(ackOf(1000), 40); // segments 1 and 2 (with the FIN) are lost
  assert.deepEqual(drain(tx, 40), []);
  const rto = tx.stats.rto; // 40 + 4 × 20 = 120 → floor 200
  assert.equal(rto, 200);
  assert.equal(tx.nextTimeout(), 40 + rto);
  tx.onTimeout(40 + rto);
  assert.equal(tx.stats.timeouts, 1);
  assert.equal(tx.stats.cwnd, MSS);
  const [first] = drain(tx, 240); // one segment: cwnd is one MSS
  assert.equal(first.offset, 1000);
  assert.equal(drain(tx, 240).length, 0);
  tx.receive(ackOf(2000), 280);
  const [second] = drain(tx, 280);
  assert.equal(second.offset, 2000);
  assert.equal(second.fin, true);
  tx.receive(ackOf(3001), 320);
  assert.equal(tx.isFinished, true);
  assert.equal(tx.nextTimeout(), undefined);
});

Deno.test("the RTO doubles on each expiry, and Karn's rule takes no sample from a retransmitted segment", () => {
  const tx = sender();
  tx.write(new Uint8Array(MSS));
  drain(tx, 0);
  let now = 0;
  const deadlines: number[] = [];
  for (let i = 0; i < 4; i++) {
    const at = tx.nextTimeout()!;
    deadlines.push(at - now);
    now = at;
    tx.onTimeout(now);
    assert.equal(drain(tx, now).length, 1);
  }
  assert.deepEqual(deadlines, [
    INITIAL_RTO_MS,
    2 * INITIAL_RTO_MS,
    4 * INITIAL_RTO_MS,
    8 * INITIAL_RTO_MS,
  ]);
  // The ACK of the retransmitted segment gives no RTT sample (Karn) and the
  // backed-off RTO stays.
  tx.receive(ackOf(1000), now + 30);
  assert.equal(tx.stats.srtt, undefined);
  assert.equal(tx.stats.rto, 16 * INITIAL_RTO_MS);
  // A segment sent once gives a sample, which ends the backoff.
  tx.write(new Uint8Array(MSS));
  drain(tx, now + 30);
  tx.receive(ackOf(2000), now + 80);
  assert.equal(tx.stats.srtt, 50);
  assert.equal(tx.stats.rto, 200);
});

Deno.test("the RTO backoff stops at 60 s", () => {
  const tx = sender();
  tx.write(new Uint8Array(MSS));
  drain(tx, 0);
  let now = 0;
  for (let i = 0; i < 12; i++) {
    now = tx.nextTimeout()!;
    tx.onTimeout(now);
    drain(tx, now);
  }
  assert.equal(tx.nextTimeout()! - now, MAX_RTO_MS);
});

Deno.test("SACKed segments are not retransmitted, after a timeout either", () => {
  const tx = sender();
  const rx = new ReceiveStream(1);
  tx.write(new Uint8Array(4 * MSS));
  tx.finish();
  for (const m of drain(tx, 0)) if (m.offset === 2000) rx.receive(m, 20);
  tx.receive(rx.makeAck(), 40);
  const resent: number[] = [];
  let now = 40;
  while (!tx.isFinished) {
    now = tx.nextTimeout()!;
    tx.onTimeout(now);
    for (const m of drain(tx, now)) {
      resent.push(m.offset);
      rx.receive(m, now + 20);
    }
    const ack = rx.pollAck(now + 20) ?? rx.makeAck();
    tx.receive(ack, now + 40);
  }
  assert.deepEqual(resent.sort((a, b) => a - b), [0, 1000, 3000]);
});

Deno.test("an ACK for bytes never sent is ignored and counted", () => {
  const tx = sender();
  tx.write(new Uint8Array(2 * MSS));
  drain(tx, 0);
  tx.receive(ackOf(5000), 10);
  tx.receive(ackOf(0, [{ start: 1000, end: 9000 }]), 10);
  assert.equal(tx.acknowledged, 0);
  assert.equal(tx.stats.invalidAcks, 2);
  // The FIN position is acknowledgeable only once a FIN was sent.
  tx.receive(ackOf(2001), 10);
  assert.equal(tx.stats.invalidAcks, 3);
  tx.finish();
  drain(tx, 10); // an empty FIN at 2000
  tx.receive(ackOf(2001), 20);
  assert.equal(tx.isFinished, true);
});

Deno.test("pacing spreads a window over the RTT once the RTT is known", () => {
  const tx = new SendStream(1, { maxDataSize: MSS });
  tx.write(new Uint8Array(200 * MSS));
  assert.equal(drain(tx, 0).length, 10); // the initial window, unpaced
  tx.receive(ackOf(10 * MSS), 100); // SRTT 100, cwnd 20 segments
  // Slow-start gain 2: 2 × 20 segments / 100 ms = one per 2.5 ms, after a
  // burst of at most max(2 ms of rate, 2 segments).
  const times: number[] = [];
  let now = 100;
  while (times.length < 20) {
    const sent = drain(tx, now);
    for (const _ of sent) times.push(now);
    const next = tx.nextTimeout()!;
    assert.ok(next > now);
    now = next;
    tx.onTimeout(now);
  }
  assert.ok(times.filter((t) => t === 100).length <= 2);
  const span = times.at(-1)! - times[0];
  assert.ok(span > 40 && span < 60, `${span}`);
});

Deno.test("a path change resends what is in flight, restarts RTT and cwnd, and takes no stale samples", () => {
  const tx = sender();
  tx.write(new Uint8Array(30 * MSS));
  drain(tx, 0);
  tx.receive(ackOf(10 * MSS), 20);
  drain(tx, 20);
  assert.ok(tx.stats.bytesInFlight > 10 * MSS);
  tx.onPathChange(30);
  let stats = tx.stats;
  assert.equal(stats.srtt, undefined);
  assert.equal(stats.cwnd, 10 * MSS);
  assert.equal(stats.bytesInFlight, 0);
  const resent = drain(tx, 30);
  assert.equal(resent[0].offset, 10 * MSS);
  assert.equal(resent.length, 10);
  // A late ACK from the old path: no RTT sample.
  tx.receive(ackOf(12 * MSS), 35);
  stats = tx.stats;
  assert.equal(stats.srtt, undefined);
  assert.equal(tx.acknowledged, 12 * MSS);
});
