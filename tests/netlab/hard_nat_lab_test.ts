// Hard NATs across real Linux routers (PROTOCOL §6.1, §6.2): birthday
// probing through a symmetric NAT, low-TTL opening probes through bare
// routers, a lossy punch that loses no message, and NAT discovery against
// a third-party STUN server (coturn). Needs root, iproute2, iptables and
// coturn (.ci/run installs them).
import assert from "node:assert/strict";
import { createLab, type Lab, type LabSpec, type NatType } from "./lab.ts";
import {
  closeLabChats,
  isDirectPath,
  type LabChat,
  lastPath,
  messages,
  say,
  startLabChat,
  startLabRelay,
  waitForMessages,
} from "./lab_chat.ts";
import { labTest } from "./lab_gate.ts";

/** Two chats, alice behind site 0 and bob behind site 1, and their relay. */
interface ChatPair {
  lab: Lab;
  alice: LabChat;
  bob: LabChat;
  close(): Promise<void>;
}

/**
 * Builds a lab, starts a relay that answers STUN with OTHER-ADDRESS (so
 * both peers learn their mapping from it), then bob, then alice once bob
 * is registered (so alice's first CONNECT finds him).
 */
async function chatPair(
  nats: readonly [NatType, NatType],
  options: { loss?: number } = {},
): Promise<ChatPair> {
  const spec: LabSpec = {
    sites: nats.map((nat) => ({ nat, loss: options.loss })),
  };
  const lab = await createLab(spec);
  const started: { home: string; writer?: LabChat["writer"] }[] = [];
  try {
    const relay = await startLabRelay(lab, { stun: true });
    started.push(relay);
    const bob = await startLabChat(lab, lab.sites[1].peers[0].ns, {
      name: "bob",
      peer: "alice",
      relay: relay.at,
    });
    started.push(bob);
    await bob.out.waitFor((e) => e.event === "registered");
    const alice = await startLabChat(lab, lab.sites[0].peers[0].ns, {
      name: "alice",
      peer: "bob",
      relay: relay.at,
    });
    started.push(alice);
    return { lab, alice, bob, close: () => closeLabChats(lab, started) };
  } catch (error) {
    await closeLabChats(lab, started);
    throw error;
  }
}

/** Waits until both sides report a direct path; false if not within `ms`. */
async function bothDirect(pair: ChatPair, ms: number): Promise<boolean> {
  try {
    await Promise.all([
      pair.alice.out.waitFor(isDirectPath, ms),
      pair.bob.out.waitFor(isDirectPath, ms),
    ]);
    return true;
  } catch {
    return false;
  }
}

/** Every path a chat took, e.g. `relay → direct 203.0.113.11:3880 (…)`. */
const describePath = (chat: LabChat) =>
  chat.out.events.filter((e) => e.event === "path").map((e) =>
    e.via === "direct"
      ? `direct ${e.endpoint} (${e.reason}, ${e.probes} probes)`
      : e.probes
      ? `relay (${e.reason}, ${e.probes} probes)`
      : "relay"
  ).join(" → ");

