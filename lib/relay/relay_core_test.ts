import assert from "node:assert/strict";
import { DH_25519 } from "../crypto/noise/mod.ts";
import { RelayClient } from "../peer/relay_client.ts";
import {
  decodePacket,
  encodePacket,
  INIT_MIN_SIZE,
  PacketType,
  ReasonCode,
} from "../wire/mod.ts";
import { RESERVATION_LIFETIME_MS } from "./limits.ts";
import { Harness, registered, RELAY } from "./relay_harness_for_testing.ts";

Deno.test("a peer registers over XX, learns its public address and the relay key", () => {
  const h = new Harness();
  const alice = registered(h, "alice", {
    address: "198.51.100.10",
    port: 40001,
  });
  const event = h.event("alice", "registered");
  assert.ok(event, JSON.stringify(alice.events));
  assert.deepEqual(event.observed, { address: "198.51.100.10", port: 40001 });
  assert.deepEqual(event.relayKey, h.relayKeys.publicKey);
  assert.equal(event.keepaliveMs, 15_000);
  assert.equal(h.core.snapshot().reservations, 1);
  assert.equal(h.core.counters.cookieReplies, 1, "a cookie was required first");
  assert.ok(h.relayEvents.some((e) => e.type === "reservation-accepted"));
});

Deno.test("a peer that knows the relay key registers over IK", () => {
  const h = new Harness();
  registered(h, "alice", { address: "198.51.100.10", port: 40001 }, {
    knowRelayKey: true,
  });
  assert.ok(h.event("alice", "registered"));
});

Deno.test("before address proof the relay sends nothing larger than it got", () => {
  const h = new Harness();
  const spoofed = { address: "192.0.2.66", port: 5555 };
  const alice = h.addPeer("alice", spoofed);
  alice.client.start(h.now);
  const init = alice.client.pollTransmit()!;
  h.core.receive(init.data, spoofed, h.now);
  const answer = h.core.pollTransmit()!;
  assert.equal(init.data.length, INIT_MIN_SIZE);
  assert.equal(answer.data.length, 38);
  assert.equal(h.core.pollTransmit(), undefined);
  assert.equal(h.core.snapshot().peers, 0, "no state for an unproven address");
  // A PING is answered by a PONG no larger than it.
  const ping = encodePacket({ type: PacketType.PING, nonce: 7n });
  h.core.receive(ping, spoofed, h.now);
  const pong = h.core.pollTransmit()!;
  assert.ok(pong.data.length <= ping.length);
  const decoded = decodePacket(pong.data);
  assert.ok(decoded.ok && decoded.value.type === PacketType.PONG);
  assert.deepEqual(decoded.value.observed, spoofed);
});

Deno.test("a name held by another key is refused, the holder renews it", () => {
  const h = new Harness();
  registered(h, "alice", { address: "198.51.100.10", port: 40001 });
  // Another key asks for the same name.
  const impostor = new RelayClient({
    staticKeyPair: DH_25519.generateKeyPair(),
    relay: RELAY,
    name: "alice",
    now: () => h.now,
  });
  h.clients.set("impostor", {
    client: impostor,
    address: { address: "198.51.100.66", port: 4000 },
    events: [],
  });
  impostor.start(h.now);
  h.flush();
  const refused = h.event("impostor", "refused");
  assert.ok(refused);
  assert.equal(refused.reason, ReasonCode.NAME_TAKEN);
  assert.equal(h.event("impostor", "registered"), undefined);
  // The holder's rekey (after 120 s) registers again: a renewal.
  h.clients.delete("impostor");
  h.advance(125_000);
  assert.ok(h.relayEvents.some((e) => e.type === "reservation-renewed"));
  assert.equal(h.core.snapshot().reservations, 1);
});

