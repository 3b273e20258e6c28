// Two chats through a relay on the in-memory network, in virtual time.
import assert from "node:assert/strict";
import { join } from "node:path";
import { DH_25519, type KeyPair } from "../crypto/noise/mod.ts";
import { TrustStore } from "../identity/mod.ts";
import {
  DEFAULT_LIMITS,
  RelayCore,
  type RelayLimits,
  runRelay,
} from "../relay/mod.ts";
import { createMemoryNetwork, NAT_PRESETS } from "../udp/mod.ts";
import { ChatApp, type ChatEvent } from "./chat_app.ts";

async function setup(
  options: {
    natB?: boolean;
    seed?: number;
    loss?: number;
    /** Both sides behind symmetric NATs: the chat stays on the relay. */
    relayOnly?: boolean;
    limits?: Partial<RelayLimits>;
  } = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "altnet-chat-" });
  const network = createMemoryNetwork({ seed: options.seed ?? 3 });
  network.setLink({ delayMs: 15, loss: options.loss ?? 0 });
  const clock = network.scheduler;
  const relaySocket = await network.addHost("203.0.113.1").openSocket(8000);
  const core = new RelayCore({
    staticKeyPair: DH_25519.generateKeyPair(),
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    now: () => clock.now(),
  });
  const controller = new AbortController();
  const relayDone = runRelay(relaySocket, core, {
    scheduler: clock,
    signal: controller.signal,
  });
  const natA = network.addNat({
    publicAddress: "198.51.100.1",
    ...(options.relayOnly
      ? NAT_PRESETS.symmetric
      : NAT_PRESETS.portRestrictedCone),
  });
  const natB = network.addNat({
    publicAddress: "198.51.100.2",
    ...(options.relayOnly
      ? NAT_PRESETS.symmetric
      : NAT_PRESETS.portRestrictedCone),
  });
  const hosts = {
    alice: network.addHost("10.0.0.2", { behind: natA }),
    bob: network.addHost("10.1.0.2", { behind: natB }),
  };
  const make = async (
    name: "alice" | "bob",
    peer: string,
    keys: KeyPair,
    extra: { acceptNewKey?: boolean; port?: number } = {},
  ) => {
    const { port, ...more } = extra;
    const socket = await hosts[name].openSocket(
      port ?? (name === "alice" ? 9001 : 9002),
    );
    const events: ChatEvent[] = [];
    const app = new ChatApp({
      socket,
      scheduler: clock,
      staticKeyPair: keys,
      name,
      relay: relaySocket.local,
      knownPeers: await TrustStore.open(join(dir, name, "known_peers")),
      knownRelays: await TrustStore.open(join(dir, name, "known_relays")),
      relayLabel: "relay:8000",
      peer,
      candidates: [socket.local],
      onEvent: (e) => events.push(e),
      ...more,
    });
    app.start();
    return { app, events };
  };
  const stop = async (...apps: ChatApp[]) => {
    for (const app of apps) await app.stop();
    controller.abort();
    await clock.advance(100);
    await relayDone;
    await Deno.remove(dir, { recursive: true });
  };
  return { clock, core, make, stop };
}

Deno.test("two chats exchange messages with receipts and go direct", async () => {
  const t = await setup();
  const aliceKeys = DH_25519.generateKeyPair();
  const bobKeys = DH_25519.generateKeyPair();
  const alice = await t.make("alice", "bob", aliceKeys);
  // Bob starts 3 s later: alice waits for him.
  await t.clock.advance(3_000);
  assert.ok(alice.events.some((e) => e.event === "waiting"));
  const bob = await t.make("bob", "alice", bobKeys);
  const sent = alice.app.send("hello bob");
  assert.ok(
    await t.clock.runUntil(
      () => bob.events.some((e) => e.event === "message"),
      { maxMs: 10_000 },
    ),
  );
  assert.deepEqual(bob.events.find((e) => e.event === "message"), {
    event: "message",
    from: "alice",
    text: "hello bob",
  });
  assert.ok(
    await t.clock.runUntil(
      () => alice.events.some((e) => e.event === "delivered"),
      { maxMs: 5_000 },
    ),
  );
  assert.deepEqual(alice.events.find((e) => e.event === "delivered"), {
    event: "delivered",
    id: sent,
  });
  const peer = alice.events.find((e) => e.event === "peer");
  assert.ok(peer && peer.event === "peer" && peer.trust === "new");
  await t.clock.advance(6_000);
  assert.equal(alice.app.path.via, "direct");
  assert.ok(alice.events.some((e) => e.event === "path" && e.via === "direct"));
  // Many messages, both ways, in order, once each.
  const many = Array.from({ length: 50 }, (_, i) => `message ${i}`);
  for (const text of many) bob.app.send(text);
  await t.clock.runUntil(() => bob.app.pending === 0, { maxMs: 10_000 });
  const got = alice.events.filter((e) => e.event === "message").map((e) =>
    e.event === "message" ? e.text : ""
  );
  assert.deepEqual(got, many);
  await t.stop(alice.app, bob.app);
});

