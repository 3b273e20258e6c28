/**
 * A relay and two peers, alice and bob, behind NATs of your choice on the
 * in-memory network, in virtual time: for tests of traversal and for the
 * demo's NAT section. The relay answers STUN on two ports, so both peers
 * learn their NAT's mapping; both may open birthday sockets.
 *
 * @module
 */

import { DH_25519 } from "../crypto/noise/mod.ts";
import { DEFAULT_LIMITS, RelayCore, runRelay } from "../relay/mod.ts";
import {
  createMemoryNetwork,
  type DatagramSocket,
  type NatBehaviourOptions,
  type VirtualScheduler,
} from "../udp/mod.ts";
import { PeerNode, type PeerNodeEvent } from "./peer_node.ts";
import { StreamSet } from "./stream_set.ts";

/** A plain Linux MASQUERADE router: per-flow, port-preserving, the quirk. */
export const BARE_LINUX_NAT: NatBehaviourOptions = {
  mapping: "address-and-port-dependent",
  filtering: "address-and-port-dependent",
  portAllocation: "preserve",
  linuxConntrackQuirk: true,
};

/** Options of {@linkcode createNatWorld}. */
export interface NatWorldOptions {
  seed: number;
  /** Alice's NAT and bob's. */
  nats: [NatBehaviourOptions, NatBehaviourOptions];
  /** One-way delay of each peer's access link, ms (default 5 each). */
  delays?: [number, number];
  /** Hide the sockets' TTL control (punching as before opening probes). */
  noTtl?: boolean;
}

/** One peer of the world. */
export interface WorldPeer {
  node: PeerNode;
  events: PeerNodeEvent[];
}

/** A built world; `stop` it when done. */
export interface NatWorld {
  clock: VirtualScheduler;
  alice: WorldPeer;
  bob: WorldPeer;
  stop(): Promise<void>;
}

/** What {@linkcode traverseNatWorld} saw. */
export interface TraversalResult {
  /** Virtual ms from the session to both sides being direct, if they got there. */
  directMs?: number;
  /** Probes each side sent by then (or by the end). */
  probes: { alice: number; bob: number };
}

/** Builds the world and starts both peers. */
export async function createNatWorld(
  options: NatWorldOptions,
): Promise<NatWorld> {
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
  const peers: WorldPeer[] = [];
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
    peers.push({ node, events });
  }
  return {
    clock,
    alice: peers[0],
    bob: peers[1],
    async stop() {
      for (const p of peers) await p.node.stop();
      controller.abort();
      await clock.advance(100);
      await relayDone;
    },
  };
}

/**
 * Waits for both peers' NAT discovery, connects alice to bob, and runs
 * virtual time until both are direct or `ms` have passed.
 *
 * @throws {Error} when discovery or the session does not come up
 */
export async function traverseNatWorld(
  world: NatWorld,
  ms: number,
): Promise<TraversalResult> {
  const { clock, alice, bob } = world;
  const has = (p: WorldPeer, type: PeerNodeEvent["type"]) =>
    p.events.some((e) => e.type === type);
  if (
    !await clock.runUntil(() => has(alice, "nat") && has(bob, "nat"), {
      maxMs: 10_000,
    })
  ) throw new Error("NAT discovery did not finish on both sides");
  alice.node.connect("bob");
  if (
    !await clock.runUntil(
      () => has(alice, "established") && has(bob, "established"),
      { maxMs: 5_000 },
    )
  ) throw new Error("the session did not come up");
  const start = clock.now();
  const via = (p: WorldPeer, peer: string) =>
    p.node.connection(peer)?.paths.path.via;
  let directMs: number | undefined;
  await clock.runUntil(() => {
    if (via(alice, "bob") === "direct" && via(bob, "alice") === "direct") {
      directMs ??= clock.now() - start;
    }
    return directMs !== undefined;
  }, { maxMs: ms });
  const probes = (p: WorldPeer, peer: string) =>
    p.node.connection(peer)?.paths.probesSent() ?? 0;
  return {
    directMs,
    probes: { alice: probes(alice, "bob"), bob: probes(bob, "alice") },
  };
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
