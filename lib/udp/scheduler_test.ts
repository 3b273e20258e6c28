import assert from "node:assert/strict";
import { realScheduler, VirtualScheduler } from "./scheduler.ts";

Deno.test("virtual timers fire in deadline order, ties in the order set", async () => {
  const clock = new VirtualScheduler();
  const fired: string[] = [];
  clock.setTimer(30, () => fired.push(`c@${clock.now()}`));
  clock.setTimer(10, () => fired.push(`a@${clock.now()}`));
  clock.setTimer(20, () => fired.push(`b1@${clock.now()}`));
  clock.setTimer(20, () => fired.push(`b2@${clock.now()}`));
  await clock.runAll();
  assert.deepEqual(fired, ["a@10", "b1@20", "b2@20", "c@30"]);
  assert.equal(clock.now(), 30);
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("virtual time stands still until advanced, then stops exactly there", async () => {
  const clock = new VirtualScheduler({ startMs: 1000 });
  const fired: number[] = [];
  clock.setTimer(1010, () => fired.push(clock.now()));
  clock.setTimer(1050, () => fired.push(clock.now()));
  assert.equal(clock.now(), 1000);
  await clock.settle();
  assert.deepEqual(fired, []);
  await clock.advance(10);
  assert.deepEqual(fired, [1010]);
  assert.equal(clock.now(), 1010);
  await clock.advance(15);
  assert.equal(clock.now(), 1025);
  assert.equal(clock.nextDeadline(), 1050);
  await assert.rejects(() => clock.advance(-1), RangeError);
});

Deno.test("a virtual timer set in the past fires at the current time", async () => {
  const clock = new VirtualScheduler({ startMs: 500 });
  let at: number | undefined;
  clock.setTimer(100, () => at = clock.now());
  await clock.advance(0);
  assert.equal(at, 500);
});

Deno.test("a cleared virtual timer never fires", async () => {
  const clock = new VirtualScheduler();
  const fired: string[] = [];
  const handle = clock.setTimer(10, () => fired.push("cleared"));
  clock.setTimer(20, () => fired.push("kept"));
  clock.clearTimer(handle);
  clock.clearTimer(handle);
  assert.equal(clock.pendingTimers, 1);
  await clock.runAll();
  assert.deepEqual(fired, ["kept"]);
});

Deno.test("timers set while firing run in the same pass when due", async () => {
  const clock = new VirtualScheduler();
  const fired: number[] = [];
  const tick = () => {
    fired.push(clock.now());
    if (fired.length < 5) clock.setTimer(clock.now() + 7, tick);
  };
  clock.setTimer(0, tick);
  await clock.advance(100);
  assert.deepEqual(fired, [0, 7, 14, 21, 28]);
  assert.equal(clock.now(), 100);
});

Deno.test("runUntil stops when the condition holds or at the limit", async () => {
  const clock = new VirtualScheduler();
  let count = 0;
  const tick = () => {
    count++;
    clock.setTimer(clock.now() + 10, tick);
  };
  clock.setTimer(10, tick);
  assert.equal(await clock.runUntil(() => count === 3), true);
  assert.equal(clock.now(), 30);
  assert.equal(await clock.runUntil(() => count === 100, { maxMs: 55 }), false);
  assert.equal(clock.now(), 85);
  assert.equal(count, 8);
});

Deno.test("runAll refuses to chase a timer that sets itself forever", async () => {
  const clock = new VirtualScheduler();
  const tick = () => clock.setTimer(clock.now() + 1, tick);
  clock.setTimer(0, tick);
  await assert.rejects(() => clock.runAll({ maxTimers: 100 }), RangeError);
});

Deno.test("an error thrown by a timer comes out of advance", async () => {
  const clock = new VirtualScheduler();
  clock.setTimer(5, () => {
    throw new Error("boom");
  });
  await assert.rejects(() => clock.advance(10), /boom/);
  // The scheduler is still usable afterwards.
  let fired = false;
  clock.setTimer(clock.now() + 1, () => fired = true);
  await clock.advance(1);
  assert.ok(fired);
});

Deno.test("moving virtual time from inside a timer is refused", async () => {
  const clock = new VirtualScheduler();
  let inner: Promise<unknown> | undefined;
  clock.setTimer(1, () => inner = clock.advance(1).catch((error) => error));
  await clock.advance(1);
  assert.match(String(await inner), /already being moved/);
});

Deno.test("an async driver with deep await chains progresses between timers", async () => {
  const clock = new VirtualScheduler();
  const trace: string[] = [];
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => clock.setTimer(clock.now() + ms, resolve));
  // Nested async calls, each adding microtask hops before the next timer
  // is set: the scheduler must let all of them run before moving time.
  async function deep(depth: number): Promise<number> {
    if (depth === 0) return 0;
    await Promise.resolve();
    return 1 + await deep(depth - 1);
  }
  async function driver(name: string, period: number) {
    for (let i = 0; i < 3; i++) {
      const hops = await deep(50);
      trace.push(`${name}${i}@${clock.now()}/${hops}`);
      await sleep(period);
    }
  }
  const done = Promise.all([driver("a", 10), driver("b", 15)]);
  await clock.runAll();
  await done;
  assert.deepEqual(trace, [
    "a0@0/50",
    "b0@0/50",
    "a1@10/50",
    "b1@15/50",
    "a2@20/50",
    "b2@30/50",
  ]);
});

Deno.test("the real scheduler fires a timer at its deadline", async () => {
  const start = realScheduler.now();
  const firedAt = await new Promise<number>((resolve) =>
    realScheduler.setTimer(start + 5, () => resolve(realScheduler.now()))
  );
  assert.ok(firedAt >= start + 4, `${firedAt - start}`);
  let fired = false;
  const handle = realScheduler.setTimer(
    realScheduler.now(),
    () => fired = true,
  );
  realScheduler.clearTimer(handle);
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(fired, false);
});
