// The directory's HTTP API through app.request(): no port, an injected clock.
import assert from "node:assert/strict";
import { generateIdentity } from "../identity/mod.ts";
import {
  createTestDirectory,
  DEFAULT_TEST_IP,
  type TestDirectory,
  TestRelay,
} from "./directory_harness_for_testing.ts";
import { verifyRelayList } from "./relay_list.ts";
import { signObject } from "./signed_object.ts";
import { createEd25519Signer } from "./ed25519.ts";

async function errorOf(response: Response): Promise<string> {
  const body = await response.json();
  assert.equal(typeof body.error, "string", JSON.stringify(body));
  return body.error;
}

async function listedNames(dir: TestDirectory): Promise<string[]> {
  const response = await dir.get("/v1/relays");
  assert.equal(response.status, 200);
  const checked = verifyRelayList(await response.json(), {
    now: dir.clock.now,
    pinnedKey: dir.identity.signingPublicKey,
  });
  assert.ok(checked.ok, checked.ok ? "" : checked.error);
  return checked.value.relays.map((r) => r.descriptor.name);
}

Deno.test("a relay registers, shows in the signed list, and updates its descriptor", async () => {
  const dir = createTestDirectory();
  try {
    const relay = new TestRelay(dir, { name: "alpha" });
    const first = await relay.register();
    assert.equal(first.status, 201);
    const body = await first.json();
    assert.equal(body.status, "registered");
    assert.equal(body.heartbeat_interval_s, 30);
    assert.equal(body.ttl_s, 90);
    assert.match(body.fingerprint, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){4}$/);
    assert.deepEqual(await listedNames(dir), ["alpha"]);

    const renamed = await dir.post(
      "/v1/relays",
      relay.descriptor({ name: "alpha-2", contact: "new@example.org" }),
    );
    assert.equal(renamed.status, 200);
    assert.equal((await renamed.json()).status, "updated");
    assert.deepEqual(await listedNames(dir), ["alpha-2"]);
    assert.equal(dir.directory.registry.counters().get("registrations"), 1);
    assert.equal(dir.directory.registry.counters().get("updates"), 1);
  } finally {
    dir.close();
  }
});

Deno.test("heartbeats keep a relay listed with new load; silence drops it after the TTL", async () => {
  const dir = createTestDirectory();
  try {
    const relay = new TestRelay(dir, { name: "beat" });
    assert.equal((await relay.register()).status, 201);
    for (let i = 0; i < 5; i++) {
      dir.clock.now += 30_000;
      const response = await dir.post(
        "/v1/relays/heartbeat",
        relay.heartbeat(10 + i),
      );
      assert.equal(response.status, 200, await response.clone().text());
      assert.equal((await response.json()).status, "ok");
    }
    assert.deepEqual(await listedNames(dir), ["beat"]);
    assert.equal(dir.directory.registry.totals().peers, 14);

    dir.clock.now += 90_000; // exactly the TTL: still listed
    assert.deepEqual(await listedNames(dir), ["beat"]);
    dir.clock.now += 1; // one millisecond more: three heartbeats missed
    assert.deepEqual(await listedNames(dir), []);
    assert.equal(dir.directory.registry.counters().get("expirations"), 1);

    const late = await dir.post("/v1/relays/heartbeat", relay.heartbeat());
    assert.equal(late.status, 404);
    assert.match(await errorOf(late), /not listed: register it again/);
    assert.equal((await relay.register()).status, 201);
  } finally {
    dir.close();
  }
});

Deno.test("a signed deregistration removes the relay at once", async () => {
  const dir = createTestDirectory();
  try {
    const relay = new TestRelay(dir, { name: "leaving" });
    await relay.register();
    const { createDeregistration } = await import("./relay_messages.ts");
    const message = createDeregistration(relay.identity, {
      directory: dir.info,
      timestamp: relay.nextTimestamp(),
    });
    const response = await dir.post("/v1/relays/deregister", message);
    assert.equal(response.status, 200);
    assert.equal((await response.json()).status, "deregistered");
    assert.deepEqual(await listedNames(dir), []);
    // Replaying the deregistration, or an older registration, changes nothing.
    assert.equal(
      (await dir.post("/v1/relays/deregister", message)).status,
      404,
    );
  } finally {
    dir.close();
  }
});

