// A relay and two peers on the in-memory network, behind NATs of each kind,
// in virtual time: registration, rendezvous, end-to-end sessions, and the
// direct path wherever the NATs allow it.
import assert from "node:assert/strict";
import { DH_25519 } from "../crypto/noise/mod.ts";
import { DEFAULT_LIMITS, RelayCore, runRelay } from "../relay/mod.ts";
import {
  createMemoryNetwork,
  NAT_PRESETS,
  type NatBehaviourOptions,
} from "../udp/mod.ts";
import {
  type Message,
  MessageKind,
  type StreamAckMessage,
  type StreamDataMessage,
} from "../wire/mod.ts";
import type { StreamMux } from "./peer_connection.ts";
import { PeerNode, type PeerNodeEvent } from "./peer_node.ts";

class Inbox implements StreamMux {
  readonly got: string[] = [];
  readonly outgoing: Message[] = [];
  receive(m: StreamDataMessage | StreamAckMessage) {
    if (m.kind === MessageKind.STREAM_DATA) {
      this.got.push(new TextDecoder().decode(m.data));
    }
  }
  pollTransmit() {
    return this.outgoing.shift();
  }
  nextTimeout() {
    return undefined;
  }
  onTimeout() {}
  onPathChange() {}
}

async function world(
  nats: [NatBehaviourOptions | null, NatBehaviourOptions | null],
) {
  const network = createMemoryNetwork({ seed: 7 });
  network.setLink({ delayMs: 10 });
  const clock = network.scheduler;
  const relayHost = network.addHost("203.0.113.1");
  const relaySocket = await relayHost.openSocket(8000);
  const relayKeys = DH_25519.generateKeyPair();
  const core = new RelayCore({
    staticKeyPair: relayKeys,
    limits: DEFAULT_LIMITS,
    now: () => clock.now(),
  });
  const controller = new AbortController();
  const relayDone = runRelay(relaySocket, core, {
    scheduler: clock,
    signal: controller.signal,
  });
  const peers: { node: PeerNode; events: PeerNodeEvent[]; inbox: Inbox }[] = [];
  for (const [i, name] of ["alice", "bob"].entries()) {
    const nat = nats[i];
    const host = nat
      ? network.addHost(`10.${i}.0.2`, {
        behind: network.addNat({
          publicAddress: `198.51.100.${i + 1}`,
          ...nat,
        }),
      })
      : network.addHost(`198.51.100.${i + 101}`);
    const socket = await host.openSocket(9001 + i);
    const events: PeerNodeEvent[] = [];
    const inbox = new Inbox();
    const node = new PeerNode({
      socket,
      scheduler: clock,
      staticKeyPair: DH_25519.generateKeyPair(),
      name,
      relay: relaySocket.local,
      candidates: [socket.local],
      createStreams: () => inbox,
      onEvent: (e) => events.push(e),
    });
    node.start();
    peers.push({ node, events, inbox });
  }
  const stop = async () => {
    for (const p of peers) await p.node.stop();
    controller.abort();
    await clock.advance(100);
    await relayDone;
  };
  return { clock, core, peers, stop };
}

async function connectAndWait(w: Awaited<ReturnType<typeof world>>) {
  const [alice, bob] = w.peers;
  assert.ok(
    await w.clock.runUntil(
      () =>
        alice.events.some((e) => e.type === "registered") &&
        bob.events.some((e) => e.type === "registered"),
      { maxMs: 5_000 },
    ),
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
  // The first message goes at once, over whatever path exists.
  alice.inbox.outgoing.push({
    kind: MessageKind.STREAM_DATA,
    streamId: 0,
    fin: false,
    offset: 0,
    data: new TextEncoder().encode("first"),
  });
  alice.node.pump();
  assert.ok(
    await w.clock.runUntil(() => bob.inbox.got.length === 1, { maxMs: 2_000 }),
  );
  // Give punching its full round.
  await w.clock.advance(6_000);
  return { alice, bob };
}

const via = (node: PeerNode, peer: string) =>
  node.connection(peer)?.paths.path.via;

Deno.test("peers behind port-restricted cone NATs go direct", async () => {
  const w = await world([
    NAT_PRESETS.portRestrictedCone,
    NAT_PRESETS.portRestrictedCone,
  ]);
  const { alice, bob } = await connectAndWait(w);
  assert.equal(via(alice.node, "bob"), "direct");
  assert.equal(via(bob.node, "alice"), "direct");
  const relayedBefore = w.core.counters.packetsRelayed;
  alice.inbox.outgoing.push({
    kind: MessageKind.STREAM_DATA,
    streamId: 0,
    fin: false,
    offset: 5,
    data: new TextEncoder().encode("direct"),
  });
  alice.node.pump();
  assert.ok(
    await w.clock.runUntil(() => bob.inbox.got.length === 2, { maxMs: 1_000 }),
  );
  assert.equal(w.core.counters.packetsRelayed, relayedBefore, "not relayed");
  await w.stop();
});

Deno.test("a public peer and a peer behind a symmetric NAT go direct", async () => {
  const w = await world([null, NAT_PRESETS.symmetric]);
  const { alice } = await connectAndWait(w);
  assert.equal(via(alice.node, "bob"), "direct");
  await w.stop();
});

Deno.test("two symmetric NATs stay relayed and still deliver", async () => {
  const w = await world([NAT_PRESETS.symmetric, NAT_PRESETS.symmetric]);
  const { alice, bob } = await connectAndWait(w);
  assert.equal(via(alice.node, "bob"), "relay");
  assert.equal(bob.inbox.got[0], "first");
  await w.stop();
});
