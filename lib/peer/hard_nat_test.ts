// Hard NATs on the in-memory network, in virtual time: birthday probing
// between a symmetric NAT and a cone, and low-TTL opening probes between
// two plain Linux MASQUERADE routers (the conntrack quirk).
import assert from "node:assert/strict";
import { DH_25519 } from "../crypto/noise/mod.ts";
import { DEFAULT_LIMITS, RelayCore, runRelay } from "../relay/mod.ts";
import {
  createMemoryNetwork,
  type DatagramSocket,
  type MemoryHost,
  NAT_PRESETS,
  type NatBehaviourOptions,
} from "../udp/mod.ts";
import { NatMapping } from "../wire/mod.ts";
import { StreamSet } from "./stream_set.ts";
import { PeerNode, type PeerNodeEvent } from "./peer_node.ts";

/** A plain Linux MASQUERADE router: per-flow, port-preserving, the quirk. */
const BARE_LINUX: NatBehaviourOptions = {
  mapping: "address-and-port-dependent",
  filtering: "address-and-port-dependent",
  portAllocation: "preserve",
  linuxConntrackQuirk: true,
};

interface WorldOptions {
  seed: number;
  nats: [NatBehaviourOptions, NatBehaviourOptions];
  /** One-way delay of each peer's access link, ms. */
  delays?: [number, number];
  /** Hide the sockets' TTL control (the behaviour before opening probes). */
  noTtl?: boolean;
}

/** A socket that says it cannot set a TTL, whatever it wraps. */
function withoutTtl(socket: DatagramSocket): DatagramSocket {
  return {
    local: socket.local,
    supportsTtl: false,
    send: (data, to) => socket.send(data, to),
    receive: () => socket.receive(),
    close: () => socket.close(),
  };
}

async function world(options: WorldOptions) {
  const network = createMemoryNetwork({ seed: options.seed });
  network.setLink({ delayMs: 5 });
  const clock = network.scheduler;
  const relayHost = network.addHost("203.0.113.1");
  const relaySocket = await relayHost.openSocket(8000);
  const alternate = await relayHost.openSocket(8001);
  const core = new RelayCore({
    staticKeyPair: DH_25519.generateKeyPair(),
    limits: DEFAULT_LIMITS,
    now: () => clock.now(),
    stunAddresses: { main: relaySocket.local, alternate: alternate.local },
    hasAlternatePort: true,
  });
  const controller = new AbortController();
  const relayDone = runRelay(relaySocket, core, {
    scheduler: clock,
    signal: controller.signal,
    alternate,
  });
  const peers: { node: PeerNode; events: PeerNodeEvent[]; host: MemoryHost }[] =
    [];
  for (const [i, name] of ["alice", "bob"].entries()) {
    const host = network.addHost(`10.${i}.0.2`, {
      behind: network.addNat({
        publicAddress: `198.51.100.${i + 1}`,
        ...options.nats[i],
      }),
    });
    host.setLink({ delayMs: options.delays?.[i] ?? 5 });
    const open = async (port?: number) => {
      const socket = await host.openSocket(port);
      return options.noTtl ? withoutTtl(socket) : socket;
    };
    const socket = await open(9001 + i);
    const events: PeerNodeEvent[] = [];
    const node = new PeerNode({
      socket,
      scheduler: clock,
      staticKeyPair: DH_25519.generateKeyPair(),
      name,
      relay: relaySocket.local,
      candidates: [socket.local],
      createStreams: () => new StreamSet(),
      onEvent: (e) => events.push(e),
      natDiscovery: { stunServers: [] },
      openSocket: () => open(),
    });
    node.start();
    peers.push({ node, events, host });
  }
  const stop = async () => {
    for (const p of peers) await p.node.stop();
    controller.abort();
    await clock.advance(100);
    await relayDone;
  };
  return { clock, peers, stop };
}

