// send and receive apps through a relay on the in-memory network, in
// virtual time: round trips, loss, reordering, duplication, resume.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { DH_25519 } from "../crypto/noise/mod.ts";
import { TrustStore } from "../identity/mod.ts";
import { NAT_PRESETS } from "../udp/mod.ts";
import { Reason } from "./frames.ts";
import { heldBytes, openPartFile } from "./part_file.ts";
import {
  createTransferWorld,
  synchronousHandle,
  type TransferWorld,
} from "./transfer_world_for_testing.ts";

async function sha256File(path: string): Promise<string> {
  return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
}

Deno.test("files of 0, 1, odd and many chunks arrive whole and verified", async () => {
  const w = await createTransferWorld();
  try {
    const bob = await w.receiver();
    const sizes = [0, 1, 100_003, 5 * 65_536 + 17];
    for (const [i, size] of sizes.entries()) {
      const path = await w.makeFile(`f${i}.bin`, size, i + 1);
      const alice = await w.sender(path, { chunkSize: 65_536, port: 9100 + i });
      assert.ok(
        await w.clock.runUntil(() => alice.app.outcome !== undefined, {
          maxMs: 60_000,
        }),
        `size ${size}: ${JSON.stringify(alice.events.at(-1))}`,
      );
      assert.deepEqual(
        alice.app.outcome?.ok,
        true,
        JSON.stringify(alice.app.outcome),
      );
      const done = bob.events.find((e) =>
        e.event === "done" && e.name === `f${i}.bin`
      );
      assert.ok(done && done.event === "done");
      assert.equal(done.path, join(bob.outDir, `f${i}.bin`));
      assert.equal(await sha256File(done.path), alice.offer.sha256.toHex());
      assert.equal((await Deno.stat(done.path)).size, size);
      await alice.app.stop();
    }
    // No partial files or state are left behind.
    const names = [...Deno.readDirSync(bob.outDir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["f0.bin", "f1.bin", "f2.bin", "f3.bin"]);
  } finally {
    await w.close();
  }
});

Deno.test("loss, reordering and duplication on the path lose and duplicate nothing", async () => {
  // 5 % loss each way, jitter that reorders, 5 % duplicated packets.
  const w = await createTransferWorld({
    seed: 9,
    link: { delayMs: 15, jitterMs: 10, loss: 0.05, duplicate: 0.05 },
  });
  try {
    const bob = await w.receiver();
    const path = await w.makeFile("lossy.bin", 1_500_000, 7);
    const alice = await w.sender(path, { chunkSize: 65_536 });
    assert.ok(
      await w.clock.runUntil(() => alice.app.outcome !== undefined, {
        maxMs: 120_000,
      }),
    );
    assert.equal(
      alice.app.outcome?.ok,
      true,
      JSON.stringify(alice.app.outcome),
    );
    const done = bob.events.find((e) => e.event === "done");
    assert.ok(done?.event === "done");
    assert.equal(await sha256File(done.path), alice.offer.sha256.toHex());
    const stats = alice.app.transfer!.stream.stats;
    assert.ok(stats.retransmits > 0, "losses were repaired");
    const net = w.network.stats;
    assert.ok(
      net.dropped.loss > 50 && net.duplicated > 50,
      JSON.stringify(net),
    );
  } finally {
    await w.close();
  }
});

Deno.test("stopping both sides mid-transfer and starting again resumes from the verified chunks", async () => {
  const w = await createTransferWorld();
  try {
    // A 2 MB/s uplink, so that the transfer takes a while.
    w.hosts.sender.setLink({
      bandwidthBytesPerSecond: 2_000_000,
      queueBytes: 100_000,
    });
    const path = await w.makeFile("resume.bin", 4_000_000, 8);
    const bob = await w.receiver();
    const alice = await w.sender(path, { chunkSize: 65_536 });
    assert.ok(
      await w.clock.runUntil(
        () =>
          bob.events.some((e) => e.event === "progress" && e.bytes > 1_500_000),
        { maxMs: 60_000 },
      ),
    );
    await bob.app.stop();
    await alice.app.stop();
    const state = JSON.parse(
      await Deno.readTextFile(join(bob.outDir, "resume.bin.part.state")),
    );
    assert.equal(state.name, "resume.bin");
    assert.equal(state.from, "alice");

    const bob2 = await w.receiver({ port: 9012 });
    const alice2 = await w.sender(path, { chunkSize: 65_536, port: 9011 });
    assert.ok(
      await w.clock.runUntil(() => alice2.app.outcome !== undefined, {
        maxMs: 60_000,
      }),
    );
    assert.equal(
      alice2.app.outcome?.ok,
      true,
      JSON.stringify(alice2.app.outcome),
    );
    const accepted = alice2.events.find((e) => e.event === "accepted");
    assert.ok(accepted?.event === "accepted" && accepted.have >= 1_500_000);
    const done = bob2.events.find((e) => e.event === "done");
    assert.ok(done?.event === "done" && done.resumed_from === accepted.have);
    assert.equal(await sha256File(done.path), alice.offer.sha256.toHex());
    assert.deepEqual(
      [...Deno.readDirSync(bob2.outDir)].map((e) => e.name),
      ["resume.bin"],
    );
  } finally {
    await w.close();
  }
});

Deno.test("when the relay closes the circuit mid-transfer the sender takes a new one and resumes", async () => {
  // Symmetric NATs: no direct path, everything through the relay, whose
  // circuits carry at most 1.2 MB.
  const w = await createTransferWorld({
    nats: [NAT_PRESETS.symmetric, NAT_PRESETS.symmetric],
    limits: { maxCircuitBytes: 1_200_000 },
  });
  try {
    const bob = await w.receiver();
    const path = await w.makeFile("budget.bin", 2_500_000, 9);
    const alice = await w.sender(path, { chunkSize: 65_536 });
    assert.ok(
      await w.clock.runUntil(() => alice.app.outcome !== undefined, {
        maxMs: 120_000,
      }),
    );
    assert.equal(
      alice.app.outcome?.ok,
      true,
      JSON.stringify(alice.app.outcome),
    );
    const offers = alice.events.filter((e) => e.event === "offered").length;
    assert.ok(offers >= 2, `offered ${offers} times`);
    const done = bob.events.find((e) => e.event === "done");
    assert.ok(done?.event === "done" && done.resumed_from > 0);
    assert.equal(done.via, "relay");
    assert.equal(await sha256File(done.path), alice.offer.sha256.toHex());
  } finally {
    await w.close();
  }
});

Deno.test("an outage of every path mid-transfer is ridden out", async () => {
  const w = await createTransferWorld();
  try {
    const bob = await w.receiver();
    const path = await w.makeFile("outage.bin", 3_000_000, 10);
    const alice = await w.sender(path, { chunkSize: 65_536 });
    assert.ok(
      await w.clock.runUntil(
        () =>
          alice.events.some((e) => e.event === "progress" && e.bytes > 800_000),
        { maxMs: 60_000 },
      ),
    );
    // Direct path goes first, then the fallback to the relay is dead too.
    w.hosts.receiver.setLink({ loss: 1 });
    await w.clock.advance(8_000);
    w.hosts.receiver.setLink({});
    assert.ok(
      await w.clock.runUntil(() => alice.app.outcome !== undefined, {
        maxMs: 60_000,
      }),
    );
    assert.equal(
      alice.app.outcome?.ok,
      true,
      JSON.stringify(alice.app.outcome),
    );
    const vias = alice.events.filter((e) => e.event === "path").map((e) =>
      e.event === "path" ? e.via : ""
    );
    assert.ok(
      vias.includes("direct") &&
        vias.lastIndexOf("relay") > vias.indexOf("direct"),
      vias.join(","),
    );
    const done = bob.events.find((e) => e.event === "done");
    assert.ok(done?.event === "done");
    assert.equal(await sha256File(done.path), alice.offer.sha256.toHex());
  } finally {
    await w.close();
  }
});

Deno.test("a declined offer tells the sender why", async () => {
  const w = await createTransferWorld();
  try {
    const bob = await w.receiver({
      decide: () =>
        Promise.resolve({
          accept: false,
          reason: Reason.NO_TERMINAL,
          text:
            "the receiver has no terminal to ask on and was not started with --yes",
        }),
    });
    const path = await w.makeFile("no.bin", 1000);
    const alice = await w.sender(path);
    assert.ok(
      await w.clock.runUntil(() => alice.app.outcome !== undefined, {
        maxMs: 30_000,
      }),
    );
    const outcome = alice.app.outcome!;
    assert.ok(!outcome.ok);
    assert.equal(
      outcome.message,
      "bob declined no.bin: the receiver has no terminal to ask on and was not started with --yes",
    );
    assert.match(outcome.hint!, /--yes/);
    assert.ok(
      bob.events.some((e) =>
        e.event === "declined" && e.reason === "no_terminal"
      ),
    );
    assert.deepEqual([...Deno.readDirSync(bob.outDir)], []);
  } finally {
    await w.close();
  }
});

Deno.test("files from a peer whose key changed are declined", async () => {
  const w = await createTransferWorld();
  try {
    const other = DH_25519.generateKeyPair();
    const store = await TrustStore.open(join(w.dir, "bob", "known_peers"));
    await store.pin("alice", other.publicKey);
    const bob = await w.receiver();
    const path = await w.makeFile("k.bin", 1000);
    const alice = await w.sender(path);
    assert.ok(
      await w.clock.runUntil(() => alice.app.outcome !== undefined, {
        maxMs: 30_000,
      }),
    );
    assert.ok(!alice.app.outcome!.ok);
    assert.match(alice.app.outcome!.message, /another key pinned for alice/);
    assert.ok(
      bob.events.some((e) =>
        e.event === "warning" && /key changed/.test(e.message)
      ),
    );
  } finally {
    await w.close();
  }
});

Deno.test("a full disk stops the transfer with a clear reason and keeps the part", async () => {
  const w = await createTransferWorld();
  try {
    let budget = 300_000;
    const outDir = join(w.dir, "small-disk");
    const bob = await w.receiver({
      outDir,
      openPart: (offer, from) =>
        openPartFile(outDir, offer, {
          from,
          wrapHandleForTestingOnly: (file) => ({
            ...synchronousHandle(file),
            writeSync: (b) => {
              if ((budget -= b.length) < 0) {
                throw Object.assign(new Error("No space left on device"), {
                  code: "ENOSPC",
                });
              }
              return file.writeSync(b);
            },
          }),
        }),
    });
    const path = await w.makeFile("full.bin", 1_000_000, 3);
    const alice = await w.sender(path, { chunkSize: 65_536 });
    assert.ok(
      await w.clock.runUntil(() => alice.app.outcome !== undefined, {
        maxMs: 30_000,
      }),
    );
    assert.ok(!alice.app.outcome!.ok);
    assert.equal(
      alice.app.outcome!.message,
      "bob stopped the transfer of full.bin: the receiver's disk is full",
    );
    await w.clock.advance(100);
    const failed = bob.events.find((e) => e.event === "failed");
    assert.ok(failed?.event === "failed" && failed.kept);
    assert.match(failed.message, /The disk holding .*small-disk is full/);
    const held = heldBytes(outDir, alice.offer);
    assert.ok(held > 0 && held <= 300_000, `held ${held}`);
    assert.ok(!(await Deno.stat(join(outDir, "full.bin")).catch(() => false)));
  } finally {
    await w.close();
  }
});

Deno.test("an existing file keeps its name; the new one gets a number", async () => {
  const w = await createTransferWorld();
  try {
    const bob = await w.receiver();
    await Deno.writeTextFile(join(bob.outDir, "same.txt"), "precious");
    const path = await w.makeFile("same.txt", 5000);
    const alice = await w.sender(path);
    assert.ok(
      await w.clock.runUntil(() => alice.app.outcome !== undefined, {
        maxMs: 30_000,
      }),
    );
    const done = bob.events.find((e) => e.event === "done");
    assert.ok(done?.event === "done");
    assert.equal(done.path, join(bob.outDir, "same (1).txt"));
    assert.equal(
      await Deno.readTextFile(join(bob.outDir, "same.txt")),
      "precious",
    );
  } finally {
    await w.close();
  }
});

/** Makes the receiver the side that starts handshakes (its key sorts first). */
function receiverStartsHandshakes(w: TransferWorld) {
  while (compareKeys(w.keys.receiver.publicKey, w.keys.sender.publicKey) > 0) {
    w.keys.sender = DH_25519.generateKeyPair();
  }
}

function compareKeys(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

Deno.test("a sender killed and started again resumes within seconds, even when the receiver starts handshakes", async () => {
  const w = await createTransferWorld();
  try {
    receiverStartsHandshakes(w);
    w.hosts.sender.setLink({
      bandwidthBytesPerSecond: 2_000_000,
      queueBytes: 100_000,
    });
    const bob = await w.receiver();
    const path = await w.makeFile("again.bin", 4_000_000, 12);
    const alice = await w.sender(path, { chunkSize: 65_536 });
    assert.ok(
      await w.clock.runUntil(
        () =>
          bob.events.some((e) => e.event === "progress" && e.bytes > 1_500_000),
        { maxMs: 60_000 },
      ),
    );
    // kill -9: the socket is gone, nothing is said to the relay or to bob,
    // whose end of the circuit and connection stay up.
    alice.socket.close();
    await w.clock.advance(3_000);
    const alice2 = await w.sender(path, { chunkSize: 65_536, port: 9011 });
    const restartedAt = w.clock.now();
    assert.ok(
      await w.clock.runUntil(() => alice2.app.outcome !== undefined, {
        maxMs: 120_000,
      }),
    );
    assert.equal(
      alice2.app.outcome?.ok,
      true,
      JSON.stringify(alice2.app.outcome),
    );
    const tookMs = w.clock.now() - restartedAt;
    assert.ok(tookMs < 20_000, `took ${tookMs} ms`);
    const done = bob.events.find((e) => e.event === "done");
    assert.ok(done?.event === "done" && done.resumed_from > 0);
    assert.equal(await sha256File(done.path), alice2.offer.sha256.toHex());
    await alice.app.stop();
  } finally {
    await w.close();
  }
});

Deno.test("a receiver killed and started again is found again by the running sender", async () => {
  const w = await createTransferWorld();
  try {
    w.hosts.sender.setLink({
      bandwidthBytesPerSecond: 2_000_000,
      queueBytes: 100_000,
    });
    const bob = await w.receiver();
    const path = await w.makeFile("found.bin", 4_000_000, 13);
    const alice = await w.sender(path, { chunkSize: 65_536 });
    assert.ok(
      await w.clock.runUntil(
        () =>
          bob.events.some((e) => e.event === "progress" && e.bytes > 1_500_000),
        { maxMs: 60_000 },
      ),
    );
    // kill -9 of the receiver: its socket goes, its files are let go (as
    // the kernel releases a dead process's locks), nobody tells the relay.
    bob.socket.close();
    await bob.app.stop();
    await w.clock.advance(2_000);
    const bob2 = await w.receiver({ port: 9012 });
    assert.ok(
      await w.clock.runUntil(() => alice.app.outcome !== undefined, {
        maxMs: 180_000,
      }),
    );
    assert.equal(
      alice.app.outcome?.ok,
      true,
      JSON.stringify(alice.app.outcome),
    );
    assert.ok(
      alice.events.some((e) =>
        e.event === "waiting" && /connecting again/.test(e.reason)
      ),
    );
    const done = bob2.events.find((e) => e.event === "done");
    assert.ok(done?.event === "done" && done.resumed_from > 0);
    assert.equal(await sha256File(done.path), alice.offer.sha256.toHex());
  } finally {
    await w.close();
  }
});
