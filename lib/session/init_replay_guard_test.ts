import assert from "node:assert/strict";
import { InitReplayGuard } from "./init_replay_guard.ts";

const key = (n: number) => new Uint8Array(32).fill(n);

Deno.test("a replayed or older IK timestamp is refused per key", () => {
  const guard = new InitReplayGuard();
  assert.equal(guard.accept(key(1), 100), true);
  assert.equal(guard.accept(key(1), 100), false);
  assert.equal(guard.accept(key(1), 99), false);
  assert.equal(guard.accept(key(1), 101), true);
  assert.equal(guard.accept(key(2), 50), true, "keys are independent");
});

Deno.test("the guard forgets the least recently accepted key at capacity", () => {
  const guard = new InitReplayGuard({ capacity: 2 });
  guard.accept(key(1), 10);
  guard.accept(key(2), 10);
  guard.accept(key(1), 11); // key 1 is now the most recent
  guard.accept(key(3), 10); // evicts key 2
  assert.equal(guard.size, 2);
  assert.equal(guard.accept(key(1), 11), false, "key 1 still remembered");
  assert.equal(guard.accept(key(2), 10), true, "key 2 was forgotten");
});
