/**
 * The text reports of the relay benchmark: forwarding capacity (altnet relay
 * beside coturn) and memory per registered peer.
 *
 * @module
 */

import { formatMicros, formatRatio, formatTable } from "./crypto_report.ts";
import {
  type CapacityReport,
  DISTURBANCE_PERCENT,
  MAX_ATTEMPTS,
  type ServerResult,
  type StepRow,
} from "./relay_capacity.ts";
import type { MemoryReport } from "./relay_memory.ts";

/** A step whose senders fell more than 2 % short of the offered rate. */
export function generatorShort(offeredPps: number, sentPps: number): boolean {
  return sentPps < offeredPps * 0.98;
}

const whole = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** A count or rate as a whole number with grouped digits. */
function count(value: number): string {
  return whole.format(value);
}

function bytes(value: number): string {
  return `${count(value)} B`;
}

function mebibytes(value: number): string {
  return `${(value / 1024 / 1024).toFixed(1)} MiB`;
}

function percent(value: number, digits = 0): string {
  return `${value.toFixed(digits)} %`;
}

function loss(value: number): string {
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} %`;
}

/** CPU time per delivered datagram, µs: the server's cost per forward. */
export function cpuMicrosPerDelivered(row: StepRow): number {
  return row.deliveredPps > 0
    ? row.serverCpuPercent / 100 * 1e6 / row.deliveredPps
    : 0;
}

function describeBuffer(report: CapacityReport): string {
  const { original, used, changed, note } = report.socketBuffer;
  if (changed) {
    return `net.core.rmem_default raised from ${
      bytes(original.rmemDefault)
    } to ${bytes(used.rmemDefault)} for this run (rmem_max ${
      bytes(used.rmemMax)
    }), restored afterwards`;
  }
  const why = note ? ` (${note})` : "";
  return `net.core.rmem_default left at ${bytes(used.rmemDefault)}${why}`;
}

function describePlacement(report: CapacityReport): string {
  const { server, load } = report.placement;
  const { generators } = report.settings;
  const who = `${generators} sender process${
    generators === 1 ? "" : "es"
  } and 1 receiver process`;
  return server === undefined
    ? `not pinned: the server, ${who} share all cores`
    : `each server pinned to CPU ${server}, the load (${who}) to CPU ${load} (taskset)`;
}

function serverTable(result: ServerResult, pinned: boolean): string {
  const altnet = result.server === "altnet";
  const headers = [
    "offered/s",
    "sent/s",
    "delivered/s",
    "loss",
    "server CPU",
    "CPU µs/pkt",
    pinned ? "its core busy" : "all cores busy",
    "RSS",
    "drops: server socket",
    ...(altnet ? ["in relay"] : []),
    "receiver socket",
    "load busy",
    "verified",
    "runs",
  ];
  const rows = result.steps.map((row) => [
    count(row.offeredPps) + (row.disturbed ? "!" : ""),
    count(row.sentPps) +
    (generatorShort(row.offeredPps, row.sentPps) ? "*" : ""),
    count(row.deliveredPps),
    loss(row.lossPercent),
    percent(row.serverCpuPercent),
    formatMicros(cpuMicrosPerDelivered(row)),
    percent(row.serverCoresBusyPercent),
    mebibytes(row.serverRssBytes),
    count(row.serverSocketDrops),
    ...(altnet
      ? [
        count(
          Object.values(row.relay?.dropped ?? {}).reduce((a, b) => a + b, 0),
        ),
      ]
      : []),
    count(row.receiverSocketDrops),
    percent(row.loadCoresBusyPercent),
    `${row.verified}/${row.samples}`,
    String(row.attempts),
  ]);
  return formatTable(
    headers,
    rows,
    headers.map(() => "right"),
  );
}

function resultLine(result: ServerResult): string {
  const name = result.server === "altnet" ? "altnet relay" : "coturn";
  if (result.bestRatePps === 0) {
    return `Result: ${name}: no step stayed under 1 % loss`;
  }
  const best = result.steps.find((s) => s.offeredPps === result.bestRatePps)!;
  return `Result: ${name}: highest offered rate with < 1 % loss: ${
    count(result.bestRatePps)
  } pps (server CPU ${percent(best.serverCpuPercent)}, ${
    formatMicros(cpuMicrosPerDelivered(best))
  } µs of CPU per forwarded datagram)`;
}

/** The most a server delivered in any step: its throughput at saturation. */
function peakDelivered(result: ServerResult): StepRow | undefined {
  return [...result.steps].sort((a, b) => b.deliveredPps - a.deliveredPps)[0];
}

/**
 * Renders a capacity report for a terminal.
 *
 * @example
 * ```ts ignore
 * import { runCapacityBench, QUICK_CAPACITY_SETTINGS } from "./relay_capacity.ts";
 * import { formatCapacityReport } from "./relay_report.ts";
 *
 * console.log(formatCapacityReport(await runCapacityBench(QUICK_CAPACITY_SETTINGS)));
 * ```
 */
export function formatCapacityReport(report: CapacityReport): string {
  const { machine, settings, inProcess } = report;
  const pinned = report.placement.server !== undefined;
  const altnetServer = report.servers.find((s) => s.server === "altnet");
  const turnServer = report.servers.find((s) => s.server === "coturn");
  const out: string[] = [];
  out.push(
    "altnet relay benchmark: forwarding capacity, altnet relay beside coturn under the same load in one run",
    `Deno ${machine.deno} (V8 ${machine.v8}), ${machine.target}`,
    `CPU: ${machine.cpuModel}, ${machine.cores} logical cores; load average before ${report.loadAverage.before}, after ${report.loadAverage.after}`,
    `Placement: ${describePlacement(report)}`,
    `Socket receive buffer: ${describeBuffer(report)}`,
    `Payload: ${
      bytes(settings.payloadSize)
    } end-to-end packets (the largest a FORWARD carries; 1,200 B does not fit); datagrams: altnet FORWARD ${
      bytes(altnetServer?.datagramBytes ?? 0)
    }, coturn ChannelData ${bytes(turnServer?.datagramBytes ?? 0)}`,
    `Steps: ${
      settings.stepMs / 1000
    } s of paced sending per rate, ${settings.pairsPerGenerator} circuit${
      settings.pairsPerGenerator === 1 ? "" : "s"
    } (or channel pair${
      settings.pairsPerGenerator === 1 ? "" : "s"
    }) per sender process, fresh peers per step; every altnet FORWARD sealed with its own counter before the step`,
    "",
    "0. Without sockets: RelayCore.receive + pollTransmit of one FORWARD, in process, in CPU time",
    `   ${formatMicros(inProcess.microsecondsPerForward)} µs per FORWARD (${
      count(inProcess.forwardsPerSecond)
    }/s); raw node:crypto open + seal of the same plaintext: ${
      formatMicros(inProcess.rawOpenSealMicroseconds)
    } µs (the relay's protocol work is ${
      formatRatio(
        inProcess.microsecondsPerForward / inProcess.rawOpenSealMicroseconds,
      )
    } its unavoidable crypto)`,
    "",
  );
  if (report.controls.length > 0) {
    out.push(
      `Control: the senders alone at each rate, to a socket nobody reads (${
        settings.controlMs / 1000
      } s per rate)`,
    );
    out.push(formatTable(
      ["offered/s", "sent/s", "max lag", "load busy"],
      report.controls.map((row) => [
        count(row.offeredPps),
        count(row.sentPps) +
        (generatorShort(row.offeredPps, row.sentPps) ? "*" : ""),
        `${row.maxLagMs.toFixed(1)} ms`,
        percent(row.loadCoresBusyPercent),
      ]),
      ["right", "right", "right", "right"],
    ));
    out.push("");
  }
  report.servers.forEach((result, index) => {
    out.push(
      `${index + 1}. ${
        result.server === "altnet" ? "altnet relay" : "coturn"
      }: ${result.description}`,
    );
    if (result.steps.length > 0) out.push(serverTable(result, pinned));
    if (result.skipped) {
      out.push(`${result.server} not measured: ${result.skipped}`);
    }
    if (result.steps.length > 0) out.push(resultLine(result));
    out.push("");
  });
  out.push(
    `Columns: runs = attempts at a step: one is run again while other work takes more than ${DISTURBANCE_PERCENT} % of the server's core;`,
    `  ! = still disturbed after ${MAX_ATTEMPTS} runs: distrust that row;`,
    "  sent/s is what the senders handed to the kernel (* = more than 2 % short of offered: the load, not the server, was the limit);",
    "  loss = 1 - delivered/sent; server CPU is its user+system time over the sending time (/proc/PID/stat), % of one core;",
    "  CPU µs/pkt = server CPU time per delivered datagram; its core busy = everything that ran on the server's core (server CPU + other work);",
    "  drops: where lost datagrams went: the kernel at the server's sockets (receive buffer full, /proc/net/udp), altnet's own drop counters (/metrics),",
    "  the kernel at the receiver's sockets; load busy = the load's core(s); verified = receiver sockets whose first datagram carried the exact payload.",
  );
  if (altnetServer && turnServer && turnServer.steps.length > 0) {
    const a = peakDelivered(altnetServer);
    const t = peakDelivered(turnServer);
    const ratio = altnetServer.bestRatePps > 0
      ? ` (×${(turnServer.bestRatePps / altnetServer.bestRatePps).toFixed(1)})`
      : "";
    out.push(
      "",
      `Summary: highest rate with < 1 % loss: altnet relay ${
        count(altnetServer.bestRatePps)
      } pps, coturn ${count(turnServer.bestRatePps)} pps${ratio}.`,
    );
    if (a && t) {
      const ceiling = (row: StepRow) => count(1e6 / cpuMicrosPerDelivered(row));
      out.push(
        `  Peak delivered: altnet ${count(a.deliveredPps)} pps at ${
          percent(a.serverCpuPercent)
        } CPU; coturn ${count(t.deliveredPps)} pps at ${
          percent(t.serverCpuPercent)
        } CPU.`,
        `  CPU per forwarded datagram at that step (robust to other work on the machine): altnet ${
          formatMicros(cpuMicrosPerDelivered(a))
        } µs, coturn ${formatMicros(cpuMicrosPerDelivered(t))} µs;`,
        `  at that cost a whole core allows about ${
          ceiling(a)
        } datagrams/s for altnet and ${
          ceiling(t)
        }/s for coturn (a linear estimate).`,
      );
    }
  }
  return out.join("\n");
}

