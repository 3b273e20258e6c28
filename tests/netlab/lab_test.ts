// The NAT lab proves its own claims: real namespaces, real conntrack, real
// MASQUERADE. Needs root, iproute2 and iptables; without them these tests
// fail and say what to install.
import assert from "node:assert/strict";
import {
  checkLabPrerequisites,
  createLab,
  denoCommand,
  type Lab,
  listLabNamespaces,
  removeStaleLabs,
} from "./lab.ts";
import { labTest } from "./lab_gate.ts";

const PROBE = new URL("./udp_probe.ts", import.meta.url);
const LAB = new URL("./lab.ts", import.meta.url);
const SERVER_PORT = 3478;

interface ProbeResult {
  server: string;
  sent: number;
  received: number;
  seen: string[];
}

interface ProbeEvent {
  event: string;
  local: number;
  results: ProbeResult[];
  received: { from: string; text: string }[];
}

/** Reads JSON lines from a child's stdout, one event at a time. */
class EventReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #decoder = new TextDecoder();
  #buffered = "";

  constructor(child: Deno.ChildProcess) {
    this.#reader = child.stdout.getReader();
  }

  /** Resolves with the next event named `name`, skipping others. */
  async next(name: string): Promise<ProbeEvent> {
    while (true) {
      const newline = this.#buffered.indexOf("\n");
      if (newline >= 0) {
        const line = this.#buffered.slice(0, newline);
        this.#buffered = this.#buffered.slice(newline + 1);
        const event = JSON.parse(line);
        if (event.event === name) return event;
        continue;
      }
      const { value, done } = await this.#reader.read();
      if (done) throw new Error(`Cannot read event ${name}: the process ended`);
      this.#buffered += this.#decoder.decode(value, { stream: true });
    }
  }

  release(): void {
    this.#reader.releaseLock();
  }
}

async function startServer(
  lab: Lab,
  ns: string,
  port = SERVER_PORT,
): Promise<void> {
  const child = lab.spawn(
    ns,
    denoCommand(PROBE, ["serve", "--port", String(port)]),
  );
  const events = new EventReader(child);
  await events.next("ready");
  events.release(); // the lab's teardown stops it
}

async function probe(
  lab: Lab,
  ns: string,
  args: string[],
): Promise<ProbeEvent> {
  const { code, stdout, stderr } = await lab.run(
    ns,
    denoCommand(PROBE, ["probe", ...args]),
  );
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout);
}

function servers(...addresses: string[]): string[] {
  return addresses.flatMap((
    address,
  ) => ["--server", `${address}:${SERVER_PORT}`]);
}

/** Packets counted by the first `target` rule of a chain in a namespace. */
async function rulePackets(
  lab: Lab,
  ns: string,
  chain: string,
  target: string,
): Promise<number> {
  const { stdout } = await lab.run(ns, ["iptables", "-nvxL", chain]);
  const rule = stdout.split("\n").find((line) =>
    line.trim().split(/\s+/)[2] === target
  );
  assert.ok(rule, `No ${target} rule in ${chain} of ${ns}:\n${stdout}`);
  return Number(rule.trim().split(/\s+/)[0]);
}

/** The fraction of `count` probes to the relay that got no answer. */
async function lostFraction(
  lab: Lab,
  ns: string,
  relay: string,
  count: number,
) {
  const { results } = await probe(lab, ns, [
    ...servers(relay),
    "--count",
    String(count),
    // Bursts of 50 stay far below the relay's socket buffer: only the
    // injected loss drops anything.
    "--burst",
    "50",
    "--interval-ms",
    "5",
    "--wait-ms",
    "500",
  ]);
  return 1 - results[0].received / count;
}

labTest(
  "the NAT lab's prerequisites are here: root, iproute2 and iptables",
  async () => {
    await checkLabPrerequisites();
  },
);

