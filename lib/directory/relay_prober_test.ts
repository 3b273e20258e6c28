import assert from "node:assert/strict";
import { openUdpSocket } from "../udp/mod.ts";
import {
  decodePacket,
  encodePacket,
  type Endpoint,
  PacketType,
} from "../wire/mod.ts";
import { median, probeRelays, RelayProber } from "./relay_prober.ts";

const A: Endpoint = { address: "192.0.2.1", port: 8000 };
const B: Endpoint = { address: "2001:db8::2", port: 8000 };

function pongFor(ping: Uint8Array, observed: Endpoint): Uint8Array {
  const decoded = decodePacket(ping);
  assert.ok(decoded.ok && decoded.value.type === PacketType.PING);
  return encodePacket({
    type: PacketType.PONG,
    nonce: decoded.value.nonce,
    observed,
  });
}

Deno.test("the prober sends count pings per target and measures each answer", () => {
  let nonce = 0n;
  const prober = new RelayProber(
    [{ id: "a", endpoint: A }, { id: "b", endpoint: B }],
    0,
    {
      count: 3,
      intervalMs: 100,
      timeoutMs: 500,
      randomNonce: () => ++nonce,
    },
  );
  const sent: { data: Uint8Array; to: Endpoint; at: number }[] = [];
  for (let t = 0; t <= 200; t += 100) {
    assert.equal(prober.nextTimeout(t), t);
    for (let out; (out = prober.pollTransmit(t));) sent.push({ ...out, at: t });
  }
  assert.equal(sent.length, 6);
  assert.ok(sent.every((s) => s.data.length === 64), "a PING is 64 bytes");
  // A answers every probe after 10, 20 and 30 ms; B never.
  sent.filter((s) => s.to === A).forEach((s, i) => {
    prober.receive(pongFor(s.data, A), A, s.at + 10 * (i + 1));
  });
  assert.equal(prober.isDone(300), false);
  assert.equal(prober.nextTimeout(300), 700);
  assert.equal(prober.isDone(700), true);
  const [a, b] = prober.results();
  assert.deepEqual(a.rttsMs, [10, 20, 30]);
  assert.equal(a.minMs, 10);
  assert.equal(a.medianMs, 20);
  assert.equal(a.loss, 0);
  assert.equal(b.received, 0);
  assert.equal(b.loss, 1);
  assert.equal(b.medianMs, undefined);
});

Deno.test("answers from elsewhere, late, repeated or garbled do not count", () => {
  const prober = new RelayProber([{ id: "a", endpoint: A }], 0, {
    count: 2,
    intervalMs: 0,
    timeoutMs: 100,
  });
  const first = prober.pollTransmit(0)!;
  const second = prober.pollTransmit(0)!;
  assert.equal(prober.pollTransmit(0), undefined);
  prober.receive(
    pongFor(first.data, A),
    { address: "192.0.2.9", port: 8000 },
    5,
  );
  prober.receive(
    pongFor(first.data, A),
    { address: "192.0.2.1", port: 8001 },
    5,
  );
  prober.receive(new Uint8Array([0xa1, 0x06, 1, 2]), A, 5);
  prober.receive(first.data, A, 5); // a PING is not a PONG
  prober.receive(pongFor(second.data, A), A, 150); // too late
  prober.receive(pongFor(first.data, A), A, 40);
  prober.receive(pongFor(first.data, A), A, 45); // a duplicate
  const [a] = prober.results();
  assert.deepEqual(a.rttsMs, [40]);
  assert.equal(a.loss, 0.5);
});

Deno.test("the median of an even count is the mean of the middle two", () => {
  assert.equal(median([]), undefined);
  assert.equal(median([5]), 5);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

Deno.test("probeRelays measures real UDP round trips and shows silent relays as lost", async () => {
  const relay = await openUdpSocket({ hostname: "127.0.0.1", port: 0 });
  const flaky = await openUdpSocket({ hostname: "127.0.0.1", port: 0 });
  const silent = await openUdpSocket({ hostname: "127.0.0.1", port: 0 });
  const client = await openUdpSocket({ hostname: "127.0.0.1", port: 0 });
  const answer = async (socket: typeof relay, every: number) => {
    let n = 0;
    for (let d; (d = await socket.receive());) {
      if (n++ % every === 0) {
        await socket.send(pongFor(d.data.slice(), d.from), d.from);
      }
    }
  };
  const answering = [answer(relay, 1), answer(flaky, 2)];
  try {
    const results = await probeRelays([client], [
      { id: "relay", endpoint: relay.local },
      { id: "flaky", endpoint: flaky.local },
      { id: "silent", endpoint: silent.local },
      { id: "v6", endpoint: { address: "2001:db8::1", port: 9 } },
    ], { count: 4, intervalMs: 20, timeoutMs: 300 });
    const byId = Object.fromEntries(results.map((r) => [r.id, r]));
    assert.equal(byId.relay.received, 4);
    assert.ok(byId.relay.minMs! >= 0 && byId.relay.medianMs! < 300);
    assert.equal(byId.flaky.received, 2);
    assert.equal(byId.flaky.loss, 0.5);
    assert.equal(byId.silent.loss, 1);
    assert.equal(byId.v6.loss, 1, "no IPv6 socket: lost, not an error");
  } finally {
    for (const s of [relay, flaky, silent, client]) s.close();
    await Promise.all(answering);
  }
});
