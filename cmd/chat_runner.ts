/**
 * Wiring `altnet chat` to the terminal: resolving the relay and the peer,
 * stdin lines in, events out, a prompt and commands on a TTY.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { ChatApp, type ChatEvent } from "../lib/chat/chat_app.ts";
import { fingerprint, type Identity, TrustStore } from "../lib/identity/mod.ts";
import { localCandidates, resolveHost } from "../lib/peer/addresses.ts";
import { openUdpSocket, realScheduler } from "../lib/udp/mod.ts";
import { UserError } from "../lib/user_error.ts";
import type { Endpoint } from "../lib/wire/mod.ts";
import type { ChatOptions } from "./chat.ts";
import { PROCESS_SINKS, type Reporter } from "./output.ts";

const encoder = new TextEncoder();

/**
 * Prints a line above the prompt on a terminal: clears the prompt line,
 * prints, and draws the prompt again (what the user typed so far stays in
 * the terminal's own line buffer).
 */
function promptLine(text: string): void {
  Deno.stdout.writeSync(encoder.encode(`\r\x1b[K${text}\n> `));
}

/** How often chat looks for a change of local addresses. */
const ADDRESS_CHECK_MS = 3_000;

/** How long chat waits, once stdin ended, for its messages to be acknowledged. */
const DELIVERY_TIMEOUT_MS = 60_000;

const color = (code: number, text: string) =>
  Deno.noColor || !Deno.stdout.isTerminal()
    ? text
    : `\x1b[${code}m${text}\x1b[0m`;

/** Runs the chat until stdin ends (no TTY), `/quit`, or a fatal error. */
export async function runChat(
  options: ChatOptions,
  loaded: { identity: Identity; path: string },
  reporter: Reporter,
): Promise<number> {
  if (options.hops > 0) {
    throw new UserError(
      "Onion routing (--hops) is not available yet",
      {
        hint:
          "leave --hops out: the session is end-to-end encrypted either way",
      },
    );
  }
  if (!options.relay) {
    throw new UserError("No relay given", {
      hint:
        "pass --relay HOST:PORT (finding relays through the directory arrives with the directory)",
    });
  }
  const relayAddress = await resolveHost(options.relay.host);
  if (!relayAddress) {
    throw new UserError(
      `Cannot resolve the relay host: ${options.relay.host}`,
      {
        hint: "check the name, or use an IP address",
      },
    );
  }
  const relay: Endpoint = { address: relayAddress, port: options.relay.port };
  const { peerName, hints } = await resolvePeer(options);
  const stateDir = dirname(loaded.path);
  const knownPeers = await TrustStore.open(join(stateDir, "known_peers"));
  const knownRelays = await TrustStore.open(join(stateDir, "known_relays"));
  let socket;
  try {
    socket = await openUdpSocket({ hostname: "0.0.0.0", port: options.port });
  } catch (error) {
    throw new UserError(
      `Cannot listen on UDP port ${options.port}: ${(error as Error).message}`,
      { hint: "choose another <port>, or 0 for any" },
    );
  }
  const interactive = Deno.stdin.isTerminal() && !options.json;
  const status = (text: string) => {
    // Without a TTY, stdout carries only received messages.
    if (interactive) promptLine(color(90, text));
    else if (!options.json) PROCESS_SINKS.stderr(text);
  };
  const app = new ChatApp({
    socket,
    scheduler: realScheduler,
    staticKeyPair: {
      publicKey: loaded.identity.noisePublicKey,
      privateKey: loaded.identity.noisePrivateKey,
    },
    name: options.name,
    relay,
    relayLabel: `${options.relay.host}:${options.relay.port}`,
    knownPeers,
    knownRelays,
    peer: peerName,
    hints,
    candidates: localCandidates(socket.local),
    acceptNewKey: options.acceptNewKey,
    onEvent: (event) => {
      if (event.event === "fatal") return; // thrown below, once
      if (options.json) {
        reporter.event(event.event, eventFields(event));
        return;
      }
      switch (event.event) {
        case "message":
          (interactive ? promptLine : PROCESS_SINKS.stdout)(
            interactive
              ? `${color(36, event.from)}: ${event.text}`
              : `${event.from}: ${event.text}`,
          );
          break;
        case "delivered":
          if (interactive) status(`  ✓ delivered #${event.id}`);
          break;
        case "registered":
          status(
            `registered at the relay as ${options.name}; relay fingerprint ${event.relayFingerprint}`,
          );
          break;
        case "waiting":
          status(`waiting: ${event.reason}`);
          break;
        case "peer":
          status(
            `connected to ${event.peer}, fingerprint ${event.fingerprint}${
              event.trust === "new"
                ? " (first contact: pinned; compare it with them)"
                : event.trust === "accepted-new-key"
                ? " (NEW KEY accepted and pinned)"
                : ""
            }`,
          );
          break;
        case "path":
          status(
            `path: ${event.via}${
              event.rtt_ms !== undefined ? ` (rtt ${event.rtt_ms} ms)` : ""
            }: ${event.reason}`,
          );
          break;
      }
    },
  });
  const ready = {
    name: options.name,
    port: socket.local.port,
    fingerprint: fingerprint(loaded.identity.noisePublicKey),
    peer: peerName,
  };
  reporter.event(
    "ready",
    ready,
    interactive
      ? `altnet chat: you are ${options.name} (${ready.fingerprint}) on UDP port ${ready.port}; talking to ${peerName}. /help for commands.`
      : undefined,
  );
  app.start();
  // Notice a change of network (laptop moves, DHCP, VPN) within seconds.
  let lastCandidates = JSON.stringify(localCandidates(socket.local));
  const watcher = setInterval(() => {
    const candidates = localCandidates(socket.local);
    const text = JSON.stringify(candidates);
    if (text !== lastCandidates) {
      lastCandidates = text;
      status("local addresses changed: telling the relay and punching again");
      app.onLocalAddressChange(candidates);
    }
  }, ADDRESS_CHECK_MS);
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    const outcome = await pumpInput(app, {
      interactive,
      signal: controller.signal,
      fatal: () => app.fatal,
      status,
    });
    throwIfFatal(app.fatal);
    if (outcome === "eof") {
      const delivered = await app.waitUntilDelivered(DELIVERY_TIMEOUT_MS);
      throwIfFatal(app.fatal);
      if (!delivered) {
        throw new UserError(
          `${app.pending} message(s) were not acknowledged by ${peerName} within ${
            DELIVERY_TIMEOUT_MS / 1000
          } s`,
          {
            hint: app.connected
              ? "the peer stopped answering; run again to resend"
              : `${peerName} never connected: is it running with --relay ${options.relay.host}:${options.relay.port}?`,
          },
        );
      }
    }
    reporter.event("done", { sent: app.sentCount });
    return outcome === "signal" && !interactive ? 130 : 0;
  } finally {
    clearInterval(watcher);
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await app.stop();
  }
}