labTest(
  "the NAT lab's routers map and filter as their NAT type claims",
  async (t) => {
    const lab = await createLab({
      sites: [
        { nat: "cone" },
        { nat: "symmetric" },
        { nat: "bare", lan: "10.1.0.0/24" }, // the same LAN as site 0
        { nat: "none" },
        { nat: "cone", loss: 0.2 },
        { nat: "symmetric", udpTimeoutSeconds: 1 },
      ],
      publicHosts: ["stun2", "third"],
    });
    const [cone, symmetric, bare, open, lossy, shortLived] = lab.sites;
    const relay = lab.relay.address;
    const stun2 = lab.hosts.stun2.address;
    const third = lab.hosts.third;
    try {
      await Promise.all([
        startServer(lab, lab.relay.ns),
        startServer(lab, lab.hosts.stun2.ns),
      ]);

      await t.step(
        "the relay sees each site's public address, never a private one",
        async () => {
          // Overlapping private LANs, as two homes have, stay apart.
          assert.equal(bare.peers[0].address, cone.peers[0].address);
          for (const site of [cone, symmetric, bare, open]) {
            const { results } = await probe(lab, site.peers[0].ns, [
              ...servers(relay),
              "--port",
              "41000",
            ]);
            assert.equal(results[0].received, 1, site.type);
            const [seen] = results[0].seen;
            assert.equal(seen.split(":")[0], site.nat.publicAddress, site.type);
          }
        },
      );

      await t.step(
        "cone and bare keep one public port for every server, the local one",
        async () => {
          for (const site of [cone, bare]) {
            const { results } = await probe(lab, site.peers[0].ns, [
              ...servers(relay, stun2),
              "--port",
              "41001",
            ]);
            const seen = results.flatMap((result) => result.seen);
            assert.deepEqual(seen, [
              `${site.nat.publicAddress}:41001`,
              `${site.nat.publicAddress}:41001`,
            ], site.type);
          }
        },
      );

      await t.step(
        "symmetric gives each server its own public port",
        async () => {
          const { results } = await probe(lab, symmetric.peers[0].ns, [
            ...servers(relay, stun2),
            "--port",
            "41002",
          ]);
          const [atRelay, atStun2] = results.map((result) => result.seen[0]);
          assert.ok(atRelay && atStun2, JSON.stringify(results));
          assert.notEqual(atRelay, atStun2);
          assert.equal(atRelay.split(":")[0], symmetric.nat.publicAddress);
          assert.equal(atStun2.split(":")[0], symmetric.nat.publicAddress);
        },
      );

      await t.step(
        "a third host reaches no mapped port: cone and symmetric drop silently, bare answers ICMP",
        async () => {
          // Count the ICMP port unreachable messages the third host gets back.
          const icmp = await lab.run(third.ns, [
            "iptables",
            "-A",
            "INPUT",
            ..."-p icmp --icmp-type port-unreachable -j ACCEPT".split(" "),
          ]);
          assert.equal(icmp.code, 0, icmp.stderr);
          // A public peer with no NAT is the control: the same datagrams reach it.
          for (const site of [cone, symmetric, bare, open]) {
            const filtered = site.type === "cone" || site.type === "symmetric";
            const dropsBefore = filtered
              ? await rulePackets(lab, site.nat.ns, "INPUT", "DROP")
              : 0;
            const icmpBefore = await rulePackets(
              lab,
              third.ns,
              "INPUT",
              "ACCEPT",
            );
            const listener = lab.spawn(
              site.peers[0].ns,
              denoCommand(PROBE, [
                "probe",
                ...servers(relay),
                "--port",
                "41003",
                "--listen",
              ]),
              { stdin: "piped" },
            );
            const events = new EventReader(listener);
            const { results } = await events.next("probed");
            const mapped = results[0].seen[0];
            const sent = await lab.run(
              third.ns,
              denoCommand(PROBE, [
                "send",
                "--to",
                mapped,
                "--port",
                "5001",
                "--count",
                "5",
              ]),
            );
            assert.equal(sent.code, 0, sent.stderr);
            await new Promise((resolve) => setTimeout(resolve, 200));
            await listener.stdin.close();
            const { received } = await events.next("listened");
            events.release();
            await listener.output();
            const fromThird = received.filter((d) =>
              d.from.startsWith(`${third.address}:`)
            );
            const icmpBack =
              await rulePackets(lab, third.ns, "INPUT", "ACCEPT") -
              icmpBefore;
            if (site.type === "none") {
              assert.equal(
                fromThird.length,
                5,
                "the control peer heard nothing",
              );
              continue;
            }
            assert.deepEqual(fromThird, [], site.type);
            if (filtered) {
              const dropped =
                await rulePackets(lab, site.nat.ns, "INPUT", "DROP") -
                dropsBefore;
              assert.ok(dropped >= 5, `${site.type} dropped ${dropped}, not 5`);
              assert.equal(icmpBack, 0, `${site.type} answered with ICMP`);
            } else {
              assert.ok(icmpBack >= 1, "bare sent no ICMP port unreachable");
            }
          }
        },
      );

      await t.step(
        "bare: an inbound packet that comes first takes the port mapping",
        async () => {
          // Without a firewall, Linux confirms a conntrack entry for the stray
          // packet (addressed to the router itself), so the peer's own packet to
          // that endpoint cannot reuse the port and leaves from a random one.
          // Behind cone the stray is dropped before conntrack confirms it.
          const cases = [[bare, SERVER_PORT + 1], [
            cone,
            SERVER_PORT + 2,
          ]] as const;
          for (const [site, port] of cases) {
            const stray = await lab.run(
              lab.hosts.stun2.ns,
              denoCommand(PROBE, [
                "send",
                "--to",
                `${site.nat.publicAddress}:41004`,
                "--port",
                String(port),
              ]),
            );
            assert.equal(stray.code, 0, stray.stderr);
            // Now the peer talks to the relay, whose flow takes the local
            // port either way, then to the stray's very endpoint.
            await startServer(lab, lab.hosts.stun2.ns, port);
            const { results } = await probe(lab, site.peers[0].ns, [
              ...servers(relay),
              "--server",
              `${stun2}:${port}`,
              "--port",
              "41004",
            ]);
            const [atRelay, atStray] = results.map((result) => result.seen[0]);
            assert.equal(atRelay, `${site.nat.publicAddress}:41004`, site.type);
            if (site.type === "bare") {
              assert.ok(
                atStray?.startsWith(`${site.nat.publicAddress}:`),
                JSON.stringify(results),
              );
              assert.notEqual(atStray, `${site.nat.publicAddress}:41004`);
            } else {
              assert.equal(atStray, `${site.nat.publicAddress}:41004`);
            }
          }
        },
      );

      await t.step(
        "WAN loss drops about the configured fraction, and can be removed",
        async () => {
          const peer = lossy.peers[0].ns;
          // 0.2 each way: a round trip survives with 0.8² = 0.64.
          const both = await lostFraction(lab, peer, relay, 500);
          assert.ok(
            both >= 0.26 && both <= 0.46,
            `lost ${both} of round trips, expected ~0.36`,
          );
          await lab.setLoss(4, 0.2, { direction: "outbound" });
          const outbound = await lostFraction(lab, peer, relay, 500);
          assert.ok(
            outbound >= 0.1 && outbound <= 0.3,
            `lost ${outbound}, expected ~0.2`,
          );
          await lab.setLoss(4, 0);
          const none = await lostFraction(lab, peer, relay, 500);
          assert.ok(none <= 0.01, `lost ${none} with loss removed`);
        },
      );

      await t.step(
        "a symmetric mapping lives while used and expires after the UDP timeout",
        async () => {
          const peer = shortLived.peers[0].ns;
          // Probes 0.4 s apart keep a 1 s mapping alive: one public port.
          const kept = await probe(lab, peer, [
            ...servers(relay),
            "--port",
            "41005",
            "--count",
            "4",
            "--interval-ms",
            "400",
          ]);
          assert.equal(
            kept.results[0].seen.length,
            1,
            JSON.stringify(kept.results),
          );
          // Conntrack takes an entry past its timeout as gone at the next
          // lookup, so 1.8 s of silence is enough.
          await new Promise((resolve) => setTimeout(resolve, 1800));
          const later = await probe(lab, peer, [
            ...servers(relay),
            "--port",
            "41005",
          ]);
          assert.notEqual(later.results[0].seen[0], kept.results[0].seen[0]);
        },
      );
    } finally {
      await lab.teardown();
    }
  },
);

