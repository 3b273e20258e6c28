import assert from "node:assert/strict";
import { generateIdentity } from "../identity/mod.ts";
import {
  deregister,
  DirectoryError,
  fetchDirectoryInfo,
  fetchRelayList,
  heartbeat,
  registerRelay,
  type RegistrationEvent,
  RelayRegistration,
} from "./directory_client.ts";
import {
  createTestDirectory,
  testLoad,
} from "./directory_harness_for_testing.ts";

const URL = "http://directory.test";
const announcement = {
  name: "client-relay",
  addresses: [{ host: "203.0.113.7", port: 8000 }],
  capabilities: ["relay" as const, "onion" as const],
  contact: "ops@example.org",
};

Deno.test("a relay registers, heartbeats and deregisters through the client", async () => {
  const dir = createTestDirectory();
  const relay = generateIdentity();
  const options = { fetch: dir.fetch, now: () => dir.clock.now };
  try {
    const info = await fetchDirectoryInfo(URL, {
      ...options,
      directoryKey: dir.identity.signingPublicKey,
    });
    assert.deepEqual(info.signingKey, dir.identity.signingPublicKey);
    const result = await registerRelay(URL, relay, {
      ...options,
      announcement,
      load: testLoad(),
    });
    assert.equal(result.status, "registered");
    assert.equal(result.heartbeatIntervalMs, 30_000);
    await heartbeat(URL, relay, {
      ...options,
      load: testLoad(9),
      directory: info,
    });
    const list = await fetchRelayList(URL, {
      ...options,
      pinnedKey: dir.identity.signingPublicKey,
    });
    assert.equal(list.relays.length, 1);
    assert.deepEqual(list.relays[0].descriptor.capabilities, [
      "relay",
      "onion",
    ]);
    await deregister(URL, relay, { ...options, directory: info });
    assert.equal((await fetchRelayList(URL, options)).relays.length, 0);
  } finally {
    dir.close();
  }
});

Deno.test("client errors name the problem in one sentence", async () => {
  const dir = createTestDirectory();
  const options = { fetch: dir.fetch, now: () => dir.clock.now };
  try {
    const wrongKey = await fetchRelayList(URL, {
      ...options,
      pinnedKey: generateIdentity().signingPublicKey,
    }).catch((e) => e);
    assert.ok(wrongKey instanceof DirectoryError);
    assert.equal(wrongKey.problem, "wrong-key");

    const stale = await fetchRelayList(URL, {
      fetch: dir.fetch,
      now: () => dir.clock.now + 700_000,
    }).catch((e) => e);
    assert.equal(stale.problem, "stale");
    assert.match(stale.message, /^The relay list is stale: it expired at /);

    const refused = await registerRelay(URL, generateIdentity(), {
      ...options,
      announcement: { ...announcement, name: "x" },
      load: testLoad(),
      now: () => dir.clock.now - 3_600_000,
    }).catch((e) => e);
    assert.ok(refused instanceof DirectoryError);
    assert.equal(refused.status, 400);
    assert.match(
      refused.message,
      /refused the registration: The descriptor's timestamp is 3600 s behind/,
    );

    const notListed = await heartbeat(URL, generateIdentity(), {
      ...options,
      load: testLoad(),
      directory: dir.info,
    }).catch((e) => e);
    assert.equal(notListed.status, 404);

    const html = await fetchRelayList(URL, {
      fetch: () => Promise.resolve(new Response("<html>hello</html>")),
    }).catch((e) => e);
    assert.equal(html.problem, "bad-response");
    assert.match(html.message, /did not answer with JSON/);

    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const down = await fetchRelayList(`http://127.0.0.1:${port}`).catch((e) =>
      e
    );
    assert.equal(down.problem, "unreachable");
    assert.equal(
      down.message,
      `Cannot reach the directory at http://127.0.0.1:${port}: Connection refused`,
    );
  } finally {
    dir.close();
  }
});

Deno.test("a registration loop heartbeats, registers again once forgotten, and deregisters on stop", async () => {
  const dir = createTestDirectory();
  const events: RegistrationEvent["type"][] = [];
  const waitFor = async (predicate: () => boolean) => {
    for (let i = 0; i < 200 && !predicate(); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(predicate(), events.join(","));
  };
  const registration = new RelayRegistration(URL, generateIdentity(), {
    fetch: dir.fetch,
    now: () => dir.clock.now,
    announcement,
    load: () => testLoad(),
    intervalMs: 20,
    onEvent: (e) => events.push(e.type),
  });
  try {
    registration.start();
    await waitFor(() => events.filter((e) => e === "heartbeat").length >= 2);
    assert.equal(events[0], "registered");
    // The directory forgets the relay (its TTL passed while it was away).
    dir.clock.now += 91_000;
    dir.directory.tick();
    assert.equal(dir.directory.registry.size, 0);
    await waitFor(() => events.filter((e) => e === "registered").length >= 2);
    assert.ok(events.includes("error"));
    assert.equal(dir.directory.registry.size, 1);
    await registration.stop();
    assert.equal(events.at(-1), "deregistered");
    assert.equal(dir.directory.registry.size, 0);
  } finally {
    await registration.stop();
    dir.close();
  }
});
