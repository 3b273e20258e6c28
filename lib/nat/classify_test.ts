import assert from "node:assert/strict";
import {
  classifyNat,
  mappingBehaviourOf,
  natMappingNumber,
} from "./classify.ts";

const local = [{ address: "10.0.0.2", port: 9000 }];
const answer = (address: string, port: number) => ({
  mapped: { address, port },
  answeredFrom: { address: "203.0.113.2", port: 8000 },
  rttMs: 5,
});

Deno.test("same public port toward two destinations is endpoint-independent", () => {
  const nat = classifyNat({
    local,
    first: answer("198.51.100.1", 9000),
    second: answer("198.51.100.1", 9000),
    changePort: "silent",
  });
  assert.equal(nat.behindNat, true);
  assert.equal(nat.portPreserved, true);
  assert.equal(nat.mapping, "endpoint-independent");
  assert.equal(nat.filtering, "address-and-port-dependent");
});

Deno.test("a new port per destination is endpoint-dependent (symmetric)", () => {
  const nat = classifyNat({
    local,
    first: answer("198.51.100.1", 31000),
    second: answer("198.51.100.1", 42000),
    changePort: "answered",
  });
  assert.equal(nat.mapping, "endpoint-dependent");
  assert.equal(nat.filtering, "open-to-other-ports");
  assert.equal(nat.portPreserved, false);
  assert.match(nat.notes.join(" "), /symmetric/);
});

Deno.test("a public address, or no answer at all, are reported as such", () => {
  const open = classifyNat({
    local: [{ address: "198.51.100.9", port: 9000 }],
    first: answer("198.51.100.9", 9000),
    changePort: "untested",
  });
  assert.equal(open.mapping, "no-nat");
  assert.equal(open.behindNat, false);
  const none = classifyNat({ local, changePort: "untested" });
  assert.equal(none.mapping, "unknown");
  assert.match(none.notes[0], /did not answer/);
  const one = classifyNat({
    local,
    first: answer("198.51.100.1", 9000),
    changePort: "untested",
  });
  assert.equal(one.mapping, "unknown");
  assert.match(one.notes.join(" "), /--stun-port/);
});

Deno.test("NAT_INFO mapping numbers and behaviours convert both ways", () => {
  for (
    const behaviour of [
      "unknown",
      "no-nat",
      "endpoint-independent",
      "endpoint-dependent",
    ] as const
  ) {
    assert.equal(mappingBehaviourOf(natMappingNumber(behaviour)), behaviour);
  }
  assert.equal(natMappingNumber("endpoint-dependent"), 3);
});
