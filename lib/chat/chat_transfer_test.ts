// Files inside a chat (`/send`): two chats through a relay on the in-memory
// network, in virtual time, moving files on streams of their own while
// messages keep flowing on stream 0.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { DH_25519 } from "../crypto/noise/mod.ts";
import { TrustStore } from "../identity/mod.ts";
import {
  DEFAULT_LIMITS,
  RelayCore,
  type RelayLimits,
  runRelay,
} from "../relay/mod.ts";
import { type Decision, openPartFile } from "../transfer/mod.ts";
import {
  fillPattern,
  synchronousHandle,
} from "../transfer/transfer_world_for_testing.ts";
import { createMemoryNetwork, NAT_PRESETS } from "../udp/mod.ts";
import { ChatApp, type ChatAppOptions, type ChatEvent } from "./chat_app.ts";
import { OfferQueue } from "./offer_queue.ts";

type Who = "alice" | "bob";

async function world(
  options: {
    seed?: number;
    loss?: number;
    /** Both sides behind symmetric NATs: the chat stays on the relay. */
    relayOnly?: boolean;
    limits?: Partial<RelayLimits>;
  } = {},
) {
  const nat = options.relayOnly
    ? NAT_PRESETS.symmetric
    : NAT_PRESETS.portRestrictedCone;
  const dir = await Deno.makeTempDir({ prefix: "altnet-chat-files-" });
  const network = createMemoryNetwork({ seed: options.seed ?? 7 });
  network.setLink({ delayMs: 15, loss: options.loss ?? 0 });
  const clock = network.scheduler;
  const relaySocket = await network.addHost("203.0.113.1").openSocket(8000);
  const core = new RelayCore({
    staticKeyPair: DH_25519.generateKeyPair(),
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    now: () => clock.now(),
  });
  const controller = new AbortController();
  const relayDone = runRelay(relaySocket, core, {
    scheduler: clock,
    signal: controller.signal,
  });
  const hosts = {
    alice: network.addHost("10.0.0.2", {
      behind: network.addNat({
        publicAddress: "198.51.100.1",
        ...nat,
      }),
    }),
    bob: network.addHost("10.1.0.2", {
      behind: network.addNat({
        publicAddress: "198.51.100.2",
        ...nat,
      }),
    }),
  };
  const apps: ChatApp[] = [];
  const chat = async (
    name: Who,
    extra: Partial<ChatAppOptions> = {},
  ) => {
    const socket = await hosts[name].openSocket(name === "alice" ? 9001 : 9002);
    const outDir = join(dir, name, "in");
    await Deno.mkdir(outDir, { recursive: true });
    const events: ChatEvent[] = [];
    const app = new ChatApp({
      socket,
      scheduler: clock,
      staticKeyPair: DH_25519.generateKeyPair(),
      name,
      relay: relaySocket.local,
      knownPeers: await TrustStore.open(join(dir, name, "known_peers")),
      peer: name === "alice" ? "bob" : "alice",
      candidates: [socket.local],
      outDir,
      openPart: (offer, from) =>
        openPartFile(outDir, offer, {
          from,
          wrapHandleForTestingOnly: synchronousHandle,
        }),
      onEvent: (e) => events.push(e),
      ...extra,
    });
    app.start();
    apps.push(app);
    return { app, events, outDir };
  };
  const makeFile = async (name: string, size: number, seed = 1) => {
    const path = join(dir, "files", name);
    await Deno.mkdir(join(dir, "files"), { recursive: true });
    const bytes = new Uint8Array(size);
    fillPattern(bytes, seed);
    await Deno.writeFile(path, bytes);
    return path;
  };
  const close = async () => {
    for (const app of apps) await app.stop();
    controller.abort();
    await clock.advance(100);
    await relayDone;
    await Deno.remove(dir, { recursive: true });
  };
  return { dir, clock, chat, makeFile, close };
}

const ACCEPT: Decision = { accept: true };

