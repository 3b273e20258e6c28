// altnet chat across real NATs: a relay on the lab's "internet", two peers
// behind Linux routers doing MASQUERADE, real conntrack, real iptables.
// Needs root, iproute2 and iptables (.ci/run installs them).
import assert from "node:assert/strict";
import { createLab, type NatType } from "./lab.ts";
import {
  closeLabChats,
  messages,
  say,
  startLabChat,
  startLabRelay,
  waitForMessages,
} from "./lab_chat.ts";
import { labTest } from "./lab_gate.ts";

async function world(natA: NatType, natB: NatType) {
  const lab = await createLab({ sites: [{ nat: natA }, { nat: natB }] });
  const relay = await startLabRelay(lab);
  const alice = await startLabChat(lab, lab.sites[0].peers[0].ns, {
    name: "alice",
    peer: "bob",
    relay: relay.at,
  });
  const bob = await startLabChat(lab, lab.sites[1].peers[0].ns, {
    name: "bob",
    peer: "alice",
    relay: relay.at,
  });
  const close = () => closeLabChats(lab, [alice, bob, relay]);
  return { lab, alice, bob, close };
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
