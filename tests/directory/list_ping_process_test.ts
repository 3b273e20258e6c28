// `altnet list` and `altnet ping` as a user runs them: a real directory, real
// relays on loopback, real exit codes; and untrustworthy directories.
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createTestDirectory,
  TestRelay,
} from "../../lib/directory/directory_harness_for_testing.ts";
import { registerRelay } from "../../lib/directory/mod.ts";
import { generateIdentity } from "../../lib/identity/mod.ts";
import {
  altnet,
  jsonLines,
  startDirectory,
  startRelay,
} from "./processes_for_testing.ts";

const load = {
  peers: 4,
  circuits: 2,
  bytesRelayed: 5_000_000,
  uptimeSeconds: 7200,
};

/** A port with nothing listening on UDP. */
function deadUdpPort(): number {
  const socket = Deno.listenDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: 0,
  });
  const port = (socket.addr as Deno.NetAddr).port;
  socket.close();
  return port;
}

Deno.test("list and ping show every relay of a real directory", async () => {
  const root = await Deno.makeTempDir({ prefix: "altnet-listping-" });
  const directory = await startDirectory(join(root, "directory"));
  const relayA = await startRelay(join(root, "relay-a"));
  const relayB = await startRelay(join(root, "relay-b"));
  const env = { XDG_CONFIG_HOME: join(root, "client") };
  try {
    for (
      const [name, identity, port] of [
        ["relay-a", relayA.identity, relayA.port],
        ["relay-b", relayB.identity, relayB.port],
        ["gone-quiet", generateIdentity(), deadUdpPort()],
      ] as const
    ) {
      await registerRelay(directory.url, identity, {
        announcement: {
          name,
          addresses: [{ host: "127.0.0.1", port }],
          capabilities: ["relay", "onion"],
          contact: "<img src=x onerror=alert(1)>",
        },
        load,
      });
    }

    // First use: the key is pinned and the user is told.
    const listed = await altnet([
      "list",
      "--directory",
      directory.url,
      "--json",
    ], env);
    assert.equal(listed.code, 0, listed.stderr);
    const events = jsonLines(listed.stdout);
    assert.deepEqual(events.map((e) => e.event), [
      "trust",
      "directory",
      "relay",
      "relay",
      "relay",
      "done",
    ]);
    assert.equal(events[0].key, directory.key);
    assert.equal(events[1].trust, "first-use");
    const relayEvents = events.filter((e) => e.event === "relay");
    assert.deepEqual(relayEvents.map((e) => e.name), [
      "gone-quiet",
      "relay-a",
      "relay-b",
    ]);
    assert.equal(relayEvents[1].fingerprint, relayA.ready.fingerprint);
    assert.deepEqual(relayEvents[1].addresses, [`127.0.0.1:${relayA.port}`]);
    assert.deepEqual(relayEvents[1].flags, ["relay", "onion"]);
    assert.ok((relayEvents[1].uptimeSeconds as number) >= 7200);
    assert.equal(relayEvents[1].peers, 4);
    assert.deepEqual(events.at(-1), { event: "done", relays: 3 });
    const known = JSON.parse(
      await Deno.readTextFile(
        join(root, "client", "altnet", "known_directories"),
      ),
    );
    assert.equal(known[directory.url].key, directory.key);

    // Then: the pinned key matches; a table for people.
    const table = await altnet(["list", "--directory", directory.url], env);
    assert.equal(table.code, 0, table.stderr);
    assert.equal(table.stderr, "");
    const lines = table.stdout.trim().split("\n");
    assert.match(lines[0], /^Directory .*: signature verified .* 3 relays$/);
    assert.match(
      lines[1],
      /^NAME\s+FINGERPRINT\s+ADDRESS\s+FLAGS\s+UPTIME\s+LOAD$/,
    );
    assert.match(
      lines[3],
      new RegExp(
        `^relay-a\\s+${relayA.ready.fingerprint}\\s+127\\.0\\.0\\.1:${relayA.port}\\s+relay,onion\\s+2h 0m\\s+4 peers, 2 circuits$`,
      ),
    );

    // ping: real PING/PONG round trips; the quiet one is lost, not an error.
    const pinged = await altnet([
      "ping",
      "--directory",
      directory.url,
      "--count",
      "3",
      "--timeout",
      "500ms",
      "--json",
    ], env);
    assert.equal(pinged.code, 0, pinged.stderr);
    const pings = jsonLines(pinged.stdout).filter((e) => e.event === "relay");
    assert.deepEqual(pings.at(-1)!.name, "gone-quiet", "no answer sorts last");
    for (const ping of pings.slice(0, 2)) {
      assert.equal(ping.sent, 3);
      assert.equal(ping.received, 3);
      assert.equal(ping.loss, 0);
      assert.ok((ping.minMs as number) <= (ping.medianMs as number));
      assert.ok((ping.medianMs as number) < 500);
    }
    assert.equal(pings[2].loss, 1);
    assert.equal(pings[2].medianMs, null);
    assert.deepEqual(jsonLines(pinged.stdout).at(-1), {
      event: "done",
      relays: 3,
      answered: 2,
    });

    const human = await altnet([
      "ping",
      "--directory",
      directory.url,
      "--count",
      "2",
      "--timeout",
      "300ms",
    ], env);
    assert.equal(human.code, 0, human.stderr);
    assert.match(
      human.stdout,
      /^NAME\s+FINGERPRINT\s+ADDRESS\s+MIN\s+MEDIAN\s+LOSS$/m,
    );
    assert.match(human.stdout, /^gone-quiet .* – +– +100 % \(no answer\)$/m);
    assert.match(
      human.stdout,
      /^relay-[ab] .* \d+\.\d+ ms +\d+\.\d+ ms +0 %$/m,
    );
  } finally {
    await Promise.all([directory.stop(), relayA.stop(), relayB.stop()]);
    await Deno.remove(root, { recursive: true });
  }
});