function texts(events: ChatEvent[]): string[] {
  return events.flatMap((e) => e.event === "message" ? [e.text] : []);
}

async function sha256File(path: string): Promise<string> {
  return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
}

Deno.test("a file sent in a chat arrives verified while messages flow both ways in order", async () => {
  const w = await world();
  try {
    const alice = await w.chat("alice");
    const bob = await w.chat("bob", {
      decideOffer: () => Promise.resolve(ACCEPT),
    });
    assert.ok(
      await w.clock.runUntil(
        () => alice.app.connected && bob.app.connected,
        { maxMs: 10_000 },
      ),
    );
    // Three chunks of 1 MiB, the last one short and odd.
    const size = 2 * 1024 * 1024 + 300_007;
    const path = await w.makeFile("photo.raw", size, 11);
    const id = await alice.app.sendFile(path);
    // Lines both ways while the file moves, a few every 20 ms.
    const fromAlice: string[] = [];
    const fromBob: string[] = [];
    let round = 0;
    const done = () =>
      bob.events.some((e) => e.event === "done" && e.direction === "receive");
    while (!done() && round < 2_000) {
      if (round < 40) {
        const a = `alice ${round}`, b = `bob ${round}`;
        alice.app.send(a);
        bob.app.send(b);
        fromAlice.push(a);
        fromBob.push(b);
      }
      round++;
      await w.clock.advance(20);
    }
    assert.ok(done(), `the file did not arrive: ${JSON.stringify(bob.events)}`);
    assert.ok(
      await w.clock.runUntil(
        () =>
          alice.app.pending === 0 && bob.app.pending === 0 &&
          !alice.app.files.sending,
        { maxMs: 20_000 },
      ),
    );
    assert.deepEqual(texts(bob.events), fromAlice);
    assert.deepEqual(texts(alice.events), fromBob);

    // Messages were not held back behind the file: some arrived between
    // the acceptance and the end of the transfer.
    const accepted = bob.events.findIndex((e) =>
      e.event === "accepted" && e.direction === "receive"
    );
    const finished = bob.events.findIndex((e) =>
      e.event === "done" && e.direction === "receive"
    );
    const during = bob.events.slice(accepted, finished).filter((e) =>
      e.event === "message"
    );
    assert.ok(accepted >= 0 && finished > accepted);
    assert.ok(during.length >= 5, `${during.length} messages during the file`);
    assert.ok(
      bob.events.slice(accepted, finished).some((e) =>
        e.event === "progress" && e.direction === "receive" && e.bytes < size
      ),
      "progress while receiving",
    );

    // The file is in place, whole, under its name, and nothing else is.
    const expected = await sha256File(path);
    const received = bob.events[finished];
    assert.ok(received.event === "done" && received.direction === "receive");
    assert.equal(received.path, join(bob.outDir, "photo.raw"));
    assert.equal(received.sha256, expected);
    assert.equal(received.size, size);
    assert.equal(await sha256File(received.path), expected);
    assert.deepEqual(
      [...Deno.readDirSync(bob.outDir)].map((e) => e.name),
      ["photo.raw"],
    );

    // The sender saw the events of `altnet send`, with the transfer's id.
    const sent = alice.events.filter((e) =>
      "direction" in e && e.direction === "send"
    );
    assert.deepEqual(
      [...new Set(sent.map((e) => e.event))],
      ["offered", "accepted", "progress", "done"],
    );
    assert.ok(sent.every((e) => "id" in e && e.id === id));
    const offered = sent[0];
    assert.ok(offered.event === "offered");
    assert.deepEqual(
      { name: offered.name, size: offered.size, sha256: offered.sha256 },
      { name: "photo.raw", size, sha256: expected },
    );
    const offer = bob.events.find((e) => e.event === "offer");
    assert.ok(offer && offer.event === "offer");
    assert.equal(offer.from, "alice");
    assert.equal(offer.sha256, expected);
    assert.equal(alice.app.files.sent, 1);
    assert.equal(bob.app.files.received, 1);
    assert.deepEqual(alice.app.files.failures, []);
  } finally {
    await w.close();
  }
});

