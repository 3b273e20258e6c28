/**
 * Serving a {@linkcode Directory} over HTTP with `Deno.serve`, and running
 * its periodic work.
 *
 * @module
 */

import type { Directory } from "./directory.ts";

/** A running directory server. */
export interface DirectoryServer {
  /** The address it listens on (port chosen when 0 was asked). */
  readonly addr: Deno.NetAddr;
  /** Stops accepting, ends dashboard streams, closes the database. */
  shutdown(): Promise<void>;
}

/**
 * Listens on `hostname:port` and ticks the directory every `tickMs`.
 *
 * @throws {Deno.errors.AddrInUse} and other errors of `Deno.serve` when the
 * address cannot be bound
 */
export function serveDirectory(
  directory: Directory,
  options: { hostname: string; port: number; tickMs?: number },
): DirectoryServer {
  const server = Deno.serve(
    { hostname: options.hostname, port: options.port, onListen: () => {} },
    directory.app.fetch,
  );
  const timer = setInterval(() => directory.tick(), options.tickMs ?? 1000);
  let stopping: Promise<void> | undefined;
  return {
    addr: server.addr,
    shutdown() {
      stopping ??= (async () => {
        clearInterval(timer);
        // Event streams never end on their own: close them first, or the
        // graceful shutdown would wait for every dashboard to go away.
        directory.feed.close();
        await server.shutdown();
        directory.close();
      })();
      return stopping;
    },
  };
}
