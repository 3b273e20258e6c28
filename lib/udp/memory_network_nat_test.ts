import assert from "node:assert/strict";
import type { Endpoint } from "../wire/mod.ts";
import type { Datagram, DatagramSocket } from "./datagram_socket.ts";
import { createMemoryNetwork, type MemoryNat } from "./memory_network.ts";
import { NAT_PRESETS, type NatBehaviourOptions } from "./nat_behaviour.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

/** Starts reading `socket` into an array until it closes. */
function inbox(socket: DatagramSocket): Datagram[] {
  const got: Datagram[] = [];
  (async () => {
    for (let d; (d = await socket.receive()) !== undefined;) got.push(d);
  })();
  return got;
}

/**
 * A host at 10.0.0.2:5000 behind a NAT at 203.0.113.1, probed from two
 * servers on the internet: 198.51.100.1 (ports 3478 and 3479) and
 * 198.51.100.2 (port 3478). Every internet hop takes 10 ms.
 */
async function natLab(behaviour: NatBehaviourOptions, seed = 1) {
  const network = createMemoryNetwork({ seed });
  const clock = network.scheduler;
  network.setLink({ delayMs: 10 });
  const nat = network.addNat({ publicAddress: "203.0.113.1", ...behaviour });
  const host = await network.addHost("10.0.0.2", { behind: nat })
    .openSocket(5000);
  const first = network.addHost("198.51.100.1");
  const second = network.addHost("198.51.100.2");
  const probes = {
    one: await first.openSocket(3478),
    oneOtherPort: await first.openSocket(3479),
    two: await second.openSocket(3478),
  };
  const inboxes = new Map<DatagramSocket, Datagram[]>();
  for (const socket of [host, ...Object.values(probes)]) {
    inboxes.set(socket, inbox(socket));
  }
  return {
    network,
    clock,
    nat,
    host,
    probes,
    /** The host sends to `probe`; the source address `probe` sees. */
    async mappedTo(probe: DatagramSocket): Promise<Endpoint | undefined> {
      const got = inboxes.get(probe)!;
      const before = got.length;
      await host.send(bytes(1), probe.local);
      await clock.runAll();
      return got[before]?.from;
    },
    /** `probe` sends to `target`; whether the host receives it. */
    async reaches(probe: DatagramSocket, target: Endpoint): Promise<boolean> {
      const got = inboxes.get(host)!;
      const before = got.length;
      await probe.send(bytes(2), target);
      await clock.runAll();
      return got.length > before;
    },
  };
}

Deno.test("full cone: one public port for all, and anyone may send in", async () => {
  const lab = await natLab(NAT_PRESETS.fullCone);
  const mapped = await lab.mappedTo(lab.probes.one);
  assert.deepEqual(mapped, { address: "203.0.113.1", port: 5000 });
  assert.ok(await lab.reaches(lab.probes.two, mapped!));
  assert.ok(await lab.reaches(lab.probes.oneOtherPort, mapped!));
  assert.deepEqual(await lab.mappedTo(lab.probes.two), mapped);
});

Deno.test("restricted cone: only addresses the host sent to may send in", async () => {
  const lab = await natLab(NAT_PRESETS.restrictedCone);
  const mapped = (await lab.mappedTo(lab.probes.one))!;
  assert.ok(await lab.reaches(lab.probes.oneOtherPort, mapped));
  assert.equal(await lab.reaches(lab.probes.two, mapped), false);
  assert.equal(lab.network.stats.dropped["nat-filtered"], 1);
  assert.deepEqual(await lab.mappedTo(lab.probes.two), mapped);
  assert.ok(await lab.reaches(lab.probes.two, mapped));
});

Deno.test("port restricted cone: only endpoints the host sent to may send in", async () => {
  const lab = await natLab(NAT_PRESETS.portRestrictedCone);
  const mapped = (await lab.mappedTo(lab.probes.one))!;
  assert.ok(await lab.reaches(lab.probes.one, mapped));
  assert.equal(await lab.reaches(lab.probes.oneOtherPort, mapped), false);
  assert.equal(await lab.reaches(lab.probes.two, mapped), false);
  assert.deepEqual(await lab.mappedTo(lab.probes.two), mapped);
});

