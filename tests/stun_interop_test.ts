// Real STUN clients from Debian against a real relay process: coturn's
// turnutils_stunclient (RFC 5389/8489) and the classic stun client
// (RFC 3489, package stun-client). .ci/run installs both.
import assert from "node:assert/strict";
import { collectJsonLines } from "./json_lines_for_testing.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function requireTool(name: string, pkg: string) {
  const found = await new Deno.Command("sh", {
    args: ["-c", `command -v ${name}`],
  })
    .output();
  if (!found.success) {
    throw new Error(
      `${name} is missing: install the Debian package ${pkg} (apt-get install -y ${pkg})`,
    );
  }
}

Deno.test("standard STUN clients learn their reflexive address from a relay", async () => {
  await requireTool("turnutils_stunclient", "coturn");
  await requireTool("stun", "stun-client");
  const home = await Deno.makeTempDir({ prefix: "altnet-stun-" });
  const relay = new Deno.Command(Deno.execPath(), {
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
      "--stun-port",
      "39011",
      "--json",
    ],
    env: { XDG_CONFIG_HOME: home },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = collectJsonLines(relay);
  try {
    const ready = await out.waitFor((e) => e.event === "ready");
    const port = String(ready.port);
    const modern = await new Deno.Command("turnutils_stunclient", {
      args: ["-p", port, "127.0.0.1"],
    }).output();
    const text = new TextDecoder().decode(modern.stdout) +
      new TextDecoder().decode(modern.stderr);
    assert.match(text, /UDP reflexive addr: 127\.0\.0\.1:\d+/, text);

    const classic = await new Deno.Command("timeout", {
      args: ["20", "stun", `127.0.0.1:${port}`, "-v"],
    }).output();
    const report = new TextDecoder().decode(classic.stdout) +
      new TextDecoder().decode(classic.stderr);
    assert.match(report, /test I = 1/, report); // binding answered
    assert.match(report, /test III = 1/, report); // answered from the other port
    assert.match(report, /mapped IP same = 1/, report);
  } finally {
    relay.kill("SIGTERM");
    await relay.status;
    await out.ended;
    await relay.stderr.cancel().catch(() => {});
    await Deno.remove(home, { recursive: true });
  }
});
