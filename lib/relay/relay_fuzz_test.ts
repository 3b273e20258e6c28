// The relay under a storm of malformed, mutated, replayed and spoofed
// packets: it never throws, accounts for every packet, and keeps forwarding
// between well-behaved peers meanwhile.
import assert from "node:assert/strict";
import { seededRandom } from "../udp/mod.ts";
import { type Endpoint, PROTOCOL_VERSION } from "../wire/mod.ts";
import { Harness, registered } from "./relay_harness_for_testing.ts";

const INJECTED = 200_000;

Deno.test(`the relay survives ${INJECTED} hostile packets and keeps serving`, () => {
  const h = new Harness({ packetRate: 1e9, registrationRate: 1e9 });
  const alice = registered(h, "alice", {
    address: "198.51.100.10",
    port: 4001,
  });
  const bob = registered(h, "bob", { address: "198.51.100.20", port: 4002 });
  alice.client.connect("bob");
  h.flush();
  const circuit = h.event("alice", "rendezvous")!.circuitId;

  // Capture genuine packets of every kind to mutate and replay.
  const samples: Uint8Array[] = [];
  alice.client.forward(circuit, new Uint8Array(600));
  for (let out; (out = alice.client.pollTransmit());) samples.push(out.data);
  const newcomer = h.addPeer("carol", { address: "198.51.100.30", port: 4003 });
  newcomer.client.start(h.now);
  for (let out; (out = newcomer.client.pollTransmit());) samples.push(out.data);
  h.clients.delete("carol");

  const random = seededRandom(0xa17);
  const byte = () => Math.floor(random() * 256);
  const sources: Endpoint[] = [
    alice.address, // spoofing a real peer's address
    bob.address,
    { address: "192.0.2.66", port: 6666 },
    { address: "2001:db8::66", port: 6666 },
  ];
  let outputs = 0;
  const dropsBefore = totalDrops(h);
  let delivered = 0;
  for (let i = 0; i < INJECTED; i++) {
    let packet: Uint8Array;
    const mode = i % 5;
    if (mode === 0) {
      packet = Uint8Array.from({ length: Math.floor(random() * 1300) }, byte);
    } else if (mode === 1) {
      packet = Uint8Array.from(
        { length: 2 + Math.floor(random() * 300) },
        byte,
      );
      packet[0] = PROTOCOL_VERSION;
      packet[1] = 1 + (i % 6);
    } else if (mode === 2) {
      packet = samples[i % samples.length].slice(); // replay
    } else {
      packet = samples[i % samples.length].slice();
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) {
        packet[Math.floor(random() * packet.length)] ^= 1 <<
          Math.floor(random() * 8);
      }
      if (mode === 4 && packet.length > 20) {
        packet = packet.subarray(0, packet.length - byte() % 20);
      }
    }
    h.core.receive(packet, sources[i % sources.length], h.now);
    for (let out; (out = h.core.pollTransmit());) {
      outputs++;
      // Never an amplifier: nothing sent for an unproven source is larger.
      const sentTo = out.to;
      if (
        sentTo.address === "192.0.2.66" || sentTo.address === "2001:db8::66"
      ) {
        assert.ok(
          out.data.length <= packet.length,
          "reply larger than request",
        );
      } else {
        // Genuine peers receive whatever the relay sends them.
        for (const entry of h.clients.values()) {
          if (entry.address.port === sentTo.port) {
            entry.client.receive(out.data, h.now);
          }
        }
      }
    }
    // Meanwhile the real peers keep talking.
    if (i % 1000 === 0) {
      alice.client.forward(circuit, new Uint8Array([i & 0xff]));
      h.flush();
      delivered = bob.events.filter((e) => e.type === "forwarded").length;
    }
  }
  h.flush();
  delivered = bob.events.filter((e) => e.type === "forwarded").length;
  // Every genuine forward arrived, plus the captured sample exactly once:
  // its first injection is the original, every later copy a refused replay.
  assert.equal(
    delivered,
    INJECTED / 1000 + 1,
    "every genuine packet was forwarded once",
  );
  const dropped = totalDrops(h) - dropsBefore;
  // Every hostile packet was either answered (cookie challenge, pong,
  // handshake reply to an unauthenticated XX init) or counted as a drop.
  assert.ok(
    dropped + outputs >= INJECTED * 0.99,
    `dropped ${dropped} + answered ${outputs}`,
  );
  assert.ok(dropped > INJECTED / 2);
  const c = h.core.counters;
  console.log(
    `relay fuzz: ${INJECTED} hostile packets, ${dropped} dropped (${
      Object.entries(c.dropped).filter(([, n]) => n).map(([k, n]) =>
        `${k} ${n}`
      ).join(", ")
    }), ${outputs} answered, ${delivered} genuine packets forwarded`,
  );
});

function totalDrops(h: Harness): number {
  return Object.values(h.core.counters.dropped).reduce((a, b) => a + b, 0);
}