Deno.test("symmetric: a new public port per destination endpoint", async () => {
  const lab = await natLab(NAT_PRESETS.symmetric);
  const toOne = (await lab.mappedTo(lab.probes.one))!;
  const toOther = (await lab.mappedTo(lab.probes.oneOtherPort))!;
  const toTwo = (await lab.mappedTo(lab.probes.two))!;
  const ports = new Set([toOne.port, toOther.port, toTwo.port]);
  assert.equal(ports.size, 3);
  for (const port of ports) assert.ok(port >= 1024 && port <= 65535);
  assert.ok(await lab.reaches(lab.probes.one, toOne));
  // What one server learned is useless to the other.
  assert.equal(await lab.reaches(lab.probes.two, toOne), false);
  // Same seed, same ports.
  const again = await natLab(NAT_PRESETS.symmetric);
  assert.deepEqual(await again.mappedTo(again.probes.one), toOne);
});

Deno.test("address-dependent mapping: one port per destination address", async () => {
  const lab = await natLab({
    mapping: "address-dependent",
    filtering: "address-dependent",
  });
  const toOne = (await lab.mappedTo(lab.probes.one))!;
  assert.deepEqual(await lab.mappedTo(lab.probes.oneOtherPort), toOne);
  assert.notDeepEqual(await lab.mappedTo(lab.probes.two), toOne);
});

Deno.test("a preserved port already taken by another host is not reused", async () => {
  const lab = await natLab(NAT_PRESETS.fullCone);
  const other = await lab.network.addHost("10.0.0.3", { behind: lab.nat })
    .openSocket(5000);
  const got = inbox(lab.probes.one);
  await lab.mappedTo(lab.probes.one);
  await other.send(bytes(1), lab.probes.one.local);
  await lab.clock.runAll();
  assert.equal(got.at(-1)!.from.address, "203.0.113.1");
  assert.notEqual(got.at(-1)!.from.port, 5000);
});

Deno.test("a mapping expires after the timeout with no outbound traffic", async () => {
  const lab = await natLab({
    ...NAT_PRESETS.fullCone,
    mappingTimeoutMs: 30_000,
  });
  const { clock, probes } = lab;
  const advanceTo = (at: number) => clock.advance(at - clock.now());
  const mapped = (await lab.mappedTo(probes.one))!; // mapping made at 0
  // Inbound packets do not refresh it: arriving at 29 990 is in time…
  await advanceTo(10_000);
  assert.ok(await lab.reaches(probes.one, mapped));
  await advanceTo(29_980);
  assert.ok(await lab.reaches(probes.one, mapped));
  // …arriving at 30 010 is too late.
  await advanceTo(30_000);
  assert.equal(await lab.reaches(probes.one, mapped), false);
  assert.equal(lab.network.stats.dropped["nat-no-mapping"], 1);
  assert.deepEqual(lab.nat.mappings(), []);
  // Sending again makes a fresh mapping.
  assert.deepEqual(await lab.mappedTo(probes.one), mapped);
  assert.ok(await lab.reaches(probes.two, mapped));
});

Deno.test("outbound traffic refreshes a mapping", async () => {
  const lab = await natLab(NAT_PRESETS.portRestrictedCone);
  const { clock, probes } = lab;
  const advanceTo = (at: number) => clock.advance(at - clock.now());
  const mapped = (await lab.mappedTo(probes.one))!;
  await advanceTo(20_000);
  await lab.mappedTo(probes.one);
  assert.deepEqual(lab.nat.mappings(), [{
    internal: { address: "10.0.0.2", port: 5000 },
    publicPort: 5000,
    expiresAtMs: 50_000,
  }]);
  await advanceTo(45_000);
  assert.ok(await lab.reaches(probes.one, mapped));
});

Deno.test("a NAT reboot forgets its mappings", async () => {
  const lab = await natLab(NAT_PRESETS.fullCone);
  const mapped = (await lab.mappedTo(lab.probes.one))!;
  lab.nat.clearMappings();
  assert.equal(await lab.reaches(lab.probes.one, mapped), false);
});

