// The brief's chat contract, with real processes on loopback: a relay and two
// `altnet chat` processes without a TTY, stdin lines in, stdout lines out.
import assert from "node:assert/strict";
import { join } from "node:path";
import { collectJsonLines as jsonLines } from "./json_lines_for_testing.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

function altnet(args: string[], home: string) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-all", MAIN, ...args],
    env: { XDG_CONFIG_HOME: home, NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("two chat processes talk through a relay process, then go direct", async () => {
  const dir = await Deno.makeTempDir({ prefix: "altnet-chat-proc-" });
  const relay = altnet([
    "relay",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--json",
  ], join(dir, "relay"));
  const relayOut = jsonLines(relay);
  let bob: Deno.ChildProcess | undefined;
  let alice: Deno.ChildProcess | undefined;
  try {
    const ready = await relayOut.waitFor((e) => e.event === "ready");
    const relayAt = `127.0.0.1:${ready.port}`;
    bob = altnet(
      ["chat", "bob", "0", "alice", "--relay", relayAt, "--json"],
      join(dir, "bob"),
    );
    const bobOut = jsonLines(bob);
    await bobOut.waitFor((e) => e.event === "registered");
    // The design card's literal form: `bob:PORT` where "bob" is no host.
    alice = altnet(
      ["chat", "alice", "0", "bob:9", "--relay", relayAt],
      join(dir, "alice"),
    );
    const aliceWriter = alice.stdin.getWriter();
    await aliceWriter.write(
      new TextEncoder().encode("hello bob\nsecond line\n"),
    );
    await bobOut.waitFor((e) =>
      e.event === "message" && e.text === "second line"
    );
    const texts = bobOut.events.filter((e) => e.event === "message").map((e) =>
      e.text
    );
    assert.deepEqual(texts, ["hello bob", "second line"]);
    const peer = await bobOut.waitFor((e) => e.event === "peer");
    assert.equal(peer.trust, "new");
    // Both stay up long enough to punch: loopback is a direct path.
    await bobOut.waitFor(
      (e) => e.event === "path" && e.via === "direct",
      10_000,
    );
    // Bob answers; alice prints it as one line on stdout.
    const bobWriter = bob.stdin.getWriter();
    await bobWriter.write(new TextEncoder().encode("hi alice\n"));
    await bobOut.waitFor((e) => e.event === "delivered");
    await aliceWriter.close();
    const aliceResult = await alice.output();
    assert.equal(
      aliceResult.code,
      0,
      new TextDecoder().decode(aliceResult.stderr),
    );
    assert.equal(
      new TextDecoder().decode(aliceResult.stdout),
      "bob: hi alice\n",
    );
    await bobWriter.close();
    const bobStatus = await bob.status;
    assert.equal(bobStatus.code, 0);
    const done = await bobOut.waitFor((e) => e.event === "done");
    assert.equal(done.sent, 1);
  } finally {
    for (const child of [alice, bob, relay]) {
      try {
        child?.kill("SIGKILL");
      } catch { /* exited */ }
    }
    await Promise.allSettled([relay.status, bob?.status, alice?.status]);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("chat fails with one clear line when the relay does not answer", async () => {
  const dir = await Deno.makeTempDir({ prefix: "altnet-chat-proc-" });
  try {
    const socket = Deno.listenDatagram({
      transport: "udp",
      hostname: "127.0.0.1",
      port: 0,
    });
    const port = (socket.addr as Deno.NetAddr).port; // bound, never answers
    const chat = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--allow-all",
        MAIN,
        "chat",
        "alice",
        "0",
        "bob",
        "--relay",
        `127.0.0.1:${port}`,
      ],
      env: { XDG_CONFIG_HOME: dir, NO_COLOR: "1" },
      stdin: "null",
    });
    const result = await chat.output();
    socket.close();
    const stderr = new TextDecoder().decode(result.stderr).trim().split("\n");
    assert.equal(result.code, 1);
    assert.match(
      stderr.at(-1)!,
      /^altnet: Cannot reach the relay at 127\.0\.0\.1:\d+: no answer to 5 handshakes; check the address/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
