/**
 * Errors meant for the person at the terminal.
 *
 * @module
 */

/**
 * An error whose message is one clear sentence for the user, with an optional
 * hint saying what to do. `main.ts` prints it without a stack trace and exits
 * with `exitCode`.
 *
 * @example
 * ```ts
 * throw new UserError("Cannot read the identity file: /x", {
 *   hint: "run 'altnet keygen' to create one",
 * });
 * ```
 */
export class UserError extends Error {
  /** What the user can do about it, if anything. */
  readonly hint?: string;
  /** The process exit code: 1 for runtime failures, 2 for usage mistakes. */
  readonly exitCode: number;

  constructor(
    message: string,
    options: { hint?: string; exitCode?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "UserError";
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A mistake on the command line (unknown flag, bad value): exit code 2. */
export class UsageError extends UserError {
  constructor(message: string, options: { hint?: string } = {}) {
    super(message, { hint: options.hint, exitCode: 2 });
    this.name = "UsageError";
  }
}
