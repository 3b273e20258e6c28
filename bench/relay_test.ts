// Smoke tests of the relay benchmark: the quick path of each measurement at a
// low rate or a few peers, so that the benchmark cannot rot unnoticed; and
// the small parsers and codecs it relies on.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { parseRelayBenchArgs } from "./relay.ts";
import { MAX_PAYLOAD, runCapacityBench } from "./relay_capacity.ts";
import { runMemoryBench } from "./relay_memory.ts";
import { formatCapacityReport, formatMemoryReport } from "./relay_report.ts";
import {
  cpuNames,
  cpuTicksFromStat,
  cpuTimesFromStat,
  dropsSince,
  udpDropsFromTable,
} from "./process_usage.ts";
import {
  decodeStun,
  decodeXorAddress,
  encodeChannelData,
  encodeStun,
  encodeXorAddress,
  isChannelData,
  longTermKey,
  StunAttribute,
} from "./turn_codec.ts";
import { parseRelayMetrics } from "./relay_servers.ts";

Deno.test("relay capacity bench relays datagrams through a relay process and reports every column", async () => {
  const report = await runCapacityBench({
    rates: [2000],
    stepMs: 300,
    controlMs: 200,
    drainMs: 200,
    payloadSize: MAX_PAYLOAD,
    generators: 1,
    pairsPerGenerator: 1,
    coturn: false,
    rmemBytes: undefined, // never touch a sysctl from a test
    pin: false,
  });
  assert.equal(report.socketBuffer.changed, false);
  assert.equal(report.controls.length, 1);
  assert.ok(report.controls[0].sent > 0);
  assert.ok(report.inProcess.microsecondsPerForward > 0);
  assert.ok(report.inProcess.rawOpenSealMicroseconds > 0);
  assert.equal(report.servers.length, 1);
  const [altnet] = report.servers;
  assert.equal(altnet.server, "altnet");
  assert.equal(altnet.datagramBytes, 1232);
  assert.equal(altnet.steps.length, 1);
  const [step] = altnet.steps;
  assert.equal(step.offeredPps, 2000);
  assert.ok(step.sent > 0, "the senders sent nothing");
  assert.ok(step.delivered > 0, "nothing was delivered through the relay");
  assert.ok(step.delivered <= step.sent);
  assert.equal(step.verified, step.samples, "a payload came out altered");
  assert.ok(step.samples > 0);
  assert.ok(step.relay && step.relay.relayed > 0);
  for (
    const field of [
      "sentPps",
      "deliveredPps",
      "lossPercent",
      "serverCpuPercent",
      "serverCoresBusyPercent",
      "loadCoresBusyPercent",
      "serverRssBytes",
      "serverSocketDrops",
      "receiverSocketDrops",
    ] as const
  ) {
    assert.equal(typeof step[field], "number", field);
    assert.ok(Number.isFinite(step[field]), field);
  }
  assert.ok(step.serverRssBytes > 0);
  const text = formatCapacityReport(report);
  assert.match(text, /^1\. altnet relay: altnet relay --host 127\.0\.0\.1/m);
  assert.match(text, /^Result: altnet relay: /m);
  assert.match(text, /left at/);
  // The JSON form is the same object.
  assert.deepEqual(
    JSON.parse(JSON.stringify(report)).servers[0].steps.length,
    1,
  );
});

Deno.test("relay memory bench counts bytes per registered peer both ways", async () => {
  const report = await runMemoryBench({
    peers: 30,
    warmupPeers: 5,
    sockets: 4,
    process: true,
    settleMs: 50,
  });
  assert.equal(report.process?.peersAtRelay, 35);
  assert.ok(report.process!.rssAfterBytes > 0);
  assert.equal(report.inProcess.peersAtRelay, 35);
  assert.ok(report.inProcess.bytesPerPeer > 0);
  assert.match(
    formatMemoryReport(report),
    /^Result: memory per registered peer: /m,
  );
});

