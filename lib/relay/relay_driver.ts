/**
 * The relay's thin I/O driver: a UDP socket and a timer around
 * {@linkcode RelayCore}.
 *
 * @module
 */

import type { DatagramSocket } from "../udp/mod.ts";
import type { RelayCore, RelayEvent } from "./relay_core.ts";
import type { RelaySnapshot } from "./stats.ts";

/** Options of {@linkcode runRelay}. */
export interface RelayDriverOptions {
  /** Called for each event worth a log line. */
  onEvent?: (event: RelayEvent) => void;
  /** Called with a snapshot every `statsIntervalMs`. */
  onStats?: (snapshot: RelaySnapshot) => void;
  /** Defaults to 60 s, as the Descord relay. */
  statsIntervalMs?: number;
  /** Aborting stops the relay cleanly (peers are told, keys wiped). */
  signal?: AbortSignal;
}

/**
 * Runs `core` on `socket` until `signal` aborts or the socket closes.
 *
 * @example
 * ```ts ignore
 * const controller = new AbortController();
 * Deno.addSignalListener("SIGINT", () => controller.abort());
 * await runRelay(socket, core, { signal: controller.signal });
 * ```
 */
export async function runRelay(
  socket: DatagramSocket,
  core: RelayCore,
  options: RelayDriverOptions = {},
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = async () => {
    for (let out; (out = core.pollTransmit());) {
      try {
        await socket.send(out.data, out.to);
      } catch {
        // An unroutable destination must not stop the relay; the peer
        // times out like any other lost peer.
      }
    }
    for (let event; (event = core.pollEvent());) options.onEvent?.(event);
  };
  const arm = () => {
    clearTimeout(timer);
    const delay = Math.max(0, core.nextTimeout() - performance.now());
    timer = setTimeout(async () => {
      core.onTimeout(performance.now());
      await flush();
      arm();
    }, delay);
  };
  const statsTimer = setInterval(
    () => options.onStats?.(core.snapshot()),
    options.statsIntervalMs ?? 60_000,
  );
  const stop = async () => {
    core.shutdown();
    await flush();
    socket.close();
  };
  options.signal?.addEventListener("abort", () => void stop(), { once: true });
  arm();
  try {
    for (;;) {
      const datagram = await socket.receive();
      if (!datagram) break;
      core.receive(datagram.data, datagram.from);
      await flush();
    }
  } finally {
    clearTimeout(timer);
    clearInterval(statsTimer);
  }
}
