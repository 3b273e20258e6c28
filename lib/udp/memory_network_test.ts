import assert from "node:assert/strict";
import type { Endpoint } from "../wire/mod.ts";
import type { DatagramSocket } from "./datagram_socket.ts";
import {
  createMemoryNetwork,
  MAX_DATAGRAM_SIZE,
  type NetworkStats,
  type PacketEvent,
} from "./memory_network.ts";
import { realScheduler, VirtualScheduler } from "./scheduler.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

/** Reads datagrams into `got` until the socket closes. */
function collect(socket: DatagramSocket) {
  const got: { at: number; data: Uint8Array; from: Endpoint }[] = [];
  return {
    got,
    start(clock: { now(): number }) {
      return (async () => {
        for (let d; (d = await socket.receive()) !== undefined;) {
          got.push({ at: clock.now(), data: d.data, from: d.from });
        }
      })();
    },
  };
}

function totalDropped(stats: NetworkStats): number {
  return Object.values(stats.dropped).reduce((a, b) => a + b, 0);
}

Deno.test("a datagram arrives after the links' delays add up", async () => {
  const network = createMemoryNetwork();
  const clock = network.scheduler;
  network.setLink({ delayMs: 20 });
  const alice = network.addHost("192.0.2.1");
  alice.setLink({ delayMs: 5 }, { direction: "outbound" });
  const a = await alice.openSocket(1000);
  const b = await network.addHost("192.0.2.2").openSocket(2000);
  const reader = collect(b);
  const loop = reader.start(clock);
  await a.send(bytes(1, 2, 3), b.local);
  await clock.advance(24);
  assert.equal(reader.got.length, 0);
  assert.equal(network.stats.inFlight, 1);
  await clock.advance(1);
  assert.equal(reader.got.length, 1);
  assert.equal(reader.got[0].at, 25);
  assert.deepEqual(reader.got[0].data, bytes(1, 2, 3));
  assert.deepEqual(reader.got[0].from, { address: "192.0.2.1", port: 1000 });
  b.close();
  await loop;
});

Deno.test("the sender may reuse its buffer at once and receivers get copies", async () => {
  const network = createMemoryNetwork();
  network.setLink({ duplicate: 1 });
  const a = await network.addHost("192.0.2.1").openSocket(1000);
  const b = await network.addHost("192.0.2.2").openSocket(2000);
  const buffer = bytes(7);
  await a.send(buffer, b.local);
  buffer[0] = 9;
  await network.scheduler.runAll();
  const first = await b.receive(), second = await b.receive();
  first!.data[0] = 0;
  assert.deepEqual(second!.data, bytes(7));
});

Deno.test("an async echo loop runs the same way every time", async () => {
  async function run(seed: number) {
    const network = createMemoryNetwork({ seed });
    const clock = network.scheduler;
    network.setLink({ delayMs: 10, jitterMs: 30, loss: 0.1 });
    const client = await network.addHost("192.0.2.1").openSocket(0);
    const server = await network.addHost("192.0.2.2").openSocket(7);
    const trace: string[] = [];
    // An echo server with a few awaits per datagram, as real drivers have.
    const serving = (async () => {
      for (let d; (d = await server.receive()) !== undefined;) {
        await Promise.resolve();
        await server.send(d.data, d.from);
      }
    })();
    const receiving = (async () => {
      for (let d; (d = await client.receive()) !== undefined;) {
        trace.push(`echo ${d.data[0]} at ${clock.now().toFixed(3)}`);
      }
    })();
    for (let i = 0; i < 20; i++) {
      clock.setTimer(i * 5, () => void client.send(bytes(i), server.local));
    }
    await clock.runAll();
    client.close();
    server.close();
    await Promise.all([serving, receiving]);
    return { trace, stats: network.stats };
  }
  const first = await run(3);
  assert.deepEqual(await run(3), first);
  assert.notDeepEqual((await run(4)).trace, first.trace);
  // Each request that got through was echoed; every packet is accounted for.
  const { stats } = first;
  assert.equal(stats.inFlight, 0);
  assert.ok(stats.sent > 20);
  assert.equal(stats.sent, stats.delivered + stats.dropped.loss);
  assert.ok(first.trace.length > 5 && first.trace.length < 20);
});