async function hairpinLab(hairpinning: boolean) {
  const network = createMemoryNetwork();
  const clock = network.scheduler;
  const nat = network.addNat({
    publicAddress: "203.0.113.1",
    ...NAT_PRESETS.fullCone,
    hairpinning,
  });
  const a = await network.addHost("10.0.0.2", { behind: nat }).openSocket(
    4000,
  );
  const b = await network.addHost("10.0.0.3", { behind: nat }).openSocket(
    5000,
  );
  const server = await network.addHost("198.51.100.1").openSocket(3478);
  await a.send(bytes(1), server.local);
  await b.send(bytes(1), server.local);
  await clock.runAll();
  const got = inbox(a);
  await b.send(bytes(9), { address: "203.0.113.1", port: 4000 });
  await clock.runAll();
  return { network, got };
}

Deno.test("hairpinning lets hosts behind one NAT meet at their public endpoints", async () => {
  const { got } = await hairpinLab(true);
  assert.equal(got.length, 1);
  // RFC 4787 REQ-9: the source is the sender's public endpoint.
  assert.deepEqual(got[0].from, { address: "203.0.113.1", port: 5000 });
});

Deno.test("without hairpinning a packet to the own public address is dropped", async () => {
  const { got, network } = await hairpinLab(false);
  assert.equal(got.length, 0);
  assert.equal(network.stats.dropped["hairpin-disabled"], 1);
});

Deno.test("hosts on one private side talk directly, unseen from outside", async () => {
  const network = createMemoryNetwork();
  const nat = network.addNat({
    publicAddress: "203.0.113.1",
    ...NAT_PRESETS.symmetric,
  });
  const a = await network.addHost("10.0.0.2", { behind: nat }).openSocket(1);
  const b = await network.addHost("10.0.0.3", { behind: nat }).openSocket(2);
  const outsider = await network.addHost("198.51.100.1").openSocket(3);
  await a.send(bytes(1), b.local);
  await outsider.send(bytes(1), b.local);
  await network.scheduler.runAll();
  assert.deepEqual((await b.receive())!.from, a.local);
  assert.equal(network.stats.dropped["no-route"], 1);
  assert.deepEqual(nat.mappings(), []);
});

Deno.test("nested NATs translate twice and the reply finds its way back", async () => {
  const network = createMemoryNetwork();
  const clock = network.scheduler;
  const carrier = network.addNat({
    publicAddress: "203.0.113.50",
    ...NAT_PRESETS.portRestrictedCone,
    portAllocation: "sequential",
  });
  const home = network.addNat({
    publicAddress: "100.64.0.7",
    behind: carrier,
    ...NAT_PRESETS.portRestrictedCone,
  });
  assert.equal(home.behind, carrier);
  const host = network.addHost("192.168.1.2", { behind: home });
  assert.equal(host.behind, home);
  const socket = await host.openSocket(5000);
  const server = await network.addHost("198.51.100.1").openSocket(3478);
  await socket.send(bytes(1), server.local);
  await clock.runAll();
  const seen = (await server.receive())!.from;
  assert.equal(seen.address, "203.0.113.50");
  assert.deepEqual(home.mappings()[0].publicPort, 5000);
  assert.deepEqual(carrier.mappings()[0].internal, {
    address: "100.64.0.7",
    port: 5000,
  });
  await server.send(bytes(2), seen);
  await clock.runAll();
  assert.deepEqual(await socket.receive(), {
    data: bytes(2),
    from: server.local,
  });
});

Deno.test("a host cannot sit behind a NAT of another network", () => {
  const one = createMemoryNetwork();
  const other = createMemoryNetwork();
  const nat: MemoryNat = one.addNat({
    publicAddress: "203.0.113.1",
    ...NAT_PRESETS.fullCone,
  });
  assert.throws(() => other.addHost("10.0.0.2", { behind: nat }), TypeError);
});

/**
 * Two peers, each at 192.168.1.2 behind its own NAT, learn their public
 * endpoints from a reflector, then each sends a punch to the other's
 * learned endpoint every 100 ms, A from time 0 and B from `staggerMs`.
 * Internet hops take 25 ms. Resolves to whether each heard the other.
 */
