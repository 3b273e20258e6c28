import assert from "node:assert/strict";
import {
  createTestDirectory,
  TestRelay,
} from "./directory_harness_for_testing.ts";

async function promtool(text: string) {
  let child;
  try {
    child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw new Error(
      "promtool is not installed: apt-get install prometheus (Debian) provides it",
      { cause: error },
    );
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const output = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    code: output.code,
    out: decode(output.stdout) + decode(output.stderr),
  };
}

Deno.test("/metrics passes promtool check metrics", async () => {
  const dir = createTestDirectory();
  try {
    const relay = new TestRelay(dir, { name: "metered" });
    await relay.register();
    await dir.post("/v1/relays/heartbeat", relay.heartbeat(4));
    await dir.post("/v1/relays", "{");
    const text = await (await dir.get("/metrics")).text();
    const { code, out } = await promtool(text);
    assert.equal(code, 0, out);
    assert.equal(out.trim(), "", `promtool found problems:\n${out}`);
  } finally {
    dir.close();
  }
});