Deno.test("a peer whose key changed is refused unless the new key is accepted", async () => {
  const t = await setup();
  const aliceKeys = DH_25519.generateKeyPair();
  const alice = await t.make("alice", "bob", aliceKeys);
  const bob = await t.make("bob", "alice", DH_25519.generateKeyPair());
  assert.ok(
    await t.clock.runUntil(() => alice.app.connected, { maxMs: 10_000 }),
  );
  await alice.app.stop();
  await bob.app.stop();

  // Bob comes back with another key: alice (same known_peers) refuses.
  const alice2 = await t.make("alice", "bob", aliceKeys);
  const bob2 = await t.make("bob", "alice", DH_25519.generateKeyPair());
  assert.ok(
    await t.clock.runUntil(() => alice2.app.fatal !== undefined, {
      maxMs: 10_000,
    }),
  );
  const fatal = alice2.app.fatal!;
  assert.ok(
    fatal.event === "fatal" && /key of bob changed/.test(fatal.message),
  );
  assert.ok(
    fatal.event === "fatal" && /--accept-new-key/.test(fatal.hint ?? ""),
  );
  assert.equal(alice2.events.some((e) => e.event === "message"), false);
  await alice2.app.stop();
  await bob2.app.stop();

  // With --accept-new-key the new key is pinned and the chat works.
  const bobKeys3 = DH_25519.generateKeyPair();
  const alice3 = await t.make("alice", "bob", aliceKeys, {
    acceptNewKey: true,
  });
  const bob3 = await t.make("bob", "alice", bobKeys3);
  assert.ok(
    await t.clock.runUntil(() => alice3.app.connected, { maxMs: 10_000 }),
  );
  const peer = alice3.events.find((e) => e.event === "peer");
  assert.ok(peer && peer.event === "peer" && peer.trust === "accepted-new-key");
  await t.stop(alice3.app, bob3.app);
});

Deno.test("at 5 % loss every message arrives once, in order, and the path goes direct", async () => {
  let direct = 0;
  const runs = 10;
  for (let seed = 1; seed <= runs; seed++) {
    const t = await setup({ seed, loss: 0.05 });
    const alice = await t.make("alice", "bob", DH_25519.generateKeyPair());
    const bob = await t.make("bob", "alice", DH_25519.generateKeyPair());
    const lines = Array.from({ length: 30 }, (_, i) => `m${i}`);
    for (const line of lines) alice.app.send(line);
    const got = () =>
      bob.events.filter((e) => e.event === "message").map((e) =>
        e.event === "message" ? e.text : ""
      );
    const done = await t.clock.runUntil(
      () => got().length >= lines.length && alice.app.pending === 0,
      { maxMs: 60_000 },
    );
    assert.ok(
      done,
      `seed ${seed}: ${got().length} of ${lines.length} delivered; events ${
        JSON.stringify(alice.events)
      }`,
    );
    assert.deepEqual(got(), lines, `seed ${seed}`);
    await t.clock.runUntil(() => alice.app.path.via === "direct", {
      maxMs: 15_000,
    });
    if (alice.app.path.via === "direct") direct++;
    await t.stop(alice.app, bob.app);
  }
  assert.ok(direct >= 9, `direct in ${direct} of ${runs} runs`);
});

function texts(events: ChatEvent[]): string[] {
  return events.flatMap((e) => e.event === "message" ? [e.text] : []);
}