Deno.test("loss drops about the given share of packets", async () => {
  const network = createMemoryNetwork({ seed: 11 });
  network.setLink({ loss: 0.1 });
  const a = await network.addHost("192.0.2.1").openSocket(1000);
  const b = await network.addHost("192.0.2.2").openSocket(2000);
  const n = 10_000;
  let received = 0;
  const loop = (async () => {
    while (await b.receive()) received++;
  })();
  for (let i = 0; i < n; i++) await a.send(bytes(1), b.local);
  await network.scheduler.runAll();
  const { dropped, delivered, sent } = network.stats;
  assert.equal(sent, n);
  assert.equal(delivered + dropped.loss, n);
  // Binomial(10 000, 0.1): mean 1000, σ = 30; allow 4σ.
  assert.ok(Math.abs(dropped.loss - 1000) < 120, `${dropped.loss}`);
  b.close();
  await loop;
  assert.equal(received, delivered);
});

Deno.test("duplication delivers some packets twice", async () => {
  const network = createMemoryNetwork({ seed: 5 });
  network.setLink({ duplicate: 0.2 });
  const a = await network.addHost("192.0.2.1").openSocket(1000);
  const b = await network.addHost("192.0.2.2").openSocket(2000);
  const n = 1000;
  for (let i = 0; i < n; i++) await a.send(bytes(i & 0xff), b.local);
  await network.scheduler.runAll();
  const stats = network.stats;
  assert.equal(stats.delivered, n + stats.duplicated);
  // Binomial(1000, 0.2): mean 200, σ ≈ 12.6; allow 4σ.
  assert.ok(Math.abs(stats.duplicated - 200) < 51, `${stats.duplicated}`);
});

Deno.test("jitter wider than the spacing reorders packets, no jitter keeps their order", async () => {
  async function arrivalOrder(jitterMs: number) {
    const network = createMemoryNetwork({ seed: 9 });
    const clock = network.scheduler;
    network.setLink({ delayMs: 50, jitterMs });
    const a = await network.addHost("192.0.2.1").openSocket(1000);
    const b = await network.addHost("192.0.2.2").openSocket(2000);
    for (let i = 0; i < 50; i++) {
      clock.setTimer(i, () => void a.send(bytes(i), b.local));
    }
    await clock.runAll();
    const order: number[] = [];
    for (let i = 0; i < 50; i++) order.push((await b.receive())!.data[0]);
    return order;
  }
  const inOrder = Array.from({ length: 50 }, (_, i) => i);
  assert.deepEqual(await arrivalOrder(0), inOrder);
  const jittered = await arrivalOrder(20);
  assert.notDeepEqual(jittered, inOrder);
  assert.deepEqual([...jittered].sort((x, y) => x - y), inOrder);
});

Deno.test("a slow link spaces packets out and drops what its queue cannot hold", async () => {
  const network = createMemoryNetwork();
  const clock = network.scheduler;
  const sender = network.addHost("192.0.2.1");
  sender.setLink({ bandwidthBytesPerSecond: 10_000, queueBytes: 3000 }, {
    direction: "outbound",
  });
  const a = await sender.openSocket(1000);
  const b = await network.addHost("192.0.2.2").openSocket(2000);
  const reader = collect(b);
  const loop = reader.start(clock);
  // 1000 bytes take 100 ms to send; the fourth finds 3000 unsent ahead.
  for (let i = 0; i < 4; i++) await a.send(new Uint8Array(1000), b.local);
  await clock.runAll();
  assert.deepEqual(reader.got.map((d) => d.at), [100, 200, 300]);
  assert.equal(network.stats.dropped["queue-full"], 1);
  b.close();
  await loop;
});

Deno.test("sending to an address nobody holds or a closed port is counted", async () => {
  const events: PacketEvent[] = [];
  const network = createMemoryNetwork({ trace: (e) => events.push(e) });
  const host = network.addHost("192.0.2.1");
  const a = await host.openSocket(1000);
  await a.send(bytes(1), { address: "198.51.100.99", port: 9 });
  await a.send(bytes(1), { address: "192.0.2.1", port: 9 });
  await network.scheduler.runAll();
  const stats = network.stats;
  assert.equal(stats.dropped["no-route"], 1);
  assert.equal(stats.dropped["port-unreachable"], 1);
  assert.equal(stats.sent, 2);
  assert.equal(totalDropped(stats), 2);
  assert.deepEqual(events.map((e) => e.kind), ["no-route", "port-unreachable"]);
  network.resetStats();
  assert.equal(network.stats.sent, 0);
});

