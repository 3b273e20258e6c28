// A real directory process is killed with SIGKILL and started again on the
// same SQLite file: nothing registered is lost.
import assert from "node:assert/strict";
import { join } from "node:path";
import { generateIdentity } from "../../lib/identity/mod.ts";
import {
  fetchRelayList,
  heartbeat,
  registerRelay,
} from "../../lib/directory/mod.ts";
import { startDirectory } from "./processes_for_testing.ts";

const load = { peers: 2, circuits: 1, bytesRelayed: 1000, uptimeSeconds: 30 };

Deno.test("relays and counters survive a SIGKILL of the directory", async () => {
  const home = await Deno.makeTempDir({ prefix: "altnet-restart-" });
  const db = join(home, "state", "directory.db");
  await Deno.mkdir(join(home, "state"));
  let directory = await startDirectory(home, ["--db", db]);
  try {
    const key = Uint8Array.fromBase64(directory.key);
    const relays = ["north", "south", "west"].map((name, i) => ({
      name,
      identity: generateIdentity(),
      port: 9000 + i,
    }));
    for (const relay of relays) {
      const result = await registerRelay(directory.url, relay.identity, {
        announcement: {
          name: relay.name,
          addresses: [{ host: "127.0.0.1", port: relay.port }],
        },
        load,
        directoryKey: key,
      });
      assert.equal(result.status, "registered");
      await heartbeat(directory.url, relay.identity, {
        load,
        directory: result.directory,
      });
    }
    const before = await fetchRelayList(directory.url, { pinnedKey: key });
    assert.equal(before.relays.length, 3);

    const killed = await directory.stop("SIGKILL");
    assert.equal(killed.signal, "SIGKILL");

    directory = await startDirectory(home, ["--db", db]);
    assert.equal(directory.key, before.directory.signing_key, "same identity");
    assert.equal(directory.ready.relays, 3);
    const after = await fetchRelayList(directory.url, { pinnedKey: key });
    assert.deepEqual(
      after.relays.map((r) => r.descriptor.name),
      ["north", "south", "west"],
    );
    assert.deepEqual(
      after.relays.map((r) => r.descriptor.signature),
      before.relays.map((r) => r.descriptor.signature),
    );
    const stats = await (await fetch(`${directory.url}/v1/stats`)).json();
    assert.equal(stats.counters.registrations, 3);
    assert.equal(stats.counters.heartbeats, 3);
    assert.equal(stats.totals.relays, 3);
  } finally {
    await directory.stop();
    await Deno.remove(home, { recursive: true });
  }
});
