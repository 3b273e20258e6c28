/**
 * `altnet punch` without its terminal: classify this side's NAT with STUN,
 * then connect to the peer through the relay and watch the hole punching:
 * every candidate, whether it answered, whether and how fast a direct path
 * came up, and why not when it did not.
 *
 * @module
 */

import type { KeyPair } from "../crypto/noise/mod.ts";
import type { BirthdayReport, CandidateReport } from "../peer/path_manager.ts";
import { PeerNode, type PeerNodeEvent } from "../peer/peer_node.ts";
import { StreamSet } from "../peer/stream_set.ts";
import { describeRefusal } from "../relay/relay_core.ts";
import type { DatagramSocket, Scheduler } from "../udp/mod.ts";
import { CHANGE_PORT, type Endpoint, NatMapping } from "../wire/mod.ts";
import {
  classifyNat,
  mappingBehaviourOf,
  type NatClassification,
  natMappingNumber,
} from "./classify.ts";
import { type BindingResult, StunClient } from "./stun_client.ts";

/** Options of {@linkcode diagnosePunch}. */
export interface PunchOptions {
  socket: DatagramSocket;
  scheduler: Scheduler;
  staticKeyPair: KeyPair;
  name: string;
  relay: Endpoint;
  relayKey?: Uint8Array;
  peer: string;
  pinnedKey?: Uint8Array;
  candidates: Endpoint[];
  /** Extra STUN servers (`--stun`), tried after the relay. */
  stunServers?: Endpoint[];
  /** How long to wait for the peer and for a direct path. */
  waitMs?: number;
  /** Progress lines while it runs. */
  onProgress?: (text: string) => void;
  /** Opens a fresh UDP socket (filtering test, birthday probing). */
  openProbeSocket?: () => Promise<DatagramSocket>;
}

/** The whole diagnosis. */
export interface PunchReport {
  local: Endpoint[];
  stun: { server: Endpoint; result?: BindingResult; change?: "port" }[];
  nat: NatClassification;
  relay: { registered: boolean; observed?: Endpoint; refused?: string };
  peer: {
    name: string;
    established: boolean;
    establishedMs?: number;
    direct: boolean;
    directMs?: number;
    directEndpoint?: Endpoint;
    rttMs?: number;
    technique?: string;
    candidates: CandidateReport[];
    /** The peer's NAT mapping, as its `NAT_INFO` said. */
    mapping: NatClassification["mapping"];
    /** What birthday probing did. */
    birthday: BirthdayReport;
    /** Whether opening probes went out at low TTL. */
    lowTtlOpening: boolean;
  };
  verdict: "direct" | "relayed" | "no-connection";
  reasons: string[];
}

/** Runs the diagnosis; resolves with the report. */
export async function diagnosePunch(
  options: PunchOptions,
): Promise<PunchReport> {
  const { scheduler } = options;
  const progress = options.onProgress ?? (() => {});
  const events: { at: number; event: PeerNodeEvent }[] = [];
  let stun: StunClient | undefined = undefined;
  const node: PeerNode = new PeerNode({
    socket: options.socket,
    scheduler,
    staticKeyPair: options.staticKeyPair,
    name: options.name,
    relay: options.relay,
    relayKey: options.relayKey,
    candidates: options.candidates,
    pinnedKey: () => options.pinnedKey,
    createStreams: () => new StreamSet(),
    onEvent: (event) => events.push({ at: scheduler.now(), event }),
    onStun: (data, from) => stun?.handle(data, from),
    openSocket: options.openProbeSocket,
  });
  stun = new StunClient((data, to) => node.sendRaw(data, to), scheduler);
  const started = scheduler.now();
  node.start();
  try {
    // 1. This side's NAT.
    progress(`asking ${show(options.relay)} (STUN) for our public address`);
    const report: PunchReport["stun"] = [];
    const first = await stun.binding(options.relay);
    report.push({ server: options.relay, result: first });
    let second: BindingResult | undefined;
    const seconds = [
      ...(first?.otherAddress ? [first.otherAddress] : []),
      ...(options.stunServers ?? []),
    ];
    for (const server of seconds) {
      progress(`asking ${show(server)} (STUN) to compare mappings`);
      const result = await stun.binding(server);
      report.push({ server, result });
      second ??= result;
    }
    // Filtering (RFC 5780 §4.4) on a fresh socket: on our main port the
    // relay's other port is no longer a stranger, and on a plain Linux
    // router an unsolicited answer to the main port would disturb its
    // mapping (the conntrack quirk) and spoil the test above.
    let changePort: "answered" | "silent" | "untested" = "untested";
    if (first?.otherAddress && options.openProbeSocket) {
      progress("testing filtering: an answer from the relay's other port");
      const probe = await options.openProbeSocket();
      try {
        const result = await bindingOn(probe, scheduler, options.relay);
        report.push({ server: options.relay, result, change: "port" });
        changePort = result ? "answered" : "silent";
      } finally {
        probe.close();
      }
    }
    const nat = classifyNat({
      local: options.candidates,
      first,
      second,
      changePort,
    });
    // Tell the peer (NAT_INFO), so a symmetric side can use birthday probing.
    node.setNatMapping(natMappingNumber(nat.mapping));

    // 2. The peer.
    progress(`registering at the relay and asking for ${options.peer}`);
    const waitMs = options.waitMs ?? 15_000;
    const deadline = started + waitMs;
    let connectSent = false;
    let lastConnect = 0;
    while (scheduler.now() < deadline) {
      const registered = events.some((e) => e.event.type === "registered");
      if (registered && !node.connection(options.peer)) {
        const refusedPeer = events.some((e) =>
          e.event.type === "refused" && e.at > lastConnect
        );
        if (
          !connectSent || (refusedPeer && scheduler.now() - lastConnect > 2000)
        ) {
          node.connect(options.peer);
          connectSent = true;
          lastConnect = scheduler.now();
        }
      }
      const direct = events.find((e) =>
        e.event.type === "path" && e.event.path.via === "direct"
      );
      if (direct && scheduler.now() - direct.at > 1_500) break;
      if (events.some((e) => e.event.type === "relay-unreachable")) break;
      await sleep(scheduler, 100);
    }
    return buildReport(options, { started, events, node, report, nat });
  } finally {
    stun.close();
    await node.stop();
  }
}

