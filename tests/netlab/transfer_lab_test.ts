// altnet send and receive across real NATs: random loss on a site's WAN
// link (iptables -m statistic), and a direct path that is cut and comes
// back mid-transfer. Needs root, iproute2 and iptables (.ci/run installs
// them).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { collectJsonLines, type JsonLines } from "../json_lines_for_testing.ts";
import { createLab, denoCommand, type Lab } from "./lab.ts";
import { labTest } from "./lab_gate.ts";

const MAIN = new URL("../../main.ts", import.meta.url);
const RELAY_PORT = 8000;

interface Side {
  child: Deno.ChildProcess;
  out: JsonLines;
  stderr: Promise<string>;
}

async function world() {
  const lab = await createLab({ sites: [{ nat: "cone" }, { nat: "cone" }] });
  const dir = await Deno.makeTempDir({ prefix: "altnet-lab-transfer-" });
  const spawn = (ns: string, args: string[], home: string): Side => {
    const child = lab.spawn(ns, denoCommand(MAIN, [...args, "--json"]), {
      stdout: "piped",
      stderr: "piped",
      env: { XDG_CONFIG_HOME: join(dir, home) },
    });
    return {
      child,
      out: collectJsonLines(child),
      stderr: new Response(child.stderr).text(),
    };
  };
  const relay = spawn(lab.relay.ns, [
    "relay",
    "--port",
    String(RELAY_PORT),
    "--max-circuit-bytes",
    "10GB",
  ], "relay");
  await relay.out.waitFor((e) => e.event === "ready");
  const relayAt = `${lab.relay.address}:${RELAY_PORT}`;
  const out = join(dir, "out");
  await Deno.mkdir(out);
  return {
    lab,
    dir,
    out,
    async transfer(name: string, size: number) {
      const file = join(dir, name);
      const bytes = new Uint8Array(size);
      for (let at = 0; at < size; at += 65_536) {
        crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65_536)));
      }
      await Deno.writeFile(file, bytes);
      const bob = spawn(lab.sites[1].peers[0].ns, [
        "receive",
        "bob",
        "9000",
        "--relay",
        relayAt,
        "--out",
        out,
        "--yes",
        "--once",
      ], "bob");
      await bob.out.waitFor((e) => e.event === "registered");
      const alice = spawn(lab.sites[0].peers[0].ns, [
        "send",
        "alice",
        "9000",
        "bob",
        file,
        "--relay",
        relayAt,
      ], "alice");
      return {
        alice,
        bob,
        sha256: createHash("sha256").update(bytes).digest("hex"),
      };
    },
    async close() {
      await lab.teardown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function finish(
  t: { alice: Side; bob: Side; sha256: string },
  out: string,
  name: string,
) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const statuses = await Promise.race([
    Promise.all([t.alice.child.status, t.bob.child.status]),
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), 90_000);
    }),
  ]);
  clearTimeout(timer);
  const story = (side: Side) =>
    JSON.stringify(
      side.out.events.filter((e) => e.event !== "progress").slice(-10),
    ) + `\nlast progress: ${
      JSON.stringify(
        side.out.events.filter((e) => e.event === "progress").at(-1),
      )
    }`;
  if (!statuses) {
    for (const side of [t.alice, t.bob]) {
      try {
        side.child.kill("SIGKILL");
      } catch { /* exited */ }
    }
    assert.fail(
      `not done within 90 s\nalice: ${story(t.alice)}\nbob: ${story(t.bob)}`,
    );
  }
  const [a, b] = statuses;
  assert.equal(a.code, 0, (await t.alice.stderr) + story(t.alice));
  assert.equal(b.code, 0, (await t.bob.stderr) + story(t.bob));
  await t.alice.out.ended;
  const got = createHash("sha256").update(await Deno.readFile(join(out, name)))
    .digest("hex");
  assert.equal(got, t.sha256);
  return t.alice.out.events.find((e) => e.event === "done")!;
}

async function run(lab: Lab, ns: string, cmd: string[]) {
  const result = await lab.run(ns, cmd);
  assert.equal(result.code, 0, result.stderr);
}

labTest(
  "at 1 % and 5 % random loss on the WAN link the file arrives whole",
  async () => {
    const w = await world();
    try {
      for (const [loss, size] of [[0.01, 6_000_000], [0.05, 3_000_000]]) {
        await w.lab.setLoss(0, loss);
        const name = `loss-${loss}.bin`;
        const t = await w.transfer(name, size);
        const done = await finish(t, w.out, name);
        console.log(
          `  ${loss * 100} % loss: ${(size / 1e6).toFixed(1)} MB in ${
            (done.seconds as number).toFixed(1)
          } s, ${
            ((done.rate as number) / 1e6).toFixed(2)
          } MB/s via ${done.via}`,
        );
      }
    } finally {
      await w.close();
    }
  },
);

labTest(
  "direct, cut to the relay, then direct again: nothing lost or duplicated",
  async () => {
    const w = await world();
    try {
      // Large enough to outlast the cut: about 6 s to notice it, then the relay.
      const t = await w.transfer("moving.bin", 100_000_000);
      const isPath =
        (via: string, after = -1) => (e: Record<string, unknown>) =>
          e.event === "path" && e.via === via &&
          t.alice.out.events.indexOf(e) > after;
      const direct = await t.alice.out.waitFor(isPath("direct"), 20_000);
      // Cut the direct path between the two sites; the relay stays reachable.
      const [a, b] = w.lab.sites.map((s) => s.nat.publicAddress);
      const rules = [[a, b], [b, a]].map(([src, dst]) => [
        "FORWARD",
        "-s",
        src,
        "-d",
        dst,
        "-j",
        "DROP",
      ]);
      for (const rule of rules) {
        await run(w.lab, w.lab.internet.ns, ["iptables", "-I", ...rule]);
      }
      const relayed = await t.alice.out.waitFor(
        isPath("relay", t.alice.out.events.indexOf(direct)),
        15_000,
      );
      for (const rule of rules) {
        await run(w.lab, w.lab.internet.ns, ["iptables", "-D", ...rule]);
      }
      // A new local address makes the sender punch again at once (within its
      // 3 s address check) instead of after the 30 s retry.
      await run(w.lab, w.lab.sites[0].peers[0].ns, [
        "ip",
        "addr",
        "add",
        "10.1.0.99/24",
        "dev",
        "eth0",
      ]);
      await t.alice.out.waitFor(
        isPath("direct", t.alice.out.events.indexOf(relayed)),
        20_000,
      );
      const done = await finish(t, w.out, "moving.bin");
      assert.equal(done.size, 100_000_000);
    } finally {
      await w.close();
    }
  },
);
