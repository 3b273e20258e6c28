/**
 * altnet: private peer-to-peer chat and file transfer across NATs.
 *
 * This file only dispatches to `cmd/`; it is the one place that calls
 * `Deno.exit`.
 *
 * @module
 */

import { type Command, COMMANDS } from "./cmd/commands.ts";
import { PROCESS_SINKS, Reporter } from "./cmd/output.ts";
import { UserError } from "./lib/user_error.ts";
import { VERSION } from "./lib/version.ts";

/** `altnet --help`. */
export function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, command]) =>
    `  ${name.padEnd(width)}  ${command.summary}`
  );
  return `altnet ${VERSION}: private peer-to-peer chat and file transfer across NATs

Usage: altnet <command> [options]

Commands:
${lines.join("\n")}

Run 'altnet <command> --help' for a command's options.
Every command accepts --json for JSON Lines output (see docs/CLI.md).`;
}

/**
 * Runs altnet with `args` and resolves to the process exit code. Never
 * throws: user mistakes and network faults become one line on stderr.
 */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === "--help" || name === "-h" || name === "help") {
    const topic = rest[0] ? COMMANDS[rest[0]] : undefined;
    PROCESS_SINKS.stdout(topic ? topic.help : mainHelp());
    return 0;
  }
  if (name === "--version" || name === "-V") {
    PROCESS_SINKS.stdout(`altnet ${VERSION}`);
    return 0;
  }
  const command: Command | undefined = name ? COMMANDS[name] : undefined;
  if (!command) {
    PROCESS_SINKS.stderr(
      name === undefined
        ? "altnet: no command given"
        : `altnet: unknown command: ${name}`,
    );
    PROCESS_SINKS.stderr(mainHelp());
    return 2;
  }
  const reporter = new Reporter(rest.includes("--json"));
  try {
    const options = command.parse(rest);
    if (options.help) {
      PROCESS_SINKS.stdout(command.help);
      return 0;
    }
    return await command.run(options as never);
  } catch (error) {
    if (error instanceof UserError) {
      reporter.error(error.message, error.hint);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    reporter.error(
      `Internal error in 'altnet ${name}': ${message}`,
      "this is a bug; run again with ALTNET_DEBUG=1 for details and report it",
    );
    if (Deno.env.get("ALTNET_DEBUG")) console.error(error);
    return 70; // EX_SOFTWARE
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