Deno.test("bad signatures are refused with 403 and a reason", async () => {
  const dir = createTestDirectory();
  try {
    const relay = new TestRelay(dir, { name: "signed" });
    const tampered = { ...relay.descriptor(), bandwidth: 999 };
    let response = await dir.post("/v1/relays", tampered);
    assert.equal(response.status, 403);
    assert.match(await errorOf(response), /signature does not verify/);

    // A descriptor signed by another key than the one it names.
    const intruder = generateIdentity();
    const d = relay.descriptor();
    const resigned = signObject(
      { ...d, signature: undefined },
      createEd25519Signer(intruder.signingPrivateKey),
    );
    response = await dir.post("/v1/relays", resigned);
    assert.equal(response.status, 403);

    // A heartbeat signed by another key than the registered one.
    assert.equal((await relay.register()).status, 201);
    const forged = signObject(
      { ...relay.heartbeat(), signature: undefined },
      createEd25519Signer(intruder.signingPrivateKey),
    );
    response = await dir.post("/v1/relays/heartbeat", forged);
    assert.equal(response.status, 403);
    assert.match(await errorOf(response), /registered signing key/);
    assert.equal(
      dir.directory.registry.counters().get("rejected:signature"),
      3,
    );
  } finally {
    dir.close();
  }
});

Deno.test("a relay must prove its Noise key: squatting another relay's key fails", async () => {
  const dir = createTestDirectory();
  try {
    const victim = generateIdentity();
    const squatter = generateIdentity();
    // The squatter signs with its own key but claims the victim's Noise key
    // and cannot make the proof.
    const impostor = {
      ...squatter,
      noisePublicKey: victim.noisePublicKey,
    };
    const relay = new TestRelay(dir, { name: "squat" }, impostor);
    const response = await relay.register();
    assert.equal(response.status, 403);
    assert.match(await errorOf(response), /noise_proof is wrong/);
  } finally {
    dir.close();
  }
});