Deno.test("both peers send a file to each other at once", async () => {
  const w = await world({ seed: 3 });
  try {
    const accept = { decideOffer: () => Promise.resolve(ACCEPT) };
    const alice = await w.chat("alice", accept);
    const bob = await w.chat("bob", accept);
    const one = await w.makeFile("one.bin", 70_001, 1);
    const two = await w.makeFile("two.bin", 50_003, 2);
    // Queued before the session is up: offered once it is.
    await alice.app.sendFile(one);
    await bob.app.sendFile(two);
    const arrived = (events: ChatEvent[]) =>
      events.some((e) => e.event === "done" && e.direction === "receive");
    assert.ok(
      await w.clock.runUntil(
        () => arrived(alice.events) && arrived(bob.events),
        { maxMs: 20_000 },
      ),
    );
    assert.equal(
      await sha256File(join(bob.outDir, "one.bin")),
      await sha256File(one),
    );
    assert.equal(
      await sha256File(join(alice.outDir, "two.bin")),
      await sha256File(two),
    );
    assert.ok(
      await w.clock.runUntil(
        () => !alice.app.files.sending && !bob.app.files.sending,
        { maxMs: 10_000 },
      ),
    );
  } finally {
    await w.close();
  }
});

Deno.test("a declined file tells the sender why, writes nothing, and the chat goes on", async () => {
  const w = await world({ seed: 4 });
  try {
    const queue = new OfferQueue("bob declined the file");
    const alice = await w.chat("alice");
    const bob = await w.chat("bob", {
      decideOffer: (offer) => queue.ask(offer),
    });
    const path = await w.makeFile("secret.txt", 40_000);
    const id = await alice.app.sendFile(path);
    assert.ok(
      await w.clock.runUntil(() => queue.waiting.length === 1, {
        maxMs: 10_000,
      }),
    );
    assert.equal(queue.waiting[0].offer.name, "secret.txt");
    assert.throws(() => queue.answer(false, 999), /No file offer waits/);
    queue.answer(false);
    assert.ok(
      await w.clock.runUntil(
        () => alice.events.some((e) => e.event === "declined"),
        { maxMs: 10_000 },
      ),
    );
    const declined = alice.events.find((e) => e.event === "declined");
    assert.ok(declined?.event === "declined" && declined.direction === "send");
    assert.equal(declined.id, id);
    assert.equal(declined.reason, "declined");
    assert.match(declined.message, /^bob declined secret\.txt: bob declined/);
    const theirs = bob.events.find((e) => e.event === "declined");
    assert.ok(theirs?.event === "declined" && theirs.direction === "receive");
    assert.deepEqual([...Deno.readDirSync(bob.outDir)], []);
    assert.deepEqual(alice.app.files.failures, [declined.message]);

    alice.app.send("still there?");
    assert.ok(
      await w.clock.runUntil(
        () => texts(bob.events).includes("still there?"),
        { maxMs: 5_000 },
      ),
    );
  } finally {
    await w.close();
  }
});

Deno.test("a chat that takes no files declines them as having no terminal", async () => {
  const w = await world({ seed: 5 });
  try {
    const alice = await w.chat("alice");
    const bob = await w.chat("bob"); // no decideOffer
    await alice.app.sendFile(await w.makeFile("x.bin", 1000));
    assert.ok(
      await w.clock.runUntil(
        () => alice.events.some((e) => e.event === "declined"),
        { maxMs: 10_000 },
      ),
    );
    const declined = alice.events.find((e) => e.event === "declined");
    assert.ok(declined?.event === "declined" && declined.direction === "send");
    assert.equal(declined.reason, "no_terminal");
    assert.match(declined.hint ?? "", /--accept-files/);
    assert.deepEqual([...Deno.readDirSync(bob.outDir)], []);
  } finally {
    await w.close();
  }
});

