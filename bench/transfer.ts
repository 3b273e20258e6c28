/**
 * How fast `altnet send` moves a file, beside what the same machine does
 * without altnet, in one run:
 *
 * 1. the crypto ceiling: `bench/crypto.ts --quick --json`, seal+open of a
 *    1200-byte datagram on one core;
 * 2. loopback: a plain TCP copy (file → TCP → file, two processes), then
 *    `altnet send` → `altnet receive` direct, then through a relay process
 *    (`--relay-only`), all real processes on 127.0.0.1;
 * 3. the NAT lab (root): the same sender → receiver across a cone NAT with
 *    0 %, 1 % and 5 % random loss on the NAT's WAN link
 *    (`iptables -m statistic`), against the TCP copy over the same links;
 * 4. memory: the resident size of both processes during a 4 GiB transfer
 *    (a sparse source file: no disk for the source, real writes at the
 *    receiver).
 *
 * ```sh
 * deno run -A bench/transfer.ts            # everything, about 10 minutes
 * deno run -A bench/transfer.ts --quick    # small sizes, about a minute
 * deno run -A bench/transfer.ts --json > transfer.json
 * ```
 *
 * Goodput counts file bytes (10^6 per MB) from the receiver's acceptance
 * to the sender's `done`, so hashing the file before the offer is not in
 * it; `wall` is the sender process from start to exit, hashing included.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { describeMachine } from "./machine.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;
const CRYPTO = new URL("./crypto.ts", import.meta.url).pathname;
const MB = 1e6;
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------
// The TCP copy used as the physical reference (run as a child of this file).

async function tcpReceive(port: number, out: string) {
  const listener = Deno.listen({ hostname: "0.0.0.0", port });
  console.log(
    JSON.stringify({
      event: "ready",
      port: (listener.addr as Deno.NetAddr).port,
    }),
  );
  const conn = await listener.accept();
  const file = await Deno.open(out, {
    write: true,
    create: true,
    truncate: true,
  });
  const buffer = new Uint8Array(1024 * 1024);
  let bytes = 0;
  let start = 0;
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    if (bytes === 0) start = performance.now();
    bytes += n;
    let at = 0;
    while (at < n) at += await file.write(buffer.subarray(at, n));
  }
  const seconds = (performance.now() - start) / 1000;
  file.close();
  conn.close();
  listener.close();
  console.log(JSON.stringify({ event: "done", bytes, seconds }));
}

async function tcpSend(host: string, port: number, path: string) {
  const conn = await Deno.connect({ hostname: host, port });
  const file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(1024 * 1024);
  for (;;) {
    const n = await file.read(buffer);
    if (n === null) break;
    let at = 0;
    while (at < n) at += await conn.write(buffer.subarray(at, n));
  }
  file.close();
  conn.close();
}

// ---------------------------------------------------------------------------
// Child processes and their JSON lines.

interface Child {
  process: Deno.ChildProcess;
  events: Record<string, unknown>[];
  waitFor(
    predicate: (e: Record<string, unknown>) => boolean,
    ms: number,
  ): Promise<Record<string, unknown>>;
  stderr: Promise<string>;
  kill(): void;
}

type Spawner = (
  cmd: string[],
  env: Record<string, string>,
) => Deno.ChildProcess;

const localSpawn: Spawner = (cmd, env) =>
  new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

function deno(script: string, args: string[]): string[] {
  return [
    Deno.execPath(),
    "run",
    "--quiet",
    "--allow-all",
    "--unstable-net",
    script,
    ...args,
  ];
}

const children = new Set<Child>();

function watch(process: Deno.ChildProcess): Child {
  const events: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let ended = false;
  (async () => {
    let buffer = "";
    for await (
      const text of process.stdout.pipeThrough(new TextDecoderStream())
    ) {
      buffer += text;
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines) {
        if (!line.trim()) continue;
        try {
          events.push(JSON.parse(line));
        } catch {
          events.push({ event: "unparsed", line });
        }
      }
      for (const w of waiters.splice(0)) w();
    }
    ended = true;
    for (const w of waiters.splice(0)) w();
  })();
  const child: Child = {
    process,
    events,
    stderr: new Response(process.stderr).text(),
    waitFor(predicate, ms) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `Timed out after ${ms} ms; events: ${
                  JSON.stringify(events.slice(-5))
                }`,
              ),
            ),
          ms,
        );
        const check = () => {
          const found = events.find(predicate);
          if (found) {
            clearTimeout(timer);
            resolve(found);
          } else if (ended) {
            clearTimeout(timer);
            reject(
              new Error(
                `Ended without it; events: ${JSON.stringify(events.slice(-5))}`,
              ),
            );
          } else waiters.push(check);
        };
        check();
      });
    },
    kill() {
      try {
        process.kill("SIGKILL");
      } catch {
        // Exited.
      }
    },
  };
  children.add(child);
  process.status.then(() => children.delete(child));
  return child;
}

async function killAll() {
  const all = [...children];
  for (const child of all) child.kill();
  await Promise.allSettled(all.map((c) => c.process.status));
}

// ---------------------------------------------------------------------------
// Measurements.

interface Result {
  what: string;
  bytes: number;
  seconds: number;
  mbps: number;
  wallSeconds?: number;
  via?: string;
  note?: string;
}

async function writeRandomFile(path: string, size: number) {
  using file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
  });
  const block = new Uint8Array(MiB);
  for (let at = 0; at < size; at += MiB) {
    const n = Math.min(MiB, size - at);
    for (let i = 0; i < n; i += 65_536) {
      crypto.getRandomValues(block.subarray(i, Math.min(n, i + 65_536)));
    }
    let written = 0;
    while (written < n) written += await file.write(block.subarray(written, n));
  }
}

async function tcpCopy(
  place: { spawnSender: Spawner; spawnReceiver: Spawner; receiverHost: string },
  file: string,
  out: string,
  what: string,
): Promise<Result> {
  const receiver = watch(
    place.spawnReceiver(deno(SELF, ["--tcp-receive", "0", out]), {}),
  );
  const ready = await receiver.waitFor((e) => e.event === "ready", 30_000);
  const sender = watch(
    place.spawnSender(
      deno(SELF, ["--tcp-send", place.receiverHost, String(ready.port), file]),
      {},
    ),
  );
  const done = await receiver.waitFor((e) => e.event === "done", 600_000);
  await sender.process.status;
  await receiver.process.status;
  const bytes = done.bytes as number;
  const seconds = done.seconds as number;
  await Deno.remove(out).catch(() => {});
  return { what, bytes, seconds, mbps: bytes / seconds / MB };
}

interface AltnetPlaces {
  relayAt: string;
  spawnSender: Spawner;
  spawnReceiver: Spawner;
}

interface MemorySample {
  at: number;
  sender: number;
  receiver: number;
}

function rss(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const match = status.match(/^VmRSS:\s+(\d+) kB$/m);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function altnetTransfer(
  places: AltnetPlaces,
  dir: string,
  file: string,
  what: string,
  options: { relayOnly?: boolean; sampleMemory?: boolean; timeoutMs?: number } =
    {},
): Promise<Result & { memory?: MemorySample[] }> {
  const out = join(dir, `out-${crypto.randomUUID()}`);
  await Deno.mkdir(out);
  const extra = options.relayOnly ? ["--relay-only"] : [];
  const receiver = watch(places.spawnReceiver(
    deno(MAIN, [
      "receive",
      "bob",
      "0",
      "--relay",
      places.relayAt,
      "--out",
      out,
      "--yes",
      "--once",
      "--json",
      ...extra,
    ]),
    { XDG_CONFIG_HOME: join(dir, "bob") },
  ));
  await receiver.waitFor((e) => e.event === "registered", 30_000);
  const started = performance.now();
  const sender = watch(places.spawnSender(
    deno(MAIN, [
      "send",
      "alice",
      "0",
      "bob",
      file,
      "--relay",
      places.relayAt,
      "--json",
      ...extra,
    ]),
    { XDG_CONFIG_HOME: join(dir, "alice") },
  ));
  const memory: MemorySample[] = [];
  const sampler = options.sampleMemory
    ? setInterval(() => {
      memory.push({
        at: (performance.now() - started) / 1000,
        sender: rss(sender.process.pid),
        receiver: rss(receiver.process.pid),
      });
    }, 500)
    : undefined;
  try {
    const done = await sender.waitFor(
      (e) => e.event === "done" || e.event === "error",
      options.timeoutMs ?? 900_000,
    );
    if (done.event === "error") {
      receiver.kill();
      throw new Error(
        `altnet send failed: ${done.message}\nsender events: ${
          JSON.stringify(
            sender.events.filter((e) => e.event !== "progress").slice(-8),
          )
        }\nlast progress: ${
          JSON.stringify(
            sender.events.filter((e) => e.event === "progress").at(-1),
          )
        }\nreceiver events: ${
          JSON.stringify(
            receiver.events.filter((e) => e.event !== "progress").slice(-8),
          )
        }\nreceiver stderr: ${await receiver.stderr}`,
      );
    }
    await sender.process.status;
    const wallSeconds = (performance.now() - started) / 1000;
    const status = await receiver.process.status;
    if (status.code !== 0) {
      throw new Error(`altnet receive failed: ${await receiver.stderr}`);
    }
    const bytes = done.size as number;
    const seconds = done.seconds as number;
    return {
      what,
      bytes,
      seconds,
      mbps: bytes / seconds / MB,
      wallSeconds,
      via: done.via as string,
      ...(options.sampleMemory ? { memory } : {}),
    };
  } finally {
    if (sampler !== undefined) clearInterval(sampler);
    sender.kill();
    receiver.kill();
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
}

async function cryptoCeiling(): Promise<
  { mbps: number; label: string } | undefined
> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-all", CRYPTO, "--quick", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (output.code !== 0) return undefined;
  const report = JSON.parse(new TextDecoder().decode(output.stdout));
  const row =
    report.throughput.find((r: { cell: string; size: number }) =>
      r.cell === "e" && r.size === 1200
    ) ?? report.throughput.find((r: { cell: string; size: number }) =>
      r.cell === "c" && r.size === 1200
    );
  return row?.figures
    ? { mbps: row.figures.megabytesPerSecond, label: row.label }
    : undefined;
}

async function startRelay(spawn: Spawner, args: string[], home: string) {
  const relay = watch(spawn(
    deno(MAIN, [
      "relay",
      ...args,
      "--json",
      "--packet-rate",
      "10000000",
      "--max-circuit-bytes",
      "100GB",
      "--max-circuit-duration",
      "24h",
    ]),
    { XDG_CONFIG_HOME: home },
  ));
  return {
    relay,
    ready: await relay.waitFor((e) => e.event === "ready", 30_000),
  };
}

async function labAvailable(): Promise<string | undefined> {
  if (Deno.uid() !== 0) return "not root";
  for (const tool of ["ip", "iptables"]) {
    try {
      await new Deno.Command(tool, {
        args: ["-V"],
        stdout: "null",
        stderr: "null",
      }).output();
    } catch {
      return `${tool} is missing`;
    }
  }
  return undefined;
}

function freeBytes(dir: string): number {
  const output = new Deno.Command("df", {
    args: ["-B1", "--output=avail", dir],
  }).outputSync();
  const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
  return Number(lines.at(-1));
}

// ---------------------------------------------------------------------------

const fmt = (n: number, digits = 1) => n.toFixed(digits);

function table(rows: Result[]): string {
  const lines = [
    "| what | size | goodput | time | wall | path |",
    "| ---- | ---- | ------- | ---- | ---- | ---- |",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.what} | ${fmt(r.bytes / MiB, 0)} MiB | ${fmt(r.mbps, 2)} MB/s | ${
        fmt(r.seconds)
      } s | ${r.wallSeconds === undefined ? "" : `${fmt(r.wallSeconds)} s`} | ${
        r.via ?? ""
      }${r.note ? ` (${r.note})` : ""} |`,
    );
  }
  return lines.join("\n");
}

async function main() {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean" },
      json: { type: "boolean" },
      "size-mib": { type: "string" },
      "memory-gib": { type: "string" },
      "lab-mib": { type: "string" },
      "no-lab": { type: "boolean" },
      "tcp-receive": { type: "string" },
      "tcp-send": { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values["tcp-receive"] !== undefined) {
    return await tcpReceive(Number(values["tcp-receive"]), positionals[0]);
  }
  if (values["tcp-send"] !== undefined) {
    return await tcpSend(
      values["tcp-send"],
      Number(positionals[0]),
      positionals[1],
    );
  }
  const quick = values.quick ?? false;
  const sizeMiB = Number(values["size-mib"] ?? (quick ? 16 : 256));
  const memoryGiB = Number(values["memory-gib"] ?? (quick ? 0.25 : 4));
  const labMiB = (values["lab-mib"] ?? (quick ? "8,4,2" : "64,32,16")).split(
    ",",
  ).map(Number);
  const log = (text: string) => {
    if (values.json) console.error(text);
    else console.log(text);
  };
  const progress = (text: string) => console.error(`  … ${text}`);

  const machine = describeMachine();
  log(
    `altnet transfer bench: ${machine.cpuModel}, ${machine.cores} cores, Deno ${machine.deno}`,
  );
  const dir = await Deno.makeTempDir({ prefix: "altnet-bench-transfer-" });
  const report: Record<string, unknown> = {
    machine,
    settings: { sizeMiB, memoryGiB, labMiB, quick },
  };
  try {
    progress("crypto ceiling (bench/crypto.ts --quick)");
    const ceiling = await cryptoCeiling();
    report.cryptoCeiling = ceiling;

    const file = join(dir, "file.bin");
    progress(`writing a ${sizeMiB} MiB random file`);
    await writeRandomFile(file, sizeMiB * MiB);

    // Loopback.
    const loopback: Result[] = [];
    progress("TCP copy on loopback");
    loopback.push(
      await tcpCopy(
        {
          spawnSender: localSpawn,
          spawnReceiver: localSpawn,
          receiverHost: "127.0.0.1",
        },
        file,
        join(dir, "tcp.out"),
        "TCP copy (file → TCP → file)",
      ),
    );
    const { relay, ready } = await startRelay(localSpawn, [
      "--host",
      "127.0.0.1",
      "--port",
      "0",
    ], join(dir, "relay"));
    const places: AltnetPlaces = {
      relayAt: `127.0.0.1:${ready.port}`,
      spawnSender: localSpawn,
      spawnReceiver: localSpawn,
    };
    progress("altnet send, direct");
    loopback.push(
      await altnetTransfer(places, dir, file, "altnet send, direct"),
    );
    progress("altnet send, through the relay");
    loopback.push(
      await altnetTransfer(
        places,
        dir,
        file,
        "altnet send, relayed (--relay-only)",
        { relayOnly: true },
      ),
    );
    report.loopback = loopback;
    log("\n## Loopback (real processes on 127.0.0.1)\n");
    log(table(loopback));
    if (ceiling) {
      log(
        `\ncrypto ceiling: ${
          fmt(ceiling.mbps)
        } MB/s seal+open of 1200 B on one core (${ceiling.label}); ` +
          `a one-way stream seals on one core and opens on the other, about ${
            fmt(2 * ceiling.mbps)
          } MB/s at best before any other work`,
      );
    }

    // Memory during a large transfer.
    if (memoryGiB > 0) {
      const size = Math.round(memoryGiB * 1024) * MiB;
      const free = freeBytes(dir);
      if (free < size * 1.1) {
        report.memory = {
          skipped: `only ${fmt(free / 2 ** 30)} GiB free in ${dir}`,
        };
        log(
          `\nmemory: skipped, only ${
            fmt(free / 2 ** 30)
          } GiB free in ${dir} (needs ${fmt(size / 2 ** 30)} GiB)`,
        );
      } else {
        const sparse = join(dir, "sparse.bin");
        await Deno.writeFile(sparse, new Uint8Array(0));
        await Deno.truncate(sparse, size);
        progress(
          `altnet send of a ${memoryGiB} GiB sparse file, sampling RSS every 0.5 s`,
        );
        const result = await altnetTransfer(
          places,
          dir,
          sparse,
          `altnet send, direct, ${memoryGiB} GiB`,
          {
            sampleMemory: true,
            timeoutMs: 3_600_000,
          },
        );
        // Samples after the processes exited read as 0: leave them out.
        const samples = (result.memory ?? []).filter((m) =>
          m.sender > 0 && m.receiver > 0
        );
        const peak = (k: "sender" | "receiver") =>
          Math.max(...samples.map((s) => s[k]));
        const at = (fraction: number) =>
          samples[Math.floor(fraction * (samples.length - 1))];
        report.memory = {
          ...result,
          peakSender: peak("sender"),
          peakReceiver: peak("receiver"),
        };
        log(`\n## Memory during a ${memoryGiB} GiB transfer\n`);
        log(table([result]));
        log(
          "\n| moment | sender RSS | receiver RSS |\n| ------ | ---------- | ------------ |",
        );
        for (const f of [0.1, 0.25, 0.5, 0.75, 0.9, 1]) {
          const s = at(f);
          if (s) {
            log(
              `| ${fmt(s.at)} s (${f * 100} % of the run) | ${
                fmt(s.sender / MiB)
              } MiB | ${fmt(s.receiver / MiB)} MiB |`,
            );
          }
        }
        log(
          `| peak | ${fmt(peak("sender") / MiB)} MiB | ${
            fmt(peak("receiver") / MiB)
          } MiB |`,
        );
        await Deno.remove(sparse);
      }
    }
    relay.kill();

    // The NAT lab.
    const why = values["no-lab"] ? "--no-lab" : await labAvailable();
    if (why) {
      report.lab = { skipped: why };
      log(`\nNAT lab: skipped (${why})`);
    } else {
      const { createLab } = await import("../tests/netlab/lab.ts");
      const lab = await createLab({
        sites: [{ nat: "cone" }, { nat: "none" }],
      });
      try {
        const inNs = (ns: string): Spawner => (cmd, env) =>
          lab.spawn(ns, cmd, { env: { NO_COLOR: "1", ...env } });
        const sender = lab.sites[0].peers[0];
        const receiver = lab.sites[1].peers[0];
        const labRelay = await startRelay(inNs(lab.relay.ns), [
          "--port",
          "8000",
        ], join(dir, "lab-relay"));
        const labPlaces: AltnetPlaces = {
          relayAt: `${lab.relay.address}:8000`,
          spawnSender: inNs(sender.ns),
          spawnReceiver: inNs(receiver.ns),
        };
        const rows: Result[] = [];
        for (const [i, loss] of [0, 0.01, 0.05].entries()) {
          const mib = labMiB[i] ?? labMiB[labMiB.length - 1];
          const labFile = join(dir, `lab-${i}.bin`);
          await writeRandomFile(labFile, mib * MiB);
          await lab.setLoss(0, loss);
          const note = `${loss * 100} % loss`;
          progress(`lab, ${note}: TCP copy`);
          // TCP gets the large file: a small one fits in its first windows.
          rows.push(
            await tcpCopy(
              { ...labPlaces, receiverHost: receiver.address },
              file,
              join(dir, "lab-tcp.out"),
              `TCP copy, ${note}`,
            ),
          );
          progress(`lab, ${note}: altnet send`);
          rows.push(
            await altnetTransfer(
              labPlaces,
              dir,
              labFile,
              `altnet send, ${note}`,
            ),
          );
          await Deno.remove(labFile);
        }
        labRelay.relay.kill();
        report.lab = rows;
        log(
          "\n## NAT lab: cone NAT → public peer, random loss on the NAT's WAN link both ways\n",
        );
        log(table(rows));
      } finally {
        await lab.teardown();
      }
    }
    if (values.json) console.log(JSON.stringify(report));
  } finally {
    await killAll();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