labTest(
  "cone to symmetric: birthday probing goes direct in at least 9 of 10 runs",
  async () => {
    const RUNS = 10;
    const outcomes: { direct: boolean; birthday: boolean; line: string }[] = [];
    const started = performance.now();
    for (let run = 1; run <= RUNS; run++) {
      const pair = await chatPair(["cone", "symmetric"]);
      try {
        const t0 = performance.now();
        // Discovery, NAT_INFO and one spray of at most 1024 probes at 500/s
        // take about 3 s; a failed round is only retried after 30 s.
        const wentDirect = await bothDirect(pair, 8_000);
        const directMs = performance.now() - t0;
        // Both still direct a moment later, and the path carries messages
        // both ways (bob answers from his one kept birthday socket).
        let direct = false;
        if (wentDirect) {
          await say(pair.alice, [`ping ${run}`]);
          await say(pair.bob, [`pong ${run}`]);
          await waitForMessages(pair.bob, 1, 5_000);
          await waitForMessages(pair.alice, 1, 5_000);
          assert.deepEqual(messages(pair.bob), [`ping ${run}`]);
          assert.deepEqual(messages(pair.alice), [`pong ${run}`]);
          direct = lastPath(pair.alice)?.via === "direct" &&
            lastPath(pair.bob)?.via === "direct";
        }
        // In the lab the hard side always named the birthday hit; the easy
        // side sometimes names the round trip of a plain probe it sent to
        // the socket that was hit.
        const birthday = [pair.alice, pair.bob].some((c) =>
          /birthday/.test(String(lastPath(c)?.reason))
        );
        const line = `run ${run}: ${
          direct ? `direct after ${Math.round(directMs)} ms` : "relayed"
        }; alice ${describePath(pair.alice)}; bob ${describePath(pair.bob)}`;
        console.log(line);
        outcomes.push({ direct, birthday, line });
      } finally {
        await pair.close();
      }
    }
    const direct = outcomes.filter((o) => o.direct).length;
    const birthday = outcomes.filter((o) => o.direct && o.birthday).length;
    console.log(
      `cone to symmetric: ${direct}/${RUNS} direct, ${birthday} by a birthday probe, in ${
        Math.round((performance.now() - started) / 1000)
      } s`,
    );
    assert.ok(
      direct >= 9,
      `only ${direct} of ${RUNS} runs went direct:\n${
        outcomes.map((o) => o.line).join("\n")
      }`,
    );
  },
);

labTest(
  "bare to bare: low-TTL opening probes keep the ports, the chat goes direct",
  async () => {
    const pair = await chatPair(["bare", "bare"]);
    try {
      assert.ok(
        await bothDirect(pair, 8_000),
        `not direct: alice ${describePath(pair.alice)}, bob ${
          describePath(pair.bob)
        }`,
      );
      // The bare routers kept each peer's port: the direct endpoints are
      // the ones the relay observed at registration.
      for (const [chat, site] of [[pair.alice, 1], [pair.bob, 0]] as const) {
        const path = lastPath(chat);
        assert.equal(path?.via, "direct");
        assert.equal(
          path?.endpoint,
          `${pair.lab.sites[site].nat.publicAddress}:9000`,
        );
      }
      await say(pair.alice, ["over the bare routers"]);
      await waitForMessages(pair.bob, 1);
      assert.deepEqual(messages(pair.bob), ["over the bare routers"]);
    } finally {
      await pair.close();
    }
  },
);

labTest(
  "cone to cone at 5 % loss: goes direct and delivers 30 lines once, in order",
  async () => {
    const pair = await chatPair(["cone", "cone"], { loss: 0.05 });
    try {
      // Start while the session is new, so the lines cross the switch from
      // relay to direct path (and every retransmission it causes).
      await pair.alice.out.waitFor((e) => e.event === "peer");
      const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
      for (const line of lines) {
        await say(pair.alice, [line]);
        await new Promise((r) => setTimeout(r, 100));
      }
      await waitForMessages(pair.bob, lines.length, 30_000);
      await pair.alice.out.waitFor(
        () =>
          pair.alice.out.events.filter((e) => e.event === "delivered")
            .length >= lines.length,
        30_000,
      );
      assert.ok(await bothDirect(pair, 10_000), "never went direct");
      // A late duplicate would show up here.
      await new Promise((r) => setTimeout(r, 1_000));
      assert.deepEqual(messages(pair.bob), lines);
      assert.equal(lastPath(pair.alice)?.via, "direct");
      assert.equal(lastPath(pair.bob)?.via, "direct");
    } finally {
      await pair.close();
    }
  },
);

const COTURN_PORT = 3478;

/**
 * Starts coturn's `turnserver` as a plain STUN server (no TURN, no auth,
 * one address so no RFC 5780 CHANGE-REQUEST) on `host`, and waits until it
 * answers a Binding request.
 */