Deno.test("stale, future and replayed timestamps are refused", async () => {
  const dir = createTestDirectory();
  try {
    const relay = new TestRelay(dir, { name: "clock" });
    const now = dir.clock.now;
    let response = await dir.post(
      "/v1/relays",
      relay.descriptor({}, now - 300_001),
    );
    assert.equal(response.status, 400);
    assert.match(await errorOf(response), /300 s behind the directory's clock/);
    response = await dir.post(
      "/v1/relays",
      relay.descriptor({}, now + 400_000),
    );
    assert.equal(response.status, 400);
    assert.match(
      await errorOf(response),
      /400 s ahead of the directory's clock/,
    );
    // At the edge of the window it is fine.
    const edge = relay.descriptor({}, now - 300_000);
    assert.equal((await dir.post("/v1/relays", edge)).status, 201);

    // The same descriptor again: a replay.
    response = await dir.post("/v1/relays", edge);
    assert.equal(response.status, 409);
    assert.match(
      await errorOf(response),
      /not newer than the last one accepted/,
    );

    const beat = relay.heartbeat(5, now + 10);
    assert.equal((await dir.post("/v1/relays/heartbeat", beat)).status, 200);
    assert.equal((await dir.post("/v1/relays/heartbeat", beat)).status, 409);
    const older = relay.heartbeat(5, now + 5);
    assert.equal((await dir.post("/v1/relays/heartbeat", older)).status, 409);

    // After the relay leaves, its old descriptor cannot bring it back.
    dir.clock.now += 91_000;
    assert.deepEqual(await listedNames(dir), []);
    response = await dir.post("/v1/relays", edge);
    assert.notEqual(response.status, 201);
  } finally {
    dir.close();
  }
});

Deno.test("a message for another directory is refused", async () => {
  const dir = createTestDirectory();
  const other = createTestDirectory();
  try {
    const relay = new TestRelay(other, { name: "elsewhere" });
    const response = await dir.post("/v1/relays", relay.descriptor());
    assert.equal(response.status, 400);
    assert.match(await errorOf(response), /addressed to another directory/);
  } finally {
    dir.close();
    other.close();
  }
});

Deno.test("a name held by another key cannot be taken over", async () => {
  const dir = createTestDirectory();
  try {
    const owner = new TestRelay(dir, { name: "famous" });
    const thief = new TestRelay(dir, { name: "famous" });
    assert.equal((await owner.register()).status, 201);
    const response = await thief.register("203.0.113.99");
    assert.equal(response.status, 409);
    assert.match(
      await errorOf(response),
      /name is held by another relay key: famous/,
    );
    // Once the owner is gone, the name is free.
    dir.clock.now += 91_000;
    dir.directory.tick();
    assert.equal((await thief.register("203.0.113.99")).status, 201);
  } finally {
    dir.close();
  }
});

Deno.test("one IP may list only so many relays", async () => {
  const dir = createTestDirectory({ maxRelaysPerIp: 2 });
  try {
    const relays = [0, 1, 2].map((i) =>
      new TestRelay(dir, { name: `ip-${i}` })
    );
    assert.equal((await relays[0].register()).status, 201);
    assert.equal((await relays[1].register()).status, 201);
    const response = await relays[2].register();
    assert.equal(response.status, 403);
    assert.match(await errorOf(response), /limit is 2/);
    // An update of a relay already listed is fine, and another IP is too.
    assert.equal((await relays[1].register()).status, 200);
    assert.equal((await relays[2].register("192.0.2.200")).status, 201);
  } finally {
    dir.close();
  }
});

Deno.test("private addresses are refused unless allowed", async () => {
  const dir = createTestDirectory({ allowPrivateAddresses: false });
  try {
    const relay = new TestRelay(dir, {
      name: "lan",
      addresses: [{ host: "192.168.1.10", port: 8000 }],
    });
    const response = await relay.register();
    assert.equal(response.status, 400);
    assert.match(
      await errorOf(response),
      /not reachable from the internet: 192.168.1.10/,
    );
  } finally {
    dir.close();
  }
});

Deno.test("the directory refuses to list more relays than its limit", async () => {
  const dir = createTestDirectory({ maxRelays: 1 });
  try {
    assert.equal(
      (await new TestRelay(dir, { name: "one" }).register()).status,
      201,
    );
    const response = await new TestRelay(dir, { name: "two" }).register(
      "192.0.2.9",
    );
    assert.equal(response.status, 503);
    assert.match(await errorOf(response), /limit is 1/);
  } finally {
    dir.close();
  }
});

Deno.test("oversized bodies get 413, declared or not", async () => {
  const dir = createTestDirectory();
  try {
    const big = JSON.stringify({ pad: "x".repeat(9000) });
    let response = await dir.post("/v1/relays", big);
    assert.equal(response.status, 413);
    assert.match(await errorOf(response), /too large: limit is 8192 bytes/);
    // A chunked body with no Content-Length is cut off while reading.
    const chunks = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(4096).fill(0x20));
      },
    });
    response = await dir.directory.app.request("/v1/relays/heartbeat", {
      method: "POST",
      body: chunks,
      // @ts-ignore: Deno's RequestInit needs duplex for a stream body
      duplex: "half",
    });
    assert.equal(response.status, 413);
    assert.equal(
      dir.directory.registry.counters().get("rejected:too-large"),
      2,
    );
  } finally {
    dir.close();
  }
});