Deno.test("connect gives both ends a rendezvous and forwards both ways", () => {
  const h = new Harness();
  const alice = registered(h, "alice", {
    address: "198.51.100.10",
    port: 40001,
  });
  const bob = registered(h, "bob", { address: "198.51.100.20", port: 40002 });
  const requestId = alice.client.connect("bob");
  h.flush();
  const toAlice = h.event("alice", "rendezvous")!;
  const toBob = h.event("bob", "rendezvous")!;
  assert.equal(toAlice.requestId, requestId);
  assert.equal(toAlice.peerName, "bob");
  assert.equal(toBob.peerName, "alice");
  assert.equal(toAlice.circuitId, toBob.circuitId);
  assert.deepEqual(
    toAlice.candidates[0],
    bob.address,
    "observed address first",
  );
  assert.deepEqual(toAlice.candidates[1], { address: "10.0.0.2", port: 40002 });
  assert.ok(toAlice.startInMs > 0);

  const packet = crypto.getRandomValues(new Uint8Array(1000));
  assert.equal(alice.client.forward(toAlice.circuitId, packet), true);
  h.flush();
  const got = bob.events.find((e) => e.type === "forwarded");
  assert.ok(got && got.type === "forwarded");
  assert.deepEqual(got.packet, packet);
  bob.client.forward(toBob.circuitId, new Uint8Array([1, 2, 3]));
  h.flush();
  assert.ok(
    alice.events.some((e) => e.type === "forwarded" && e.packet.length === 3),
  );
  const stats = h.core.snapshot();
  assert.equal(stats.circuits, 1);
  assert.equal(stats.counters.bytesRelayed, 1003);
  // The relay re-seals: the bytes bob receives are not the bytes alice sent.
  const sentByRelay = h.sent.filter((s) => s.to.port === 40002).at(-1)!;
  assert.equal(sentByRelay.data.toHex().includes(packet.toHex()), false);
});

Deno.test("connecting to an unknown name is refused with the reason", () => {
  const h = new Harness();
  const alice = registered(h, "alice", {
    address: "198.51.100.10",
    port: 40001,
  });
  alice.client.connect("nobody");
  h.flush();
  const refused = h.event("alice", "refused")!;
  assert.equal(refused.reason, ReasonCode.PEER_NOT_FOUND);
  assert.match(refused.text, /No peer is registered/);
});

Deno.test("reservation and circuit limits are enforced and named", () => {
  const h = new Harness({ maxReservations: 2, maxCircuitsPerPeer: 1 });
  const alice = registered(h, "alice", { address: "198.51.100.10", port: 1 });
  registered(h, "bob", { address: "198.51.100.20", port: 2 });
  registered(h, "carol", { address: "198.51.100.30", port: 3 });
  const carolRefused = h.event("carol", "refused")!;
  assert.equal(carolRefused.reason, ReasonCode.RESERVATIONS_FULL);
  assert.equal(carolRefused.limit, 2);

  const h2 = new Harness({ maxCircuitsPerPeer: 1 });
  const a = registered(h2, "alice", { address: "198.51.100.10", port: 1 });
  registered(h2, "bob", { address: "198.51.100.20", port: 2 });
  registered(h2, "carol", { address: "198.51.100.30", port: 3 });
  a.client.connect("bob");
  h2.flush();
  a.client.connect("bob"); // idempotent: same circuit, no refusal
  h2.flush();
  assert.equal(h2.core.snapshot().circuits, 1);
  assert.equal(h2.event("alice", "refused"), undefined);
  a.client.connect("carol");
  h2.flush();
  const refused = h2.event("alice", "refused")!;
  assert.equal(refused.reason, ReasonCode.CIRCUITS_PER_PEER);
  assert.equal(refused.limit, 1);
  void alice;
});

Deno.test("a circuit closes at its byte budget and at its maximum age", () => {
  const h = new Harness({
    maxCircuitBytes: 2500,
    maxCircuitDurationMs: 60_000,
  });
  const alice = registered(h, "alice", { address: "198.51.100.10", port: 1 });
  const bob = registered(h, "bob", { address: "198.51.100.20", port: 2 });
  alice.client.connect("bob");
  h.flush();
  const circuit = h.event("alice", "rendezvous")!.circuitId;
  for (let i = 0; i < 3; i++) {
    alice.client.forward(circuit, new Uint8Array(1000));
  }
  h.flush();
  assert.equal(bob.events.filter((e) => e.type === "forwarded").length, 2);
  const closed = h.event("bob", "circuit-closed")!;
  assert.equal(closed.reason, ReasonCode.CIRCUIT_BYTES);
  assert.equal(h.core.counters.dropped["circuit-budget"], 1);

  alice.client.connect("bob");
  h.flush();
  h.advance(61_000);
  assert.equal(h.core.snapshot().circuits, 0);
  assert.ok(
    alice.events.some((e) =>
      e.type === "circuit-closed" && e.reason === ReasonCode.CIRCUIT_EXPIRED
    ),
  );
});

