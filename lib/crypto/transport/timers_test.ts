import assert from "node:assert/strict";
import {
  KEEPALIVE_TIMEOUT_MS,
  REJECT_AFTER_MESSAGES,
  REJECT_AFTER_TIME_MS,
  REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME_MS,
  REKEY_TIMEOUT_MS,
} from "./constants.ts";
import {
  isPastRejectAfterMessages,
  isPastRejectAfterTime,
  REKEY_ON_RECEIVE_AFTER_TIME_MS,
  rekeyDueAfterReceiving,
  rekeyDueAfterSending,
} from "./timers.ts";

Deno.test("timer constants are WireGuard's", () => {
  assert.equal(REKEY_AFTER_MESSAGES, 1152921504606846976n); // 2^60
  assert.equal(REJECT_AFTER_MESSAGES, 18446744073709543423n); // 2^64 − 2^13 − 1
  assert.equal(REKEY_AFTER_TIME_MS, 120_000);
  assert.equal(REJECT_AFTER_TIME_MS, 180_000);
  assert.equal(REKEY_TIMEOUT_MS, 5_000);
  assert.equal(KEEPALIVE_TIMEOUT_MS, 10_000);
  assert.equal(REKEY_ON_RECEIVE_AFTER_TIME_MS, 165_000);
});

Deno.test("reject-after time starts at exactly 180 s", () => {
  assert.equal(isPastRejectAfterTime(500, 500 + 179_999.999), false);
  assert.equal(isPastRejectAfterTime(500, 500 + 180_000), true);
});

Deno.test("reject-after messages starts at exactly 2^64 − 2^13 − 1 sent", () => {
  assert.equal(isPastRejectAfterMessages(REJECT_AFTER_MESSAGES - 1n), false);
  assert.equal(isPastRejectAfterMessages(REJECT_AFTER_MESSAGES), true);
});

Deno.test("rekey after sending: initiator on age or count, responder on count only", () => {
  const young = { createdAt: 0, sent: 0n };
  assert.equal(
    rekeyDueAfterSending({ ...young, isInitiator: true }, 119_999.999),
    false,
  );
  assert.equal(
    rekeyDueAfterSending({ ...young, isInitiator: true }, 120_000),
    true,
  );
  assert.equal(
    rekeyDueAfterSending({ ...young, isInitiator: false }, 179_999),
    false,
  );
  for (const isInitiator of [true, false]) {
    const busy = { isInitiator, createdAt: 0 };
    assert.equal(
      rekeyDueAfterSending({ ...busy, sent: REKEY_AFTER_MESSAGES - 1n }, 0),
      false,
    );
    assert.equal(
      rekeyDueAfterSending({ ...busy, sent: REKEY_AFTER_MESSAGES }, 0),
      true,
    );
  }
});

Deno.test("rekey after receiving: initiator only, from 165 s", () => {
  assert.equal(
    rekeyDueAfterReceiving({ isInitiator: true, createdAt: 0 }, 164_999),
    false,
  );
  assert.equal(
    rekeyDueAfterReceiving({ isInitiator: true, createdAt: 0 }, 165_000),
    true,
  );
  assert.equal(
    rekeyDueAfterReceiving({ isInitiator: false, createdAt: 0 }, 179_999),
    false,
  );
});
