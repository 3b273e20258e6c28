import assert from "node:assert/strict";
import { generateIdentity } from "../identity/mod.ts";
import {
  isNonPublicAddress,
  isValidHost,
  MessageType,
  parseDeregistration,
  parseDescriptor,
  parseHeartbeat,
} from "./descriptor.ts";
import {
  createDeregistration,
  createDescriptor,
  createHeartbeat,
} from "./relay_messages.ts";

const directoryId = generateIdentity();
const directory = {
  signingKey: directoryId.signingPublicKey,
  noiseKey: directoryId.noisePublicKey,
};
const relay = generateIdentity();
const load = { peers: 2, circuits: 1, bytesRelayed: 10, uptimeSeconds: 5 };

function descriptor() {
  return createDescriptor(relay, {
    name: "relay-1",
    addresses: [{ host: "203.0.113.5", port: 8000 }, {
      host: "2001:db8::5",
      port: 8000,
    }],
    capabilities: ["relay", "onion"],
    bandwidth: 12_500_000,
    contact: "Ops <ops@example.org> 🛰",
  }, { directory, load, timestamp: 1_750_000_000_000 });
}

Deno.test("a built descriptor, heartbeat and deregistration parse back unchanged", () => {
  const d = descriptor();
  assert.equal(d.type, MessageType.DESCRIPTOR);
  assert.deepEqual(parseDescriptor(JSON.parse(JSON.stringify(d))), {
    ok: true,
    value: d,
  });
  const h = createHeartbeat(relay, load, { directory, timestamp: 1 });
  assert.deepEqual(parseHeartbeat(h), { ok: true, value: h });
  const g = createDeregistration(relay, { directory, timestamp: 2 });
  assert.deepEqual(parseDeregistration(g), { ok: true, value: g });
});

Deno.test("every malformed descriptor field is refused with a sentence naming it", () => {
  const d = descriptor() as unknown as Record<string, unknown>;
  const cases: [Record<string, unknown> | unknown, RegExp][] = [
    [null, /must be a JSON object/],
    [[d], /must be a JSON object/],
    ["text", /must be a JSON object/],
    [{ ...d, extra: 1 }, /unknown member "extra"/],
    [{ ...d, ["__proto__"]: 1 }, /unknown member/],
    [(({ name: _, ...rest }) => rest)(d), /lacks the member "name"/],
    [{ ...d, type: "relay-heartbeat" }, /type must be "relay-descriptor"/],
    [{ ...d, version: 2 }, /version must be 1/],
    [{ ...d, noise_key: "AAAA" }, /noise_key must be 32 bytes/],
    [{ ...d, signing_key: 5 }, /signing_key must be 32 bytes/],
    [{ ...d, signature: "x".repeat(88) }, /signature must be 64 bytes/],
    [{ ...d, name: "Relay" }, /name must be 1 to 32/],
    [{ ...d, name: "" }, /name must be 1 to 32/],
    [{ ...d, name: "-x" }, /name must be 1 to 32/],
    [{ ...d, name: "a".repeat(33) }, /name must be 1 to 32/],
    [{ ...d, name: "<img src=x>" }, /name must be 1 to 32/],
    [{ ...d, addresses: [] }, /addresses must hold 1 to 4/],
    [{ ...d, addresses: "1.2.3.4:5" }, /addresses must be a JSON array/],
    [{
      ...d,
      addresses: Array(5).fill({ host: "1.2.3.4", port: 1 }),
    }, /addresses must hold 1 to 4/],
    [{ ...d, addresses: [{ host: "1.2.3.4" }] }, /lacks the member "port"/],
    [
      { ...d, addresses: [{ host: "1.2.3.4", port: 0 }] },
      /port must be from 1 to 65535/,
    ],
    [
      { ...d, addresses: [{ host: "1.2.3.4", port: 65536 }] },
      /port must be from 1 to 65535/,
    ],
    [
      { ...d, addresses: [{ host: "1.2.3.4", port: "80" }] },
      /port must be a whole number/,
    ],
    [
      { ...d, addresses: [{ host: "1.2.3.4", port: 80.5 }] },
      /port must be a whole number/,
    ],
    [{ ...d, addresses: [{ host: "01.2.3.4", port: 1 }] }, /host must be/],
    [{ ...d, addresses: [{ host: "1.2.3.256", port: 1 }] }, /host must be/],
    [{ ...d, addresses: [{ host: "2001:DB8::1", port: 1 }] }, /host must be/],
    [
      { ...d, addresses: [{ host: "::ffff:1.2.3.4", port: 1 }] },
      /host must be/,
    ],
    [
      { ...d, addresses: [{ host: "Relay.Example.org", port: 1 }] },
      /host must be/,
    ],
    [{ ...d, addresses: [{ host: "a..b", port: 1 }] }, /host must be/],
    [{ ...d, addresses: [{ host: "x.123", port: 1 }] }, /host must be/],
    [{ ...d, addresses: [{ host: "<b>", port: 1 }] }, /host must be/],
    [{
      ...d,
      addresses: [{ host: "1.2.3.4", port: 1 }, { host: "1.2.3.4", port: 1 }],
    }, /repeats an earlier address/],
    [{ ...d, software: "" }, /software must be 1 to 64/],
    [{ ...d, software: "alt net" }, /software must be 1 to 64/],
    [{ ...d, software: "x".repeat(65) }, /software must be 1 to 64/],
    [{ ...d, capabilities: [] }, /capabilities must not be empty/],
    [{ ...d, capabilities: ["relay", "relay"] }, /capabilities repeats relay/],
    [{ ...d, capabilities: ["teleport"] }, /capabilities may only hold/],
    [{ ...d, capabilities: "relay" }, /capabilities must be a JSON array/],
    [{ ...d, bandwidth: -1 }, /bandwidth must be from 0/],
    [{ ...d, bandwidth: 1e13 }, /bandwidth must be from 0/],
    [{ ...d, contact: 5 }, /contact must be a string/],
    [{ ...d, contact: "x".repeat(129) }, /contact is longer than 128/],
    [{ ...d, contact: "a\nb" }, /control or bidirectional/],
    [{ ...d, contact: "a\u001bb" }, /control or bidirectional/],
    [{ ...d, contact: "abc\u202edcba" }, /control or bidirectional/],
    [{ ...d, contact: "\ud800" }, /lone surrogate/],
    [{ ...d, timestamp: 0 }, /timestamp must be from 1/],
    [{ ...d, timestamp: 2 ** 53 }, /timestamp must be a whole number/],
    [{ ...d, load: null }, /load must be a JSON object/],
    [{ ...d, load: { peers: 1 } }, /load lacks the member "circuits"/],
    [{
      ...d,
      load: { peers: -1, circuits: 0, bytes_relayed: 0, uptime_s: 0 },
    }, /load.peers must be from 0/],
  ];
  for (const [value, reason] of cases) {
    const result = parseDescriptor(value);
    assert.equal(result.ok, false, JSON.stringify(value)?.slice(0, 120));
    if (!result.ok) {
      assert.match(result.error, /^Invalid descriptor: /);
      assert.match(result.error, reason);
    }
  }
});

