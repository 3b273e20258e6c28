import assert from "node:assert/strict";
import {
  DIRECT_PATH_TIMEOUT_MS,
  PathManager,
  PUNCH_INTERVAL_MS,
  PUNCH_RETRY_MS,
  PUNCH_ROUND_MS,
} from "./path_manager.ts";

const A = { address: "198.51.100.1", port: 1000 };
const B = { address: "198.51.100.2", port: 2000 };

function manager() {
  let id = 0n;
  return new PathManager({ randomId: () => ++id });
}

Deno.test("punching probes every candidate each interval for one round", () => {
  const paths = manager();
  paths.addCandidates([A, B, A]);
  assert.equal(paths.candidates.length, 2, "deduplicated");
  paths.startPunching(100);
  assert.deepEqual(paths.poll(50), [], "not before the rendezvous time");
  assert.equal(paths.poll(100).length, 2);
  assert.equal(paths.nextTimeout(), 100 + PUNCH_INTERVAL_MS);
  let probes = 2;
  for (
    let t = 100 + PUNCH_INTERVAL_MS;
    t < 100 + PUNCH_ROUND_MS;
    t += PUNCH_INTERVAL_MS
  ) {
    probes += paths.poll(t).length;
  }
  assert.equal(probes, 2 * (PUNCH_ROUND_MS / PUNCH_INTERVAL_MS));
  assert.deepEqual(paths.poll(100 + PUNCH_ROUND_MS), [], "round over");
  assert.equal(paths.nextTimeout(), 100 + PUNCH_ROUND_MS + PUNCH_RETRY_MS);
});

Deno.test("a failed round is retried within 60 s, and at once on an address change", () => {
  const paths = manager();
  paths.addCandidates([A]);
  paths.startPunching(0);
  for (let t = 0; t <= PUNCH_ROUND_MS; t += PUNCH_INTERVAL_MS) paths.poll(t);
  const retryAt = paths.nextTimeout()!;
  assert.ok(retryAt - PUNCH_ROUND_MS <= 60_000);
  assert.deepEqual(paths.poll(retryAt - 1), []);
  paths.onLocalAddressChange(retryAt - 1);
  assert.equal(paths.poll(retryAt - 1).length, 1, "probes go out at once");
});

Deno.test("an ack moves to direct; an ack from another candidate does not flap", () => {
  const paths = manager();
  paths.addCandidates([A, B]);
  paths.startPunching(0);
  const [toA, toB] = paths.poll(0);
  paths.onProbeAck(toA.probeId, A, 30);
  assert.deepEqual(paths.path, { via: "direct", endpoint: A, rttMs: 30 });
  const changes = paths.takeChanges();
  assert.equal(changes.length, 1);
  paths.onProbeAck(toB.probeId, B, 31);
  assert.equal(paths.path.via === "direct" && paths.path.endpoint, A);
  assert.deepEqual(paths.takeChanges(), []);
  paths.onProbeAck(12345n, A, 40);
  assert.equal(
    paths.path.via === "direct" && paths.path.rttMs,
    30,
    "unknown probe ids are ignored",
  );
});

Deno.test("a silent direct path is declared dead after the timeout", () => {
  const paths = manager();
  paths.addCandidates([A]);
  paths.startPunching(0);
  const [probe] = paths.poll(0);
  paths.onProbeAck(probe.probeId, A, 20);
  paths.takeChanges();
  let t = 20;
  while (paths.path.via === "direct") {
    t = paths.nextTimeout()!;
    paths.poll(t);
  }
  assert.equal(t, 20 + DIRECT_PATH_TIMEOUT_MS);
  const [change] = paths.takeChanges();
  assert.equal(change.path.via, "relay");
  assert.match(change.reason, /stopped answering/);
});

Deno.test("a packet from an unknown source makes it a candidate and restarts punching", () => {
  const paths = manager();
  paths.onDirectReceive(B, 10);
  assert.deepEqual(paths.candidates, [B]);
  assert.equal(paths.poll(10).length, 1);
});