Deno.test("a peer that stops sending keepalives is forgotten after three", () => {
  const h = new Harness();
  const alice = registered(h, "alice", { address: "198.51.100.10", port: 1 });
  registered(h, "bob", { address: "198.51.100.20", port: 2 });
  h.advance(60_000); // keepalives flow: both stay
  assert.equal(h.core.snapshot().peers, 2);
  h.clients.delete("alice"); // alice vanishes without a word
  alice.client.stop(h.now);
  h.advance(RESERVATION_LIFETIME_MS + 2_000);
  assert.equal(h.core.snapshot().peers, 1);
  assert.equal(h.core.snapshot().reservations, 1);
  assert.ok(h.relayEvents.some((e) => e.type === "reservation-timeout"));
});

Deno.test("a peer that moves is followed, not duplicated", () => {
  const h = new Harness();
  const alice = registered(h, "alice", { address: "198.51.100.10", port: 1 });
  const bob = registered(h, "bob", { address: "198.51.100.20", port: 2 });
  alice.address = { address: "198.51.100.99", port: 7 }; // new network
  alice.client.sendKeepalive(h.now);
  h.flush();
  assert.equal(h.core.snapshot().peers, 2);
  bob.client.connect("alice");
  h.flush();
  const toBob = h.event("bob", "rendezvous")!;
  assert.deepEqual(toBob.candidates[0], { address: "198.51.100.99", port: 7 });
  assert.ok(h.relayEvents.some((e) => e.type === "peer-moved"));
});

Deno.test("spoofed and garbage packets are dropped and counted, never obeyed", () => {
  const h = new Harness();
  const alice = registered(h, "alice", { address: "198.51.100.10", port: 1 });
  const bob = registered(h, "bob", { address: "198.51.100.20", port: 2 });
  alice.client.connect("bob");
  h.flush();
  const before = h.core.snapshot().counters.packetsRelayed;
  // Mallory copies the last packet alice sent and replays it from her address.
  alice.client.forward(
    h.event("alice", "rendezvous")!.circuitId,
    new Uint8Array(10),
  );
  const captured = alice.client.pollTransmit()!;
  h.core.receive(captured.data, alice.address, h.now);
  h.core.receive(captured.data, alice.address, h.now); // replay
  const forged = captured.data.slice();
  forged[forged.length - 1] ^= 1;
  forged[13] ^= 0x55; // a fresh counter, so only the tag can catch it
  h.core.receive(forged, { address: "192.0.2.66", port: 9 }, h.now);
  for (let i = 0; i < 1000; i++) {
    h.core.receive(crypto.getRandomValues(new Uint8Array(i % 300)), {
      address: "192.0.2.66",
      port: 9,
    }, h.now);
  }
  h.flush();
  const after = h.core.snapshot().counters;
  assert.equal(after.packetsRelayed, before + 1);
  assert.equal(after.dropped.replay, 1);
  assert.equal(after.dropped.auth, 1);
  assert.ok(after.dropped.malformed + after.dropped["unknown-index"] > 900);
  void bob;
});

Deno.test("per-source token buckets cap handshakes and packets", () => {
  const h = new Harness({ registrationRate: 1, packetRate: 10 });
  const from = { address: "192.0.2.7", port: 1 };
  for (let i = 0; i < 100; i++) {
    h.core.receive(
      encodePacket({ type: PacketType.PING, nonce: BigInt(i) }),
      from,
      h.now,
    );
  }
  assert.equal(h.core.counters.dropped["rate-limited"], 80); // burst of 2 s × 10
});