Deno.test("malformed bodies get 400 with a reason naming the field", async () => {
  const dir = createTestDirectory();
  try {
    const relay = new TestRelay(dir, { name: "shape" });
    const d = relay.descriptor() as unknown as Record<string, unknown>;
    const cases: [string, unknown, RegExp][] = [
      ["/v1/relays", "{not json", /not valid JSON/],
      ["/v1/relays", "", /not valid JSON/],
      ["/v1/relays", [], /must be a JSON object/],
      ["/v1/relays", { ...d, name: "UPPER" }, /name must be/],
      [
        "/v1/relays",
        { ...d, addresses: [{ host: "1.2.3.4", port: 70000 }] },
        /port must be from 1 to 65535/,
      ],
      [
        "/v1/relays/heartbeat",
        { type: "relay-heartbeat" },
        /Invalid heartbeat/,
      ],
      ["/v1/relays/deregister", 42, /Invalid deregistration/],
    ];
    for (const [path, body, reason] of cases) {
      const response = await dir.post(path, body);
      assert.equal(response.status, 400, `${path} ${JSON.stringify(body)}`);
      assert.equal(
        response.headers.get("content-type"),
        "application/json; charset=utf-8",
      );
      assert.match(await errorOf(response), reason);
    }
    const bytes = new Uint8Array([0x7b, 0xff, 0x7d]);
    const response = await dir.directory.app.request("/v1/relays", {
      method: "POST",
      body: bytes,
    });
    assert.equal(response.status, 400);
    assert.match(await errorOf(response), /not UTF-8/);
  } finally {
    dir.close();
  }
});

Deno.test("registrations are rate-limited per IP with Retry-After", async () => {
  const dir = createTestDirectory({
    limits: { registrationRate: 0.1, registrationBurst: 3 },
    maxRelaysPerIp: 100,
  });
  try {
    const relays = Array.from(
      { length: 5 },
      (_, i) => new TestRelay(dir, { name: `rate-${i}` }),
    );
    for (let i = 0; i < 3; i++) {
      assert.equal((await relays[i].register()).status, 201);
    }
    const refused = await relays[3].register();
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("retry-after"), "10");
    assert.match(
      await errorOf(refused),
      /Too many registrations from this address: try again in 10 s/,
    );
    // Another address has its own bucket; time refills this one.
    assert.equal((await relays[3].register("192.0.2.77")).status, 201);
    dir.clock.now += 10_000;
    assert.equal((await relays[4].register()).status, 201);
    assert.equal(
      dir.directory.registry.counters().get("rejected:rate-limited"),
      1,
    );
  } finally {
    dir.close();
  }
});

Deno.test("heartbeats are rate-limited per IP too", async () => {
  const dir = createTestDirectory({
    limits: { updateRate: 1, updateBurst: 2 },
  });
  try {
    const relay = new TestRelay(dir, { name: "chatty" });
    await relay.register();
    assert.equal(
      (await dir.post("/v1/relays/heartbeat", relay.heartbeat())).status,
      200,
    );
    assert.equal(
      (await dir.post("/v1/relays/heartbeat", relay.heartbeat())).status,
      200,
    );
    const refused = await dir.post("/v1/relays/heartbeat", relay.heartbeat());
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("retry-after"), "1");
  } finally {
    dir.close();
  }
});

