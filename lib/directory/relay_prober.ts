/**
 * Round trips to relays with the wire protocol's `PING`/`PONG` packets
 * (PROTOCOL §1.1), for `altnet ping`.
 *
 * {@linkcode RelayProber} is a sans-I/O state machine: it says which `PING`
 * to send when (`pollTransmit`), takes whatever arrives (`receive`), and
 * says when it wants to be called next (`nextTimeout`). A `PONG` counts only
 * when it comes from the probed endpoint, echoes an outstanding nonce and
 * arrives before that probe's timeout. {@linkcode probeRelays} drives it
 * with real sockets.
 *
 * @module
 */

import type { DatagramSocket } from "../udp/mod.ts";
import {
  decodePacket,
  encodePacket,
  type Endpoint,
  PacketType,
} from "../wire/mod.ts";

/** One relay endpoint to probe. */
export interface ProbeTarget {
  /** Caller's id (a fingerprint). */
  id: string;
  endpoint: Endpoint;
}

/** What came of probing one target. */
export interface ProbeResult {
  id: string;
  endpoint: Endpoint;
  sent: number;
  received: number;
  /** Round-trip times of the answered probes, ms, in sending order. */
  rttsMs: number[];
  /** Fastest round trip, ms; undefined when nothing came back. */
  minMs?: number;
  /** Median round trip, ms; undefined when nothing came back. */
  medianMs?: number;
  /** Share of probes lost, 0–1. */
  loss: number;
}

/** How a prober paces itself. */
export interface ProberOptions {
  /** Probes per target (default 5). */
  count?: number;
  /** Time between two probes to one target, ms (default 200). */
  intervalMs?: number;
  /** How long to wait for each answer, ms (default 1000). */
  timeoutMs?: number;
  /** 64-bit nonces; default from `crypto.getRandomValues`. */
  randomNonce?: () => bigint;
}

interface Probe {
  target: number;
  nonce: bigint;
  sendAt: number;
  sentAt?: number;
  rttMs?: number;
}

/** The median of `values` (mean of the middle two for an even count). */
export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function defaultNonce(): bigint {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return new DataView(bytes.buffer).getBigUint64(0);
}

/** Probes many targets at once, `count` times each. */
export class RelayProber {
  readonly #targets: ProbeTarget[];
  readonly #probes: Probe[] = [];
  readonly #byNonce = new Map<bigint, Probe>();
  readonly #timeoutMs: number;
  #queue = 0; // index of the next probe to send, in sendAt order

  constructor(
    targets: ProbeTarget[],
    start: number,
    options: ProberOptions = {},
  ) {
    const count = options.count ?? 5;
    const intervalMs = options.intervalMs ?? 200;
    this.#timeoutMs = options.timeoutMs ?? 1000;
    const randomNonce = options.randomNonce ?? defaultNonce;
    this.#targets = targets;
    for (let k = 0; k < count; k++) {
      for (let t = 0; t < targets.length; t++) {
        let nonce = randomNonce();
        while (this.#byNonce.has(nonce)) nonce = randomNonce();
        const probe = { target: t, nonce, sendAt: start + k * intervalMs };
        this.#probes.push(probe);
        this.#byNonce.set(nonce, probe);
      }
    }
  }

  /** The next `PING` due at `now`, if any. */
  pollTransmit(now: number): { data: Uint8Array; to: Endpoint } | undefined {
    const probe = this.#probes[this.#queue];
    if (!probe || probe.sendAt > now) return undefined;
    this.#queue++;
    probe.sentAt = now;
    return {
      data: encodePacket({ type: PacketType.PING, nonce: probe.nonce }),
      to: this.#targets[probe.target].endpoint,
    };
  }

  /** Takes a datagram that arrived at `now`; anything but a valid `PONG` is ignored. */
  receive(data: Uint8Array, from: Endpoint, now: number): void {
    const decoded = decodePacket(data);
    if (!decoded.ok || decoded.value.type !== PacketType.PONG) return;
    const probe = this.#byNonce.get(decoded.value.nonce);
    if (!probe || probe.sentAt === undefined || probe.rttMs !== undefined) {
      return;
    }
    const expected = this.#targets[probe.target].endpoint;
    if (from.address !== expected.address || from.port !== expected.port) {
      return;
    }
    const rtt = now - probe.sentAt;
    if (rtt > this.#timeoutMs) return; // late: counted as lost
    probe.rttMs = rtt;
  }

  /** When to call again: the next send, or the last timeout; undefined when done. */
  nextTimeout(now: number): number | undefined {
    if (this.isDone(now)) return undefined;
    const next = this.#probes[this.#queue];
    if (next) return next.sendAt;
    let last = -Infinity;
    for (const probe of this.#probes) {
      if (probe.rttMs === undefined && probe.sentAt !== undefined) {
        last = Math.max(last, probe.sentAt + this.#timeoutMs);
      }
    }
    return last;
  }

  /** True once every probe is sent and answered or timed out. */
  isDone(now: number): boolean {
    if (this.#queue < this.#probes.length) return false;
    return this.#probes.every((p) =>
      p.rttMs !== undefined || now - (p.sentAt ?? now) >= this.#timeoutMs
    );
  }

  /** One result per target, in the order given. */
  results(): ProbeResult[] {
    return this.#targets.map((target, t) => {
      const probes = this.#probes.filter((p) => p.target === t);
      const sent = probes.filter((p) => p.sentAt !== undefined).length;
      const rttsMs = probes.flatMap((p) =>
        p.rttMs === undefined ? [] : [p.rttMs]
      );
      return {
        id: target.id,
        endpoint: target.endpoint,
        sent,
        received: rttsMs.length,
        rttsMs,
        minMs: rttsMs.length ? Math.min(...rttsMs) : undefined,
        medianMs: median(rttsMs),
        loss: sent === 0 ? 1 : 1 - rttsMs.length / sent,
      };
    });
  }
}

/**
 * Probes `targets` through `sockets` (one per address family is enough: a
 * target goes out of the first socket of its family) and resolves with the
 * results once every probe is answered or timed out. The caller owns and
 * closes the sockets.
 */
export async function probeRelays(
  sockets: DatagramSocket[],
  targets: ProbeTarget[],
  options: ProberOptions & { now?: () => number } = {},
): Promise<ProbeResult[]> {
  const now = options.now ?? (() => performance.now());
  const prober = new RelayProber(targets, now(), options);
  let wake: (() => void) | undefined;
  let finished = false;
  for (const socket of sockets) {
    (async () => {
      while (!finished) {
        const datagram = await socket.receive();
        if (!datagram) return;
        prober.receive(datagram.data, datagram.from, now());
        wake?.();
      }
    })().catch(() => {}); // a broken socket just loses its answers
  }
  const familyOf = (address: string) => address.includes(":") ? 6 : 4;
  try {
    for (;;) {
      const t = now();
      for (let out; (out = prober.pollTransmit(t));) {
        const socket = sockets.find((s) =>
          familyOf(s.local.address) === familyOf(out!.to.address)
        );
        // No socket of its family: the probe counts as lost.
        await socket?.send(out.data, out.to).catch(() => {});
      }
      const next = prober.nextTimeout(now());
      if (next === undefined) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          wake = undefined;
          resolve();
        }, Math.max(0, next - now()));
        wake = () => {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
      });
    }
  } finally {
    finished = true;
  }
  return prober.results();
}
