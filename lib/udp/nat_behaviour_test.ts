import assert from "node:assert/strict";
import { NAT_PRESETS, NatTable } from "./nat_behaviour.ts";
import { seededRandom } from "./seeded_random.ts";

const host = { address: "10.0.0.2", port: 5000 };
const server = { address: "192.0.2.1", port: 3478 };
const peer = { address: "198.51.100.7", port: 6000 };

Deno.test("NAT options get their defaults and bad ones are refused", () => {
  const table = new NatTable(NAT_PRESETS.fullCone);
  assert.deepEqual(table.config, {
    mapping: "endpoint-independent",
    filtering: "endpoint-independent",
    mappingTimeoutMs: 30_000,
    portAllocation: "preserve",
    hairpinning: false,
    linuxConntrackQuirk: false,
  });
  assert.throws(
    () =>
      new NatTable({
        mapping: "cone" as "endpoint-independent",
        filtering: "endpoint-independent",
      }),
    TypeError,
  );
  assert.throws(
    () => new NatTable({ ...NAT_PRESETS.fullCone, mappingTimeoutMs: 0 }),
    RangeError,
  );
});

Deno.test("a NAT table lists its live mappings with their scope and expiry", () => {
  const table = new NatTable(NAT_PRESETS.symmetric, {
    random: seededRandom(1),
  });
  const first = table.outbound(host, server, 0);
  const second = table.outbound(host, peer, 100);
  assert.ok(first.ok && second.ok);
  assert.notEqual(first.publicPort, second.publicPort);
  assert.deepEqual(table.mappings(200), [
    {
      internal: host,
      publicPort: first.publicPort,
      remote: server,
      expiresAtMs: 30_000,
    },
    {
      internal: host,
      publicPort: second.publicPort,
      remote: peer,
      expiresAtMs: 30_100,
    },
  ]);
  assert.deepEqual(table.mappings(30_000).length, 1);
  table.clear();
  assert.deepEqual(table.mappings(0), []);
});

Deno.test("inbound traffic does not keep a mapping alive", () => {
  const table = new NatTable(NAT_PRESETS.fullCone, { random: seededRandom(1) });
  table.outbound(host, server, 0);
  assert.ok(table.inbound(5000, server, 29_000).ok);
  assert.deepEqual(table.inbound(5000, server, 30_000), {
    ok: false,
    reason: "nat-no-mapping",
  });
});

Deno.test("a filter permission expires on its own even while the mapping lives", () => {
  const table = new NatTable(NAT_PRESETS.portRestrictedCone);
  table.outbound(host, server, 0);
  table.outbound(host, peer, 20_000);
  assert.deepEqual(table.inbound(5000, server, 31_000), {
    ok: false,
    reason: "nat-filtered",
  });
  assert.ok(table.inbound(5000, peer, 31_000).ok);
});

Deno.test("the Linux quirk shares a port between remotes until an unsolicited packet takes its tuple", () => {
  const table = new NatTable(NAT_PRESETS.linuxMasquerade, {
    random: seededRandom(1),
  });
  // Per-flow mappings, but the preserved port is shared: looks like EIM.
  assert.deepEqual(table.outbound(host, server, 0), {
    ok: true,
    publicPort: 5000,
  });
  const other = { address: "192.0.2.2", port: 3478 };
  assert.deepEqual(table.outbound(host, other, 0), {
    ok: true,
    publicPort: 5000,
  });
  // The peer knocks first: refused, but conntrack remembers the tuple.
  assert.deepEqual(table.inbound(5000, peer, 10), {
    ok: false,
    reason: "nat-filtered",
  });
  const toPeer = table.outbound(host, peer, 20);
  assert.ok(toPeer.ok);
  assert.notEqual(toPeer.publicPort, 5000);
  // The peer keeps sending to the port it was told: still refused.
  assert.equal(table.inbound(5000, peer, 30).ok, false);
  assert.ok(table.inbound(toPeer.publicPort, peer, 30).ok);
});

Deno.test("without the quirk an unsolicited packet leaves no trace", () => {
  const table = new NatTable({
    ...NAT_PRESETS.linuxMasquerade,
    linuxConntrackQuirk: false,
  }, { random: seededRandom(1) });
  table.outbound(host, server, 0);
  table.inbound(5000, peer, 10);
  // Exclusive ports: the second destination cannot reuse 5000 anyway…
  const toPeer = table.outbound(host, peer, 20);
  assert.ok(toPeer.ok && toPeer.publicPort !== 5000);
  // …but with endpoint-independent mapping the knock changes nothing.
  const cone = new NatTable(NAT_PRESETS.portRestrictedCone);
  assert.equal(cone.inbound(5000, peer, 0).ok, false);
  assert.deepEqual(cone.outbound(host, peer, 10), {
    ok: true,
    publicPort: 5000,
  });
});

Deno.test("sequential allocation hands out consecutive ports", () => {
  const table = new NatTable({
    ...NAT_PRESETS.symmetric,
    portAllocation: "sequential",
  }, { random: seededRandom(3) });
  const ports = [server, peer, { address: "192.0.2.9", port: 1 }].map((r) => {
    const out = table.outbound(host, r, 0);
    assert.ok(out.ok);
    return out.publicPort;
  });
  assert.equal(ports[1], ports[0] + 1);
  assert.equal(ports[2], ports[1] + 1);
});
