import assert from "node:assert/strict";
import {
  decodeEndpoint,
  encodeEndpoint,
  type Endpoint,
  normalizeAddress,
} from "./endpoint.ts";

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

function code(input: Uint8Array): string {
  const result = decodeEndpoint(input);
  return result.ok ? "ok" : result.error.code;
}

Deno.test("normalizeAddress keeps canonical IPv4 and rejects other dotted forms", () => {
  for (const text of ["0.0.0.0", "192.0.2.1", "255.255.255.255", "10.0.0.10"]) {
    assert.equal(normalizeAddress(text), text);
  }
  for (
    const text of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.0.0.1",
      "01.2.3.4",
      "1.2.3.04",
      "1.2.3.-4",
      "1.2.3.4 ",
      " 1.2.3.4",
      "1..3.4",
      "0x1.2.3.4",
      "1.2.3.4/32",
      "1e2.0.0.1",
    ]
  ) {
    assert.throws(() => normalizeAddress(text), TypeError, text);
  }
});

Deno.test("normalizeAddress turns IPv6 into its RFC 5952 form", () => {
  const cases: [string, string][] = [
    ["::", "::"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["::1", "::1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["1::", "1::"],
    ["2001:DB8::1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    // §4.2.2: a single zero group is not shortened.
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["2001:db8::1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    // §4.2.3: the longest run wins, the first on a tie.
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["fe80::1:0:0:0", "fe80::1:0:0:0"],
    ["0:0:1:0:0:0:0:0", "0:0:1::"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    [
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ],
    // Embedded dotted quads are accepted on input, never produced.
    ["::1.2.3.4", "::102:304"],
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
    ["::ffff:0:1.2.3.4", "::ffff:0:102:304"],
    // IPv4-mapped addresses are IPv4 addresses.
    ["::ffff:192.0.2.1", "192.0.2.1"],
    ["::FFFF:c000:0201", "192.0.2.1"],
    ["0:0:0:0:0:ffff:0:0", "0.0.0.0"],
  ];
  for (const [input, canonical] of cases) {
    assert.equal(normalizeAddress(input), canonical, input);
    assert.equal(normalizeAddress(canonical), canonical, canonical);
  }
});

Deno.test("normalizeAddress rejects malformed IPv6", () => {
  for (
    const text of [
      ":",
      ":::",
      "1:::2",
      "1::2::3",
      ":1::2",
      "1::2:",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7::8", // "::" must stand for at least one group
      "::1:2:3:4:5:6:7:8",
      "12345::",
      "g::",
      "fe80::1%eth0",
      "[::1]",
      "::1.2.3",
      "::1.2.3.4:5",
      "1.2.3.4::",
      "::256.1.1.1",
      "1:2:3:4:5:6:7:1.2.3.4",
      "::ffff:01.2.3.4",
      "0000000000000000000000000000000000000000000001::",
    ]
  ) {
    assert.throws(() => normalizeAddress(text), TypeError, text);
  }
});

Deno.test("endpoints round-trip for both families", () => {
  const endpoints: Endpoint[] = [
    { address: "192.0.2.1", port: 443 },
    { address: "0.0.0.0", port: 1 },
    { address: "2001:db8::1", port: 65535 },
    { address: "::", port: 51820 },
  ];
  for (const endpoint of endpoints) {
    const encoded = encodeEndpoint(endpoint);
    assert.equal(encoded.length, endpoint.address.includes(":") ? 19 : 7);
    assert.deepEqual(decodeEndpoint(encoded), { ok: true, value: endpoint });
  }
  assert.deepEqual(
    encodeEndpoint({ address: "192.0.2.1", port: 443 }),
    bytes(4, 192, 0, 2, 1, 0x01, 0xbb),
  );
});

Deno.test("encodeEndpoint accepts only canonical text and valid ports", () => {
  for (
    const address of ["2001:DB8::1", "::ffff:1.2.3.4", "01.2.3.4", "::0:1", "x"]
  ) {
    assert.throws(
      () => encodeEndpoint({ address, port: 1 }),
      TypeError,
      address,
    );
  }
  assert.throws(
    () => encodeEndpoint({ address: "1.2.3.4", port: 0 }),
    RangeError,
  );
  assert.throws(
    () => encodeEndpoint({ address: "1.2.3.4", port: 65536 }),
    RangeError,
  );
  assert.throws(
    () => encodeEndpoint({ address: "1.2.3.4", port: 1.5 }),
    RangeError,
  );
});

Deno.test("decodeEndpoint rejects bad families, port 0, mapped and cut input", () => {
  assert.equal(code(bytes()), "truncated");
  assert.equal(code(bytes(4, 1, 2, 3, 4, 0)), "truncated");
  assert.equal(code(bytes(4, 1, 2, 3, 4, 0, 1, 0)), "bad-length");
  assert.equal(code(bytes(5, 1, 2, 3, 4, 0, 1)), "bad-field");
  assert.equal(code(bytes(0)), "bad-field");
  assert.equal(code(bytes(4, 1, 2, 3, 4, 0, 0)), "bad-field");
  const mapped = new Uint8Array(19);
  mapped.set([6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4, 0, 1]);
  assert.equal(code(mapped), "bad-field");
  mapped[11] = 0xfe; // no longer mapped: a plain IPv6 address
  assert.deepEqual(decodeEndpoint(mapped), {
    ok: true,
    value: { address: "::feff:102:304", port: 1 },
  });
});