Deno.test("the signed list verifies, and any tampering breaks it", async () => {
  const dir = createTestDirectory();
  try {
    for (const name of ["b-relay", "a-relay", "c-relay"]) {
      await new TestRelay(dir, { name }).register(
        `192.0.2.${name.charCodeAt(0)}`,
      );
    }
    const response = await dir.get("/v1/relays");
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    const text = await response.text();
    const doc = JSON.parse(text);
    const options = {
      now: dir.clock.now,
      pinnedKey: dir.identity.signingPublicKey,
    };
    const checked = verifyRelayList(doc, options);
    assert.ok(checked.ok);
    assert.deepEqual(checked.value.relays.map((r) => r.descriptor.name), [
      "a-relay",
      "b-relay",
      "c-relay",
    ]);
    assert.equal(doc.valid_until - doc.valid_after, 600_000);

    const clone = () => JSON.parse(text);
    // deno-lint-ignore no-explicit-any
    type Doc = any; // a parsed document, poked at on purpose
    const tamperings: [string, (d: Doc) => void, string][] = [
      ["load", (d) => d.relays[0].status.load.peers++, "bad-signature"],
      ["order", (d) => d.relays.reverse(), "bad-signature"],
      ["removal", (d) => d.relays.pop(), "bad-signature"],
      ["window", (d) => d.valid_until += 3_600_000, "bad-signature"],
      [
        "address",
        (d) => d.relays[1].descriptor.addresses[0].port = 1,
        "bad-signature",
      ],
      [
        "signature",
        (d) => d.signature = doc.relays[0].descriptor.signature,
        "bad-signature",
      ],
    ];
    for (const [what, tamper, problem] of tamperings) {
      const copy = clone();
      tamper(copy);
      const result = verifyRelayList(copy, options);
      assert.equal(result.ok, false, what);
      if (!result.ok) assert.equal(result.problem, problem, what);
    }
    // Re-signed by someone else: caught by the pinned key.
    const mallory = generateIdentity();
    const copy = clone();
    copy.directory.signing_key = mallory.signingPublicKey.toBase64();
    const forged = signObject(
      { ...copy, signature: undefined },
      createEd25519Signer(mallory.signingPrivateKey),
    );
    const result = verifyRelayList(forged, options);
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.problem, "wrong-key");
    // Without a pin it verifies as a document of Mallory's directory, but
    // every relay's descriptor still names the real directory.
    const unpinned = verifyRelayList(forged, { now: dir.clock.now });
    assert.equal(unpinned.ok, false);
    if (!unpinned.ok) assert.equal(unpinned.problem, "bad-relay");
  } finally {
    dir.close();
  }
});

Deno.test("a list is stale once its window passed, and caches revalidate with ETag", async () => {
  const dir = createTestDirectory();
  try {
    await new TestRelay(dir, { name: "cached" }).register();
    const response = await dir.get("/v1/relays");
    const etag = response.headers.get("etag")!;
    const doc = await response.json();
    assert.ok(etag);
    const notModified = await dir.get("/v1/relays", { "if-none-match": etag });
    assert.equal(notModified.status, 304);

    const later = verifyRelayList(doc, { now: doc.valid_until });
    assert.equal(later.ok, false);
    if (!later.ok) {
      assert.equal(later.problem, "stale");
      assert.match(
        later.error,
        /The relay list is stale: it expired at .* 0 s ago/,
      );
    }
    const early = verifyRelayList(doc, { now: doc.valid_after - 301_000 });
    assert.equal(early.ok, false);
    if (!early.ok) assert.equal(early.problem, "not-yet-valid");

    // The directory itself never serves a stale list: it re-signs in time.
    dir.clock.now += 20 * 60_000;
    const fresh = await (await dir.get("/v1/relays")).json();
    assert.ok(verifyRelayList(fresh, { now: dir.clock.now }).ok);
  } finally {
    dir.close();
  }
});

Deno.test("load changes reach the list within the refresh interval; joins at once", async () => {
  const dir = createTestDirectory({ listRefreshMs: 5_000 });
  try {
    const relay = new TestRelay(dir, { name: "loaded" });
    await relay.register();
    const peersIn = async () =>
      (await (await dir.get("/v1/relays")).json()).relays[0].status.load.peers;
    assert.equal(await peersIn(), 3);
    await dir.post("/v1/relays/heartbeat", relay.heartbeat(42));
    assert.equal(await peersIn(), 3, "cached for up to 5 s");
    dir.clock.now += 5_000;
    assert.equal(await peersIn(), 42);
    await new TestRelay(dir, { name: "joiner" }).register("192.0.2.55");
    assert.equal((await (await dir.get("/v1/relays")).json()).relays.length, 2);
  } finally {
    dir.close();
  }
});