Deno.test("a full receive buffer drops further datagrams", async () => {
  const network = createMemoryNetwork({ receiveBufferDatagrams: 3 });
  const a = await network.addHost("192.0.2.1").openSocket(1000);
  const b = await network.addHost("192.0.2.2").openSocket(2000);
  for (let i = 0; i < 5; i++) await a.send(bytes(i), b.local);
  await network.scheduler.runAll();
  assert.equal(network.stats.delivered, 3);
  assert.equal(network.stats.dropped["receive-buffer-full"], 2);
});

Deno.test("datagrams over 65507 bytes are rejected, 65507 is carried", async () => {
  const network = createMemoryNetwork();
  const a = await network.addHost("192.0.2.1").openSocket(1000);
  const b = await network.addHost("192.0.2.2").openSocket(2000);
  await assert.rejects(
    () => a.send(new Uint8Array(MAX_DATAGRAM_SIZE + 1), b.local),
    RangeError,
  );
  await a.send(new Uint8Array(MAX_DATAGRAM_SIZE), b.local);
  await network.scheduler.runAll();
  assert.equal((await b.receive())!.data.length, MAX_DATAGRAM_SIZE);
  assert.equal(network.stats.sent, 1);
  await assert.rejects(
    () => a.send(bytes(1), { address: "nope", port: 1 }),
    TypeError,
  );
  await assert.rejects(
    () => a.send(bytes(1), { address: "192.0.2.2", port: 0 }),
    RangeError,
  );
});

Deno.test("sockets bind ports like real ones and close like real ones", async () => {
  const network = createMemoryNetwork();
  const host = network.addHost("2001:DB8::1");
  assert.equal(host.address, "2001:db8::1");
  const a = await host.openSocket(4000);
  await assert.rejects(() => host.openSocket(4000), Deno.errors.AddrInUse);
  await assert.rejects(() => host.openSocket(70000), RangeError);
  const ephemeral = await host.openSocket();
  assert.ok(ephemeral.local.port >= 49152, `${ephemeral.local.port}`);
  const pending = a.receive();
  a.close();
  assert.equal(await pending, undefined);
  assert.equal(await a.receive(), undefined);
  await a.send(bytes(1), ephemeral.local); // swallowed, like the real socket
  assert.equal(network.stats.sent, 0);
  const again = await host.openSocket(4000);
  assert.deepEqual(again.local, { address: "2001:db8::1", port: 4000 });
  assert.throws(() => network.addHost("2001:db8::1"), TypeError);
});

Deno.test("a datagram in flight to a socket closed meanwhile is port-unreachable", async () => {
  const network = createMemoryNetwork();
  network.setLink({ delayMs: 10 });
  const a = await network.addHost("192.0.2.1").openSocket(1000);
  const b = await network.addHost("192.0.2.2").openSocket(2000);
  await a.send(bytes(1), b.local);
  b.close();
  await network.scheduler.runAll();
  assert.equal(network.stats.dropped["port-unreachable"], 1);
});

Deno.test("the network can run on a scheduler the test owns", async () => {
  const clock = new VirtualScheduler({ startMs: 100 });
  const network = createMemoryNetwork({ scheduler: clock });
  assert.equal(network.scheduler, clock);
  network.setLink({ delayMs: 3 });
  const a = await network.addHost("192.0.2.1").openSocket(1);
  const b = await network.addHost("192.0.2.2").openSocket(2);
  await a.send(bytes(1), b.local);
  const received = b.receive();
  await clock.runAll();
  assert.ok(await received);
  assert.equal(clock.now(), 103);
});

Deno.test("link settings out of range are refused", () => {
  const network = createMemoryNetwork();
  assert.throws(() => network.setLink({ loss: 1.5 }), RangeError);
  assert.throws(() => network.setLink({ delayMs: -1 }), RangeError);
  const host = network.addHost("192.0.2.1");
  assert.throws(() => host.setLink({ bandwidthBytesPerSecond: 0 }), RangeError);
});

Deno.test("the network also runs in real time on the real scheduler", async () => {
  const network = createMemoryNetwork({ scheduler: realScheduler });
  network.setLink({ delayMs: 2 });
  const a = await network.addHost("192.0.2.1").openSocket(1);
  const b = await network.addHost("192.0.2.2").openSocket(2);
  const start = performance.now();
  await a.send(bytes(5), b.local);
  const got = await b.receive();
  assert.deepEqual(got?.data, bytes(5));
  assert.ok(performance.now() - start >= 1.5);
});
