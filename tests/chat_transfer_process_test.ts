// `/send PATH` inside `altnet chat`, as a user runs it: a relay process and
// two chat processes on loopback without a TTY, JSON Lines out.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { collectJsonLines, type JsonLines } from "./json_lines_for_testing.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const encoder = new TextEncoder();

interface Run {
  child: Deno.ChildProcess;
  out: JsonLines;
  stderr: Promise<string>;
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

function start(args: string[], home: string): Run {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-all", MAIN, ...args],
    env: { XDG_CONFIG_HOME: home, NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  return {
    child,
    out: collectJsonLines(child),
    stderr: new Response(child.stderr).text(),
    write: (text) => writer.write(encoder.encode(text)),
    close: () => writer.close(),
  };
}

async function sha256(path: string): Promise<string> {
  return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
}

/** A temporary folder with a relay process; `close()` kills what is left. */
async function world() {
  const dir = await Deno.makeTempDir({ prefix: "altnet-chat-files-proc-" });
  const runs: Run[] = [];
  const relay = start(
    ["relay", "--host", "127.0.0.1", "--port", "0", "--json"],
    join(dir, "relay"),
  );
  runs.push(relay);
  const ready = await relay.out.waitFor((e) => e.event === "ready");
  const relayAt = `127.0.0.1:${ready.port}`;
  return {
    dir,
    chat(name: string, peer: string, extra: string[] = []): Run {
      const run = start(
        ["chat", name, "0", peer, "--relay", relayAt, "--json", ...extra],
        join(dir, name),
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

Deno.test("/send in a chat moves a file to a chat started with --accept-files, beside the messages", async () => {
  const w = await world();
  try {
    const inbox = join(w.dir, "inbox");
    await Deno.mkdir(inbox);
    const file = join(w.dir, "report.bin");
    // Four chunks of 1 MiB, the last one odd.
    const bytes = new Uint8Array(3 * 1024 * 1024 + 12_345);
    for (let at = 0; at < bytes.length; at += 65_536) {
      crypto.getRandomValues(bytes.subarray(at, at + 65_536));
    }
    await Deno.writeFile(file, bytes);
    const bob = w.chat("bob", "alice", ["--accept-files", "--out", inbox]);
    await bob.out.waitFor((e) => e.event === "registered");
    const alice = w.chat("alice", "bob");
    await alice.write(`before\n/send ${file}\nafter\n`);
    const received = await bob.out.waitFor(
      (e) => e.event === "done" && e.direction === "receive",
      60_000,
    );
    await alice.write("last\n");
    await bob.write("thanks\n");
    await alice.out.waitFor((e) =>
      e.event === "message" && e.text === "thanks"
    );
    await bob.out.waitFor((e) => e.event === "message" && e.text === "last");

    // The bytes are the same, under the same name, in --out.
    const expected = await sha256(file);
    assert.equal(received.path, join(inbox, "report.bin"));
    assert.equal(received.sha256, expected);
    assert.equal(received.size, bytes.length);
    assert.equal(received.from, "alice");
    assert.deepEqual(await Deno.readFile(join(inbox, "report.bin")), bytes);
    assert.deepEqual(
      [...Deno.readDirSync(inbox)].map((e) => e.name),
      ["report.bin"],
    );

    // The receiver's events are those of `altnet receive`, with one id.
    const offer = bob.out.events.find((e) => e.event === "offer")!;
    assert.deepEqual(
      {
        from: offer.from,
        name: offer.name,
        size: offer.size,
        sha256: offer.sha256,
      },
      {
        from: "alice",
        name: "report.bin",
        size: bytes.length,
        sha256: expected,
      },
    );
    // (`delivered` has an id too: a message's, in another numbering.)
    const ofFile = bob.out.events.filter((e) =>
      e.id === offer.id && e.event !== "delivered"
    );
    for (const name of ["offer", "accepted", "progress", "done"]) {
      assert.ok(ofFile.some((e) => e.event === name), `bob: ${name}`);
    }
    assert.ok(ofFile.every((e) => e.direction === "receive"));
    // Messages in order, the file in between.
    const texts = bob.out.events.filter((e) => e.event === "message").map((e) =>
      e.text
    );
    assert.deepEqual(texts, ["before", "after", "last"]);

    // Stdin ends: alice exits 0 once the file and the messages arrived.
    await alice.close();
    const status = await alice.child.status;
    assert.equal(status.code, 0, await alice.stderr);
    const sent = alice.out.events.filter((e) => e.direction === "send");
    for (const name of ["offered", "accepted", "progress", "done"]) {
      assert.ok(sent.some((e) => e.event === name), `alice: ${name}`);
    }
    const done = sent.find((e) => e.event === "done")!;
    assert.equal(done.sha256, expected);
    assert.equal(done.name, "report.bin");
    const last = alice.out.events.at(-1)!;
    assert.deepEqual(
      [last.event, last.sent, last.files_sent],
      ["done", 3, 1],
    );
    await bob.close();
    assert.equal((await bob.child.status).code, 0, await bob.stderr);
  } finally {
    await w.close();
  }
});

Deno.test("a chat without --accept-files declines, a missing file is one warning, and the sender exits 1 saying why", async () => {
  const w = await world();
  try {
    const file = join(w.dir, "notes.txt");
    await Deno.writeTextFile(file, "not for you\n");
    const bob = w.chat("bob", "alice", ["--out", w.dir]);
    await bob.out.waitFor((e) => e.event === "registered");
    const alice = w.chat("alice", "bob");
    const missing = join(w.dir, "nope.txt");
    await alice.write(`/send ${missing}\n/send\n/send ${file}\nhi\n`);
    const warnings = [
      await alice.out.waitFor((e) =>
        e.event === "warning" && String(e.message).includes("nope")
      ),
      await alice.out.waitFor((e) =>
        e.event === "warning" && String(e.message).includes("without its path")
      ),
    ];
    assert.deepEqual(warnings.map((e) => e.message), [
      `Cannot send ${missing}: no such file`,
      "Cannot send a file without its path: type /send PATH",
    ]);
    const declined = await alice.out.waitFor((e) => e.event === "declined");
    assert.equal(declined.direction, "send");
    assert.equal(declined.reason, "no_terminal");
    assert.match(String(declined.message), /^bob declined notes\.txt: /);
    await bob.out.waitFor((e) => e.event === "message" && e.text === "hi");
    assert.ok(
      bob.out.events.some((e) =>
        e.event === "declined" && e.direction === "receive" &&
        e.name === "notes.txt"
      ),
    );
    await alice.close();
    assert.equal((await alice.child.status).code, 1);
    const stderr = (await alice.stderr).trim().split("\n");
    assert.match(
      stderr.at(-1)!,
      /^altnet: bob declined notes\.txt: the receiver's chat has no terminal/,
    );
    // Nothing new appeared in bob's --out.
    assert.deepEqual(
      [...Deno.readDirSync(w.dir)].map((e) => e.name).sort(),
      ["alice", "bob", "notes.txt", "relay"],
    );
  } finally {
    await w.close();
  }
});
