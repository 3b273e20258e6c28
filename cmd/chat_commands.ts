/**
 * What a line typed into `altnet chat` means: a message, or a command.
 * `/send PATH` is a command everywhere (a script can send files too); the
 * other commands only where a person types (stdin is a terminal). A line
 * that starts with `//` is a message starting with `/`.
 *
 * @module
 */

/** A line of chat input, understood. */
export type ChatLine =
  | { kind: "message"; text: string }
  | { kind: "send"; path: string }
  | { kind: "accept"; id?: number }
  | { kind: "decline"; id?: number }
  | { kind: "status" }
  | { kind: "help" }
  | { kind: "quit" }
  /** A command typed wrong: `message` says how to type it. */
  | { kind: "mistake"; message: string };

/** The `/help` text, one line per command. */
export const CHAT_COMMAND_HELP: readonly string[] = [
  "/send PATH     offer a file to the peer (it travels beside the messages)",
  "/accept [ID]   accept the file offered (the oldest waiting, or number ID)",
  "/decline [ID]  decline it",
  "/status        path, round trip and the peer's fingerprint",
  "/quit          leave (files on their way stop; partial downloads are kept)",
  "//text         send a message that starts with /",
];

/**
 * Reads one input line. `commands` says whether a person types (all
 * commands) or a program does (only `/send`).
 *
 * @example
 * ```ts
 * import { parseChatLine } from "./chat_commands.ts";
 *
 * parseChatLine("/send ~/a b.txt", { commands: false, home: "/home/x" });
 * // { kind: "send", path: "/home/x/a b.txt" }
 * ```
 */
export function parseChatLine(
  line: string,
  options: { commands: boolean; home?: string },
): ChatLine {
  if (line.startsWith("//")) return { kind: "message", text: line.slice(1) };
  const match = /^\/(\S+)(?:\s+(.*))?$/s.exec(line.trim());
  if (!match) return { kind: "message", text: line };
  const [, name, rest = ""] = match;
  const argument = rest.trim();
  if (name === "send") return sendCommand(argument, options.home);
  if (!options.commands) return { kind: "message", text: line };
  switch (name) {
    case "accept":
    case "decline": {
      if (argument === "") return { kind: name };
      const id = /^#?(\d{1,9})$/.exec(argument);
      if (!id) {
        return {
          kind: "mistake",
          message:
            `Cannot ${name} an offer by this number: ${argument}; type /${name} or /${name} ID`,
        };
      }
      return { kind: name, id: Number(id[1]) };
    }
    case "status":
    case "help":
    case "quit":
      return { kind: name };
    default:
      return {
        kind: "mistake",
        message: `Unknown command: /${name} (try /help)`,
      };
  }
}

function sendCommand(argument: string, home: string | undefined): ChatLine {
  let path = argument;
  // A path with spaces may be quoted, as in a shell.
  const quoted = /^(["'])(.*)\1$/s.exec(path);
  if (quoted) path = quoted[2];
  if (path === "") {
    return {
      kind: "mistake",
      message: "Cannot send a file without its path: type /send PATH",
    };
  }
  if (home && (path === "~" || path.startsWith("~/"))) {
    path = home + path.slice(1);
  }
  return { kind: "send", path };
}
