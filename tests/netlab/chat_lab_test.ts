// altnet chat across real NATs: a relay on the lab's "internet", two peers
// behind Linux routers doing MASQUERADE, real conntrack, real iptables.
// Needs root, iproute2 and iptables (.ci/run installs them).
import assert from "node:assert/strict";
import { collectJsonLines, type JsonLines } from "../json_lines_for_testing.ts";
import { createLab, denoCommand, type Lab, type NatType } from "./lab.ts";
import { labTest } from "./lab_gate.ts";

const MAIN = new URL("../../main.ts", import.meta.url);
const RELAY_PORT = 8000;

interface ChatPeer {
  child: Deno.ChildProcess;
  out: JsonLines;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  home: string;
}

async function startChat(
  lab: Lab,
  ns: string,
  name: string,
  peer: string,
): Promise<ChatPeer> {
  const home = await Deno.makeTempDir({ prefix: `altnet-lab-${name}-` });
  const child = lab.spawn(
    ns,
    denoCommand(MAIN, [
      "chat",
      name,
      "9000",
      peer,
      "--relay",
      `${lab.relay.address}:${RELAY_PORT}`,
      "--json",
    ]),
    {
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { XDG_CONFIG_HOME: home },
    },
  );
  return {
    child,
    out: collectJsonLines(child),
    writer: child.stdin.getWriter(),
    home,
  };
}

async function world(natA: NatType, natB: NatType) {
  const lab = await createLab({ sites: [{ nat: natA }, { nat: natB }] });
  const relayHome = await Deno.makeTempDir({ prefix: "altnet-lab-relay-" });
  const relay = lab.spawn(
    lab.relay.ns,
    denoCommand(MAIN, ["relay", "--port", String(RELAY_PORT), "--json"]),
    { stdout: "piped", stderr: "piped", env: { XDG_CONFIG_HOME: relayHome } },
  );
  const relayOut = collectJsonLines(relay);
  await relayOut.waitFor((e) => e.event === "ready");
  const alice = await startChat(lab, lab.sites[0].peers[0].ns, "alice", "bob");
  const bob = await startChat(lab, lab.sites[1].peers[0].ns, "bob", "alice");
  const close = async () => {
    for (const p of [alice, bob]) {
      await p.writer.close().catch(() => {});
    }
    await lab.teardown();
    for (const dir of [relayHome, alice.home, bob.home]) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  };
  return { lab, alice, bob, close };
}

const say = (peer: ChatPeer, lines: string[]) =>
  peer.writer.write(
    new TextEncoder().encode(lines.map((l) => l + "\n").join("")),
  );

const messages = (peer: ChatPeer) =>
  peer.out.events.filter((e) => e.event === "message").map((e) => e.text);

async function waitForMessages(peer: ChatPeer, count: number, ms = 20_000) {
  await peer.out.waitFor(() => messages(peer).length >= count, ms);
}

labTest(
  "cone to cone: the chat goes direct and every message arrives once, in order",
  async () => {
    const w = await world("cone", "cone");
    try {
      const first = Array.from({ length: 20 }, (_, i) => `a${i}`);
      await say(w.alice, first);
      await waitForMessages(w.bob, 20);
      assert.deepEqual(messages(w.bob), first);
      await w.alice.out.waitFor(
        (e) => e.event === "path" && e.via === "direct",
        15_000,
      );
      await w.bob.out.waitFor(
        (e) => e.event === "path" && e.via === "direct",
        15_000,
      );
      const second = Array.from({ length: 20 }, (_, i) => `b${i}`);
      await say(w.bob, second);
      await waitForMessages(w.alice, 20);
      assert.deepEqual(messages(w.alice), second);
    } finally {
      await w.close();
    }
  },
);

labTest(
  "cone to cone: cutting the direct path mid-chat falls back to the relay, losing nothing",
  async () => {
    const w = await world("cone", "cone");
    try {
      await say(w.alice, ["hello"]);
      await waitForMessages(w.bob, 1);
      await w.alice.out.waitFor(
        (e) => e.event === "path" && e.via === "direct",
        15_000,
      );
      // Drop everything between the two sites on the internet router; the
      // relay stays reachable.
      const [a, b] = w.lab.sites.map((s) => s.nat.publicAddress);
      for (const [src, dst] of [[a, b], [b, a]]) {
        const r = await w.lab.run(w.lab.internet.ns, [
          "iptables",
          "-I",
          "FORWARD",
          "-s",
          src,
          "-d",
          dst,
          "-j",
          "DROP",
        ]);
        assert.equal(r.code, 0, r.stderr);
      }
      const cutAt = Date.now();
      const during = Array.from({ length: 30 }, (_, i) => `during ${i}`);
      await say(w.alice, during);
      await w.alice.out.waitFor(
        (e) =>
          e.event === "path" && e.via === "relay" &&
          e.reason !== "the session starts over the relay while punching",
        15_000,
      );
      const fallbackMs = Date.now() - cutAt;
      await waitForMessages(w.bob, 31, 30_000);
      assert.deepEqual(messages(w.bob), ["hello", ...during]);
      assert.ok(fallbackMs < 8_000, `fell back after ${fallbackMs} ms`);
    } finally {
      await w.close();
    }
  },
);

labTest(
  "symmetric to symmetric: the chat stays relayed and delivers everything",
  async () => {
    const w = await world("symmetric", "symmetric");
    try {
      const lines = Array.from({ length: 10 }, (_, i) => `s${i}`);
      await say(w.alice, lines);
      await waitForMessages(w.bob, 10);
      assert.deepEqual(messages(w.bob), lines);
      // A full punching round (5 s) passes without a direct path.
      await new Promise((r) => setTimeout(r, 7_000));
      assert.equal(
        w.alice.out.events.some((e) =>
          e.event === "path" && e.via === "direct"
        ),
        false,
      );
      await say(w.bob, ["reply"]);
      await waitForMessages(w.alice, 1);
      assert.deepEqual(messages(w.alice), ["reply"]);
    } finally {
      await w.close();
    }
  },
);