async function startCoturnStun(
  lab: Lab,
  host: { ns: string; address: string },
): Promise<{ dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "altnet-lab-coturn-" });
  lab.spawn(host.ns, [
    "turnserver",
    "--stun-only",
    "--no-auth",
    "--listening-ip",
    host.address,
    "--listening-port",
    String(COTURN_PORT),
    "--no-cli",
    "--no-tls",
    "--no-dtls",
    "--db",
    `${dir}/turndb`,
    "--pidfile",
    `${dir}/turnserver.pid`,
    "--log-file",
    `${dir}/turnserver.log`,
    "--simple-log",
    "--no-stdout-log",
  ], { stdout: "null", stderr: "null" });
  const deadline = Date.now() + 10_000;
  for (;;) {
    // turnutils_stunclient waits forever for an answer: a second each try.
    const probe = await lab.run(lab.relay.ns, [
      "timeout",
      "1",
      "turnutils_stunclient",
      "-p",
      String(COTURN_PORT),
      host.address,
    ]);
    if (probe.code === 0) return { dir };
    if (Date.now() > deadline) {
      throw new Error(`coturn did not answer STUN: ${probe.stderr}`);
    }
  }
}

labTest(
  "--stun against coturn: chat learns endpoint-independent behind cone, endpoint-dependent behind symmetric",
  async () => {
    for (const tool of ["turnserver", "turnutils_stunclient"]) {
      const found = await new Deno.Command("sh", {
        args: ["-c", `command -v ${tool}`],
        stdout: "null",
      }).output();
      assert.ok(
        found.success,
        `${tool} is missing: install the Debian package coturn (apt-get install -y coturn)`,
      );
    }
    const lab = await createLab({
      sites: [{ nat: "cone", peers: 2 }, { nat: "symmetric", peers: 2 }],
      publicHosts: ["stun"],
    });
    const started: { home: string; writer?: LabChat["writer"] }[] = [];
    let coturnDir: string | undefined;
    try {
      ({ dir: coturnDir } = await startCoturnStun(lab, lab.hosts.stun));
      // No --stun-port: the relay's answers carry no OTHER-ADDRESS, so a
      // mapping can only be learned from the second server, coturn.
      const relay = await startLabRelay(lab);
      started.push(relay);
      const stun = ["--stun", `${lab.hosts.stun.address}:${COTURN_PORT}`];
      const chat = async (
        site: number,
        peer: number,
        name: string,
        other: string,
        args: string[],
      ) => {
        const c = await startLabChat(lab, lab.sites[site].peers[peer].ns, {
          name,
          peer: other,
          relay: relay.at,
          args,
        });
        started.push(c);
        return c;
      };
      const nat = (c: LabChat) => c.out.waitFor((e) => e.event === "nat");
      const alice = await chat(0, 0, "alice", "bob", stun);
      const bob = await chat(1, 0, "bob", "alice", stun);
      const aliceNat = await nat(alice);
      assert.equal(aliceNat.mapping, "endpoint-independent");
      assert.equal(aliceNat.public, `${lab.sites[0].nat.publicAddress}:9000`);
      const bobNat = await nat(bob);
      assert.equal(bobNat.mapping, "endpoint-dependent");
      assert.match(
        String(bobNat.public),
        new RegExp(
          `^${lab.sites[1].nat.publicAddress.replaceAll(".", "\\.")}:`,
        ),
      );
      // Their neighbours without --stun, started only now: whichever of
      // two peers of a site reaches the NAT first keeps port 9000.
      const carol = await chat(0, 1, "carol", "dave", []);
      const dave = await chat(1, 1, "dave", "carol", []);
      for (const c of [carol, dave]) {
        assert.equal((await nat(c)).mapping, "unknown");
      }
      // What coturn taught them is enough for birthday probing.
      await alice.out.waitFor(isDirectPath, 10_000);
      await bob.out.waitFor(isDirectPath, 10_000);
      assert.match(String(lastPath(alice)?.reason), /birthday/);
    } finally {
      await closeLabChats(lab, started);
      if (coturnDir) {
        await Deno.remove(coturnDir, { recursive: true }).catch(() => {});
      }
    }
  },
);