labTest(
  "teardown leaves no namespace behind, and a dead run's lab is swept",
  async () => {
    const lab = await createLab({
      sites: [{ nat: "cone", peers: 2 }, { nat: "none" }],
    });
    const mine = (await listLabNamespaces()).filter((ns) =>
      ns.startsWith(`${lab.prefix}-`)
    );
    assert.equal(mine.length, 6); // inet, relay, router, 2 peers, public peer
    await lab.teardown();
    await lab.teardown(); // idempotent
    const left = (await listLabNamespaces()).filter((ns) =>
      ns.startsWith(`${lab.prefix}-`)
    );
    assert.deepEqual(left, []);

    // A run killed before its teardown leaves its namespaces; the next sweep
    // removes them (and only them: this process's labs are alive).
    const doomed = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const { createLab } = await import(${JSON.stringify(LAB.href)});
       const lab = await createLab({ sites: [{ nat: "bare" }] });
       console.log(lab.prefix);
       setInterval(() => {}, 1000);`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = doomed.stdout.getReader();
    const { value } = await reader.read();
    reader.releaseLock();
    const prefix = new TextDecoder().decode(value).trim();
    assert.match(prefix, /^an[0-9a-z]{4}$/);
    doomed.kill("SIGKILL");
    await doomed.output();
    const orphaned = (await listLabNamespaces()).filter((ns) =>
      ns.startsWith(`${prefix}-`)
    );
    assert.equal(orphaned.length, 4);
    const removed = await removeStaleLabs();
    assert.deepEqual(
      removed.filter((ns) => ns.startsWith(`${prefix}-`)).sort(),
      orphaned.sort(),
    );
    const after = (await listLabNamespaces()).filter((ns) =>
      ns.startsWith(`${prefix}-`)
    );
    assert.deepEqual(after, []);
  },
);