async function holePunch(
  natA: NatBehaviourOptions,
  natB: NatBehaviourOptions,
  options: { staggerMs?: number } = {},
) {
  const network = createMemoryNetwork({ seed: 2 });
  const clock = network.scheduler;
  network.setLink({ delayMs: 25 });
  const nats = {
    a: network.addNat({ publicAddress: "203.0.113.1", ...natA }),
    b: network.addNat({ publicAddress: "198.51.100.1", ...natB }),
  };
  const a = await network.addHost("192.168.1.2", { behind: nats.a })
    .openSocket(5000);
  const b = await network.addHost("192.168.1.2", { behind: nats.b })
    .openSocket(6000);
  // The reflector answers each datagram with the source it saw.
  const reflector = await network.addHost("192.0.2.100").openSocket(3478);
  (async () => {
    for (let d; (d = await reflector.receive()) !== undefined;) {
      const seen = new TextEncoder().encode(JSON.stringify(d.from));
      await reflector.send(seen, d.from);
    }
  })();
  const inboxA = inbox(a), inboxB = inbox(b);
  await a.send(bytes(0), reflector.local);
  await b.send(bytes(0), reflector.local);
  await clock.runUntil(() => inboxA.length === 1 && inboxB.length === 1);
  const learned = (got: Datagram[]): Endpoint =>
    JSON.parse(new TextDecoder().decode(got.shift()!.data));
  const publicA = learned(inboxA), publicB = learned(inboxB);
  const start = clock.now();
  const punch = (from: DatagramSocket, to: Endpoint, at: number) => {
    for (let i = 0; i < 30; i++) {
      clock.setTimer(at + i * 100, () => void from.send(bytes(7), to));
    }
  };
  punch(a, publicB, start);
  punch(b, publicA, start + (options.staggerMs ?? 0));
  const heard = (got: Datagram[], peer: Endpoint) =>
    got.some((d) => d.from.address === peer.address);
  const connected = await clock.runUntil(
    () => heard(inboxA, publicB) && heard(inboxB, publicA),
    { maxMs: 3000 },
  );
  return { connected, publicA, publicB, nats, stats: network.stats };
}

Deno.test("hole punching succeeds between endpoint-independent NATs", async () => {
  for (
    const nat of [NAT_PRESETS.fullCone, NAT_PRESETS.portRestrictedCone]
  ) {
    const result = await holePunch(nat, NAT_PRESETS.portRestrictedCone, {
      staggerMs: 500,
    });
    assert.ok(result.connected, JSON.stringify(result.stats));
    // A's early punches were refused until B's own punch opened the way.
    assert.ok(result.stats.dropped["nat-filtered"] > 0);
  }
});

Deno.test("hole punching fails when both NATs are symmetric", async () => {
  const result = await holePunch(NAT_PRESETS.symmetric, NAT_PRESETS.symmetric);
  assert.equal(result.connected, false);
  assert.ok(result.stats.dropped["nat-filtered"] > 0);
});

Deno.test("the Linux conntrack quirk breaks a punch that starts on one side first", async () => {
  const linux = NAT_PRESETS.linuxMasquerade;
  // Both start together: each side's mapping exists before the other's
  // packet arrives, so it works.
  assert.ok((await holePunch(linux, linux)).connected);
  // A starts first: its knock on B's port leaves a half-open entry, so B's
  // punch towards A goes out from another port, which A's NAT refuses; A
  // keeps knocking on the old port. Stuck for good.
  const staggered = await holePunch(linux, linux, { staggerMs: 500 });
  assert.equal(staggered.connected, false);
  assert.deepEqual(staggered.publicB, { address: "198.51.100.1", port: 6000 });
  const towardsA = staggered.nats.b.mappings().find((m) =>
    m.remote?.address === "203.0.113.1"
  );
  assert.ok(towardsA !== undefined && towardsA.publicPort !== 6000);
  // The same timing through port-restricted cones succeeds.
  const cone = NAT_PRESETS.portRestrictedCone;
  assert.ok((await holePunch(cone, cone, { staggerMs: 500 })).connected);
});

