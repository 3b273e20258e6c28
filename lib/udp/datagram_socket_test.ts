import assert from "node:assert/strict";
import { openUdpSocket } from "./datagram_socket.ts";

Deno.test("two real UDP sockets on loopback exchange datagrams", async () => {
  const a = await openUdpSocket({ hostname: "127.0.0.1", port: 0 });
  const b = await openUdpSocket({ hostname: "127.0.0.1", port: 0 });
  try {
    assert.equal(a.local.address, "127.0.0.1");
    assert.ok(a.local.port > 0);
    await a.send(new Uint8Array([1, 2, 3]), b.local);
    const got = await b.receive();
    assert.deepEqual(got?.data, new Uint8Array([1, 2, 3]));
    assert.deepEqual(got?.from, a.local);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("closing a socket ends a pending receive with undefined", async () => {
  const a = await openUdpSocket({ hostname: "127.0.0.1", port: 0 });
  const pending = a.receive();
  a.close();
  assert.equal(await pending, undefined);
});
