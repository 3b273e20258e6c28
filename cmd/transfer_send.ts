/**
 * Wiring `altnet send` to the terminal: hash the file, connect, show
 * progress, and end with one summary line (or one error line).
 *
 * @module
 */

import { traversalOptions } from "./traversal.ts";
import { fingerprint, type Identity } from "../lib/identity/mod.ts";
import { localCandidates } from "../lib/peer/addresses.ts";
import {
  FileSource,
  formatBytes,
  formatRate,
  hashFile,
  type Offer,
  relayOnlySocket,
  SendApp,
  type SendEvent,
} from "../lib/transfer/mod.ts";
import { realScheduler } from "../lib/udp/mod.ts";
import { UserError } from "../lib/user_error.ts";
import { PROCESS_SINKS, type Reporter } from "./output.ts";
import type { SendOptions } from "./send.ts";
import {
  describeLinkEvent,
  eventFields,
  openKeyStores,
  openTransferSocket,
  ProgressLine,
  resolvePeer,
  resolveRelay,
} from "./transfer_terminal.ts";

/** How often send looks for a change of local addresses. */
const ADDRESS_CHECK_MS = 3_000;

/** Runs the send until the peer confirms, declines, or it fails. */
export async function runSend(
  options: SendOptions,
  loaded: { identity: Identity; path: string },
  reporter: Reporter,
): Promise<number> {
  const { relay, label } = await resolveRelay(options.relay);
  const { peerName, hints } = await resolvePeer(options.peer);
  const tty = Deno.stdout.isTerminal() && !options.json;
  const bar = tty ? new ProgressLine() : undefined;
  const status = (text: string) => {
    if (options.json) return;
    if (bar) bar.line(text);
    else PROCESS_SINKS.stderr(text);
  };

  let offer: Offer;
  try {
    const size = (await Deno.stat(options.file)).size;
    const started = performance.now();
    offer = await hashFile(options.file, {
      onProgress: bar
        ? (bytes) =>
          bar.draw("hashing", {
            bytes,
            total: size,
            rate: bytes / Math.max(0.001, (performance.now() - started) / 1000),
            etaSeconds: (size - bytes) /
              Math.max(
                1,
                bytes / Math.max(0.001, (performance.now() - started) / 1000),
              ),
            via: "",
          })
        : undefined,
    });
    bar?.end();
  } catch (error) {
    throw new UserError(
      `Cannot read the file to send: ${options.file}: ${
        (error as Error).message
      }`,
      {
        hint:
          "check that it exists and is readable, and does not change while it is sent",
      },
    );
  }

  const stores = await openKeyStores(loaded.path);
  const opened = await openTransferSocket(options.port);
  const socket = options.relayOnly ? relayOnlySocket(opened, relay) : opened;
  const label_ = `${offer.name} → ${peerName}`;
  const app = new SendApp({
    socket,
    traversal: await traversalOptions(options, "fast"),
    scheduler: realScheduler,
    staticKeyPair: {
      publicKey: loaded.identity.noisePublicKey,
      privateKey: loaded.identity.noisePrivateKey,
    },
    name: options.name,
    relay,
    relayLabel: label,
    ...stores,
    peer: peerName,
    hints,
    candidates: localCandidates(socket.local),
    acceptNewKey: options.acceptNewKey,
    offer,
    openSource: () =>
      new FileSource(Deno.openSync(options.file, { read: true })),
    onEvent: (event) => show(event),
  });

  function show(event: SendEvent) {
    if (event.event === "fatal") return; // thrown below, once
    if (options.json) {
      reporter.event(event.event, eventFields(event));
      return;
    }
    switch (event.event) {
      case "offered":
        status(
          `offered ${event.name} (${
            formatBytes(event.size)
          }) to ${event.peer}; waiting for them to accept`,
        );
        break;
      case "accepted":
        status(
          event.have > 0
            ? `${event.peer} accepted: resuming with ${
              formatBytes(event.need)
            } to go (${formatBytes(event.have)} already there)`
            : `${event.peer} accepted`,
        );
        break;
      case "progress":
        bar?.draw(label_, {
          bytes: event.bytes,
          total: event.total,
          rate: event.rate,
          etaSeconds: event.eta_s,
          via: event.via,
        });
        break;
      case "done":
        bar?.end();
        PROCESS_SINKS.stdout(
          `sent ${event.name} to ${peerName}: ${formatBytes(event.size)} in ${
            event.seconds.toFixed(1)
          } s (${formatRate(event.rate)} average, ${event.via}${
            event.resumed_from > 0
              ? `, resumed at ${formatBytes(event.resumed_from)}`
              : ""
          }), sha256 ${event.sha256}`,
        );
        break;
      default: {
        const text = describeLinkEvent(event, options.name);
        if (text) status(text);
      }
    }
  }

  reporter.event(
    "ready",
    {
      name: options.name,
      port: socket.local.port,
      fingerprint: fingerprint(loaded.identity.noisePublicKey),
      peer: peerName,
      file: offer.name,
      size: offer.size,
      sha256: offer.sha256.toHex(),
    },
    tty
      ? `altnet send: you are ${options.name} (${
        fingerprint(loaded.identity.noisePublicKey)
      }); sending ${offer.name} (${formatBytes(offer.size)}) to ${peerName}`
      : undefined,
  );
  app.start();
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
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    app.cancel();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    const outcome = await app.finished();
    if (interrupted) {
      // Give the receiver a moment to hear why.
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    if (!outcome.ok) {
      bar?.end();
      if (interrupted) {
        reporter.error(outcome.message, outcome.hint);
        return 130;
      }
      throw new UserError(outcome.message, { hint: outcome.hint });
    }
    return 0;
  } finally {
    clearInterval(watcher);
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await app.stop();
  }
}
