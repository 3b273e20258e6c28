// Hard NATs on the in-memory network, in virtual time: birthday probing
// between a symmetric NAT and a cone, and low-TTL opening probes between
// two plain Linux MASQUERADE routers (the conntrack quirk).
import assert from "node:assert/strict";
import { NAT_PRESETS } from "../udp/mod.ts";
import { NatMapping } from "../wire/mod.ts";
import {
  BARE_LINUX_NAT,
  createNatWorld,
  traverseNatWorld,
} from "./nat_world.ts";

Deno.test("STUN on the relay's two ports tells cone from symmetric", async () => {
  const w = await createNatWorld({
    seed: 1,
    nats: [NAT_PRESETS.portRestrictedCone, NAT_PRESETS.symmetric],
  });
  await w.clock.runUntil(
    () =>
      w.alice.events.some((e) => e.type === "nat") &&
      w.bob.events.some((e) => e.type === "nat"),
    { maxMs: 10_000 },
  );
  assert.equal(w.alice.node.natMapping, NatMapping.ENDPOINT_INDEPENDENT);
  assert.equal(w.bob.node.natMapping, NatMapping.ENDPOINT_DEPENDENT);
  await w.stop();
});

Deno.test("cone ↔ symmetric goes direct by birthday probing in at least 9 of 10 runs", async () => {
  let direct = 0;
  const times: number[] = [];
  for (let seed = 1; seed <= 10; seed++) {
    const w = await createNatWorld({
      seed,
      nats: [NAT_PRESETS.portRestrictedCone, NAT_PRESETS.symmetric],
    });
    // Long enough for a second round (30 s after the first ends).
    const { directMs, probes } = await traverseNatWorld(w, 50_000);
    if (directMs !== undefined) {
      direct++;
      times.push(directMs);
      const path = w.bob.node.connection("alice")!.paths.path;
      assert.ok(path.via === "direct" && path.socket !== undefined);
      const hard = w.bob.node.connection("alice")!.paths.birthdayReport();
      const easy = w.alice.node.connection("bob")!.paths.birthdayReport();
      assert.equal(hard.role, "hard");
      assert.equal(easy.role, "easy");
      assert.ok(hard.succeeded || easy.succeeded);
      assert.ok(easy.probesSent <= 1024 * easy.rounds);
      assert.ok(probes.alice >= 1 && probes.bob >= 256);
    }
    await w.stop();
  }
  assert.ok(direct >= 9, `direct in ${direct}/10 runs`);
  times.sort((a, b) => a - b);
  assert.ok(times[Math.floor(times.length / 2)] < 5_000, `times ${times}`);
});

Deno.test("symmetric ↔ symmetric stays relayed and opens no birthday sockets", async () => {
  const w = await createNatWorld({
    seed: 3,
    nats: [NAT_PRESETS.symmetric, NAT_PRESETS.symmetric],
  });
  const { directMs } = await traverseNatWorld(w, 15_000);
  assert.equal(directMs, undefined);
  for (const [p, peer] of [[w.alice, "bob"], [w.bob, "alice"]] as const) {
    const report = p.node.connection(peer)!.paths.birthdayReport();
    assert.equal(report.socketsOpened, 0);
    assert.equal(report.probesSent, 0);
  }
  await w.stop();
});

Deno.test("bare Linux routers go direct thanks to low-TTL opening probes", async () => {
  // Alice hears of the rendezvous about 60 ms before bob, so her full
  // probes reach bob's router before bob has sent anything: the case that
  // leaves a half-open conntrack entry there.
  for (const noTtl of [false, true]) {
    const w = await createNatWorld({
      seed: 5,
      nats: [BARE_LINUX_NAT, BARE_LINUX_NAT],
      delays: [2, 60],
      noTtl,
    });
    const { directMs } = await traverseNatWorld(w, 8_000);
    if (noTtl) {
      assert.equal(directMs, undefined, "full-TTL punching spoils the mapping");
    } else {
      assert.ok(directMs !== undefined && directMs < 2_000, `${directMs}`);
    }
    await w.stop();
  }
});