Deno.test("a TTL-2 datagram opens its own NAT's mapping and dies on the internet hop", async () => {
  const network = createMemoryNetwork({ seed: 3 });
  const clock = network.scheduler;
  network.setLink({ delayMs: 10 });
  const quirky: NatBehaviourOptions = {
    mapping: "address-and-port-dependent",
    filtering: "address-and-port-dependent",
    portAllocation: "preserve",
    linuxConntrackQuirk: true,
  };
  const natA = network.addNat({ publicAddress: "203.0.113.1", ...quirky });
  const natB = network.addNat({ publicAddress: "203.0.113.2", ...quirky });
  const a = await network.addHost("10.0.0.2", { behind: natA }).openSocket(
    5000,
  );
  const b = await network.addHost("10.0.1.2", { behind: natB }).openSocket(
    6000,
  );
  assert.equal(a.supportsTtl, true);
  const gotA = inbox(a);
  const gotB = inbox(b);
  const publicA = { address: "203.0.113.1", port: 5000 };
  const publicB = { address: "203.0.113.2", port: 6000 };
  await a.send(bytes(1), publicB, { ttl: 2 });
  await clock.advance(50);
  assert.equal(network.stats.dropped["ttl-expired"], 1);
  assert.equal(natA.mappings().length, 1, "A's NAT holds the mapping");
  assert.equal(natB.mappings().length, 0, "B's NAT never saw the packet");
  // TTL 1 dies inside A's NAT and leaves nothing there either.
  await a.send(bytes(2), { address: "203.0.113.9", port: 1 }, { ttl: 1 });
  await clock.advance(50);
  assert.equal(natA.mappings().length, 1);
  assert.equal(network.stats.dropped["ttl-expired"], 2);
  // B's full packet now gets in, and A's answer keeps B's port.
  await b.send(bytes(3), publicA);
  await clock.advance(50);
  assert.deepEqual(gotA.map((d) => [...d.data]), [[3]]);
  assert.deepEqual(gotA[0].from, publicB);
  await a.send(bytes(4), publicB);
  await clock.advance(50);
  assert.deepEqual(gotB.map((d) => [...d.data]), [[4]]);
  await assert.rejects(() => a.send(bytes(5), publicB, { ttl: 0 }), RangeError);
  a.close();
  b.close();
});

/**
 * A at 10.0.0.2:5000 behind a plain Linux router at 203.0.113.1, B at
 * 10.0.1.2:6000 behind another at 203.0.113.2; internet hops take 10 ms.
 * A opens towards B (with `openerTtl`, or at full TTL when undefined),
 * then B sends to A's public endpoint, then A answers; resolves to where
 * each saw the other's packets come from.
 */
async function openerThenPunch(openerTtl: number | undefined) {
  const network = createMemoryNetwork({ seed: 4 });
  const clock = network.scheduler;
  network.setLink({ delayMs: 10 });
  const natA = network.addNat({
    publicAddress: "203.0.113.1",
    ...NAT_PRESETS.linuxMasquerade,
  });
  const natB = network.addNat({
    publicAddress: "203.0.113.2",
    ...NAT_PRESETS.linuxMasquerade,
  });
  const a = await network.addHost("10.0.0.2", { behind: natA })
    .openSocket(5000);
  const b = await network.addHost("10.0.1.2", { behind: natB })
    .openSocket(6000);
  const gotA = inbox(a), gotB = inbox(b);
  const publicA = { address: "203.0.113.1", port: 5000 };
  const publicB = { address: "203.0.113.2", port: 6000 };
  await a.send(
    bytes(1),
    publicB,
    openerTtl === undefined ? undefined : { ttl: openerTtl },
  );
  await clock.advance(50);
  await b.send(bytes(2), publicA);
  await clock.advance(50);
  await a.send(bytes(3), publicB);
  await clock.advance(50);
  return {
    stats: network.stats,
    bSeenByA: gotA.map((d) => d.from),
    aSeenByB: gotB.map((d) => d.from),
    /** The public port of B's NAT mapping towards A. */
    bPortTowardsA: natB.mappings().find((m) =>
      m.remote?.address === publicA.address
    )?.publicPort,
  };
}

