/**
 * What a command prints: human lines by default, JSON Lines with `--json`
 * (one object per line, each with an `event` field; docs/CLI.md lists them).
 *
 * @module
 */

/** Where a command writes; tests pass their own sinks. */
export interface OutputSinks {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

/** The real terminal. */
export const PROCESS_SINKS: OutputSinks = {
  stdout: (line) => writeLine(Deno.stdout, line),
  stderr: (line) => writeLine(Deno.stderr, line),
};

const encoder = new TextEncoder();

function writeLine(file: { writeSync(p: Uint8Array): number }, line: string) {
  const bytes = encoder.encode(line + "\n");
  let written = 0;
  while (written < bytes.length) {
    written += file.writeSync(bytes.subarray(written));
  }
}

/** Reports a command's events in the chosen format. */
export class Reporter {
  readonly json: boolean;
  readonly #sinks: OutputSinks;

  constructor(json: boolean, sinks: OutputSinks = PROCESS_SINKS) {
    this.json = json;
    this.#sinks = sinks;
  }

  /**
   * Emits one event: as a JSON line with `--json`, else as `text` on stdout
   * (nothing when `text` is undefined).
   */
  event(event: string, fields: Record<string, unknown>, text?: string): void {
    if (this.json) {
      this.#sinks.stdout(JSON.stringify({ event, ...fields }));
    } else if (text !== undefined) {
      this.#sinks.stdout(text);
    }
  }

  /** A notice for people (stderr); an event of the same name with `--json`. */
  notice(event: string, fields: Record<string, unknown>, text: string): void {
    if (this.json) this.#sinks.stdout(JSON.stringify({ event, ...fields }));
    else this.#sinks.stderr(text);
  }

  /**
   * An error: always one line on stderr, and an `error` event on stdout with
   * `--json` so JSON consumers see it in the stream too.
   */
  error(message: string, hint?: string): void {
    if (this.json) {
      this.#sinks.stdout(
        JSON.stringify({ event: "error", message, ...(hint ? { hint } : {}) }),
      );
    }
    this.#sinks.stderr(`altnet: ${message}${hint ? `; ${hint}` : ""}`);
  }
}