function buildReport(
  options: PunchOptions,
  run: {
    started: number;
    events: { at: number; event: PeerNodeEvent }[];
    node: PeerNode;
    report: PunchReport["stun"];
    nat: NatClassification;
  },
): PunchReport {
  const find = <T extends PeerNodeEvent["type"]>(type: T) =>
    run.events.find((e) => e.event.type === type) as
      | { at: number; event: Extract<PeerNodeEvent, { type: T }> }
      | undefined;
  const registered = find("registered");
  const refused = run.events.find((e) => e.event.type === "refused") as {
    event: Extract<PeerNodeEvent, { type: "refused" }>;
  } | undefined;
  const established = find("established");
  const direct = run.events.find((e) =>
    e.event.type === "path" && e.event.path.via === "direct"
  ) as
    | { at: number; event: Extract<PeerNodeEvent, { type: "path" }> }
    | undefined;
  const connection = run.node.connection(options.peer);
  const candidates = connection?.paths.candidateReports() ?? [];
  const birthday = connection?.paths.birthdayReport() ??
    { rounds: 0, socketsOpened: 0, probesSent: 0, succeeded: false };
  const path = connection?.paths.path;
  const directEndpoint = direct?.event.path.via === "direct"
    ? direct.event.path.endpoint
    : undefined;
  const reasons: string[] = [];
  let verdict: PunchReport["verdict"] = "relayed";
  if (!registered) {
    verdict = "no-connection";
    reasons.push(
      run.events.some((e) => e.event.type === "relay-unreachable")
        ? "the relay did not answer our handshakes"
        : refused
        ? `the relay refused: ${
          refused.event.text ||
          describeRefusal(refused.event.reason, refused.event.limit)
        }`
        : "we could not register at the relay in time",
    );
  } else if (!established) {
    verdict = "no-connection";
    reasons.push(
      `${options.peer} did not connect: is it running (altnet chat or altnet punch) with the same relay?`,
    );
  } else if (path?.via === "direct") {
    verdict = "direct";
  } else {
    reasons.push(
      ...relayedReasons(
        run.nat,
        candidates,
        connection?.paths.peerMapping ?? NatMapping.UNKNOWN,
        birthday,
      ),
    );
  }
  return {
    local: options.candidates,
    stun: run.report,
    nat: run.nat,
    relay: {
      registered: Boolean(registered),
      observed: registered?.event.observed,
      refused: refused?.event.text,
    },
    peer: {
      name: options.peer,
      established: Boolean(established),
      establishedMs: established
        ? Math.round(established.at - run.started)
        : undefined,
      direct: path?.via === "direct",
      directMs: direct ? Math.round(direct.at - run.started) : undefined,
      directEndpoint,
      rttMs: path?.via === "direct" ? Math.round(path.rttMs) : undefined,
      technique: directEndpoint
        ? birthday.succeeded
          ? `birthday-paradox probing (${
            birthday.role === "hard"
              ? `${birthday.socketsOpened} sockets here`
              : `${birthday.probesSent} probes from here`
          })`
          : techniqueOf(directEndpoint, options.candidates, candidates)
        : undefined,
      candidates,
      mapping: mappingBehaviourOf(
        connection?.paths.peerMapping ?? NatMapping.UNKNOWN,
      ),
      birthday,
      lowTtlOpening: options.socket.supportsTtl,
    },
    verdict,
    reasons,
  };
}