async function resolvePeer(
  options: ChatOptions,
): Promise<{ peerName: string; hints: Endpoint[] }> {
  const peer = options.peer;
  if (peer.kind === "name") return { peerName: peer.name, hints: [] };
  if (peer.kind === "name-with-hint") {
    const address = await resolveHost(peer.hint.host);
    return {
      peerName: peer.name,
      hints: address ? [{ address, port: peer.hint.port }] : [],
    };
  }
  // The design card's `bob:9002`: a resolvable host becomes a direct
  // candidate; the label is also the peer's name at the relay.
  const address = await resolveHost(peer.host);
  if (!/^[a-z0-9][a-z0-9._-]{0,31}$/.test(peer.host)) {
    throw new UserError(
      `Cannot use ${peer.host}:${peer.port} as a peer: it is not a peer name`,
      {
        hint:
          "name the peer as it registered: name@host:port, e.g. bob@192.0.2.7:9002",
      },
    );
  }
  return {
    peerName: peer.host,
    hints: address ? [{ address, port: peer.port }] : [],
  };
}

/** Reads stdin lines into the chat; resolves with why input stopped. */
async function pumpInput(
  app: ChatApp,
  context: {
    interactive: boolean;
    signal: AbortSignal;
    fatal: () => ChatEvent | undefined;
    status: (text: string) => void;
  },
): Promise<"eof" | "quit" | "signal" | "fatal"> {
  const lines = readLines(Deno.stdin.readable);
  const aborted = new Promise<"signal">((resolve) =>
    context.signal.addEventListener("abort", () => resolve("signal"), {
      once: true,
    })
  );
  const failed = new Promise<"fatal">((resolve) => {
    const check = setInterval(() => {
      if (context.fatal()) {
        clearInterval(check);
        resolve("fatal");
      }
    }, 50);
    context.signal.addEventListener("abort", () => clearInterval(check));
  });
  for (;;) {
    const next = await Promise.race([lines.next(), aborted, failed]);
    if (next === "signal" || next === "fatal") return next;
    if (next.done) return "eof";
    const line = next.value;
    if (context.interactive && line.startsWith("/")) {
      const command = line.trim();
      if (command === "/quit") return "quit";
      if (command === "/help") {
        context.status("/status  path, round trip and the peer's fingerprint");
        context.status("/quit    leave");
      } else if (command === "/status") {
        const path = app.path;
        context.status(
          `path: ${path.via}${
            path.via === "direct" ? ` (rtt ${Math.round(path.rttMs)} ms)` : ""
          }; peer fingerprint: ${
            app.peerFingerprint ?? "not connected yet"
          }; unacknowledged: ${app.pending}`,
        );
      } else context.status(`unknown command: ${command} (try /help)`);
      continue;
    }
    try {
      app.send(line);
    } catch (error) {
      context.status((error as Error).message);
    }
  }
}

async function* readLines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, newline).replace(/\r$/, "");
      buffer = buffer.slice(newline + 1);
    }
  }
  if (buffer.length > 0) yield buffer;
}

function throwIfFatal(event: ChatEvent | undefined) {
  if (event?.event === "fatal") {
    throw new UserError(event.message, { hint: event.hint });
  }
}

function eventFields(event: ChatEvent): Record<string, unknown> {
  const { event: _, ...fields } = event;
  return fields;
}
