/**
 * Test-only: real `altnet serve-directory` and `altnet relay` processes on
 * loopback, and running one altnet command to completion.
 *
 * @module
 */

import { join } from "node:path";
import { readIdentity } from "../../lib/identity/mod.ts";
import type { Identity } from "../../lib/identity/mod.ts";
import { collectJsonLines, type JsonLines } from "../json_lines_for_testing.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** A running altnet process speaking JSON Lines. */
export interface AltnetProcess {
  child: Deno.ChildProcess;
  lines: JsonLines;
  ready: Record<string, unknown>;
  /** Its `XDG_CONFIG_HOME`. */
  home: string;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

async function spawn(
  args: string[],
  home: string,
): Promise<AltnetProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-all", MAIN, ...args, "--json"],
    env: { XDG_CONFIG_HOME: home, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream())
    .getReader();
  const errors: string[] = [];
  (async () => {
    for (let r; !(r = await stderr.read()).done;) errors.push(r.value);
  })().catch(() => {});
  const lines = collectJsonLines(child);
  let ready: Record<string, unknown>;
  try {
    ready = await lines.waitFor((e) => e.event === "ready", 30_000);
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    throw new Error(`altnet ${args[0]} did not start: ${errors.join("")}`, {
      cause: error,
    });
  }
  let status: Promise<Deno.CommandStatus> | undefined;
  return {
    child,
    lines,
    ready,
    home,
    stop(signal: Deno.Signal = "SIGTERM") {
      status ??= (async () => {
        try {
          child.kill(signal);
        } catch { /* already gone */ }
        const result = await child.status;
        await lines.ended.catch(() => {});
        return result;
      })();
      return status;
    },
  };
}

/** Starts `altnet serve-directory` on 127.0.0.1 with a free port. */
export async function startDirectory(
  home: string,
  extra: string[] = [],
): Promise<AltnetProcess & { url: string; key: string }> {
  const process = await spawn([
    "serve-directory",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--allow-private-addresses",
    ...extra,
  ], home);
  return {
    ...process,
    url: process.ready.url as string,
    key: process.ready.key as string,
  };
}

/** Starts `altnet relay` on 127.0.0.1 with a free port; returns its identity too. */
export async function startRelay(
  home: string,
  extra: string[] = [],
): Promise<AltnetProcess & { port: number; identity: Identity }> {
  const process = await spawn(
    ["relay", "--host", "127.0.0.1", "--port", "0", ...extra],
    home,
  );
  const identity = await readIdentity(join(home, "altnet", "identity"));
  return {
    ...process,
    port: process.ready.port as number,
    identity: identity!,
  };
}

/** Runs one altnet command to its end. */
export async function altnet(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-all", MAIN, ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    code: output.code,
    stdout: decode(output.stdout),
    stderr: decode(output.stderr),
  };
}

/** The JSON Lines of a finished command. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}