function relayedReasons(
  nat: NatClassification,
  candidates: CandidateReport[],
  peerMapping: NatMapping,
  birthday: BirthdayReport,
): string[] {
  const reasons: string[] = [];
  if (candidates.length === 0) {
    reasons.push("the peer offered no candidates to probe");
  } else if (candidates.every((c) => c.acks === 0)) {
    reasons.push(
      `none of the ${candidates.length} candidates answered our ${
        candidates.reduce((n, c) => n + c.probesSent, 0)
      } probes`,
    );
  }
  const peerSymmetric = peerMapping === NatMapping.ENDPOINT_DEPENDENT;
  if (nat.mapping === "endpoint-dependent" && peerSymmetric) {
    reasons.push(
      "both NATs are symmetric (a new port per destination on each side): neither side can predict the other's port and birthday probing needs one side with a stable mapping, so the relay carries the traffic",
    );
  } else if (nat.mapping === "endpoint-dependent" || peerSymmetric) {
    reasons.push(
      `${
        peerSymmetric ? "the peer's" : "this side's"
      } NAT maps every destination to a new port (symmetric), so plain punching cannot meet it`,
    );
  }
  if (birthday.rounds > 0) {
    reasons.push(
      `birthday probing ran ${birthday.rounds} round(s) as the ${birthday.role} side (${
        birthday.role === "hard"
          ? `${birthday.socketsOpened} sockets opened`
          : `${birthday.probesSent} probes sent`
      }) without a hit`,
    );
  } else if (
    (nat.mapping === "endpoint-dependent") !== peerSymmetric &&
    nat.mapping !== "unknown" && peerMapping !== NatMapping.UNKNOWN
  ) {
    reasons.push("birthday probing did not start in time");
  }
  if (nat.filtering === "address-and-port-dependent") {
    reasons.push(
      "this side's NAT only lets in endpoints we sent to first, so both sides must punch at once",
    );
  }
  if (reasons.length === 0) {
    reasons.push(
      "the peer's NAT or firewall dropped our probes (run altnet punch on the peer's side to see its NAT)",
    );
  }
  return reasons;
}

function techniqueOf(
  endpoint: Endpoint,
  local: Endpoint[],
  candidates: CandidateReport[],
): string {
  if (isPrivate(endpoint.address)) {
    return "same network (a LAN candidate answered)";
  }
  const candidate = candidates.find((c) =>
    c.candidate.address === endpoint.address &&
    c.candidate.port === endpoint.port
  );
  if (!candidate) {
    return "peer-reflexive (the peer's probe revealed a new address)";
  }
  return local.some((l) => !isPrivate(l.address))
    ? "public address (no NAT on our side)"
    : "simultaneous open through both NATs";
}

function isPrivate(address: string): boolean {
  return /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|127\.|169\.254\.|f[cd]|fe80)/
    .test(address);
}

function show(e: Endpoint): string {
  return e.address.includes(":")
    ? `[${e.address}]:${e.port}`
    : `${e.address}:${e.port}`;
}

/** One change-port Binding on a socket nobody else reads. */
async function bindingOn(
  socket: DatagramSocket,
  scheduler: Scheduler,
  server: Endpoint,
): Promise<BindingResult | undefined> {
  const client = new StunClient(
    (data, to) => void socket.send(data, to).catch(() => {}),
    scheduler,
  );
  const reading = (async () => {
    for (;;) {
      const datagram = await socket.receive();
      if (!datagram) return;
      client.handle(datagram.data.slice(), datagram.from);
    }
  })();
  try {
    return await client.binding(server, { change: CHANGE_PORT, attempts: 2 });
  } finally {
    client.close();
    socket.close();
    await reading;
  }
}

function sleep(scheduler: Scheduler, ms: number): Promise<void> {
  return new Promise((resolve) =>
    scheduler.setTimer(scheduler.now() + ms, resolve)
  );
}
