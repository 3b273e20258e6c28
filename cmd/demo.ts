/**
 * `altnet demo`: the whole network on one machine, with embedded defaults.
 *
 * @module
 */

import { runNatDemo } from "../lib/demo/nat_demo.ts";
import { runNetworkDemo } from "../lib/demo/network_demo.ts";
import { type DemoStep, runSessionDemo } from "../lib/demo/session_demo.ts";
import { parseFlags } from "./flags.ts";
import { PROCESS_SINKS, Reporter } from "./output.ts";
import type { OutputSinks } from "./output.ts";

/** One line for `altnet --help`. */
export const summary =
  "show altnet working on this machine (temporary identities)";

/** `altnet demo --help`. */
export const help = `altnet demo: ${summary}

Usage: altnet demo [--json]

Creates two temporary peers, alice and bob, and shows each capability altnet
has today working between them over real UDP sockets on 127.0.0.1, then the
hole-punching techniques against simulated NATs. Nothing is kept: the
identities live in a temporary folder that is removed at the end.

Options:
  --json             JSON Lines events on stdout
  -h, --help         show this help`;

/** Parsed `altnet demo` flags. */
export interface DemoOptions {
  help: boolean;
  json: boolean;
}

/** Parses `altnet demo` arguments. */
export function parseDemoArgs(args: string[]): DemoOptions {
  const { values: v } = parseFlags("demo", args, {});
  return { help: v.help ?? false, json: v.json ?? false };
}

/** What the demo cannot show yet, in the order it will arrive. */
const COMING = [
  "onion routing (--hops)",
];

/** Runs `altnet demo`. */
export async function run(
  options: DemoOptions,
  context: { sinks?: OutputSinks } = {},
): Promise<number> {
  const reporter = new Reporter(options.json, context.sinks ?? PROCESS_SINKS);
  const dir = await Deno.makeTempDir({ prefix: "altnet-demo-" });
  try {
    reporter.event(
      "ready",
      { dir },
      `altnet demo: two peers, alice and bob, in ${dir} (removed at the end)`,
    );
    const print = (step: DemoStep) =>
      reporter.event(
        "demo",
        { step: step.step, text: step.text, ...step.details },
        `  ✓ ${step.text}`,
      );
    reporter.event("section", { name: "sessions" }, "Encrypted sessions:");
    await runSessionDemo(dir, print);
    reporter.event(
      "section",
      { name: "network" },
      "A directory, a relay and two peers chatting:",
    );
    await runNetworkDemo(dir, print);
    reporter.event(
      "section",
      { name: "nat" },
      "Hard NATs, simulated (in-memory network, virtual time):",
    );
    await runNatDemo(print);
    reporter.event(
      "done",
      { coming: COMING },
      `Coming next: ${COMING.join("; ")}.`,
    );
    return 0;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
