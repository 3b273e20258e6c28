// `altnet send` and `altnet receive` as a user runs them: real processes on
// loopback, a relay process between them, JSON Lines out, exit codes, and a
// resume after both sides were killed mid-transfer.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { collectJsonLines, type JsonLines } from "../json_lines_for_testing.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

function altnet(
  args: string[],
  home: string,
  stdin: "null" | "piped" = "null",
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-all", MAIN, ...args],
    env: { XDG_CONFIG_HOME: home, NO_COLOR: "1" },
    stdin,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

function randomFile(path: string, size: number): Promise<void> {
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += 65_536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65_536)));
  }
  return Deno.writeFile(path, bytes);
}

async function sha256(path: string): Promise<string> {
  return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
}

interface Run {
  child: Deno.ChildProcess;
  out: JsonLines;
  stderr: Promise<string>;
}

function start(args: string[], home: string): Run {
  const child = altnet(args, home);
  const stderr = new Response(child.stderr).text();
  return { child, out: collectJsonLines(child), stderr };
}

/** A temporary folder with a relay process; `close()` kills what is left. */
async function world() {
  const dir = await Deno.makeTempDir({ prefix: "altnet-transfer-proc-" });
  const runs: Run[] = [];
  const relay = start(
    ["relay", "--host", "127.0.0.1", "--port", "0", "--json"],
    join(dir, "relay"),
  );
  runs.push(relay);
  const ready = await relay.out.waitFor((e) => e.event === "ready");
  const relayAt = `127.0.0.1:${ready.port}`;
  const out = join(dir, "out");
  await Deno.mkdir(out);
  return {
    dir,
    out,
    receive(extra: string[] = []) {
      const run = start(
        [
          "receive",
          "bob",
          "0",
          "--relay",
          relayAt,
          "--out",
          out,
          "--once",
          "--json",
          ...extra,
        ],
        join(dir, "bob"),
      );
      runs.push(run);
      return run;
    },
    send(file: string, extra: string[] = []) {
      const run = start(
        [
          "send",
          "alice",
          "0",
          "bob",
          file,
          "--relay",
          relayAt,
          "--json",
          ...extra,
        ],
        join(dir, "alice"),
      );
      runs.push(run);
      return run;
    },
    async close() {
      for (const run of runs) {
        try {
          run.child.kill("SIGKILL");
        } catch { /* exited */ }
      }
      await Promise.allSettled(runs.map((r) => r.child.status));
      await Promise.allSettled(runs.map((r) => r.stderr));
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("send and receive move a file through a relay process, with the --json events of the contract", async () => {
  const w = await world();
  try {
    const file = join(w.dir, "photo.jpg");
    await randomFile(file, 3_000_003);
    const bob = w.receive(["--yes"]);
    await bob.out.waitFor((e) => e.event === "registered");
    const alice = w.send(file);
    const [aliceStatus, bobStatus] = await Promise.all([
      alice.child.status,
      bob.child.status,
    ]);
    assert.equal(aliceStatus.code, 0, await alice.stderr);
    assert.equal(bobStatus.code, 0, await bob.stderr);
    await Promise.all([alice.out.ended, bob.out.ended]);
    const expected = await sha256(file);
    assert.equal(await sha256(join(w.out, "photo.jpg")), expected);
    for (const run of [alice, bob]) {
      const names = run.out.events.map((e) => e.event);
      for (const name of ["identity", "ready", "path", "progress", "done"]) {
        assert.ok(names.includes(name), `${name} in ${names}`);
      }
      const done = run.out.events.find((e) => e.event === "done")!;
      assert.equal(done.sha256, expected);
      assert.equal(done.size, 3_000_003);
      const progress = run.out.events.filter((e) => e.event === "progress");
      assert.deepEqual(progress.at(-1)?.bytes, 3_000_003);
      for (const p of progress) assert.equal(p.total, 3_000_003);
    }
    const offer = bob.out.events.find((e) => e.event === "offer")!;
    assert.equal(offer.name, "photo.jpg");
    assert.equal(offer.from, "alice");
    assert.equal(offer.sha256, expected);
    assert.deepEqual([...Deno.readDirSync(w.out)].map((e) => e.name), [
      "photo.jpg",
    ]);
  } finally {
    await w.close();
  }
});

Deno.test("killing the receiver, then the sender, mid-transfer: running both again completes the file", async () => {
  const w = await world();
  try {
    const file = join(w.dir, "big.bin");
    await randomFile(file, 40_000_000);
    const state = join(w.out, "big.bin.part.state");
    const bob = w.receive(["--yes"]);
    await bob.out.waitFor((e) => e.event === "registered");
    const alice = w.send(file);
    // Wait until a checkpoint made some chunks durable.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const text = await Deno.readTextFile(state).catch(() => "");
      const verified = text ? JSON.parse(text).verified : "";
      if (verified && Uint8Array.fromBase64(verified).some((b) => b !== 0)) {
        break;
      }
      assert.ok(Date.now() < deadline, "no checkpoint within 30 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    bob.child.kill("SIGKILL");
    await bob.child.status;
    await new Promise((r) => setTimeout(r, 300));
    alice.child.kill("SIGKILL");
    await alice.child.status;
    assert.ok(await Deno.stat(join(w.out, "big.bin.part")));
    assert.equal(
      await Deno.stat(join(w.out, "big.bin")).catch(() => null),
      null,
    );

    const bob2 = w.receive(["--yes"]);
    await bob2.out.waitFor((e) => e.event === "registered");
    const alice2 = w.send(file);
    const [a, b] = await Promise.all([alice2.child.status, bob2.child.status]);
    assert.equal(a.code, 0, await alice2.stderr);
    assert.equal(b.code, 0, await bob2.stderr);
    await bob2.out.ended;
    const accepted = bob2.out.events.find((e) => e.event === "accepted")!;
    assert.ok((accepted.have as number) > 0, JSON.stringify(accepted));
    const done = bob2.out.events.find((e) => e.event === "done")!;
    assert.equal(done.resumed_from, accepted.have);
    assert.equal(await sha256(join(w.out, "big.bin")), await sha256(file));
    assert.deepEqual([...Deno.readDirSync(w.out)].map((e) => e.name), [
      "big.bin",
    ]);
  } finally {
    await w.close();
  }
});

Deno.test("without a terminal and without --yes the receiver declines, and the sender says why", async () => {
  const w = await world();
  try {
    const file = join(w.dir, "memo.txt");
    await Deno.writeTextFile(file, "hello\n");
    const bob = w.receive();
    await bob.out.waitFor((e) => e.event === "registered");
    const alice = w.send(file);
    const [a, b] = await Promise.all([alice.child.status, bob.child.status]);
    assert.equal(a.code, 1);
    const aliceErr = (await alice.stderr).trim().split("\n");
    assert.equal(
      aliceErr.at(-1),
      "altnet: bob declined memo.txt: the receiver has no terminal to ask on and was not started with --yes; ask them to run 'altnet receive' with --yes, or on a terminal",
    );
    assert.equal(b.code, 1);
    assert.match(await bob.stderr, /no terminal to ask on/);
    assert.deepEqual([...Deno.readDirSync(w.out)], []);
  } finally {
    await w.close();
  }
});

Deno.test("--hops and a missing --out folder fail with one clear line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "altnet-transfer-proc-" });
  try {
    const file = join(dir, "x.txt");
    await Deno.writeTextFile(file, "x");
    const hops = await altnet(
      [
        "send",
        "alice",
        "0",
        "bob",
        file,
        "--relay",
        "127.0.0.1:9",
        "--hops",
        "2",
      ],
      dir,
    ).output();
    const hopsErr = new TextDecoder().decode(hops.stderr).trim();
    assert.equal(hops.code, 1);
    assert.equal(hopsErr.split("\n").length, 1, hopsErr);
    assert.match(
      hopsErr,
      /^altnet: Onion routing is not available yet: --hops 2;/,
    );
    const noOut = await altnet(
      [
        "receive",
        "bob",
        "0",
        "--relay",
        "127.0.0.1:9",
        "--out",
        join(dir, "nope"),
      ],
      dir,
    ).output();
    const noOutErr = new TextDecoder().decode(noOut.stderr).trim();
    assert.equal(noOut.code, 2);
    assert.match(
      noOutErr,
      /^altnet: Cannot find the folder for received files: /,
    );
    assert.equal(noOutErr.split("\n").length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