Deno.test("relay bench arguments: quick, memory, rates and the sysctl switch", () => {
  const quick = parseRelayBenchArgs(["--quick", "--no-coturn", "--no-sysctl"]);
  assert.equal(quick.mode, "capacity");
  assert.equal(quick.capacity.coturn, false);
  assert.equal(quick.capacity.rmemBytes, undefined);
  const custom = parseRelayBenchArgs(["--rates", "1000, 3000", "--pairs", "3"]);
  assert.deepEqual(custom.capacity.rates, [1000, 3000]);
  assert.equal(custom.capacity.pairsPerGenerator, 3);
  assert.equal(custom.capacity.rmemBytes, 4 * 1024 * 1024);
  assert.equal(parseRelayBenchArgs(["--memory"]).memory.peers, 10_000);
  assert.throws(() => parseRelayBenchArgs(["--payload", "1200"]), TypeError);
  assert.throws(() => parseRelayBenchArgs(["--rates", "fast"]), TypeError);
});

Deno.test("relay bench reads CPU time, CPU lists and socket drops from /proc text", () => {
  assert.equal(
    cpuTicksFromStat("42 (deno (main)) S 1 2 3 4 5 6 7 8 9 10 300 45 0"),
    345,
  );
  assert.deepEqual(cpuNames("1-3,5"), ["cpu1", "cpu2", "cpu3", "cpu5"]);
  assert.deepEqual(cpuNames(undefined), ["cpu"]);
  assert.deepEqual(
    cpuTimesFromStat("cpu  1 2 3 4 5 6 7 8 0 0\ncpu1 10 0 5 80 5 0 0 0 0 0\n")
      .get("cpu1"),
    { busy: 15, total: 100 },
  );
  const header =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n";
  const row = (inode: number, drops: number) =>
    ` 1: 0100007F:1F40 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 ${inode} 2 0000000000000000 ${drops}\n`;
  const before = udpDropsFromTable(
    header + row(7, 5) + row(8, 1),
    new Set(["7", "8"]),
  );
  // Socket 8 closed, socket 9 opened in between.
  const after = udpDropsFromTable(
    header + row(7, 9) + row(9, 2),
    new Set(["7", "9"]),
  );
  assert.equal(dropsSince(before, after), 4 + 2);
  assert.equal(
    parseRelayMetrics(
      'altnet_relay_relayed_packets_total 7\naltnet_relay_dropped_packets_total{reason="replay"} 2\n',
    ).dropped.replay,
    2,
  );
});

Deno.test("TURN codec signs requests with the long-term key and round-trips addresses", () => {
  const key = longTermKey("user", "realm", "pass");
  const transactionId = new Uint8Array(12).fill(7);
  const bytes = encodeStun({
    type: 0x0003,
    transactionId,
    attributes: [{
      type: StunAttribute.XOR_PEER_ADDRESS,
      value: encodeXorAddress({ address: "192.0.2.7", port: 50123 }),
    }],
  }, { username: "user", realm: "realm", nonce: "n0nce", key });
  const message = decodeStun(bytes)!;
  assert.equal(message.type, 0x0003);
  assert.deepEqual(message.transactionId, transactionId);
  assert.deepEqual(
    decodeXorAddress(message.attributes.get(StunAttribute.XOR_PEER_ADDRESS)),
    { address: "192.0.2.7", port: 50123 },
  );
  // RFC 8489 §14.5: HMAC-SHA1 over everything before MESSAGE-INTEGRITY,
  // with the length field already counting it.
  const integrity = message.attributes.get(StunAttribute.MESSAGE_INTEGRITY)!;
  const covered = bytes.subarray(0, bytes.length - 24);
  const expected = createHmac("sha1", key).update(covered).digest();
  assert.deepEqual(integrity, new Uint8Array(expected));
  const frame = encodeChannelData(0x4000, new Uint8Array([1, 2, 3]));
  assert.ok(isChannelData(frame));
  assert.equal(decodeStun(frame), undefined);
  assert.throws(() => encodeChannelData(0x3fff, new Uint8Array(1)), RangeError);
});
