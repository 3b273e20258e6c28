/**
 * What `send` and `receive` share at the terminal: finding the relay and the
 * peer, opening the socket and the key stores, the progress bar, the
 * accept prompt, and the shape of their human and JSON output.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { TrustStore } from "../lib/identity/mod.ts";
import { resolveHost } from "../lib/peer/addresses.ts";
import {
  type LinkEvent,
  progressBar,
  type ProgressView,
} from "../lib/transfer/mod.ts";
import type { DatagramSocket } from "../lib/udp/mod.ts";
import { openPeerSocket } from "./traversal.ts";
import { UserError } from "../lib/user_error.ts";
import type { Endpoint } from "../lib/wire/mod.ts";
import { type HostPort, PEER_NAME_PATTERN, type PeerSpec } from "./flags.ts";

const encoder = new TextEncoder();

/** Fails with one line: onion routing is not built yet. */
export function refuseHops(hops: number): void {
  if (hops > 0) {
    throw new UserError(
      `Onion routing is not available yet: --hops ${hops}`,
      {
        hint:
          "leave out --hops (or pass --hops 0) to go direct or through one relay",
      },
    );
  }
}

/** The relay endpoint and its label in `known_relays`. */
export async function resolveRelay(
  relay: HostPort | undefined,
): Promise<{ relay: Endpoint; label: string }> {
  if (!relay) {
    throw new UserError("No relay given", {
      hint:
        "pass --relay HOST:PORT (finding relays through the directory arrives with the directory)",
    });
  }
  const address = await resolveHost(relay.host);
  if (!address) {
    throw new UserError(`Cannot resolve the relay host: ${relay.host}`, {
      hint: "check the name, or use an IP address",
    });
  }
  return {
    relay: { address, port: relay.port },
    label: `${relay.host}:${relay.port}`,
  };
}

/** The peer's name at the relay and address hints, as chat reads `<peer>`. */
export async function resolvePeer(
  peer: PeerSpec,
): Promise<{ peerName: string; hints: Endpoint[] }> {
  if (peer.kind === "name") return { peerName: peer.name, hints: [] };
  if (peer.kind === "name-with-hint") {
    const address = await resolveHost(peer.hint.host);
    return {
      peerName: peer.name,
      hints: address ? [{ address, port: peer.hint.port }] : [],
    };
  }
  if (!PEER_NAME_PATTERN.test(peer.host)) {
    throw new UserError(
      `Cannot use ${peer.host}:${peer.port} as a peer: it is not a peer name`,
      {
        hint:
          "name the peer as it registered: name@host:port, e.g. bob@192.0.2.7:9002",
      },
    );
  }
  const address = await resolveHost(peer.host);
  return {
    peerName: peer.host,
    hints: address ? [{ address, port: peer.port }] : [],
  };
}

/** Opens the UDP socket on `port` (0 = any), or fails with one line. */
export async function openTransferSocket(
  port: number,
): Promise<DatagramSocket> {
  try {
    return await openPeerSocket(port, "fast");
  } catch (error) {
    throw new UserError(
      `Cannot listen on UDP port ${port}: ${(error as Error).message}`,
      { hint: "choose another <port>, or 0 for any" },
    );
  }
}

/** `known_peers` and `known_relays` beside the identity. */
export async function openKeyStores(
  identityPath: string,
): Promise<{ knownPeers: TrustStore; knownRelays: TrustStore }> {
  const dir = dirname(identityPath);
  return {
    knownPeers: await TrustStore.open(join(dir, "known_peers")),
    knownRelays: await TrustStore.open(join(dir, "known_relays")),
  };
}

/** The human line for a link event, or undefined for none. */
export function describeLinkEvent(
  event: LinkEvent,
  name: string,
): string | undefined {
  switch (event.event) {
    case "registered":
      return `registered at the relay as ${name}; relay fingerprint ${event.relayFingerprint}`;
    case "waiting":
      return `waiting: ${event.reason}`;
    case "peer":
      return event.trust === "refused"
        ? undefined // the warning that follows says it
        : `connected to ${event.peer}, fingerprint ${event.fingerprint}${
          event.trust === "new"
            ? " (first contact: pinned; compare it with them)"
            : event.trust === "accepted-new-key"
            ? " (NEW KEY accepted and pinned)"
            : ""
        }`;
    case "path":
      return `path to ${event.peer}: ${event.via}${
        event.rtt_ms !== undefined ? ` (rtt ${event.rtt_ms} ms)` : ""
      }: ${event.reason}`;
    case "warning":
      return `${event.message}${event.hint ? `; ${event.hint}` : ""}`;
    case "fatal":
      return undefined;
  }
}

