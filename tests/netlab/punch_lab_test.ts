// `altnet punch` must explain each lab network correctly: the NAT's mapping
// and filtering from STUN, and whether and why the peers went direct.
import assert from "node:assert/strict";
import { collectJsonLines } from "../json_lines_for_testing.ts";
import { createLab, denoCommand, type NatType } from "./lab.ts";
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
    const relay = lab.spawn(
      lab.relay.ns,
      denoCommand(MAIN, [
        "relay",
        "--port",
        "8000",
        "--stun-port",
        "8001",
        "--public-address",
        lab.relay.address,
        "--json",
      ]),
      {
        stdout: "piped",
        stderr: "null",
        env: { XDG_CONFIG_HOME: await home() },
      },
    );
    await collectJsonLines(relay).waitFor((e) => e.event === "ready");
    const run = async (ns: string, name: string, peer: string) => {
      const result = await lab.run(
        ns,
        denoCommand(MAIN, [
          "punch",
          name,
          "9000",
          peer,
          "--relay",
          `${lab.relay.address}:8000`,
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
      assert.match(report.reasons.join(" "), /symmetric/);
    }
  },
);

labTest(
  "punch on a bare Linux router sees endpoint-independent mapping",
  async () => {
    const { a } = await punchPair("bare", "cone");
    assert.equal(a.nat.mapping, "endpoint-independent");
    assert.equal(a.nat.behindNat, true);
  },
);
