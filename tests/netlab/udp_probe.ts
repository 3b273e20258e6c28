/**
 * A tiny UDP prober for the NAT lab, run inside network namespaces.
 *
 * ```sh
 * deno run -A --unstable-net udp_probe.ts serve --port 3478 [--log]
 * deno run -A --unstable-net udp_probe.ts probe --port 40000 \
 *   --server 203.0.113.2:3478 --server 203.0.113.3:3478 [--count 1] [--listen]
 * deno run -A --unstable-net udp_probe.ts send --to 203.0.113.10:40000 [--count 5]
 * ```
 *
 * Every line it prints on stdout is one JSON object with an `"event"` field:
 *
 * - `serve` answers each datagram with the source address it saw
 *   (`{"id":…,"seen":"ip:port"}`) and prints `ready` once bound; with `--log`
 *   it also prints a `datagram` line per datagram.
 * - `probe` sends `--count` probes from one local port to every `--server`
 *   (pausing `--interval-ms` after every `--burst` of them), waits up to
 *   `--wait-ms` for the answers, then prints `probed` with, per server, how many answers came back and the
 *   distinct addresses the server saw. With `--listen` it then keeps the port
 *   open until stdin ends and prints `listened` with every datagram that
 *   arrived meanwhile (to prove what a NAT lets in unasked).
 * - `send` fires `--count` datagrams at `--to` and prints `sent`.
 *
 * @module
 */
import { parseArgs } from "node:util";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function emit(event: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ event, ...fields }));
}

