// A real relay process on loopback, driven by real UDP sockets.
import assert from "node:assert/strict";
import { DH_25519 } from "../lib/crypto/noise/mod.ts";
import {
  RelayClient,
  type RelayClientEvent,
} from "../lib/peer/relay_client.ts";
import { type DatagramSocket, openUdpSocket } from "../lib/udp/mod.ts";
import { ReasonCode } from "../lib/wire/mod.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function startRelay(extra: string[] = []) {
  const home = await Deno.makeTempDir({ prefix: "altnet-relay-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-all",
      MAIN,
      "relay",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--json",
      ...extra,
    ],
    env: { XDG_CONFIG_HOME: home, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const events: Record<string, unknown>[] = [];
  const next = async (type: string) => {
    for (;;) {
      const found = events.find((e) => e.event === type);
      if (found) return found;
      const { value, done } = await lines.read();
      if (done) throw new Error(`Relay exited before ${type}`);
      buffer += value;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      for (const line of parts) if (line) events.push(JSON.parse(line));
    }
  };
  const ready = await next("ready");
  return { child, ready, next, events, home };
}

/** A RelayClient on a real socket, pumping until `until` sees its event. */
class LivePeer {
  readonly events: RelayClientEvent[] = [];
  constructor(readonly client: RelayClient, readonly socket: DatagramSocket) {
    void this.#loop();
  }
  async #loop() {
    for (;;) {
      const datagram = await this.socket.receive();
      if (!datagram) return;
      this.client.receive(datagram.data);
      await this.flush();
    }
  }
  async flush() {
    for (let out; (out = this.client.pollTransmit());) {
      await this.socket.send(out.data, out.to);
    }
    for (let e; (e = this.client.pollEvent());) this.events.push(e);
  }
  async waitFor<T extends RelayClientEvent["type"]>(type: T, ms = 5000) {
    const deadline = performance.now() + ms;
    while (performance.now() < deadline) {
      await this.flush();
      const found = this.events.find((e) => e.type === type);
      if (found) return found as Extract<RelayClientEvent, { type: T }>;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(
      `No ${type} event within ${ms} ms: ${
        JSON.stringify(this.events, (_, v) =>
          typeof v === "bigint" ? v.toString() : v)
      }`,
    );
  }
}

async function livePeer(name: string, relayPort: number) {
  const socket = await openUdpSocket({ hostname: "127.0.0.1", port: 0 });
  const client = new RelayClient({
    staticKeyPair: DH_25519.generateKeyPair(),
    relay: { address: "127.0.0.1", port: relayPort },
    name,
  });
  const peer = new LivePeer(client, socket);
  client.start();
  await peer.flush();
  return peer;
}

Deno.test("a relay process registers peers, forwards between them and stops cleanly", async () => {
  const relay = await startRelay(["--metrics-port", "0"]);
  const port = relay.ready.port as number;
  const alice = await livePeer("alice", port);
  const bob = await livePeer("bob", port);
  try {
    const registered = await alice.waitFor("registered");
    assert.equal(registered.observed.address, "127.0.0.1");
    assert.equal(registered.relayKey.toBase64(), relay.ready.key);
    await bob.waitFor("registered");

    alice.client.connect("bob");
    const rendezvous = await alice.waitFor("rendezvous");
    await bob.waitFor("rendezvous");
    alice.client.forward(
      rendezvous.circuitId,
      new TextEncoder().encode("ciphertext for bob"),
    );
    await alice.flush();
    const forwarded = await bob.waitFor("forwarded");
    assert.equal(
      new TextDecoder().decode(forwarded.packet),
      "ciphertext for bob",
    );

    alice.client.connect("nobody");
    const refused = await alice.waitFor("refused");
    assert.equal(refused.reason, ReasonCode.PEER_NOT_FOUND);

    const metrics = await fetch(
      `http://127.0.0.1:${relay.ready.metricsPort}/metrics`,
    );
    const text = await metrics.text();
    assert.match(text, /^altnet_relay_peers 2$/m);
    assert.match(text, /^altnet_relay_circuits 1$/m);
    assert.match(text, /^altnet_relay_relayed_bytes_total 18$/m);
    const missing = await fetch(
      `http://127.0.0.1:${relay.ready.metricsPort}/nope`,
    );
    assert.equal(missing.status, 404);
    await missing.body?.cancel();

    relay.child.kill("SIGTERM");
    // Peers with circuits are told the relay is going away.
    const closed = await alice.waitFor("circuit-closed");
    assert.equal(closed.reason, ReasonCode.SHUTTING_DOWN);
    const status = await relay.child.status;
    assert.equal(status.code, 0);
    await relay.next("done");
    // No peer address ever appears in the relay's default log.
    const stderr = await new Response(relay.child.stderr).text();
    const log = JSON.stringify(relay.events) + stderr;
    assert.doesNotMatch(
      log.replace(/"address":"127\.0\.0\.1"/, ""),
      /127\.0\.0\.1:\d+/,
    );
  } finally {
    alice.socket.close();
    bob.socket.close();
    try {
      relay.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await Deno.remove(relay.home, { recursive: true });
  }
});
