/**
 * Wiring `altnet chat` to the terminal: resolving the relay and the peer,
 * stdin lines in, events out, a prompt and commands on a TTY, files sent
 * with `/send` and offers answered with `/accept` or `/decline`.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { ChatApp, type ChatEvent } from "../lib/chat/chat_app.ts";
import type { ChatTransferEvent } from "../lib/chat/chat_transfers.ts";
import { OfferQueue } from "../lib/chat/offer_queue.ts";
import { fingerprint, type Identity, TrustStore } from "../lib/identity/mod.ts";
import { localCandidates, resolveHost } from "../lib/peer/addresses.ts";
import {
  type Decision,
  formatBytes,
  formatRate,
  type OfferToDecide,
  progressBar,
  Reason,
} from "../lib/transfer/mod.ts";
import { realScheduler } from "../lib/udp/mod.ts";
import { openPeerSocket, traversalOptions } from "./traversal.ts";
import { UserError } from "../lib/user_error.ts";
import type { Endpoint } from "../lib/wire/mod.ts";
import type { ChatOptions } from "./chat.ts";
import { CHAT_COMMAND_HELP, parseChatLine } from "./chat_commands.ts";
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

/** At most one progress line per file this often (human output). */
const PROGRESS_LINE_MS = 5_000;

