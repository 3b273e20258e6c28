// `altnet relay --directory URL`: a real relay lists itself in a real
// directory, heartbeats, and leaves the list on a clean stop.
import assert from "node:assert/strict";
import { fingerprint } from "../../lib/identity/mod.ts";
import {
  altnet,
  jsonLines,
  startDirectory,
  startRelay,
} from "./processes_for_testing.ts";

Deno.test("a relay registers itself, shows in altnet list, and deregisters on SIGTERM", async () => {
  const root = await Deno.makeTempDir({ prefix: "altnet-relay-dir-" });
  const directory = await startDirectory(`${root}/directory`);
  try {
    const relay = await startRelay(`${root}/relay`, [
      "--directory",
      directory.url,
      "--name",
      "test-relay",
      "--contact",
      "ops@example.org",
    ]);
    try {
      const registered = await relay.lines.waitFor((e) =>
        e.event === "directory" && e.status === "registered"
      );
      assert.equal(registered.name, "test-relay");
      const listed = await altnet(
        ["list", "--directory", directory.url, "--json"],
        { XDG_CONFIG_HOME: `${root}/client` },
      );
      assert.equal(listed.code, 0, listed.stderr);
      const relays = jsonLines(listed.stdout).filter((e) =>
        e.event === "relay"
      );
      assert.equal(relays.length, 1, listed.stdout);
      const entry = relays[0];
      assert.equal(entry.name, "test-relay");
      assert.equal(
        entry.fingerprint,
        fingerprint(relay.identity.noisePublicKey),
      );
      assert.match(
        JSON.stringify(entry),
        new RegExp(`127\\.0\\.0\\.1.*${relay.port}`),
      );
    } finally {
      const status = await relay.stop("SIGTERM");
      assert.equal(status.code, 0);
    }
    assert.ok(
      relay.lines.events.some((e) =>
        e.event === "directory" && e.status === "deregistered"
      ),
      JSON.stringify(relay.lines.events),
    );
    // The signed list is rebuilt at most once a second.
    let remaining = -1;
    for (let i = 0; i < 10 && remaining !== 0; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const after = await altnet(
        ["list", "--directory", directory.url, "--json"],
        { XDG_CONFIG_HOME: `${root}/client` },
      );
      remaining = jsonLines(after.stdout).filter((e) =>
        e.event === "relay"
      ).length;
    }
    assert.equal(remaining, 0, "the relay left the list");
  } finally {
    await directory.stop();
    await Deno.remove(root, { recursive: true });
  }
});
