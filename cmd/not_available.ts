/**
 * The honest answer of a subcommand whose engine is not built yet.
 *
 * @module
 */

import { UserError } from "../lib/user_error.ts";

/** Throws the "not available yet" error for `command` (exit code 1). */
export function notAvailableYet(command: string, arrivesWith: string): never {
  throw new UserError(
    `'altnet ${command}' is not available yet: it arrives with ${arrivesWith}`,
    { hint: "see the README for what works today" },
  );
}
