import assert from "node:assert/strict";
import { DH_25519 } from "../crypto/noise/mod.ts";
import { seededRandom } from "../udp/mod.ts";
import { decodePacket, PacketType } from "../wire/mod.ts";
import { CoverTraffic } from "./cover_traffic.ts";
import { DEFAULT_LIMITS } from "./limits.ts";
import { RelayCore } from "./relay_core.ts";

const A = { address: "203.0.113.1", port: 8000 };
const B = { address: "203.0.113.2", port: 8000 };

Deno.test("cover packets reach the other relay authenticated, sized like relayed data, at the rate asked", () => {
  let now = 0;
  const bKeys = DH_25519.generateKeyPair();
  const relayB = new RelayCore({
    staticKeyPair: bKeys,
    limits: DEFAULT_LIMITS,
    now: () => now,
  });
  const cover = new CoverTraffic({
    staticKeyPair: DH_25519.generateKeyPair(),
    rate: 10,
    now: () => now,
    random: seededRandom(42),
  });
  // Relay A recently relayed packets of these sizes.
  for (const size of [300, 700, 1232]) cover.observeRelayedSize(size);
  cover.setTargets([{ endpoint: B, noiseKey: bKeys.publicKey }], now);
  const seen: { type: number; size: number }[] = [];
  const end = 100_000;
  while (now < end) {
    now = Math.min(cover.nextTimeout() ?? end, end);
    cover.onTimeout(now);
    relayB.onTimeout(now);
    for (let round = 0; round < 4; round++) {
      for (let out; (out = cover.pollTransmit());) {
        const decoded = decodePacket(out.data);
        assert.ok(decoded.ok);
        seen.push({ type: decoded.value.type, size: out.data.length });
        relayB.receive(out.data, A, now);
      }
      for (let out; (out = relayB.pollTransmit());) {
        assert.equal(
          cover.receive(out.data, B, now),
          true,
        );
      }
    }
  }
  const data = seen.filter((s) => s.type === PacketType.TRANSPORT);
  // About 10/s for 100 s (Poisson: ±10 % is far beyond 3 sigma of 1000).
  assert.ok(
    data.length > 900 && data.length < 1100,
    `${data.length} cover packets`,
  );
  assert.deepEqual(new Set(data.map((d) => d.size)), new Set([300, 700, 1232]));
  assert.equal(
    relayB.counters.coverReceived,
    data.length,
    "all opened and counted",
  );
  assert.equal(relayB.counters.dropped.auth, 0);
  assert.equal(relayB.counters.packetsRelayed, 0, "nothing was forwarded");
  // Sessions are renewed before the 180 s key lifetime.
  assert.ok(cover.counters.handshakes >= 1);
});

Deno.test("without targets or with rate 0 nothing is sent", () => {
  const idle = new CoverTraffic({
    staticKeyPair: DH_25519.generateKeyPair(),
    rate: 0,
  });
  idle.setTargets([{
    endpoint: B,
    noiseKey: DH_25519.generateKeyPair().publicKey,
  }]);
  assert.equal(idle.nextTimeout(), undefined);
  const lonely = new CoverTraffic({
    staticKeyPair: DH_25519.generateKeyPair(),
    rate: 5,
  });
  assert.equal(lonely.nextTimeout(), undefined);
  lonely.onTimeout(1e9);
  assert.equal(lonely.pollTransmit(), undefined);
});