Deno.test("the directory describes itself for relays", async () => {
  const dir = createTestDirectory();
  try {
    const info = await (await dir.get("/v1/directory")).json();
    assert.equal(info.signing_key, dir.identity.signingPublicKey.toBase64());
    assert.equal(info.noise_key, dir.identity.noisePublicKey.toBase64());
    assert.equal(info.heartbeat_interval_s, 30);
    assert.equal(info.ttl_s, 90);
    assert.equal(info.limits.max_body_bytes, 8192);
  } finally {
    dir.close();
  }
});

Deno.test("stats and metrics report totals and counters", async () => {
  const dir = createTestDirectory({ historyIntervalMs: 1000 });
  try {
    const relay = new TestRelay(dir, { name: "counted" });
    await relay.register();
    await dir.post("/v1/relays/heartbeat", relay.heartbeat(7));
    await dir.post("/v1/relays", "{");
    dir.directory.tick();
    const stats = await (await dir.get("/v1/stats")).json();
    assert.equal(stats.totals.relays, 1);
    assert.equal(stats.totals.peers, 7);
    assert.equal(stats.totals.bytes_relayed, 4096);
    assert.equal(stats.counters.registrations, 1);
    assert.equal(stats.counters.heartbeats, 1);
    assert.equal(stats.rejected["not-json"], 1);
    assert.equal(stats.history.length, 1);
    const metrics = await dir.get("/metrics");
    assert.match(
      metrics.headers.get("content-type")!,
      /^text\/plain; version=0.0.4/,
    );
    const text = await metrics.text();
    assert.match(text, /^altnet_directory_relays 1$/m);
    assert.match(text, /^altnet_directory_network_peers 7$/m);
    assert.match(
      text,
      /^altnet_directory_events_total\{event="heartbeats"\} 1$/m,
    );
    assert.match(
      text,
      /^altnet_directory_rejected_requests_total\{reason="not-json"\} 1$/m,
    );
  } finally {
    dir.close();
  }
});

Deno.test("the history table stays bounded", () => {
  const dir = createTestDirectory({ historyIntervalMs: 1000, historyLimit: 5 });
  try {
    for (let i = 0; i < 20; i++) {
      dir.clock.now += 1000;
      dir.directory.tick();
    }
    assert.equal(dir.directory.store.historySize(), 5);
    const history = dir.directory.registry.history(100);
    assert.equal(history.length, 5);
    assert.equal(history[4].t, dir.clock.now);
  } finally {
    dir.close();
  }
});

Deno.test("the dashboard is a constant page with a strict CSP and no inline script", async () => {
  const dir = createTestDirectory();
  try {
    const page = await dir.get("/");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type")!, /^text\/html/);
    const csp = page.headers.get("content-security-policy")!;
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers.get("x-content-type-options"), "nosniff");
    const html = await page.text();
    assert.match(html, /<script src="\/app.js" defer><\/script>/);
    assert.doesNotMatch(html, /<script>|<script [^s]|\son\w+=/);
    const script = await (await dir.get("/app.js")).text();
    assert.doesNotMatch(
      script,
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/,
    );
    assert.equal((await dir.get("/app.css")).status, 200);
    const missing = await dir.get("/nope");
    assert.equal(missing.status, 404);
    assert.match(await errorOf(missing), /Not found/);
  } finally {
    dir.close();
  }
});