Deno.test("a missing file, a folder or an unreadable file is refused at once and the chat goes on", async () => {
  const w = await world({ seed: 6 });
  try {
    const alice = await w.chat("alice");
    const bob = await w.chat("bob", {
      decideOffer: () => Promise.resolve(ACCEPT),
    });
    const missing = join(w.dir, "nope.txt");
    await assert.rejects(
      alice.app.sendFile(missing),
      (error: Error) => {
        assert.equal(error.message, `Cannot send ${missing}: no such file`);
        return true;
      },
    );
    await assert.rejects(
      alice.app.sendFile(w.dir),
      /^Error: Cannot send .*: it is a folder$/,
    );
    const locked = await w.makeFile("locked.bin", 10);
    await Deno.chmod(locked, 0o000);
    let readable = true;
    try {
      Deno.openSync(locked, { read: true }).close();
    } catch {
      readable = false;
    }
    if (!readable) {
      // (root reads anything: the check only runs as another user)
      await assert.rejects(
        alice.app.sendFile(locked),
        /Cannot send .*locked\.bin: permission denied/,
      );
    }
    assert.equal(alice.app.files.sending, false);
    alice.app.send("after the mistakes");
    assert.ok(
      await w.clock.runUntil(
        () => texts(bob.events).includes("after the mistakes"),
        { maxMs: 10_000 },
      ),
    );
    assert.equal(
      alice.events.some((e) => "direction" in e),
      false,
      "no transfer event for a file never offered",
    );
  } finally {
    await w.close();
  }
});

Deno.test("a file on a circuit the relay closes fails with the reason and resumes when sent again", async () => {
  // The relay closes every circuit after 1.5 MB: a file of four 1 MiB
  // chunks needs several circuits, so several sends.
  const w = await world({
    relayOnly: true,
    limits: { maxCircuitBytes: 1_500_000 },
  });
  try {
    const alice = await w.chat("alice");
    const bob = await w.chat("bob", {
      decideOffer: () => Promise.resolve(ACCEPT),
    });
    const path = await w.makeFile("big.bin", 3_200_000, 5);
    const arrived = () =>
      bob.events.some((e) => e.event === "done" && e.direction === "receive");
    for (let attempt = 0; attempt < 8 && !arrived(); attempt++) {
      const id = await alice.app.sendFile(path);
      const ended = () =>
        alice.events.some((e) =>
          (e.event === "failed" || e.event === "done") &&
          e.direction === "send" && e.id === id
        );
      assert.ok(
        await w.clock.runUntil(ended, { maxMs: 60_000 }),
        `attempt ${attempt}: ${JSON.stringify(alice.events.slice(-5))}`,
      );
      alice.app.send(`after attempt ${attempt}`);
    }
    assert.ok(arrived(), JSON.stringify(alice.app.files.failures));
    assert.equal(
      await sha256File(join(bob.outDir, "big.bin")),
      await sha256File(path),
    );
    const failures = alice.app.files.failures;
    assert.ok(failures.length >= 2, JSON.stringify(failures));
    for (const failure of failures) {
      assert.match(failure, /connection to bob was replaced/);
    }
    // Every later attempt resumed where the last one stopped.
    const accepted = alice.events.flatMap((e) =>
      e.event === "accepted" ? [e.have] : []
    );
    assert.equal(accepted.length, failures.length + 1);
    for (let i = 1; i < accepted.length; i++) {
      assert.ok(accepted[i] > accepted[i - 1], JSON.stringify(accepted));
    }
    // Messages went on, once each, in order.
    assert.ok(
      await w.clock.runUntil(() => alice.app.pending === 0, {
        maxMs: 20_000,
      }),
    );
    assert.deepEqual(
      texts(bob.events),
      Array.from(
        { length: failures.length + 1 },
        (_, i) => `after attempt ${i}`,
      ),
    );
  } finally {
    await w.close();
  }
});
