/**
 * Test-only: collects a child process's JSON Lines in the background so a
 * test can wait for an event without losing any.
 *
 * @module
 */

/** The collected events and a way to wait for one. */
export interface JsonLines {
  events: Record<string, unknown>[];
  waitFor(
    predicate: (e: Record<string, unknown>) => boolean,
    ms?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves when stdout ends. */
  ended: Promise<void>;
}

/** Starts collecting `child`'s stdout (which must be piped). */
export function collectJsonLines(child: Deno.ChildProcess): JsonLines {
  const events: Record<string, unknown>[] = [];
  let done = false;
  const ended = (async () => {
    let buffer = "";
    for await (
      const chunk of child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines) if (line.trim()) events.push(JSON.parse(line));
    }
    done = true;
  })();
  const waitFor = async (
    predicate: (e: Record<string, unknown>) => boolean,
    ms = 15_000,
  ) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = events.find(predicate);
      if (found) return found;
      if (done || Date.now() > deadline) {
        throw new Error(
          `Not seen within ${ms} ms; events: ${JSON.stringify(events)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { events, waitFor, ended };
}
