import assert from "node:assert/strict";
import { UsageError } from "../lib/user_error.ts";
import {
  parseBytes,
  parseDuration,
  parseHostPort,
  parsePeerSpec,
  parsePort,
  parseUrl,
} from "./flags.ts";
import { parseChatArgs } from "./chat.ts";
import { parseRelayArgs } from "./relay.ts";

Deno.test("ports accept 0–65535 and nothing else", () => {
  assert.equal(parsePort("0", "p"), 0);
  assert.equal(parsePort("65535", "p"), 65535);
  for (const bad of ["65536", "-1", "1.5", "", "80a", "0x50", "999999"]) {
    assert.throws(() => parsePort(bad, "p"), UsageError, bad);
  }
  assert.throws(() => parsePort("0", "p", { allowZero: false }), UsageError);
});

Deno.test("host:port parses names, IPv4 and bracketed IPv6", () => {
  assert.deepEqual(parseHostPort("relay.example.org:8000", "r"), {
    host: "relay.example.org",
    port: 8000,
  });
  assert.deepEqual(parseHostPort("[2001:db8::1]:9", "r"), {
    host: "2001:db8::1",
    port: 9,
  });
  for (
    const bad of ["host", "host:", ":80", "2001:db8::1:80", "h:0", "a b:1"]
  ) {
    assert.throws(() => parseHostPort(bad, "r"), UsageError, bad);
  }
});

Deno.test("the three peer forms of the brief parse", () => {
  assert.deepEqual(parsePeerSpec("bob"), { kind: "name", name: "bob" });
  assert.deepEqual(parsePeerSpec("bob@203.0.113.5:9002"), {
    kind: "name-with-hint",
    name: "bob",
    hint: { host: "203.0.113.5", port: 9002 },
  });
  assert.deepEqual(parsePeerSpec("bob:9002"), {
    kind: "host-port",
    host: "bob",
    port: 9002,
  });
  assert.throws(() => parsePeerSpec("Bob"), UsageError);
  assert.throws(() => parsePeerSpec("bob@nowhere"), UsageError);
});

Deno.test("sizes, durations and URLs parse with units", () => {
  assert.equal(parseBytes("100MB", "x"), 100_000_000);
  assert.equal(parseBytes("64KiB", "x"), 65536);
  assert.equal(parseBytes("7", "x"), 7);
  assert.throws(() => parseBytes("12 parsecs", "x"), UsageError);
  assert.equal(parseDuration("1h", "x"), 3_600_000);
  assert.equal(parseDuration("90", "x"), 90_000);
  assert.equal(parseDuration("250ms", "x"), 250);
  assert.throws(() => parseDuration("soon", "x"), UsageError);
  assert.equal(parseUrl("http://h:5000/", "x"), "http://h:5000");
  assert.throws(() => parseUrl("h:5000", "x"), UsageError);
});

Deno.test("relay limits default to the Descord relay's values", () => {
  const { limits, port } = parseRelayArgs([]);
  assert.equal(port, 8000);
  assert.deepEqual(
    [
      limits.maxReservations,
      limits.maxReservationsPerPeer,
      limits.maxCircuits,
      limits.maxCircuitsPerPeer,
      limits.maxCircuitDurationMs,
      limits.maxCircuitBytes,
    ],
    [1024, 3, 512, 5, 3_600_000, 100_000_000],
  );
  const custom = parseRelayArgs(["--max-circuits", "9", "--port", "0"]);
  assert.equal(custom.limits.maxCircuits, 9);
  assert.equal(custom.port, 0);
});

Deno.test("the design card's chat line parses", () => {
  const options = parseChatArgs([
    "alice",
    "9001",
    "bob:9002",
    "--relay",
    "host:8000",
  ]);
  assert.equal(options.name, "alice");
  assert.equal(options.port, 9001);
  assert.deepEqual(options.peer, {
    kind: "host-port",
    host: "bob",
    port: 9002,
  });
  assert.deepEqual(options.relay, { host: "host", port: 8000 });
});