Deno.test("a TTL-2 opener keeps B's port, where a full first packet from A moves it", async () => {
  const publicA = { address: "203.0.113.1", port: 5000 };
  const publicB = { address: "203.0.113.2", port: 6000 };
  // With the opener, nothing reached B's NAT: B's packet goes out on the
  // preserved port, through A's mapping, and A's answer gets in.
  const low = await openerThenPunch(2);
  assert.equal(low.stats.dropped["ttl-expired"], 1);
  assert.deepEqual(low.bSeenByA, [publicB]);
  assert.deepEqual(low.aSeenByB, [publicA]);
  assert.equal(low.bPortTowardsA, 6000);
  // TTL 3 reaches B's NAT: its half-open entry moves B's mapping to
  // another port, as a full packet's does; A's NAT filters what then
  // comes from there, and A's answers to the old port find nothing. Stuck.
  for (const ttl of [3, undefined]) {
    const full = await openerThenPunch(ttl);
    assert.equal(full.stats.dropped["ttl-expired"], 0, `ttl ${ttl}`);
    assert.ok(full.bPortTowardsA !== undefined, `ttl ${ttl}`);
    assert.notEqual(full.bPortTowardsA, 6000, `ttl ${ttl}`);
    assert.deepEqual(full.bSeenByA, [], `ttl ${ttl}`);
    assert.deepEqual(full.aSeenByB, [], `ttl ${ttl}`);
    assert.ok(full.stats.dropped["nat-filtered"] >= 1, `ttl ${ttl}`);
  }
});

Deno.test("each NAT and the internet take one off the TTL", async () => {
  const network = createMemoryNetwork({ seed: 5 });
  const clock = network.scheduler;
  const carrier = network.addNat({
    publicAddress: "203.0.113.50",
    ...NAT_PRESETS.fullCone,
  });
  const home = network.addNat({
    publicAddress: "100.64.0.7",
    behind: carrier,
    ...NAT_PRESETS.fullCone,
    hairpinning: true,
  });
  const host = await network.addHost("192.168.1.2", { behind: home })
    .openSocket(5000);
  const neighbour = await network.addHost("192.168.1.3", { behind: home })
    .openSocket(5001);
  const server = await network.addHost("198.51.100.1").openSocket(3478);
  const public1 = await network.addHost("198.51.100.2").openSocket(3478);
  const got = inbox(server), gotNeighbour = inbox(neighbour);
  const gotPublic = inbox(public1);
  const expired = () => network.stats.dropped["ttl-expired"];
  // Home NAT, carrier NAT, internet: three hops, so TTL 3 dies on the
  // internet, with both NATs mapped, and TTL 4 arrives.
  await host.send(bytes(2), server.local, { ttl: 2 });
  await clock.runAll();
  assert.equal(expired(), 1);
  assert.equal(home.mappings().length, 1);
  assert.equal(carrier.mappings().length, 0, "TTL 2 dies in the carrier NAT");
  await host.send(bytes(3), server.local, { ttl: 3 });
  await clock.runAll();
  assert.equal(expired(), 2);
  assert.equal(carrier.mappings().length, 1);
  await host.send(bytes(4), server.local, { ttl: 4 });
  await clock.runAll();
  assert.deepEqual(got.map((d) => d.data[0]), [4]);
  // Inwards the same: the server's answer needs TTL 4 to reach the host.
  const hostPublic = got[0].from;
  const gotHost = inbox(host);
  await server.send(bytes(3), hostPublic, { ttl: 3 });
  await server.send(bytes(4), hostPublic, { ttl: 4 });
  await clock.runAll();
  assert.deepEqual(gotHost.map((d) => d.data[0]), [4]);
  assert.equal(expired(), 3);
  // Between two public hosts the internet is the one router.
  await server.send(bytes(1), public1.local, { ttl: 1 });
  await server.send(bytes(2), public1.local, { ttl: 2 });
  await clock.runAll();
  assert.deepEqual(gotPublic.map((d) => d.data[0]), [2]);
  assert.equal(expired(), 4);
  // A hairpinned packet is forwarded once: TTL 1 dies, TTL 2 arrives; on
  // the same private side no router is crossed at all.
  const neighbourPublic = { address: "100.64.0.7", port: 5001 };
  await neighbour.send(bytes(0), server.local); // maps the neighbour
  await host.send(bytes(1), neighbourPublic, { ttl: 1 });
  await host.send(bytes(2), neighbourPublic, { ttl: 2 });
  await host.send(bytes(3), neighbour.local, { ttl: 1 });
  await clock.runAll();
  assert.deepEqual(gotNeighbour.map((d) => d.data[0]), [2, 3]);
  assert.equal(expired(), 5);
  const { sent, duplicated, delivered, dropped } = network.stats;
  const total = Object.values(dropped).reduce((x, y) => x + y, 0);
  assert.equal(sent + duplicated, delivered + total);
});