/** How long chat waits before it exits for the peer to hear how its files ended. */
const SETTLE_MS = 10_000;

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
    socket = await openPeerSocket(options.port, "ttl");
  } catch (error) {
    throw new UserError(
      `Cannot listen on UDP port ${options.port}: ${(error as Error).message}`,
      { hint: "choose another <port>, or 0 for any" },
    );
  }
  if (options.acceptFiles) {
    try {
      Deno.removeSync(
        Deno.makeTempFileSync({ dir: options.out, prefix: ".altnet-" }),
      );
    } catch (error) {
      throw new UserError(
        `Cannot write in the folder for received files: ${options.out}: ${
          (error as Error).message
        }`,
        { hint: "choose a writable --out" },
      );
    }
  }
  const interactive = Deno.stdin.isTerminal() && !options.json;
  // A person types: every command works, and offers can be put to them.
  const typing = Deno.stdin.isTerminal();
  const status = (text: string) => {
    // Without a TTY, stdout carries only received messages.
    if (interactive) promptLine(color(90, text));
    else if (!options.json) PROCESS_SINKS.stderr(text);
  };
  /** A mistake of the user's that chat survives: one line. */
  const complain = (message: string, hint?: string) => {
    if (options.json) {
      reporter.event("warning", { message, ...(hint ? { hint } : {}) });
    } else status(`${message}${hint ? `; ${hint}` : ""}`);
  };
  const offers = new OfferQueue(`${options.name} declined the file`);
  const decideOffer = (offer: OfferToDecide): Promise<Decision> => {
    if (options.acceptFiles) return Promise.resolve({ accept: true });
    if (!typing) {
      return Promise.resolve({
        accept: false,
        reason: Reason.NO_TERMINAL,
        text:
          "the receiver's chat has no terminal to ask on and was not started with --accept-files",
      });
    }
    // (The offer itself was shown by its `offer` event.)
    const which = offers.waiting.length > 0 ? ` ${offer.id}` : "";
    status(
      `#${offer.id} /accept${which} to save ${offer.offer.name} in ${options.out}${
        offer.held > 0
          ? ` (${formatBytes(offer.held)} already here from an earlier try)`
          : ""
      }, /decline${which} to refuse`,
    );
    return offers.ask(offer);
  };
  const showTransfer = transferPrinter(status, options.out);
  const traversal = await traversalOptions(options, "ttl");
  const app = new ChatApp({
    traversal,
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
    outDir: options.out,
    decideOffer,
    onEvent: (event) => {
      if (event.event === "fatal") return; // thrown below, once
      if (options.json) {
        reporter.event(event.event, eventFields(event));
        return;
      }
      if ("direction" in event) return showTransfer(event);
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
        case "nat":
          status(
            `nat: ${event.mapping} mapping${
              event.public ? `, public ${event.public}` : ""
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
    out: options.out,
    accept_files: options.acceptFiles,
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
  const hashing = new Set<Promise<unknown>>();
  try {
    const outcome = await pumpInput(app, {
      typing,
      signal: controller.signal,
      fatal: () => app.fatal,
      status,
      complain,
      offers,
      hashing,
    });
    throwIfFatal(app.fatal);
    if (outcome === "eof") {
      // Files still being hashed are offered before chat waits for them.
      await Promise.allSettled([...hashing]);
      const idle = await app.waitUntilIdle(DELIVERY_TIMEOUT_MS);
      throwIfFatal(app.fatal);
      const never =
        `${peerName} never connected: is it running with --relay ${options.relay.host}:${options.relay.port}?`;
      if (!idle && app.pending > 0) {
        throw new UserError(
          `${app.pending} message(s) were not acknowledged by ${peerName} within ${
            DELIVERY_TIMEOUT_MS / 1000
          } s`,
          {
            hint: app.connected
              ? "the peer stopped answering; run again to resend"
              : never,
          },
        );
      }
      if (!idle) {
        throw new UserError(
          `Cannot offer the files to ${peerName}: no session within ${
            DELIVERY_TIMEOUT_MS / 1000
          } s`,
          { hint: never },
        );
      }
      await app.settleTransfers(SETTLE_MS);
      const failures = app.files.failures;
      if (failures.length > 0) {
        throw new UserError(
          failures.length === 1
            ? failures[0]
            : `${failures.length} files did not arrive; the first: ${
              failures[0]
            }`,
        );
      }
    }
    reporter.event("done", {
      sent: app.sentCount,
      files_sent: app.files.sent,
      files_received: app.files.received,
    });
    return outcome === "signal" && !interactive ? 130 : 0;
  } finally {
    clearInterval(watcher);
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    // Files still on their way stop; the peer is told.
    await app.cancelTransfers(500);
    await app.stop();
  }
}

/**
 * The human lines of the chat's files: one when offered, answered and
 * ended, and a progress line every few seconds while one moves.
 */
function transferPrinter(
  status: (text: string) => void,
  out: string,
): (event: ChatTransferEvent) => void {
  const lastProgress = new Map<number, number>();
  return (event) => {
    const tag = `#${event.id}`;
    switch (event.event) {
      case "offered":
        status(
          `${tag} offering ${event.name} (${formatBytes(event.size)}, sha256 ${
            event.sha256.slice(0, 16)
          }…) to ${event.peer}`,
        );
        break;
      case "offer":
        status(
          `${tag} ${event.from} offers ${event.name} (${
            formatBytes(event.size)
          }), sha256 ${event.sha256.slice(0, 16)}…`,
        );
        break;
      case "accepted":
        if (event.direction === "send") {
          status(
            `${tag} ${event.peer} accepted ${event.name}${
              event.have > 0
                ? `: resuming with ${formatBytes(event.need)} to go`
                : ""
            }`,
          );
        } else {
          status(
            `${tag} receiving ${event.name} from ${event.from} into ${
              event.have > 0 ? `${event.part} (resuming)` : out
            }`,
          );
        }
        break;
      case "progress": {
        const now = performance.now();
        const last = lastProgress.get(event.id);
        if (last === undefined) {
          lastProgress.set(event.id, now);
          break;
        }
        if (now - last < PROGRESS_LINE_MS || event.bytes >= event.total) break;
        lastProgress.set(event.id, now);
        const who = event.direction === "send"
          ? `→ ${event.peer}`
          : `← ${event.from}`;
        status(
          `${tag} ${event.name} ${who} ${
            progressBar({
              bytes: event.bytes,
              total: event.total,
              rate: event.rate,
              etaSeconds: event.eta_s,
              via: event.via,
            }, 16)
          }`,
        );
        break;
      }
      case "done": {
        lastProgress.delete(event.id);
        const summary = `${formatBytes(event.size)} in ${
          event.seconds.toFixed(1)
        } s (${formatRate(event.rate)} average, ${event.via}${
          event.resumed_from > 0
            ? `, resumed at ${formatBytes(event.resumed_from)}`
            : ""
        }), sha256 ${event.sha256}`;
        status(
          event.direction === "send"
            ? `${tag} sent ${event.name} to ${event.peer}: ${summary}`
            : `${tag} received ${event.name} from ${event.from}: ${summary}, saved as ${event.path}`,
        );
        break;
      }
      case "declined":
        lastProgress.delete(event.id);
        status(
          event.direction === "send"
            ? `${tag} ${event.message}${event.hint ? `; ${event.hint}` : ""}`
            : `${tag} declined ${
              event.name ?? "an offer"
            } from ${event.from}: ${event.message}`,
        );
        break;
      case "failed":
        lastProgress.delete(event.id);
        status(
          event.direction === "send"
            ? `${tag} ${event.message}${event.hint ? `; ${event.hint}` : ""}`
            : `${tag} ${event.message}${
              event.kept ? "; the partial download is kept for a resume" : ""
            }`,
        );
        break;
      case "suspended":
        lastProgress.delete(event.id);
        status(`${tag} ${event.message}`);
        break;
    }
  };
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
    /** Whether a person types (every command works). */
    typing: boolean;
    signal: AbortSignal;
    fatal: () => ChatEvent | undefined;
    status: (text: string) => void;
    complain: (message: string, hint?: string) => void;
    offers: OfferQueue;
    /** `/send`s whose file is still being hashed. */
    hashing: Set<Promise<unknown>>;
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
    const line = parseChatLine(next.value, {
      commands: context.typing,
      home: Deno.env.get("HOME"),
    });
    switch (line.kind) {
      case "quit":
        return "quit";
      case "help":
        for (const text of CHAT_COMMAND_HELP) context.status(text);
        break;
      case "status": {
        const path = app.path;
        context.status(
          `path: ${path.via}${
            path.via === "direct" ? ` (rtt ${Math.round(path.rttMs)} ms)` : ""
          }; peer fingerprint: ${
            app.peerFingerprint ?? "not connected yet"
          }; unacknowledged: ${app.pending}`,
        );
        break;
      }
      case "mistake":
        context.complain(line.message);
        break;
      case "send": {
        // Hashing a large file takes a while: the chat goes on meanwhile.
        const sending = app.sendFile(line.path).catch((error) =>
          context.complain((error as Error).message)
        );
        context.hashing.add(sending);
        sending.finally(() => context.hashing.delete(sending));
        break;
      }
      case "accept":
      case "decline":
        try {
          const offer = context.offers.answer(line.kind === "accept", line.id);
          context.status(
            `#${offer.id} ${
              line.kind === "accept" ? "accepting" : "declining"
            } ${offer.offer.name} from ${offer.from}`,
          );
        } catch (error) {
          context.complain((error as Error).message);
        }
        break;
      case "message":
        try {
          app.send(line.text);
        } catch (error) {
          context.complain((error as Error).message);
        }
        break;
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

function eventFields(event: { event: string }): Record<string, unknown> {
  const { event: _, ...fields } = event;
  return fields;
}
