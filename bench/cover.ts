// The cost of cover traffic (altnet relay --cover-rate R): CPU per cover
// packet at the sending and the receiving relay, measured in one process
// with the real code (seal, open, drop), and the bandwidth it adds.
//
//   deno run -A bench/cover.ts [--packets N]
import { DH_25519 } from "../lib/crypto/noise/mod.ts";
import { CoverTraffic, DEFAULT_LIMITS, RelayCore } from "../lib/relay/mod.ts";

const packets = Number(Deno.args[Deno.args.indexOf("--packets") + 1]) || 20_000;
const B = { address: "203.0.113.2", port: 8000 };
const A = { address: "203.0.113.1", port: 8000 };
let now = 0;
const keys = DH_25519.generateKeyPair();
const receiver = new RelayCore({
  staticKeyPair: keys,
  limits: { ...DEFAULT_LIMITS, packetRate: 1e9 },
  now: () => now,
});
const cover = new CoverTraffic({
  staticKeyPair: DH_25519.generateKeyPair(),
  rate: 1e6, // as fast as the loop asks
  now: () => now,
});
cover.observeRelayedSize(1232);
cover.setTargets([{ endpoint: B, noiseKey: keys.publicKey }], now);

function step() {
  now = cover.nextTimeout() ?? now;
  cover.onTimeout(now);
  const sent: Uint8Array[] = [];
  for (let out; (out = cover.pollTransmit());) sent.push(out.data);
  return sent;
}
// Handshake first (not part of the steady cost).
for (let i = 0; i < 3; i++) {
  for (const data of step()) receiver.receive(data, A, now);
  for (let out; (out = receiver.pollTransmit());) {
    cover.receive(out.data, B, now);
  }
}
let sendNs = 0;
let receiveNs = 0;
let bytes = 0;
for (let i = 0; i < packets; i++) {
  const t0 = performance.now();
  const sent = step();
  const t1 = performance.now();
  for (const data of sent) {
    receiver.receive(data, A, now);
    bytes += data.length;
  }
  const t2 = performance.now();
  sendNs += (t1 - t0) * 1e6;
  receiveNs += (t2 - t1) * 1e6;
  for (let out; (out = receiver.pollTransmit());) {
    cover.receive(out.data, B, now);
  }
}
const sendUs = sendNs / packets / 1000;
const receiveUs = receiveNs / packets / 1000;
const size = bytes / packets;
console.log(
  `cover traffic: ${packets} packets of ${
    size.toFixed(0)
  } bytes (received ${receiver.counters.coverReceived})`,
);
console.log(
  `  sender:   ${sendUs.toFixed(1)} µs of CPU per cover packet (seal)`,
);
console.log(
  `  receiver: ${
    receiveUs.toFixed(1)
  } µs of CPU per cover packet (decode, open, drop)`,
);
for (const rate of [1, 10, 100]) {
  console.log(
    `  --cover-rate ${rate}: ${
      (rate * size / 1000).toFixed(1)
    } kB/s out per relay, ` +
      `${(rate * sendUs / 10000).toFixed(3)} % of a core to send, ${
        (rate * receiveUs / 10000).toFixed(3)
      } % to receive (plus one UDP send/receive each, about 10 µs)`,
  );
}
