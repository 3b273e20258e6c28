import assert from "node:assert/strict";
import { type OfferToDecide, Reason } from "../transfer/mod.ts";
import { OfferQueue } from "./offer_queue.ts";

function offer(id: number, signal = new AbortController().signal) {
  return {
    id,
    from: "alice",
    fingerprint: "F",
    offer: {
      name: `f${id}`,
      size: 1,
      chunkSize: 16384,
      sha256: new Uint8Array(32),
      chunkHashes: new Uint8Array(32),
    },
    held: 0,
    signal,
  } satisfies OfferToDecide;
}

Deno.test("offers are answered oldest first, or by number", async () => {
  const queue = new OfferQueue("bob declined the file");
  const one = queue.ask(offer(1));
  const two = queue.ask(offer(2));
  const three = queue.ask(offer(3));
  assert.deepEqual(queue.waiting.map((o) => o.id), [1, 2, 3]);
  assert.equal(queue.answer(false, 2).id, 2);
  assert.equal(queue.answer(true).id, 1);
  assert.deepEqual(await one, { accept: true });
  assert.deepEqual(await two, {
    accept: false,
    reason: Reason.DECLINED,
    text: "bob declined the file",
  });
  assert.throws(() => queue.answer(true, 2), /under this number: 2/);
  queue.answer(true);
  assert.deepEqual(await three, { accept: true });
  assert.throws(() => queue.answer(true), /No file offer waits/);
});

Deno.test("an offer the sender withdrew leaves the queue", async () => {
  const queue = new OfferQueue("no");
  const controller = new AbortController();
  const answer = queue.ask(offer(1, controller.signal));
  controller.abort();
  assert.equal((await answer).accept, false);
  assert.deepEqual(queue.waiting, []);
});