/** Serves `body` as the relay list at a local URL until `close`. */
function fakeDirectory(body: () => string) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response(body(), { headers: { "content-type": "application/json" } }),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}

async function signedList(options: { pastMs?: number } = {}) {
  const dir = createTestDirectory({
    now: () => Date.now() - (options.pastMs ?? 0),
  });
  dir.clock.now = Date.now() - (options.pastMs ?? 0);
  await new TestRelay(dir, { name: "listed" }).register();
  const text = new TextDecoder().decode(dir.directory.relayList.current().body);
  const key = dir.identity.signingPublicKey.toBase64();
  dir.close();
  return { text, key };
}

Deno.test("list refuses a tampered, stale, re-keyed or unreachable directory in one line", async () => {
  const root = await Deno.makeTempDir({ prefix: "altnet-badlist-" });
  const env = { XDG_CONFIG_HOME: root };
  const good = await signedList();
  const stale = await signedList({ pastMs: 3_600_000 });
  const other = await signedList();
  let served = "";
  const fake = fakeDirectory(() => served);
  const expectFailure = async (args: string[], reason: RegExp) => {
    const result = await altnet(args, env);
    assert.equal(
      result.code,
      1,
      `${args.join(" ")}: ${result.stdout}${result.stderr}`,
    );
    const lines = result.stderr.trim().split("\n");
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0], /^altnet: /);
    assert.match(lines[0], reason);
    assert.doesNotMatch(result.stderr, /\bat .*\.ts:\d+/, "no stack trace");
    return result;
  };
  try {
    // Tampered: one relay's load changed after signing.
    const tampered = JSON.parse(good.text);
    tampered.relays[0].status.load.peers += 1;
    served = JSON.stringify(tampered);
    await expectFailure(
      ["list", "--directory", fake.url, "--directory-key", good.key],
      /The relay list's signature is invalid: it was altered/,
    );

    served = stale.text;
    await expectFailure(
      ["list", "--directory", fake.url, "--directory-key", stale.key],
      /The relay list is stale: it expired at .*; try again later/,
    );

    served = other.text;
    await expectFailure(
      ["list", "--directory", fake.url, "--directory-key", good.key],
      /signed by another key than the directory's pinned key/,
    );

    // Trust on first use, then another key at the same address.
    served = good.text;
    const first = await altnet(["list", "--directory", fake.url], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(
      first.stderr,
      /Trusting the key of the directory at .* on first use/,
    );
    served = other.text;
    await expectFailure(
      ["list", "--directory", fake.url],
      /The directory's key changed since it was first trusted: .*known_directories/,
    );
    await expectFailure(
      ["ping", "--directory", fake.url, "--json"],
      /key changed since it was first trusted/,
    );

    served = "<html>not a directory</html>";
    await expectFailure(
      ["list", "--directory", fake.url, "--directory-key", good.key],
      /did not answer with JSON/,
    );

    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    await expectFailure(
      ["list", "--directory", `http://127.0.0.1:${port}`],
      /Cannot reach the directory at http:\/\/127\.0\.0\.1:\d+: Connection refused; check --directory/,
    );
    const json = await expectFailure(
      ["ping", "--directory", `http://127.0.0.1:${port}`, "--json"],
      /Cannot reach the directory/,
    );
    assert.equal(jsonLines(json.stdout).at(-1)!.event, "error");
  } finally {
    await fake.close();
    await Deno.remove(root, { recursive: true });
  }
});
