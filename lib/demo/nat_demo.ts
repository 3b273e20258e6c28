/**
 * The demo's NAT section: the traversal techniques against simulated NATs
 * (the in-memory network, in virtual time, so it takes well under a second
 * of real time): birthday probing through a symmetric NAT, and low-TTL
 * opening probes through two plain Linux routers, beside what happens
 * without them.
 *
 * @module
 */

import { NAT_PRESETS } from "../udp/mod.ts";
import {
  BARE_LINUX_NAT,
  createNatWorld,
  type NatWorldOptions,
  traverseNatWorld,
} from "../peer/nat_world.ts";
import type { DemoStep } from "./session_demo.ts";

interface Case {
  step: string;
  label: string;
  world: NatWorldOptions;
  what: (
    r: { directMs?: number; probes: { alice: number; bob: number } },
  ) => string;
}

const CASES: Case[] = [
  {
    step: "nat-birthday",
    label: "cone ↔ symmetric NAT",
    world: {
      seed: 2,
      nats: [NAT_PRESETS.portRestrictedCone, NAT_PRESETS.symmetric],
    },
    what: (r) =>
      `birthday probing: bob opened 256 sockets, alice sent ${r.probes.alice} probes in all, most to random ports`,
  },
  {
    step: "nat-bare-linux",
    label: "two plain Linux MASQUERADE routers",
    world: { seed: 5, nats: [BARE_LINUX_NAT, BARE_LINUX_NAT], delays: [2, 60] },
    what: () => "opening probes at TTL 2 first, full probes 200 ms later",
  },
  {
    step: "nat-bare-linux-no-ttl",
    label: "the same routers, probes at full TTL only",
    world: {
      seed: 5,
      nats: [BARE_LINUX_NAT, BARE_LINUX_NAT],
      delays: [2, 60],
      noTtl: true,
    },
    what: () =>
      "an early probe leaves a half-open conntrack entry that moves the other side's port",
  },
  {
    step: "nat-symmetric-both",
    label: "symmetric ↔ symmetric NAT",
    world: { seed: 3, nats: [NAT_PRESETS.symmetric, NAT_PRESETS.symmetric] },
    what: () => "no technique crosses two symmetric NATs",
  },
];

/** Runs each NAT case and reports whether and how fast it went direct. */
export async function runNatDemo(
  report: (step: DemoStep) => void,
): Promise<void> {
  for (const c of CASES) {
    const world = await createNatWorld(c.world);
    try {
      const result = await traverseNatWorld(world, 12_000);
      const direct = result.directMs !== undefined;
      report({
        step: c.step,
        text: `${c.label}: ${
          direct
            ? `direct after ${(result.directMs! / 1000).toFixed(2)} s`
            : "stays on the relay, the session carries on through it"
        } (${c.what(result)})`,
        details: {
          direct,
          direct_ms: result.directMs,
          probes_alice: result.probes.alice,
          probes_bob: result.probes.bob,
        },
      });
    } finally {
      await world.stop();
    }
  }
}