/** The event's fields for `--json` (everything but its name). */
export function eventFields(event: { event: string }): Record<string, unknown> {
  const { event: _, ...fields } = event;
  return fields;
}

/**
 * A progress bar redrawn in place on a terminal; status lines printed while
 * it shows go above it.
 */
export class ProgressLine {
  readonly #out: { writeSync(p: Uint8Array): number };
  #shown = false;

  constructor(out = Deno.stdout) {
    this.#out = out;
  }

  /** Draws the bar for `view` with `label` in front. */
  draw(label: string, view: ProgressView): void {
    const columns = terminalColumns() - 1;
    // Narrow terminals: a shorter bar first, then no label, then cut.
    let line = `${label} ${progressBar(view)}`;
    for (let width = 20; line.length > columns && width >= 8; width -= 4) {
      line = `${label} ${progressBar(view, width)}`;
    }
    if (line.length > columns) line = progressBar(view, 8);
    if (line.length > columns) line = line.slice(0, columns);
    this.#write(`\r\x1b[K${line}`);
    this.#shown = true;
  }

  /** Prints a line above the bar (the bar is drawn again on the next update). */
  line(text: string): void {
    this.#write(`${this.#shown ? "\r\x1b[K" : ""}${text}\n`);
    this.#shown = false;
  }

  /** Leaves the bar as it is and moves to a new line. */
  end(): void {
    if (this.#shown) this.#write("\n");
    this.#shown = false;
  }

  #write(text: string) {
    const bytes = encoder.encode(text);
    let written = 0;
    while (written < bytes.length) {
      written += this.#out.writeSync(bytes.subarray(written));
    }
  }
}

function terminalColumns(): number {
  try {
    const { columns } = Deno.consoleSize();
    // A pseudo-terminal nobody sized reports 0.
    return columns >= 20 ? columns : 80;
  } catch {
    return 80;
  }
}

/**
 * Lines typed on stdin, handed out one question at a time: `ask` prints a
 * question and resolves with the next line (undefined at end of input or
 * when `signal` aborts).
 */
export class LinePrompter {
  readonly #out: { writeSync(p: Uint8Array): number };
  #lines: AsyncGenerator<string> | undefined;
  /** A read still waiting for a line after its question was withdrawn. */
  #pending: Promise<IteratorResult<string>> | undefined;
  /** The last line of the question being asked, if one is. */
  #asking: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  /** Questions go to `out` (stderr when stdout carries JSON Lines). */
  constructor(out: { writeSync(p: Uint8Array): number } = Deno.stdout) {
    this.#out = out;
  }

  /** Whether a question waits for its answer. */
  get asking(): boolean {
    return this.#asking !== undefined;
  }

  /**
   * Prints `text` as a line above the question being asked, and the
   * question's last line again below it.
   */
  printAbove(text: string): void {
    this.#out.writeSync(
      encoder.encode(`\r\x1b[K${text}\n${this.#asking ?? ""}`),
    );
  }

  ask(question: string, signal?: AbortSignal): Promise<string | undefined> {
    const turn = this.#queue.then(async () => {
      if (signal?.aborted) return undefined;
      this.#out.writeSync(encoder.encode(question));
      this.#asking = question.slice(question.lastIndexOf("\n") + 1);
      this.#lines ??= readLines(Deno.stdin.readable);
      const aborted = new Promise<undefined>((resolve) =>
        signal?.addEventListener("abort", () => resolve(undefined), {
          once: true,
        })
      );
      this.#pending ??= this.#lines.next();
      const next = await Promise.race([this.#pending, aborted]);
      this.#asking = undefined;
      if (next === undefined) {
        this.#out.writeSync(encoder.encode("(withdrawn)\n"));
        return undefined;
      }
      this.#pending = undefined;
      return next.done ? undefined : next.value;
    });
    this.#queue = turn.catch(() => {});
    return turn;
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