Deno.test("a contact line may hold any printable text, markup included", () => {
  const d = createDescriptor(relay, {
    name: "r",
    addresses: [{ host: "relay.example.org", port: 1 }],
    contact: `<img src=x onerror=alert(1)> "quoted" & 'single' 😀`,
  }, { directory, load, timestamp: 1 });
  assert.equal(parseDescriptor(d).ok, true);
});

Deno.test("building an invalid announcement throws before anything is sent", () => {
  assert.throws(
    () =>
      createDescriptor(relay, { name: "Bad Name", addresses: [] }, {
        directory,
        load,
        timestamp: 1,
      }),
    /Cannot build the message: Invalid descriptor: name/,
  );
});

Deno.test("hosts are canonical IP text or lower-case DNS names", () => {
  for (
    const good of [
      "192.0.2.1",
      "2001:db8::1",
      "::1",
      "relay.example.org",
      "a",
      "x-1.y",
    ]
  ) {
    assert.equal(isValidHost(good), true, good);
  }
  for (
    const bad of [
      "",
      "192.0.2",
      "192.0.2.01",
      "2001:0db8::1",
      "[::1]",
      "a_b.org",
      "-a.org",
      "a.org.",
      "1.2.3.4.5",
      "é.org",
    ]
  ) {
    assert.equal(isValidHost(bad), false, bad);
  }
});

Deno.test("loopback, private, link-local and multicast addresses are not public", () => {
  for (
    const host of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "169.254.0.1",
      "100.64.0.1",
      "0.0.0.0",
      "224.0.0.1",
      "::1",
      "::",
      "fe80::1",
      "fd00::1",
      "ff02::1",
    ]
  ) {
    assert.equal(isNonPublicAddress(host), true, host);
  }
  for (
    const host of [
      "203.0.113.5",
      "172.32.0.1",
      "100.128.0.1",
      "2001:db8::1",
      "relay.example.org",
    ]
  ) {
    assert.equal(isNonPublicAddress(host), false, host);
  }
});

Deno.test("heartbeats and deregistrations refuse extra or missing members", () => {
  const h = createHeartbeat(relay, load, {
    directory,
    timestamp: 1,
  }) as unknown as Record<string, unknown>;
  assert.match(
    (parseHeartbeat({ ...h, name: "x" }) as { error: string }).error,
    /Invalid heartbeat: unknown member "name"/,
  );
  assert.match(
    (parseHeartbeat({
      ...h,
      load: { ...(h.load as object), uptime_s: 1e11 },
    }) as { error: string }).error,
    /load.uptime_s must be from 0 to 10000000000/,
  );
  const g = createDeregistration(relay, {
    directory,
    timestamp: 1,
  }) as unknown as Record<string, unknown>;
  assert.match(
    (parseDeregistration({ ...g, type: "relay-heartbeat" }) as {
      error: string;
    }).error,
    /type must be "relay-deregistration"/,
  );
});
