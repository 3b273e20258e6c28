/**
 * Reads a child process's JSON Lines as they come and stamps each event with
 * the time it arrived, so a benchmark can time what the child reports
 * without the child carrying a clock of its own.
 *
 * The stamp is taken when a chunk of stdout is read, before it is parsed, so
 * every event in one chunk shares the stamp of that read. Waiting for an
 * event resolves as soon as it is parsed: no polling interval is added to
 * what is measured.
 *
 * @module
 */

/** One event and when it was read, on the collector's clock. */
export interface TimedEvent {
  /** When the line was read, in milliseconds (`performance.now()` by default). */
  at: number;
  /** The parsed line; a line that is not a JSON object becomes `{ event: "unparsed", line }`. */
  event: Record<string, unknown>;
}

/** The events read so far, and ways to wait for more. */
export interface TimedJsonLines {
  /** Every event in the order it was read. */
  readonly events: readonly TimedEvent[];
  /**
   * Resolves with the first event, already read or still to come, that
   * matches `predicate`; with `undefined` once the clock passes `deadline`
   * or the stream ends without one.
   */
  waitFor(
    predicate: (event: Record<string, unknown>) => boolean,
    deadline: number,
  ): Promise<TimedEvent | undefined>;
  /** Resolves when the stream has ended (or failed). */
  readonly ended: Promise<void>;
}

/** Options of {@linkcode collectTimedJsonLines}. */
export interface CollectOptions {
  /** The clock, in milliseconds. Defaults to `performance.now()`. */
  now?: () => number;
}

interface Waiter {
  predicate: (event: Record<string, unknown>) => boolean;
  resolve: (found: TimedEvent | undefined) => void;
}

/**
 * Starts reading `stream` (a child's piped stdout) in the background.
 *
 * @example
 * ```ts
 * import { collectTimedJsonLines } from "./timed_json_lines.ts";
 *
 * const child = new Deno.Command("echo", {
 *   args: ['{"event":"ready"}'],
 *   stdout: "piped",
 * }).spawn();
 * const out = collectTimedJsonLines(child.stdout);
 * const ready = await out.waitFor(
 *   (e) => e.event === "ready",
 *   performance.now() + 5_000,
 * );
 * ```
 */
export function collectTimedJsonLines(
  stream: ReadableStream<Uint8Array>,
  options: CollectOptions = {},
): TimedJsonLines {
  const { now = () => performance.now() } = options;
  const events: TimedEvent[] = [];
  let waiters: Waiter[] = [];
  let done = false;

  const push = (at: number, line: string) => {
    let event: Record<string, unknown>;
    try {
      const parsed = JSON.parse(line);
      event = parsed !== null && typeof parsed === "object" &&
          !Array.isArray(parsed)
        ? parsed
        : { event: "unparsed", line };
    } catch {
      event = { event: "unparsed", line };
    }
    const timed = { at, event };
    events.push(timed);
    waiters = waiters.filter((waiter) => {
      if (!waiter.predicate(event)) return true;
      waiter.resolve(timed);
      return false;
    });
  };

  const ended = (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of stream) {
        const at = now();
        buffer += decoder.decode(chunk, { stream: true });
        const lines = buffer.split("\n");
        buffer = lines.pop()!;
        for (const line of lines) if (line.trim()) push(at, line);
      }
      buffer += decoder.decode();
      if (buffer.trim()) push(now(), buffer);
    } catch {
      // The child was killed mid-read: what was read so far stands.
    } finally {
      done = true;
      for (const waiter of waiters.splice(0)) waiter.resolve(undefined);
    }
  })();

  const waitFor = (
    predicate: (event: Record<string, unknown>) => boolean,
    deadline: number,
  ): Promise<TimedEvent | undefined> => {
    const found = events.find((timed) => predicate(timed.event));
    if (found || done) return Promise.resolve(found);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        waiters = waiters.filter((waiter) => waiter !== entry);
        resolve(undefined);
      }, Math.max(0, deadline - now()));
      const entry: Waiter = {
        predicate,
        resolve: (timed) => {
          clearTimeout(timer);
          resolve(timed);
        },
      };
      waiters.push(entry);
    });
  };

  return { events, waitFor, ended };
}