/** Connects alice to bob and lets traversal run for `ms` of virtual time. */
async function traverse(w: Awaited<ReturnType<typeof world>>, ms: number) {
  const [alice, bob] = w.peers;
  const nat = (p: typeof alice) => p.events.some((e) => e.type === "nat");
  assert.ok(
    await w.clock.runUntil(() => nat(alice) && nat(bob), { maxMs: 10_000 }),
    "STUN discovery finished on both sides",
  );
  alice.node.connect("bob");
  assert.ok(
    await w.clock.runUntil(
      () =>
        alice.events.some((e) => e.type === "established") &&
        bob.events.some((e) => e.type === "established"),
      { maxMs: 5_000 },
    ),
  );
  const start = w.clock.now();
  let directAt: number | undefined;
  await w.clock.runUntil(() => {
    const a = alice.node.connection("bob")?.paths.path.via;
    const b = bob.node.connection("alice")?.paths.path.via;
    if (a === "direct" && b === "direct") directAt ??= w.clock.now();
    return directAt !== undefined;
  }, { maxMs: ms });
  return {
    alice,
    bob,
    directMs: directAt === undefined ? undefined : directAt - start,
  };
}

Deno.test("STUN on the relay's two ports tells cone from symmetric", async () => {
  const w = await world({
    seed: 1,
    nats: [NAT_PRESETS.portRestrictedCone, NAT_PRESETS.symmetric],
  });
  const [alice, bob] = w.peers;
  await w.clock.runUntil(
    () =>
      alice.events.some((e) => e.type === "nat") &&
      bob.events.some((e) => e.type === "nat"),
    { maxMs: 10_000 },
  );
  assert.equal(alice.node.natMapping, NatMapping.ENDPOINT_INDEPENDENT);
  assert.equal(bob.node.natMapping, NatMapping.ENDPOINT_DEPENDENT);
  await w.stop();
});

Deno.test("cone ↔ symmetric goes direct by birthday probing in at least 9 of 10 runs", async () => {
  let direct = 0;
  const times: number[] = [];
  for (let seed = 1; seed <= 10; seed++) {
    const w = await world({
      seed,
      nats: [NAT_PRESETS.portRestrictedCone, NAT_PRESETS.symmetric],
    });
    const { alice, bob, directMs } = await traverse(w, 50_000);
    if (directMs !== undefined) {
      direct++;
      times.push(directMs);
      const path = bob.node.connection("alice")!.paths.path;
      assert.ok(path.via === "direct" && path.socket !== undefined);
      const hard = bob.node.connection("alice")!.paths.birthdayReport();
      const easy = alice.node.connection("bob")!.paths.birthdayReport();
      assert.equal(hard.role, "hard");
      assert.equal(easy.role, "easy");
      assert.ok(hard.succeeded || easy.succeeded);
      assert.ok(easy.probesSent <= 1024 * hard.rounds);
    }
    await w.stop();
  }
  assert.ok(direct >= 9, `direct in ${direct}/10 runs`);
  times.sort((a, b) => a - b);
  assert.ok(times[Math.floor(times.length / 2)] < 5_000, `times ${times}`);
});

Deno.test("symmetric ↔ symmetric stays relayed and opens no birthday sockets", async () => {
  const w = await world({
    seed: 3,
    nats: [NAT_PRESETS.symmetric, NAT_PRESETS.symmetric],
  });
  const { alice, bob, directMs } = await traverse(w, 15_000);
  assert.equal(directMs, undefined);
  for (const [p, peer] of [[alice, "bob"], [bob, "alice"]] as const) {
    const report = p.node.connection(peer)!.paths.birthdayReport();
    assert.equal(report.socketsOpened, 0);
    assert.equal(report.probesSent, 0);
  }
  await w.stop();
});

Deno.test("bare Linux routers go direct thanks to low-TTL opening probes", async () => {
  // Alice hears of the rendezvous about 60 ms before bob, so her full probes
  // reach bob's router before bob has sent anything: the case that
  // leaves a half-open conntrack entry there.
  for (const noTtl of [false, true]) {
    const w = await world({
      seed: 5,
      nats: [BARE_LINUX, BARE_LINUX],
      delays: [2, 60],
      noTtl,
    });
    const { directMs } = await traverse(w, 8_000);
    if (noTtl) {
      assert.equal(directMs, undefined, "full-TTL punching spoils the mapping");
    } else {
      assert.ok(directMs !== undefined && directMs < 2_000, `${directMs}`);
    }
    await w.stop();
  }
});