Deno.test("the event stream sends a snapshot, then updates as relays come and go", async () => {
  const dir = createTestDirectory();
  try {
    const first = new TestRelay(dir, { name: "first", contact: "<b>bold</b>" });
    await first.register();
    const response = await dir.get("/v1/events");
    assert.equal(
      response.headers.get("content-type"),
      "text/event-stream; charset=utf-8",
    );
    const reader = response.body!.pipeThrough(new TextDecoderStream())
      .getReader();
    let buffer = "";
    const nextEvent = async () => {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = block.match(/^event: (.*)$/m)?.[1];
          const data = block.match(/^data: (.*)$/m)?.[1];
          if (event) return { event, data: JSON.parse(data!) };
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        buffer += value;
      }
    };
    const snapshot = await nextEvent();
    assert.equal(snapshot.event, "snapshot");
    assert.equal(snapshot.data.relays[0].name, "first");
    assert.equal(snapshot.data.relays[0].contact, "<b>bold</b>");
    assert.equal(snapshot.data.totals.relays, 1);
    assert.equal(dir.directory.feed.clients, 1);

    const second = new TestRelay(dir, { name: "second" });
    await second.register("192.0.2.2");
    dir.directory.tick();
    const joined = await nextEvent();
    assert.equal(joined.event, "update");
    assert.deepEqual(joined.data.upserts.map((r: { name: string }) => r.name), [
      "second",
    ]);
    assert.equal(joined.data.totals.relays, 2);

    dir.clock.now += 60_000;
    await dir.post("/v1/relays/heartbeat", second.heartbeat(9), "192.0.2.2");
    dir.directory.tick();
    const beat = await nextEvent();
    assert.equal(beat.data.upserts[0].peers, 9);
    dir.clock.now += 31_000; // "first" has been silent for 91 s
    dir.directory.tick();
    const left = await nextEvent();
    assert.equal(left.data.removed.length, 1);
    assert.equal(left.data.totals.relays, 1);
    await reader.cancel();
    assert.equal(dir.directory.feed.clients, 0);
  } finally {
    dir.close();
  }
});

Deno.test("the number of dashboards is capped", async () => {
  const dir = createTestDirectory({ maxDashboardClients: 1 });
  try {
    const open = await dir.get("/v1/events");
    const refused = await dir.get("/v1/events");
    assert.equal(refused.status, 503);
    assert.match(await errorOf(refused), /limit is 1/);
    await open.body!.cancel();
  } finally {
    dir.close();
  }
});

Deno.test("the default client address is the socket peer, normalized", async () => {
  const dir = createTestDirectory({ clientAddress: undefined });
  try {
    // Deno.serve hands Hono its connection info as the env argument.
    const env = {
      remoteAddr: { hostname: "::ffff:192.0.2.44", port: 1, transport: "tcp" },
    };
    const relay = new TestRelay(dir, { name: "socket" });
    const response = await dir.directory.app.request("/v1/relays", {
      method: "POST",
      body: JSON.stringify(relay.descriptor()),
    }, env);
    assert.equal(response.status, 201);
    assert.equal(dir.directory.registry.relays()[0].sourceIp, "192.0.2.44");
    assert.notEqual(DEFAULT_TEST_IP, "192.0.2.44");
  } finally {
    dir.close();
  }
});

Deno.test("gzip clients get the same signed list compressed, off the event loop", async () => {
  const dir = createTestDirectory();
  try {
    for (let i = 0; i < 20; i++) {
      await new TestRelay(dir, { name: `zip-${i}` }).register(`192.0.2.${i}`);
    }
    const plain = await dir.get("/v1/relays");
    const text = await plain.text();
    await dir.directory.relayList.compressed();
    const zipped = await dir.get("/v1/relays", {
      "accept-encoding": "gzip, br",
    });
    assert.equal(zipped.headers.get("content-encoding"), "gzip");
    assert.equal(zipped.headers.get("vary"), "accept-encoding");
    const bytes = new Uint8Array(await zipped.arrayBuffer());
    assert.ok(
      bytes.length < text.length / 2,
      `${bytes.length} of ${text.length}`,
    );
    const unzipped = await new Response(
      new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip")),
    ).text();
    assert.equal(unzipped, text);
    const etag = zipped.headers.get("etag")!;
    assert.notEqual(etag, plain.headers.get("etag"));
    const revalidated = await dir.get("/v1/relays", {
      "accept-encoding": "gzip",
      "if-none-match": etag,
    });
    assert.equal(revalidated.status, 304);
  } finally {
    dir.close();
  }
});
