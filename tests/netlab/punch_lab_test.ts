// `altnet punch` must explain each lab network correctly: the NAT's mapping
// and filtering from STUN, and whether and why the peers went direct.
import assert from "node:assert/strict";
import { createLab, denoCommand, type NatType } from "./lab.ts";
import { startLabRelay } from "./lab_chat.ts";
import { labTest } from "./lab_gate.ts";

const MAIN = new URL("../../main.ts", import.meta.url);

async function punchPair(natA: NatType, natB: NatType) {
  const lab = await createLab({ sites: [{ nat: natA }, { nat: natB }] });
  const homes: string[] = [];
  const home = async () => {
    const dir = await Deno.makeTempDir({ prefix: "altnet-punch-" });
    homes.push(dir);
    return dir;
  };
  try {
    const relay = await startLabRelay(lab, { stun: true });
    homes.push(relay.home);
    const run = async (ns: string, name: string, peer: string) => {
      const result = await lab.run(
        ns,
        denoCommand(MAIN, [
          "punch",
          name,
          "9000",
          peer,
          "--relay",
          relay.at,
          "--json",
        ]),
        { env: { XDG_CONFIG_HOME: await home() } },
      );
      const done = result.stdout.trim().split("\n").map((l) => JSON.parse(l))
        .find((e) => e.event === "done");
      assert.ok(done, `no report: ${result.stderr}`);
      return done;
    };
    const [a, b] = await Promise.all([
      run(lab.sites[0].peers[0].ns, "alice", "bob"),
      run(lab.sites[1].peers[0].ns, "bob", "alice"),
    ]);
    return { a, b, lab };
  } finally {
    await lab.teardown();
    for (const dir of homes) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
}

labTest("punch classifies cone NATs and reports a direct path", async () => {
  const { a, b, lab } = await punchPair("cone", "cone");
  for (const [report, site] of [[a, 0], [b, 1]] as const) {
    assert.equal(report.nat.behindNat, true);
    assert.equal(report.nat.public.address, lab.sites[site].nat.publicAddress);
    assert.equal(report.nat.mapping, "endpoint-independent");
    assert.equal(report.nat.filtering, "address-and-port-dependent");
    assert.equal(report.verdict, "direct", JSON.stringify(report));
    assert.ok(report.peer.candidates.some((c: { acks: number }) => c.acks > 0));
  }
});

labTest(
  "punch classifies symmetric NATs and says why it stays relayed",
  async () => {
    const { a, b } = await punchPair("symmetric", "symmetric");
    for (const report of [a, b]) {
      assert.equal(report.nat.mapping, "endpoint-dependent");
      assert.equal(report.verdict, "relayed");
      assert.ok(report.peer.established, "still connected through the relay");
      assert.equal(report.peer.mapping, "endpoint-dependent");
      assert.match(report.reasons.join(" "), /both NATs are symmetric/);
      // Neither side can be the easy one: no birthday round starts.
      assert.equal(report.peer.birthday.rounds, 0);
    }
  },
);

labTest(
  "punch through cone to symmetric: birthday probing, easy and hard side, direct",
  async () => {
    const { a, b } = await punchPair("cone", "symmetric");
    const sides = [
      [a, "easy", "endpoint-independent", "endpoint-dependent"],
      [b, "hard", "endpoint-dependent", "endpoint-independent"],
    ] as const;
    for (const [report, role, mine, theirs] of sides) {
      const text = JSON.stringify(report);
      assert.equal(report.nat.mapping, mine, text);
      assert.equal(report.peer.mapping, theirs, text);
      assert.equal(report.verdict, "direct", text);
      assert.equal(report.peer.birthday.role, role, text);
      assert.ok(report.peer.birthday.rounds >= 1, text);
      assert.equal(report.peer.lowTtlOpening, true, text);
    }
    // The hard side's socket that the spray hit carries the path.
    assert.equal(b.peer.birthday.succeeded, true);
    assert.match(b.peer.technique, /birthday/);
    assert.ok(b.peer.birthday.socketsOpened > 0);
    assert.ok(a.peer.birthday.probesSent > 0);
  },
);

labTest(
  "punch between bare Linux routers: endpoint-independent mapping, direct after low-TTL openers",
  async () => {
    const { a, b } = await punchPair("bare", "bare");
    for (const report of [a, b]) {
      const text = JSON.stringify(report);
      assert.equal(report.nat.mapping, "endpoint-independent", text);
      assert.equal(report.nat.behindNat, true, text);
      assert.equal(report.peer.lowTtlOpening, true, text);
      assert.equal(report.verdict, "direct", text);
    }
  },
);
