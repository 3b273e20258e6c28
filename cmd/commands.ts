/**
 * The table of subcommands `main.ts` dispatches to.
 *
 * @module
 */

import * as chat from "./chat.ts";
import * as demo from "./demo.ts";
import * as keygen from "./keygen.ts";
import * as list from "./list.ts";
import * as ping from "./ping.ts";
import * as punch from "./punch.ts";
import * as receive from "./receive.ts";
import * as relay from "./relay.ts";
import * as send from "./send.ts";
import * as serveDirectory from "./serve_directory.ts";

/** What every subcommand module provides. */
export interface Command {
  summary: string;
  help: string;
  /** Pure flag parsing; throws UsageError. */
  parse(args: string[]): { help: boolean; json: boolean };
  /** Does the work; resolves to the exit code. */
  run(options: never): Promise<number>;
}

/** Subcommands in the order `altnet --help` lists them. */
export const COMMANDS: Record<string, Command> = {
  keygen: { ...keygen, parse: keygen.parseKeygenArgs },
  relay: { ...relay, parse: relay.parseRelayArgs },
  "serve-directory": {
    ...serveDirectory,
    parse: serveDirectory.parseServeDirectoryArgs,
  },
  chat: { ...chat, parse: chat.parseChatArgs },
  send: { ...send, parse: send.parseSendArgs },
  receive: { ...receive, parse: receive.parseReceiveArgs },
  punch: { ...punch, parse: punch.parsePunchArgs },
  list: { ...list, parse: list.parseListArgs },
  ping: { ...ping, parse: ping.parsePingArgs },
  demo: { ...demo, parse: demo.parseDemoArgs },
};
