/**
 * Wiring `altnet receive` to the terminal: the accept prompt (or `--yes`),
 * progress, one summary line per file, and a clean stop on Ctrl-C that
 * keeps partial downloads for a resume.
 *
 * @module
 */

import { traversalOptions } from "./traversal.ts";
import { fingerprint, type Identity } from "../lib/identity/mod.ts";
import { localCandidates } from "../lib/peer/addresses.ts";
import {
  type Decision,
  formatBytes,
  formatRate,
  type OfferToDecide,
  Reason,
  ReceiveApp,
  type ReceiveEvent,
  relayOnlySocket,
} from "../lib/transfer/mod.ts";
import { realScheduler } from "../lib/udp/mod.ts";
import { UserError } from "../lib/user_error.ts";
import { PROCESS_SINKS, type Reporter } from "./output.ts";
import type { ReceiveOptions } from "./receive.ts";
import {
  describeLinkEvent,
  eventFields,
  LinePrompter,
  openKeyStores,
  openTransferSocket,
  ProgressLine,
  resolveRelay,
} from "./transfer_terminal.ts";

/** How often receive looks for a change of local addresses. */
const ADDRESS_CHECK_MS = 3_000;

/** Receives until Ctrl-C (or the first transfer with `--once`). */
export async function runReceive(
  options: ReceiveOptions,
  loaded: { identity: Identity; path: string },
  reporter: Reporter,
): Promise<number> {
  const { relay, label } = await resolveRelay(options.relay);
  try {
    const probe = Deno.makeTempFileSync({
      dir: options.out,
      prefix: ".altnet-",
    });
    Deno.removeSync(probe);
  } catch (error) {
    throw new UserError(
      `Cannot write in the folder for received files: ${options.out}: ${
        (error as Error).message
      }`,
      { hint: "choose a writable --out" },
    );
  }
  const canAsk = Deno.stdin.isTerminal() &&
    (options.json ? Deno.stderr : Deno.stdout).isTerminal();
  const tty = Deno.stdout.isTerminal() && !options.json;
  const bar = tty ? new ProgressLine() : undefined;
  const prompter = new LinePrompter(options.json ? Deno.stderr : Deno.stdout);
  const status = (text: string) => {
    if (options.json) return;
    if (prompter.asking) prompter.printAbove(text);
    else if (bar) bar.line(text);
    else PROCESS_SINKS.stderr(text);
  };

  const decide = async (offer: OfferToDecide): Promise<Decision> => {
    if (options.yes) return { accept: true };
    if (!canAsk) {
      status(
        `declined ${offer.offer.name} from ${offer.from}: no terminal to ask on; run with --yes to accept offers automatically`,
      );
      return {
        accept: false,
        reason: Reason.NO_TERMINAL,
        text:
          "the receiver has no terminal to ask on and was not started with --yes",
      };
    }
    const resume = offer.held > 0
      ? `, ${formatBytes(offer.held)} already here from an earlier try`
      : "";
    bar?.end();
    const answer = await prompter.ask(
      `${offer.from} (${offer.fingerprint}) offers ${offer.offer.name} (${
        formatBytes(offer.offer.size)
      }${resume}), sha256 ${
        offer.offer.sha256.toHex().slice(0, 16)
      }…\nAccept? [y/N] `,
      offer.signal,
    );
    if (answer !== undefined && /^\s*y(es)?\s*$/i.test(answer)) {
      return { accept: true };
    }
    return {
      accept: false,
      reason: Reason.DECLINED,
      text: `${options.name} declined the file`,
    };
  };

  const stores = await openKeyStores(loaded.path);
  const opened = await openTransferSocket(options.port);
  const socket = options.relayOnly ? relayOnlySocket(opened, relay) : opened;
  let firstOutcome: ReceiveEvent | undefined;
  const app = new ReceiveApp({
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
    candidates: localCandidates(socket.local),
    acceptNewKey: options.acceptNewKey,
    outDir: options.out,
    force: options.force,
    maxSize: options.maxSize,
    decide,
    onEvent: (event) => {
      if (
        !firstOutcome &&
        (event.event === "done" || event.event === "failed" ||
          event.event === "declined")
      ) {
        firstOutcome = event;
      }
      show(event);
    },
  });

  function show(event: ReceiveEvent) {
    if (event.event === "fatal") return; // thrown below, once
    if (options.json) {
      reporter.event(event.event, eventFields(event));
      return;
    }
    switch (event.event) {
      case "offer":
        if (options.yes || !canAsk) {
          status(
            `${event.from} offers ${event.name} (${formatBytes(event.size)})`,
          );
        }
        break;
      case "accepted":
        status(
          event.have > 0
            ? `receiving ${event.name} from ${event.from}: resuming with ${
              formatBytes(event.need)
            } to go`
            : `receiving ${event.name} from ${event.from} into ${event.part}`,
        );
        break;
      case "declined":
        status(
          `declined ${
            event.name ?? "an offer"
          } from ${event.from}: ${event.message}`,
        );
        break;
      case "progress":
        if (prompter.asking) break; // the question keeps the line
        bar?.draw(`${event.name} ← ${event.from}`, {
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
          `received ${event.name} from ${event.from}: ${
            formatBytes(event.size)
          } in ${event.seconds.toFixed(1)} s (${
            formatRate(event.rate)
          } average, ${event.via}${
            event.resumed_from > 0
              ? `, resumed at ${formatBytes(event.resumed_from)}`
              : ""
          }), sha256 ${event.sha256}, saved as ${event.path}`,
        );
        break;
      case "failed":
        bar?.end();
        status(
          `${event.message}${
            event.kept ? "; the partial download is kept for a resume" : ""
          }`,
        );
        break;
      case "suspended":
        bar?.end();
        status(event.message);
        break;
      default: {
        const text = describeLinkEvent(event, options.name);
        if (text) status(text);
      }
    }
  }

  const print = fingerprint(loaded.identity.noisePublicKey);
  reporter.event(
    "ready",
    {
      name: options.name,
      port: socket.local.port,
      fingerprint: print,
      out: options.out,
    },
    tty
      ? `altnet receive: you are ${options.name} (${print}); files go to ${options.out}. Waiting for senders (Ctrl-C to stop).`
      : undefined,
  );
  if (!options.yes && !canAsk) {
    const message =
      "no terminal and no --yes: every offer will be declined (run with --yes to accept them)";
    if (options.json) reporter.event("warning", { message });
    else status(message);
  }
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
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const interrupted = new Promise<"signal">((resolve) =>
    controller.signal.addEventListener("abort", () => resolve("signal"), {
      once: true,
    })
  );
  try {
    const why = await Promise.race([
      interrupted,
      app.until(() =>
        app.fatal !== undefined || (options.once && firstOutcome !== undefined)
      ).then(() => "app" as const),
    ]);
    const fatal = app.fatal;
    if (fatal?.event === "fatal") {
      throw new UserError(fatal.message, { hint: fatal.hint });
    }
    if (why === "signal") {
      const running = app.active;
      await app.cancelAll();
      bar?.end();
      return running > 0 ? 130 : 0;
    }
    await app.flush();
    const outcome = firstOutcome!;
    if (outcome.event === "done") return 0;
    const message = outcome.event === "failed" || outcome.event === "declined"
      ? outcome.message
      : "The transfer did not complete";
    throw new UserError(message, {
      hint: outcome.event === "failed" && outcome.kept
        ? "the partial download is kept: the sender can run its command again to resume"
        : undefined,
    });
  } finally {
    clearInterval(watcher);
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await app.stop();
  }
}
