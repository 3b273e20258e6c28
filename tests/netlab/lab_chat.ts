/**
 * Test-only: a relay and `altnet chat --json` processes inside a NAT lab,
 * and the few things lab tests do with them (write lines, read messages,
 * wait for a path). Each process gets its own `XDG_CONFIG_HOME`, so every
 * chat is a first contact with a new identity.
 *
 * @module
 */

import { collectJsonLines, type JsonLines } from "../json_lines_for_testing.ts";
import { denoCommand, type Lab } from "./lab.ts";

const MAIN = new URL("../../main.ts", import.meta.url);

/** The relay's UDP port in every lab test. */
export const RELAY_PORT = 8000;
/** The relay's alternate STUN port, when it has one. */
export const RELAY_STUN_PORT = 8001;

/** A relay process in a lab. */
export interface LabRelay {
  child: Deno.ChildProcess;
  out: JsonLines;
  home: string;
  /** `address:port` for `--relay`. */
  at: string;
}

/**
 * Starts `altnet relay` on the lab's relay host and waits for `ready`.
 * With `stun`, it also answers STUN on {@linkcode RELAY_STUN_PORT} and knows
 * its public address, so its answers carry OTHER-ADDRESS (PROTOCOL §8) and
 * peers can learn their NAT's mapping from it alone.
 */
export async function startLabRelay(
  lab: Lab,
  options: { stun?: boolean } = {},
): Promise<LabRelay> {
  const home = await Deno.makeTempDir({ prefix: "altnet-lab-relay-" });
  const args = ["relay", "--port", String(RELAY_PORT), "--json"];
  if (options.stun) {
    args.push(
      "--stun-port",
      String(RELAY_STUN_PORT),
      "--public-address",
      lab.relay.address,
    );
  }
  const child = lab.spawn(lab.relay.ns, denoCommand(MAIN, args), {
    stdout: "piped",
    stderr: "null",
    env: { XDG_CONFIG_HOME: home },
  });
  const out = collectJsonLines(child);
  await out.waitFor((e) => e.event === "ready");
  return { child, out, home, at: `${lab.relay.address}:${RELAY_PORT}` };
}

/** A chat process in a lab. */
export interface LabChat {
  child: Deno.ChildProcess;
  out: JsonLines;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Everything it wrote on stderr, once it exits. */
  stderr: Promise<string>;
  home: string;
}

/** Who a chat is, who it talks to, and anything else on its command line. */
export interface LabChatOptions {
  name: string;
  peer: string;
  /** `address:port` of the relay. */
  relay: string;
  /** Extra flags, e.g. `["--stun", "203.0.113.3:3478"]`. */
  args?: string[];
}

/** Starts `altnet chat NAME 9000 PEER --relay … --json` in namespace `ns`. */
export async function startLabChat(
  lab: Lab,
  ns: string,
  options: LabChatOptions,
): Promise<LabChat> {
  const home = await Deno.makeTempDir({
    prefix: `altnet-lab-${options.name}-`,
  });
  const child = lab.spawn(
    ns,
    denoCommand(MAIN, [
      "chat",
      options.name,
      "9000",
      options.peer,
      "--relay",
      options.relay,
      "--json",
      ...options.args ?? [],
    ]),
    {
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { XDG_CONFIG_HOME: home },
    },
  );
  return {
    child,
    out: collectJsonLines(child),
    writer: child.stdin.getWriter(),
    stderr: new Response(child.stderr).text().catch(() => ""),
    home,
  };
}

/** Writes lines to a chat's stdin: each becomes one message. */
export function say(chat: LabChat, lines: string[]): Promise<void> {
  return chat.writer.write(
    new TextEncoder().encode(lines.map((l) => l + "\n").join("")),
  );
}

/** The texts of the `message` events a chat printed so far, in order. */
export function messages(chat: LabChat): unknown[] {
  return chat.out.events.filter((e) => e.event === "message").map((e) =>
    e.text
  );
}

/** Waits until a chat printed at least `count` messages. */
export async function waitForMessages(
  chat: LabChat,
  count: number,
  ms = 20_000,
): Promise<void> {
  await chat.out.waitFor(() => messages(chat).length >= count, ms);
}

/** Whether an event is a `path` event onto the direct path. */
export const isDirectPath = (e: Record<string, unknown>): boolean =>
  e.event === "path" && e.via === "direct";

/** The last `path` event a chat printed, if any. */
export function lastPath(chat: LabChat): Record<string, unknown> | undefined {
  return chat.out.events.findLast((e) => e.event === "path");
}

/**
 * Closes the chats' stdin, tears the lab down (which kills what still
 * runs) and removes every process's config dir.
 */
export async function closeLabChats(
  lab: Lab,
  processes: { home: string; writer?: LabChat["writer"] }[],
): Promise<void> {
  for (const p of processes) await p.writer?.close().catch(() => {});
  await lab.teardown();
  for (const p of processes) {
    await Deno.remove(p.home, { recursive: true }).catch(() => {});
  }
}
