/**
 * The node:dgram driver's TTL against a real Linux router: three network
 * namespaces, A — R — B, R forwarding between two /24s. A datagram sent
 * with TTL 1 must die at R, one with TTL 2 must reach B, and the datagrams
 * sent around them at the socket's usual TTL must all arrive. Root only,
 * gated like the NAT lab (tests/netlab/lab_gate.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { labTest } from "../../tests/netlab/lab_gate.ts";

const DRIVER = new URL("./node_udp_socket.ts", import.meta.url).href;
const PORT = 7000;

async function ip(...args: string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command("ip", {
    args,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(
      `Cannot run ip ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`,
    );
  }
}

async function sysctl(ns: string, setting: string): Promise<void> {
  await ip("netns", "exec", ns, "sysctl", "-qw", setting);
}

/** Builds A — R — B; returns the namespace names. */
async function buildLine(prefix: string) {
  const ns = { a: `${prefix}-a`, r: `${prefix}-r`, b: `${prefix}-b` };
  for (const name of Object.values(ns)) {
    await ip("netns", "add", name);
    await ip("-n", name, "link", "set", "lo", "up");
    await sysctl(name, "net.ipv6.conf.all.disable_ipv6=1");
  }
  // Made inside R so that no name is ever taken in the root namespace.
  for (const [side, subnet] of [["a", 1], ["b", 2]] as const) {
    await ip(
      "-n",
      ns.r,
      "link",
      "add",
      `to-${side}`,
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      ns[side],
    );
    await ip(
      "-n",
      ns.r,
      "addr",
      "add",
      `10.99.${subnet}.1/24`,
      "dev",
      `to-${side}`,
    );
    await ip("-n", ns.r, "link", "set", `to-${side}`, "up");
    await ip(
      "-n",
      ns[side],
      "addr",
      "add",
      `10.99.${subnet}.2/24`,
      "dev",
      "eth0",
    );
    await ip("-n", ns[side], "link", "set", "eth0", "up");
    await ip(
      "-n",
      ns[side],
      "route",
      "add",
      "default",
      "via",
      `10.99.${subnet}.1`,
    );
  }
  await sysctl(ns.r, "net.ipv4.ip_forward=1");
  return ns;
}

/** A Deno program running inside a namespace, read line by line. */
class Program {
  readonly #child: Deno.ChildProcess;
  readonly #reader: ReadableStreamDefaultReader<string>;
  readonly stderr: Promise<string>;
  #buffer = "";

  constructor(ns: string, code: string) {
    this.#child = new Deno.Command("ip", {
      args: ["netns", "exec", ns, Deno.execPath(), "eval", "--ext=ts", code],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#reader = this.#child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    this.stderr = new Response(this.#child.stderr).text();
  }

  /** The next line it prints, or undefined once it has exited. */
  async nextLine(): Promise<string | undefined> {
    while (!this.#buffer.includes("\n")) {
      const { value, done } = await this.#reader.read();
      if (done) return this.#buffer === "" ? undefined : this.#take();
      this.#buffer += value;
    }
    return this.#take();
  }

  #take(): string {
    const at = this.#buffer.indexOf("\n");
    const line = at < 0 ? this.#buffer : this.#buffer.slice(0, at);
    this.#buffer = at < 0 ? "" : this.#buffer.slice(at + 1);
    return line;
  }

  /** Kills it if still running and waits until it is gone. */
  async stop(): Promise<Deno.CommandStatus> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // It has already exited.
    }
    await this.#reader.cancel().catch(() => {});
    await this.stderr;
    return await this.#child.status;
  }

  get status(): Promise<Deno.CommandStatus> {
    return this.#child.status;
  }
}

/** Resolves to `promise`, or rejects after `ms` saying what was awaited. */
async function within<T>(ms: number, what: string, promise: Promise<T>) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Timed out: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// B echoes "warm" (so A knows the path and its ARP entries are ready),
// records everything else, and prints it all on "stop".
const receiver = `
import { openNodeUdpSocket } from "${DRIVER}";
const socket = await openNodeUdpSocket({ hostname: "0.0.0.0", port: ${PORT} });
console.log("ready");
const got = [];
setTimeout(() => { console.log(JSON.stringify(got)); Deno.exit(0); }, 15000);
for (let d; (d = await socket.receive()) !== undefined;) {
  const text = new TextDecoder().decode(d.data);
  if (text === "warm") { await socket.send(d.data, d.from); continue; }
  if (text === "stop") break;
  got.push(text);
}
console.log(JSON.stringify(got));
socket.close();
Deno.exit(0);
`;

// A warms the path up, then issues a burst without waiting between sends:
// TTL 1 (dies at R), full, TTL 2 (reaches B), full, each a few times.
const sender = `
import { openNodeUdpSocket } from "${DRIVER}";
const socket = await openNodeUdpSocket({ hostname: "0.0.0.0", port: 0 });
const b = { address: "10.99.2.2", port: ${PORT} };
const text = (s) => new TextEncoder().encode(s);
for (let warm = false; !warm;) {
  await socket.send(text("warm"), b);
  warm = await Promise.race([
    socket.receive().then(() => true),
    new Promise((r) => setTimeout(() => r(false), 200)),
  ]);
}
const sends = [];
for (let i = 0; i < 5; i++) {
  sends.push(socket.send(text("ttl1-" + i), b, { ttl: 1 }));
  sends.push(socket.send(text("full-a" + i), b));
  sends.push(socket.send(text("ttl2-" + i), b, { ttl: 2 }));
  sends.push(socket.send(text("full-b" + i), b));
}
await Promise.all(sends);
await new Promise((r) => setTimeout(r, 200));
await socket.send(text("stop"), b);
socket.close();
console.log("sent");
`;

labTest(
  "node:dgram: a TTL-1 datagram dies at the router, the next full one passes",
  async () => {
    const prefix = `ttl${crypto.getRandomValues(new Uint16Array(1))[0]}`;
    const programs: Program[] = [];
    try {
      const ns = await buildLine(prefix);
      const b = new Program(ns.b, receiver);
      programs.push(b);
      assert.equal(await within(20_000, "B to start", b.nextLine()), "ready");
      const a = new Program(ns.a, sender);
      programs.push(a);
      assert.equal(await within(20_000, "A to send", a.nextLine()), "sent");
      const report = await within(20_000, "B's report", b.nextLine());
      const got: string[] = JSON.parse(report ?? "null");
      const expected = [0, 1, 2, 3, 4].flatMap((i) => [
        `full-a${i}`,
        `ttl2-${i}`,
        `full-b${i}`,
      ]);
      // Every full-TTL datagram and every TTL-2 one arrived, no TTL-1 one.
      assert.deepEqual([...got].sort(), expected.sort());
    } catch (error) {
      for (const program of programs) await program.stop();
      const stderr = await Promise.all(programs.map((p) => p.stderr));
      throw new Error(
        `${error}\nB's stderr: ${stderr[0] ?? ""}\nA's stderr: ${
          stderr[1] ?? ""
        }`,
        { cause: error },
      );
    } finally {
      for (const program of programs) await program.stop();
      for (const role of ["a", "r", "b"]) {
        await ip("netns", "del", `${prefix}-${role}`).catch(() => {});
      }
    }
  },
);