/** Renders a memory report for a terminal. */
export function formatMemoryReport(report: MemoryReport): string {
  const { machine, settings, process, inProcess } = report;
  const kib = (value: number) => `${(value / 1024).toFixed(1)} KiB`;
  const out: string[] = [
    "altnet relay benchmark: memory per registered peer",
    `Deno ${machine.deno} (V8 ${machine.v8}), ${machine.target}`,
    `CPU: ${machine.cpuModel}, ${machine.cores} logical cores`,
    `Peers: ${count(settings.peers)} measured, after ${
      count(settings.warmupPeers)
    } warm-up peers (not counted); each has its own key, registers with a real IK handshake (cookie round trip included) and one name`,
    "",
  ];
  if (process) {
    out.push(
      `1. A relay process (altnet relay on 127.0.0.1), peers registering through ${settings.sockets} sockets: RSS from /proc/PID/status`,
      formatTable(
        ["", "RSS"],
        [
          ["idle, just started", mebibytes(process.rssIdleBytes)],
          ["after the warm-up peers", mebibytes(process.rssBeforeBytes)],
          [
            `after ${count(settings.peers)} more`,
            mebibytes(process.rssAfterBytes),
          ],
        ],
        ["left", "right"],
      ),
      `   peers held by the relay (/metrics): ${
        count(process.peersAtRelay)
      }; registrations: ${count(process.registrationsPerSecond)}/s`,
      `   RSS growth per peer: ${kib(process.bytesPerPeer)} (${
        count(process.bytesPerPeer)
      } B), an upper bound: it includes garbage not yet collected and heap slack`,
      "",
    );
  }
  out.push(
    `${
      process ? 2 : 1
    }. RelayCore in a child process with --expose-gc, each peer from its own synthetic IPv4 address: V8 heap after full GC`,
    formatTable(
      ["", "heap used", "external"],
      [
        [
          "after the warm-up peers",
          mebibytes(inProcess.heapUsedBeforeBytes),
          mebibytes(inProcess.externalBeforeBytes),
        ],
        [
          `after ${count(settings.peers)} more`,
          mebibytes(inProcess.heapUsedAfterBytes),
          mebibytes(inProcess.externalAfterBytes),
        ],
      ],
      ["left", "right", "right"],
    ),
    `   peers held by the core: ${
      count(inProcess.peersAtRelay)
    }; registrations (both sides in one thread): ${
      count(inProcess.registrationsPerSecond)
    }/s`,
    `   live memory per peer: ${kib(inProcess.bytesPerPeer)} (${
      count(inProcess.bytesPerPeer)
    } B): heap + external (typed-array backing stores) growth after GC`,
    "",
    `Result: memory per registered peer: ${
      kib(inProcess.bytesPerPeer)
    } live (in-process heap after GC)${
      process ? `, ${kib(process.bytesPerPeer)} of relay-process RSS` : ""
    }; ${count(settings.peers)} peers ≈ ${
      mebibytes(inProcess.bytesPerPeer * settings.peers)
    } live`,
  );
  return out.join("\n");
}
