import assert from "node:assert/strict";
import { AckTimer, DELAYED_ACK_MS, earliest, SendTimers } from "./timers.ts";

Deno.test("retransmission timer starts on the first send and restarts on new acknowledgements", () => {
  const timers = new SendTimers();
  timers.onSegmentSent(0, 300);
  timers.onSegmentSent(50, 300); // already running: unchanged (RFC 6298 §5.1)
  assert.equal(timers.retransmission, 300);
  timers.onNewDataAcknowledged(100, 300);
  assert.equal(timers.retransmission, 400);
  timers.onAllAcknowledged();
  assert.equal(timers.retransmission, undefined);
});

Deno.test("a path change restarts a running retransmission timer with the new RTO and stops the others", () => {
  const timers = new SendTimers();
  timers.onPathChange(0, 1000);
  assert.equal(timers.retransmission, undefined);
  timers.onSegmentSent(0, 300);
  timers.onLossDetection(45);
  timers.onWindowBlocked(0, 300);
  timers.onPathChange(100, 1000);
  assert.equal(timers.retransmission, 1100);
  assert.equal(timers.loss, undefined);
  assert.equal(timers.persist, undefined);
});

Deno.test("next is the earliest of the send timers", () => {
  const timers = new SendTimers();
  assert.equal(timers.next(), undefined);
  timers.onSegmentSent(0, 300);
  timers.onPacingDelay(12);
  timers.onLossDetection(40);
  assert.equal(timers.next(), 12);
  timers.onSegmentSent(12, 300);
  assert.equal(timers.next(), 40);
  timers.onWindowBlocked(0, 10);
  assert.equal(timers.next(), 10);
  assert.equal(earliest(undefined, 3, 2), 2);
});

Deno.test("the delayed ACK waits at most 25 ms from the first unacknowledged segment", () => {
  const timer = new AckTimer();
  timer.onAckElicitingReceived(100);
  timer.onAckElicitingReceived(110);
  assert.equal(DELAYED_ACK_MS, 25);
  assert.equal(timer.deadline, 125);
  assert.equal(timer.isDue(124), false);
  assert.equal(timer.isDue(125), true);
  timer.onAckSent();
  assert.equal(timer.deadline, undefined);
});
