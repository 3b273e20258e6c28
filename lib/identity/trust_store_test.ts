import assert from "node:assert/strict";
import { join } from "node:path";
import { UserError } from "../user_error.ts";
import { TrustStore } from "./trust_store.ts";

Deno.test("keys are pinned on first use and a changed key is flagged", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "known_peers");
    const store = await TrustStore.open(path);
    const key = new Uint8Array(32).fill(1);
    assert.equal(store.check("bob", key), "new");
    await store.pin("bob", key);
    const reopened = await TrustStore.open(path);
    assert.equal(reopened.check("bob", key), "match");
    assert.equal(reopened.check("bob", new Uint8Array(32).fill(2)), "changed");
    assert.deepEqual(reopened.get("bob"), key);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    await Deno.writeTextFile(path, "{not json");
    await assert.rejects(TrustStore.open(path), UserError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
