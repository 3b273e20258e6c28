import assert from "node:assert/strict";
import type { Datagram } from "./datagram_socket.ts";
import { type NodeUdpSocket, openNodeUdpSocket } from "./node_udp_socket.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

const loopback = () => openNodeUdpSocket({ hostname: "127.0.0.1", port: 0 });

/** Reads `count` datagrams, failing after `ms`. */
async function receiveSome(
  socket: NodeUdpSocket,
  count: number,
  ms = 2000,
): Promise<Datagram[]> {
  const got: Datagram[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${got.length} of ${count}`)),
      ms,
    );
  });
  try {
    while (got.length < count) {
      const datagram = await Promise.race([socket.receive(), timeout]);
      assert.ok(datagram, "the socket closed early");
      got.push(datagram);
    }
  } finally {
    clearTimeout(timer);
  }
  return got;
}

Deno.test("two node:dgram sockets on loopback exchange datagrams", async () => {
  const a = await loopback();
  const b = await loopback();
  try {
    assert.equal(a.local.address, "127.0.0.1");
    assert.ok(a.local.port > 0);
    assert.equal(a.supportsTtl, true);
    await a.send(bytes(1, 2, 3), b.local);
    await b.send(bytes(4), a.local);
    const [got] = await receiveSome(b, 1);
    assert.deepEqual(got.data, bytes(1, 2, 3));
    assert.deepEqual(got.from, a.local);
    // A copy of its own size, not a view into a 64 KiB read buffer.
    assert.equal(got.data.buffer.byteLength, 3);
    assert.deepEqual((await receiveSome(a, 1))[0].data, bytes(4));
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("closing a node:dgram socket ends receives and swallows sends", async () => {
  const a = await loopback();
  const b = await loopback();
  await b.send(bytes(1), a.local);
  await b.send(bytes(2), a.local);
  assert.deepEqual((await receiveSome(a, 1))[0].data, bytes(1));
  const pending = [a.receive(), a.receive()];
  a.close();
  a.close();
  // The second is either the queued datagram or, once closed, undefined.
  const [first, second] = await Promise.all(pending);
  assert.ok(first === undefined || first.data[0] === 2);
  assert.equal(second, undefined);
  assert.equal(await a.receive(), undefined);
  await a.send(bytes(3), b.local);
  await a.send(bytes(3), b.local, { ttl: 1 });
  b.close();
});

Deno.test("a datagram with a TTL is delivered on loopback", async () => {
  const a = await loopback();
  const b = await loopback();
  try {
    await a.send(bytes(1), b.local, { ttl: 1 });
    await a.send(bytes(2), b.local);
    await a.send(bytes(3), b.local, { ttl: 255 });
    const got = await receiveSome(b, 3);
    assert.deepEqual(got.map((d) => d.data[0]), [1, 2, 3]);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("sends around one with a TTL keep their order", async () => {
  const a = await loopback();
  const b = await loopback();
  try {
    // Issued together: the TTL'd one waits for the first, the rest wait
    // for it, so none of them can go out with its TTL.
    const sends = [
      a.send(bytes(0), b.local),
      a.send(bytes(1), b.local, { ttl: 2 }),
      a.send(bytes(2), b.local),
      a.send(bytes(3), b.local),
      a.send(bytes(4), b.local, { ttl: 3 }),
      a.send(bytes(5), b.local),
    ];
    await Promise.all(sends);
    const order = (await receiveSome(b, 6)).map((d) => d.data[0]);
    const at = (value: number) => order.indexOf(value);
    assert.ok(at(0) < at(1), order.join());
    assert.ok(at(1) < at(2) && at(1) < at(3), order.join());
    assert.ok(at(2) < at(4) && at(3) < at(4), order.join());
    assert.ok(at(4) < at(5), order.join());
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("a deferred send goes out with the bytes it was given", async () => {
  const a = await loopback();
  const b = await loopback();
  try {
    const buffer = bytes(7);
    const sends = [
      a.send(bytes(1), b.local, { ttl: 2 }),
      a.send(buffer, b.local),
    ];
    buffer[0] = 9;
    await Promise.all(sends);
    assert.deepEqual((await receiveSome(b, 2))[1].data, bytes(7));
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("a TTL outside 1–255 is refused", async () => {
  const a = await loopback();
  try {
    for (const ttl of [0, 256, 1.5, NaN]) {
      await assert.rejects(
        () => a.send(bytes(1), a.local, { ttl }),
        RangeError,
      );
    }
  } finally {
    a.close();
  }
});

Deno.test("an unreachable port does not stop node:dgram receiving", async () => {
  const a = await loopback();
  const b = await loopback();
  const gone = await loopback();
  const closedPort = gone.local;
  gone.close();
  try {
    // Each provokes an ICMP port unreachable back to `a`.
    await a.send(bytes(1), closedPort);
    await a.send(bytes(1), closedPort, { ttl: 4 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await b.send(bytes(2), a.local);
    assert.deepEqual((await receiveSome(a, 1))[0].data, bytes(2));
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("a full receive queue drops and counts further datagrams", async () => {
  const a = await openNodeUdpSocket({
    hostname: "127.0.0.1",
    port: 0,
    receiveQueueDatagrams: 4,
  });
  const b = await loopback();
  try {
    for (let i = 0; i < 10; i++) await b.send(bytes(i), a.local);
    const deadline = Date.now() + 2000;
    while (a.receiveQueueDrops < 6 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(a.receiveQueueDrops, 6);
    assert.equal((await receiveSome(a, 4)).length, 4);
    // Room again: the next one is kept.
    await b.send(bytes(42), a.local);
    assert.deepEqual((await receiveSome(a, 1))[0].data, bytes(42));
  } finally {
    a.close();
    b.close();
  }
  await assert.rejects(
    () =>
      openNodeUdpSocket({
        hostname: "127.0.0.1",
        port: 0,
        receiveQueueDatagrams: 0,
      }),
    RangeError,
  );
});

Deno.test("a taken port is refused as AddrInUse", async () => {
  const a = await loopback();
  try {
    await assert.rejects(
      () => openNodeUdpSocket({ hostname: "127.0.0.1", port: a.local.port }),
      Deno.errors.AddrInUse,
    );
  } finally {
    a.close();
  }
});

Deno.test("IPv6 node:dgram sockets work and report no TTL support", async (t) => {
  let a: NodeUdpSocket;
  try {
    a = await openNodeUdpSocket({ hostname: "::", port: 0 });
  } catch (error) {
    console.warn(`IPv6 test skipped: no IPv6 here (${error})`);
    return;
  }
  const v4 = await loopback();
  try {
    assert.equal(a.supportsTtl, false);
    await t.step("to ::1", async () => {
      const b = await openNodeUdpSocket({ hostname: "::1", port: 0 });
      try {
        assert.equal(b.local.address, "::1");
        await b.send(bytes(6), { address: "::1", port: a.local.port });
        const [got] = await receiveSome(a, 1);
        assert.deepEqual(got.from, b.local);
        // The option is ignored, not refused.
        await a.send(bytes(1), b.local, { ttl: 2 });
        assert.deepEqual((await receiveSome(b, 1))[0].data, bytes(1));
      } finally {
        b.close();
      }
    });
    await t.step("dual-stack, IPv4 addresses normalized", async () => {
      await v4.send(bytes(4), { address: "127.0.0.1", port: a.local.port });
      const [got] = await receiveSome(a, 1);
      assert.deepEqual(got.from, v4.local);
      await a.send(bytes(5), v4.local);
      assert.deepEqual((await receiveSome(v4, 1))[0].data, bytes(5));
    });
  } finally {
    a.close();
    v4.close();
  }
});
