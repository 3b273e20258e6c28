// `deno task demo` is the README's main command: it must keep working and
// keep showing what it claims.
import assert from "node:assert/strict";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

Deno.test("the demo establishes sessions over UDP and refuses the attacks", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-all", MAIN, "demo", "--json"],
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  const events = new TextDecoder().decode(output.stdout).trim().split("\n")
    .map((line) => JSON.parse(line));
  const step = (name: string) => events.find((e) => e.step === name);

  const ids = step("identities");
  const xx = step("xx");
  assert.equal(xx.aliceSeesBob, ids.bob, "alice authenticated bob's key");
  assert.equal(xx.bobSeesAlice, ids.alice, "bob authenticated alice's key");
  assert.equal(step("cookie").cookieReplyBytes, 38);
  assert.ok(step("cookie").initBytes >= 256, "no amplification");
  assert.equal(step("message").received, "hello bob");
  const attacks = step("attacks");
  assert.equal(attacks.replay, 1);
  assert.equal(attacks.auth, 1);
  assert.equal(attacks.spoofAnswerBytes, 38);
  const ik = step("ik");
  assert.equal(ik.received, "again, via IK");
  assert.equal(ik.replayedInit, 1);
  // The network part: the relay listed in a verified directory document,
  // then chat relayed first, then direct, the relay stepping aside.
  assert.equal(step("directory").listed, 1);
  assert.ok(step("chat-relayed").relayed > 0, "the first message was relayed");
  assert.ok(step("chat-direct").directMs > 0);
  assert.equal(step("chat-reply").relayedForReply, 0, "direct, not relayed");
  // Hard NATs, simulated: birthday probing and opening probes win, and the
  // demo shows what fails without them.
  assert.equal(step("nat-birthday").direct, true);
  assert.ok(step("nat-birthday").probes_bob >= 256, "bob's 256 openers");
  assert.equal(step("nat-bare-linux").direct, true);
  assert.equal(step("nat-bare-linux-no-ttl").direct, false);
  assert.equal(step("nat-symmetric-both").direct, false);
  assert.equal(events.at(-1).event, "done");
});