Deno.test("after the peer restarts every message arrives once, in order, at the new peer", async () => {
  for (const relayOnly of [false, true]) {
    const t = await setup({ relayOnly });
    const aliceKeys = DH_25519.generateKeyPair();
    const bobKeys = DH_25519.generateKeyPair();
    const alice = await t.make("alice", "bob", aliceKeys);
    const bob = await t.make("bob", "alice", bobKeys);
    const before = Array.from({ length: 5 }, (_, i) => `before ${i}`);
    for (const text of before) alice.app.send(text);
    assert.ok(
      await t.clock.runUntil(() => alice.app.pending === 0, {
        maxMs: 10_000,
      }),
    );
    await t.clock.advance(6_000);
    assert.deepEqual(texts(bob.events), before);
    bob.app.send("from the old bob");
    assert.ok(
      await t.clock.runUntil(() => bob.app.pending === 0, { maxMs: 10_000 }),
    );
    await bob.app.stop();

    // Alice keeps writing while bob is away, and after he is back.
    const away = Array.from({ length: 5 }, (_, i) => `away ${i}`);
    for (const text of away) {
      alice.app.send(text);
      await t.clock.advance(500);
    }
    const bob2 = await t.make("bob", "alice", bobKeys, { port: 9003 });
    const back = Array.from({ length: 5 }, (_, i) => `back ${i}`);
    for (const text of back) {
      alice.app.send(text);
      await t.clock.advance(200);
    }
    assert.ok(
      await t.clock.runUntil(
        () => alice.app.pending === 0 && texts(bob2.events).length >= 10,
        { maxMs: 30_000 },
      ),
      `relayOnly ${relayOnly}: ${alice.app.pending} pending, bob2 got ${
        JSON.stringify(texts(bob2.events))
      }`,
    );
    // Acknowledged messages are never sent again: the new bob sees exactly
    // what alice wrote after the old one left.
    assert.deepEqual(texts(bob2.events), [...away, ...back]);
    const delivered = alice.events.flatMap((e) =>
      e.event === "delivered" ? [e.id] : []
    );
    assert.deepEqual(delivered, Array.from({ length: 15 }, (_, i) => i + 1));
    // Both ways on the new connection; alice saw the old bob's line once.
    bob2.app.send("from the new bob");
    assert.ok(
      await t.clock.runUntil(() => texts(alice.events).length === 2, {
        maxMs: 10_000,
      }),
    );
    await t.clock.advance(2_000);
    assert.deepEqual(texts(alice.events), [
      "from the old bob",
      "from the new bob",
    ]);
    assert.equal(alice.app.fatal, undefined);
    await t.stop(alice.app, bob2.app);
  }
});

Deno.test("when the relay closes the circuit the chat asks for a new one and carries on", async () => {
  const t = await setup({
    relayOnly: true,
    limits: { maxCircuitDurationMs: 20_000 },
  });
  const alice = await t.make("alice", "bob", DH_25519.generateKeyPair());
  const bob = await t.make("bob", "alice", DH_25519.generateKeyPair());
  assert.ok(
    await t.clock.runUntil(() => alice.app.connected && bob.app.connected, {
      maxMs: 10_000,
    }),
  );
  // A message every 700 ms for 50 s: the relay closes the circuit twice.
  const lines = Array.from({ length: 70 }, (_, i) => `line ${i}`);
  for (const line of lines) {
    alice.app.send(line);
    await t.clock.advance(700);
  }
  assert.ok(
    await t.clock.runUntil(
      () => alice.app.pending === 0 && texts(bob.events).length >= 70,
      { maxMs: 20_000 },
    ),
    `${alice.app.pending} pending, bob got ${texts(bob.events).length}`,
  );
  assert.ok(
    t.core.counters.circuitsClosed >= 2,
    `${t.core.counters.circuitsClosed} circuits closed`,
  );
  assert.equal(alice.app.path.via, "relay");
  assert.deepEqual(texts(bob.events), lines);
  assert.equal(alice.app.fatal, undefined);
  assert.equal(bob.app.fatal, undefined);
  bob.app.send("still here");
  assert.ok(
    await t.clock.runUntil(() => texts(alice.events).length === 1, {
      maxMs: 10_000,
    }),
  );
  await t.stop(alice.app, bob.app);
});
