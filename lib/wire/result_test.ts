import assert from "node:assert/strict";
import { type DecodeResult, fail, ok } from "./result.ts";

Deno.test("ok and fail build the two halves of DecodeResult", () => {
  const good: DecodeResult<number> = ok(5);
  const bad: DecodeResult<number> = fail("truncated", "empty");
  assert.deepEqual(good, { ok: true, value: 5 });
  assert.deepEqual(bad, {
    ok: false,
    error: { code: "truncated", detail: "empty" },
  });
});