function parseEndpoint(text: string): Deno.NetAddr {
  const at = text.lastIndexOf(":");
  const port = Number(text.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Cannot parse an endpoint as host:port: ${text}`);
  }
  return { transport: "udp", hostname: text.slice(0, at), port };
}

function formatEndpoint(addr: Deno.Addr): string {
  const net = addr as Deno.NetAddr;
  return `${net.hostname}:${net.port}`;
}

function listen(port: number): Deno.DatagramConn {
  return Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port });
}

function localPort(socket: Deno.DatagramConn): number {
  return (socket.addr as Deno.NetAddr).port;
}

/** Parses a probe's payload; anything that is not our JSON gets id null. */
function probeId(bytes: Uint8Array): number | null {
  try {
    const message = JSON.parse(decoder.decode(bytes));
    return typeof message?.id === "number" ? message.id : null;
  } catch {
    return null;
  }
}

async function serve(port: number, log: boolean): Promise<void> {
  const socket = listen(port);
  emit("ready", { port: localPort(socket) });
  const buffer = new Uint8Array(65536);
  for await (const [bytes, from] of receiveAll(socket, buffer)) {
    const seen = formatEndpoint(from);
    if (log) emit("datagram", { from: seen, text: decoder.decode(bytes) });
    const reply = encoder.encode(JSON.stringify({ id: probeId(bytes), seen }));
    await socket.send(reply, from).catch(() => {});
  }
}

async function* receiveAll(
  socket: Deno.DatagramConn,
  buffer: Uint8Array,
): AsyncGenerator<[Uint8Array, Deno.Addr]> {
  while (true) {
    let received: [Uint8Array, Deno.Addr];
    try {
      received = await socket.receive(buffer);
    } catch (error) {
      // Closing the socket cancels the pending receive and ends the loop.
      if (
        error instanceof Deno.errors.BadResource ||
        error instanceof Deno.errors.Interrupted
      ) return;
      throw error;
    }
    yield [received[0].slice(), received[1]];
  }
}

interface ProbeOptions {
  port: number;
  servers: Deno.NetAddr[];
  count: number;
  intervalMs: number;
  burst: number;
  waitMs: number;
  listen: boolean;
}

async function probe(options: ProbeOptions): Promise<void> {
  const socket = listen(options.port);
  const keys = options.servers.map(formatEndpoint);
  const results = keys.map((server) => ({
    server,
    sent: 0,
    received: 0,
    seen: [] as string[],
  }));
  const answered = keys.map(() => new Set<number>());
  const unsolicited: { from: string; text: string }[] = [];
  const state = { listening: false };
  let allAnswered = () => {};
  const everyAnswer = new Promise<void>((resolve) => allAnswered = resolve);

  const receiving = (async () => {
    for await (
      const [bytes, from] of receiveAll(socket, new Uint8Array(65536))
    ) {
      const index = keys.indexOf(formatEndpoint(from));
      const id = probeId(bytes);
      if (!state.listening && index >= 0 && id !== null) {
        const result = results[index];
        answered[index].add(id);
        result.received = answered[index].size;
        const seen = JSON.parse(decoder.decode(bytes)).seen;
        if (!result.seen.includes(seen)) result.seen.push(seen);
        if (results.every((r) => r.received === options.count)) allAnswered();
      } else if (state.listening) {
        unsolicited.push({
          from: formatEndpoint(from),
          text: decoder.decode(bytes),
        });
      }
    }
  })();

  for (let id = 0; id < options.count; id++) {
    for (const [index, server] of options.servers.entries()) {
      const payload = encoder.encode(JSON.stringify({ id }));
      await socket.send(payload, server);
      results[index].sent++;
    }
    const burstEnds = (id + 1) % options.burst === 0;
    if (options.intervalMs > 0 && burstEnds) await sleep(options.intervalMs);
  }
  const timer = Promise.withResolvers<void>();
  const timeout = setTimeout(timer.resolve, options.waitMs);
  await Promise.race([everyAnswer, timer.promise]);
  clearTimeout(timeout);
  emit("probed", { local: localPort(socket), results });

  if (options.listen) {
    state.listening = true;
    // Stdin ending is the signal to stop: the caller decides how long.
    for await (const _ of Deno.stdin.readable) { /* drain */ }
    emit("listened", { local: localPort(socket), received: unsolicited });
  }
  socket.close();
  await receiving;
}

async function send(
  to: Deno.NetAddr,
  port: number,
  count: number,
  text: string,
) {
  const socket = listen(port);
  for (let i = 0; i < count; i++) {
    await socket.send(encoder.encode(`${text} ${i}`), to);
  }
  emit("sent", { from: localPort(socket), to: formatEndpoint(to), count });
  socket.close();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const HELP = `Usage:
  udp_probe.ts serve --port N [--log]
  udp_probe.ts probe --server HOST:PORT [--server …] [--port N] [--count N]
                     [--interval-ms N] [--burst N] [--wait-ms N] [--listen]
  udp_probe.ts send --to HOST:PORT [--port N] [--count N] [--text T]`;

async function main(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      port: { type: "string", default: "0" },
      server: { type: "string", multiple: true, default: [] },
      to: { type: "string" },
      count: { type: "string", default: "1" },
      "interval-ms": { type: "string", default: "0" },
      burst: { type: "string", default: "1" },
      "wait-ms": { type: "string", default: "1000" },
      text: { type: "string", default: "unsolicited" },
      listen: { type: "boolean", default: false },
      log: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  const port = Number(values.port);
  const count = Number(values.count);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  switch (positionals[0]) {
    case "serve":
      await serve(port, values.log);
      return 0;
    case "probe":
      if (values.server.length === 0) break;
      await probe({
        port,
        servers: values.server.map(parseEndpoint),
        count,
        intervalMs: Number(values["interval-ms"]),
        burst: Number(values.burst),
        waitMs: Number(values["wait-ms"]),
        listen: values.listen,
      });
      return 0;
    case "send":
      if (values.to === undefined) break;
      await send(parseEndpoint(values.to), port, count, values.text);
      return 0;
  }
  console.error(HELP);
  return 2;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(
      `udp_probe: ${error instanceof Error ? error.message : error}`,
    );
    Deno.exit(1);
  }
}
