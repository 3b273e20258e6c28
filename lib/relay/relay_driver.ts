/**
 * The relay's thin I/O driver: a UDP socket and a timer around
 * {@linkcode RelayCore}.
 *
 * @module
 */

import {
  type DatagramSocket,
  realScheduler,
  type Scheduler,
  type TimerHandle,
} from "../udp/mod.ts";
import type { CoverTraffic } from "./cover_traffic.ts";
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
  /** Timers and clock; the core must use the same clock. */
  scheduler?: Scheduler;
  /** A second socket that serves only STUN (RFC 5780 port change). */
  alternate?: DatagramSocket;
  /** Cover traffic to other relays, sent from the main socket. */
  cover?: CoverTraffic;
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
  const scheduler = options.scheduler ?? realScheduler;
  const statsInterval = options.statsIntervalMs ?? 60_000;
  let timer: TimerHandle | undefined;
  let statsTimer: TimerHandle | undefined;
  let stopped = false;
  const flush = () => {
    for (let out; (out = core.pollTransmit());) {
      // An unroutable destination must not stop the relay; that peer
      // times out like any other lost peer.
      const from = out.fromAlternate && options.alternate
        ? options.alternate
        : socket;
      from.send(out.data, out.to).catch(() => {});
    }
    for (let event; (event = core.pollEvent());) options.onEvent?.(event);
    const cover = options.cover;
    if (cover) {
      for (let out; (out = cover.pollTransmit());) {
        socket.send(out.data, out.to).catch(() => {});
      }
      core.counters.coverSent = cover.counters.packetsSent;
    }
  };
  let coverTimer: TimerHandle | undefined;
  let coverAt = Infinity;
  const armCover = () => {
    const at = options.cover?.nextTimeout();
    if (stopped || at === undefined || at >= coverAt) return;
    if (coverTimer !== undefined) scheduler.clearTimer(coverTimer);
    coverAt = at;
    coverTimer = scheduler.setTimer(at, () => {
      coverTimer = undefined;
      coverAt = Infinity;
      options.cover!.onTimeout(scheduler.now());
      flush();
      armCover();
    });
  };
  const arm = () => {
    if (stopped) return;
    timer = scheduler.setTimer(core.nextTimeout(), () => {
      core.onTimeout(scheduler.now());
      flush();
      arm();
      // Cover targets arrive from the directory at any time: pick them up.
      armCover();
    });
  };
  const armStats = () => {
    statsTimer = scheduler.setTimer(scheduler.now() + statsInterval, () => {
      options.onStats?.(core.snapshot(scheduler.now()));
      armStats();
    });
  };
  const stop = () => {
    if (stopped) return;
    stopped = true;
    core.shutdown(scheduler.now());
    flush();
    // Give the goodbyes a moment to leave before the socket closes.
    scheduler.setTimer(scheduler.now() + 50, () => {
      socket.close();
      options.alternate?.close();
    });
  };
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener("abort", stop, { once: true });
  arm();
  armStats();
  armCover();
  const alternateLoop = options.alternate
    ? (async (alternate: DatagramSocket) => {
      for (;;) {
        const datagram = await alternate.receive();
        if (!datagram) return;
        core.receive(datagram.data, datagram.from, scheduler.now(), {
          onAlternate: true,
        });
        flush();
      }
    })(options.alternate)
    : Promise.resolve();
  try {
    for (;;) {
      const datagram = await socket.receive();
      if (!datagram) break;
      if (!options.cover?.receive(datagram.data, datagram.from)) {
        core.receive(datagram.data, datagram.from, scheduler.now());
      }
      flush();
      armCover();
    }
    options.alternate?.close();
    await alternateLoop;
  } finally {
    stopped = true;
    if (timer !== undefined) scheduler.clearTimer(timer);
    if (statsTimer !== undefined) scheduler.clearTimer(statsTimer);
    if (coverTimer !== undefined) scheduler.clearTimer(coverTimer);
    options.cover?.close();
  }
}
