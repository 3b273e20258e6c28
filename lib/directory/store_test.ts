import assert from "node:assert/strict";
import { join } from "node:path";
import { generateIdentity } from "../identity/mod.ts";
import {
  createTestDirectory,
  TestRelay,
} from "./directory_harness_for_testing.ts";
import { DirectoryStore } from "./store.ts";

Deno.test("a reopened database lists the same relays with their counters and replay guard", async () => {
  const dir = await Deno.makeTempDir({ prefix: "altnet-store-" });
  const path = join(dir, "directory.db");
  const identity = generateIdentity();
  try {
    const first = createTestDirectory({
      store: DirectoryStore.open(path),
      identity,
    });
    const kept = new TestRelay(first, { name: "kept" });
    const gone = new TestRelay(first, { name: "gone" });
    assert.equal((await kept.register()).status, 201);
    assert.equal((await gone.register("192.0.2.3")).status, 201);
    const oldDescriptor = gone.descriptor();
    await first.post("/v1/relays", oldDescriptor, "192.0.2.3");
    await first.post("/v1/relays/heartbeat", kept.heartbeat(11));
    const { createDeregistration } = await import("./relay_messages.ts");
    await first.post(
      "/v1/relays/deregister",
      createDeregistration(gone.identity, {
        directory: first.info,
        timestamp: gone.nextTimestamp(),
      }),
      "192.0.2.3",
    );
    await first.post("/v1/relays", "{", "192.0.2.3");
    first.directory.tick();
    const clock = first.clock.now;
    first.close();

    assert.equal((await Deno.stat(path)).isFile, true);
    const second = createTestDirectory({
      store: DirectoryStore.open(path),
      identity,
    });
    second.clock.now = clock + 60_000;
    try {
      const registry = second.directory.registry;
      assert.deepEqual(registry.relays().map((r) => r.name), ["kept"]);
      assert.equal(registry.totals().peers, 11);
      const counters = registry.counters();
      assert.equal(counters.get("registrations"), 2);
      assert.equal(counters.get("updates"), 1);
      assert.equal(counters.get("heartbeats"), 1);
      assert.equal(counters.get("deregistrations"), 1);
      assert.equal(counters.get("rejected:not-json"), 1);
      assert.equal(registry.history(10).length, 1);
      // The deregistered relay's old descriptor is still a replay.
      const replay = await second.post(
        "/v1/relays",
        oldDescriptor,
        "192.0.2.3",
      );
      assert.equal(replay.status, 409);
    } finally {
      second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("after a restart every stored relay gets a fresh TTL", async () => {
  const dir = await Deno.makeTempDir({ prefix: "altnet-store-" });
  const path = join(dir, "directory.db");
  const identity = generateIdentity();
  try {
    const first = createTestDirectory({
      store: DirectoryStore.open(path),
      identity,
    });
    await new TestRelay(first, { name: "patient" }).register();
    const clock = first.clock.now;
    first.close();
    // Down for ten minutes: longer than the TTL.
    const second = createTestDirectory({
      store: DirectoryStore.open(path),
      identity,
      now: () => clock + 600_000,
    });
    try {
      second.directory.tick();
      assert.equal(second.directory.registry.size, 1);
    } finally {
      second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the database runs in WAL mode and refuses a newer schema", async () => {
  const dir = await Deno.makeTempDir({ prefix: "altnet-store-" });
  const path = join(dir, "directory.db");
  try {
    DirectoryStore.open(path).close();
    const { DatabaseSync } = await import("node:sqlite");
    const db = new DatabaseSync(path);
    assert.deepEqual(
      { ...db.prepare("PRAGMA journal_mode").get() as object },
      { journal_mode: "wal" },
    );
    db.exec("UPDATE meta SET value = '99' WHERE key = 'schema'");
    db.close();
    assert.throws(() => DirectoryStore.open(path), /newer altnet: schema 99/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
