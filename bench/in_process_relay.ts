/**
 * A `RelayCore` and `RelayClient`s wired by direct calls in one process, with
 * synthetic source addresses and the real clock: the relay's protocol code,
 * handshakes included, without sockets. The relay benchmark uses it to cost
 * one forward with no I/O, and to count the memory each registered peer
 * takes.
 *
 * @module
 */

import { createCipheriv, createDecipheriv } from "node:crypto";
import process from "node:process";
import { DH_25519, type KeyPair } from "../lib/crypto/noise/mod.ts";
import { RelayClient } from "../lib/peer/relay_client.ts";
import { DEFAULT_LIMITS, type RelayLimits } from "../lib/relay/limits.ts";
import { RelayCore } from "../lib/relay/relay_core.ts";
import type { Endpoint } from "../lib/wire/mod.ts";
import { median } from "./timing.ts";

/** Where the in-process relay "listens"; never touches a network. */
const RELAY_ADDRESS: Endpoint = { address: "192.0.2.1", port: 8000 };

function key(endpoint: Endpoint): string {
  return `${endpoint.address}:${endpoint.port}`;
}

/**
 * A synthetic IPv4 source for peer number `n`: one address per peer under
 * 10.0.0.0/8, as if every peer came from its own public address.
 */
export function syntheticAddress(n: number): Endpoint {
  const host = n + 1;
  return {
    address: `10.${(host >> 16) & 255}.${(host >> 8) & 255}.${host & 255}`,
    port: 40000 + (n % 20000),
  };
}

/** A relay core with clients attached by direct calls. */
export class InProcessRelay {
  readonly core: RelayCore;
  readonly #relayKeys: KeyPair;
  readonly #clients = new Map<string, RelayClient>();

  constructor(limits: Partial<RelayLimits> = {}) {
    this.#relayKeys = DH_25519.generateKeyPair();
    this.core = new RelayCore({
      staticKeyPair: this.#relayKeys,
      limits: { ...DEFAULT_LIMITS, ...limits },
    });
  }

  /**
   * Registers a new peer with a fresh key under `name` from `address`,
   * through the real IK handshake (cookie round trip included), and returns
   * its client, still attached.
   *
   * @throws {Error} If the relay does not register it.
   */
  register(name: string, address: Endpoint): RelayClient {
    const client = new RelayClient({
      staticKeyPair: DH_25519.generateKeyPair(),
      relay: RELAY_ADDRESS,
      relayKey: this.#relayKeys.publicKey,
      name,
    });
    this.#clients.set(key(address), client);
    client.start();
    this.settle(address);
    for (let event; (event = client.pollEvent());) {
      if (event.type === "registered") return client;
    }
    throw new Error(`The in-process relay did not register: ${name}`);
  }

  /** Forgets a client (the relay keeps its peer, as if it went quiet). */
  detach(address: Endpoint): void {
    this.#clients.delete(key(address));
  }

  /**
   * Moves datagrams between `address`'s client and the core until neither
   * has anything left to send; datagrams to detached clients are dropped.
   */
  settle(address: Endpoint): void {
    const client = this.#clients.get(key(address));
    for (let round = 0; round < 20; round++) {
      let moved = false;
      for (let out; client && (out = client.pollTransmit());) {
        moved = true;
        this.core.receive(out.data, address);
      }
      for (let out; (out = this.core.pollTransmit());) {
        moved = true;
        this.#clients.get(key(out.to))?.receive(out.data);
      }
      // Log events are not needed here.
      while (this.core.pollEvent());
      if (!moved) return;
    }
  }
}

/** The outcome of {@linkcode measureCoreForward}. */
export interface CoreForwardCost {
  /** CPU µs per FORWARD: `receive` (open, check, re-seal) + poll. */
  microsecondsPerForward: number;
  /** The same as a rate on one core. */
  forwardsPerSecond: number;
  /** Forwards per CPU second of each run, in order. */
  runs: number[];
  /**
   * The floor under it: CPU µs of one raw `node:crypto` ChaCha20-Poly1305
   * open and one seal of the same plaintext (the FORWARD message) with a
   * 14-byte header as associated data.
   */
  rawOpenSealMicroseconds: number;
}

/**
 * CPU time (user + system, all threads) of this process in µs. Unlike the
 * wall clock, it does not count time other processes took the core.
 */
function cpuMicroseconds(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/**
 * Times `RelayCore.receive` + `pollTransmit` of one FORWARD with a
 * `payloadSize`-byte end-to-end packet, no sockets: the relay's protocol
 * work per relayed datagram, in CPU time. Every FORWARD is sealed beforehand
 * with its own counter; the first run is a warm-up; the median of `runs`
 * is reported, beside the raw crypto the relay cannot avoid, timed the same
 * way in the same runs.
 *
 * @throws {Error} If a FORWARD is not relayed.
 */
export function measureCoreForward(
  payloadSize: number,
  options: {
    packetsPerRun?: number;
    runs?: number;
    /**
     * Called after each batch is sealed and before it is timed: a full GC
     * (`gc` under `--expose-gc`) keeps the sealing's garbage off the clock.
     */
    collect?: () => void;
  } = {},
): CoreForwardCost {
  const { packetsPerRun = 5000, runs = 5, collect = () => {} } = options;
  const relay = new InProcessRelay({
    packetRate: 1e9,
    maxCircuitBytes: Number.MAX_SAFE_INTEGER,
  });
  const aliceAt = syntheticAddress(0);
  const bobAt = syntheticAddress(1);
  const alice = relay.register("alice", aliceAt);
  relay.register("bob", bobAt);
  alice.connect("bob");
  relay.settle(aliceAt);
  let circuitId: bigint | undefined;
  for (let event; (event = alice.pollEvent());) {
    if (event.type === "rendezvous") circuitId = event.circuitId;
  }
  if (circuitId === undefined) throw new Error("No circuit in process");
  // Bob is detached: what the relay sends him is polled and dropped.
  relay.detach(bobAt);
  const payload = crypto.getRandomValues(new Uint8Array(payloadSize));
  const openSeal = rawOpenSeal(1 + 8 + payloadSize);
  const rates: number[] = [];
  const rawRates: number[] = [];
  for (let run = 0; run <= runs; run++) {
    const batch: Uint8Array[] = new Array(packetsPerRun);
    for (let i = 0; i < packetsPerRun; i++) {
      alice.forward(circuitId, payload);
      batch[i] = alice.pollTransmit()!.data;
    }
    collect();
    const before = relay.core.counters.packetsRelayed;
    let start = cpuMicroseconds();
    for (let i = 0; i < packetsPerRun; i++) {
      relay.core.receive(batch[i], aliceAt);
      relay.core.pollTransmit();
    }
    const coreMicros = cpuMicroseconds() - start;
    if (relay.core.counters.packetsRelayed - before !== packetsPerRun) {
      throw new Error("The in-process relay did not relay every FORWARD");
    }
    collect();
    start = cpuMicroseconds();
    for (let i = 0; i < packetsPerRun; i++) openSeal();
    const rawMicros = cpuMicroseconds() - start;
    if (run === 0) continue;
    rates.push(packetsPerRun * 1e6 / coreMicros);
    rawRates.push(packetsPerRun * 1e6 / rawMicros);
  }
  const rate = median(rates);
  return {
    microsecondsPerForward: 1e6 / rate,
    forwardsPerSecond: rate,
    runs: rates,
    rawOpenSealMicroseconds: 1e6 / median(rawRates),
  };
}

/**
 * One raw `node:crypto` ChaCha20-Poly1305 open + seal of `plaintextSize`
 * bytes per call: the crypto a relay cannot avoid per forward.
 */
function rawOpenSeal(plaintextSize: number): () => unknown {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const nonce = new Uint8Array(12);
  const ad = new Uint8Array(14);
  const options = { authTagLength: 16 } as const;
  const seal = (plaintext: Uint8Array) => {
    const cipher = createCipheriv("chacha20-poly1305", key, nonce, options);
    cipher.setAAD(ad, { plaintextLength: plaintext.length });
    const body = cipher.update(plaintext);
    cipher.final();
    return { body, tag: cipher.getAuthTag() };
  };
  const sealed = seal(crypto.getRandomValues(new Uint8Array(plaintextSize)));
  return () => {
    const decipher = createDecipheriv(
      "chacha20-poly1305",
      key,
      nonce,
      options,
    );
    decipher.setAAD(ad, { plaintextLength: sealed.body.length });
    decipher.setAuthTag(sealed.tag);
    const plaintext = decipher.update(sealed.body);
    decipher.final();
    return seal(plaintext);
  };
}

const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/**
 * {@linkcode measureCoreForward} in a fresh child process started with
 * `--expose-gc` (so that every batch is timed after a full GC), on the CPUs
 * of `cpus` (a `taskset -c` list) when given: the same core as the server.
 *
 * @throws {Error} If the child fails.
 */
export async function measureCoreForwardInChild(
  payloadSize: number,
  options: { packetsPerRun?: number; runs?: number; cpus?: string } = {},
): Promise<CoreForwardCost> {
  const args = [
    "run",
    "--quiet",
    "--allow-all",
    "--config",
    CONFIG,
    "--v8-flags=--expose-gc",
    new URL(import.meta.url).pathname,
    "--forward-child",
    String(payloadSize),
    String(options.packetsPerRun ?? 5000),
    String(options.runs ?? 5),
  ];
  const [program, programArgs] = options.cpus === undefined
    ? [Deno.execPath(), args]
    : ["taskset", ["-c", options.cpus, Deno.execPath(), ...args]];
  const { code, stdout } = await new Deno.Command(program, {
    args: programArgs,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    throw new Error(
      `The in-process forward measurement failed: exit code ${code}`,
    );
  }
  return JSON.parse(new TextDecoder().decode(stdout));
}

if (import.meta.main && Deno.args[0] === "--forward-child") {
  const [payloadSize, packetsPerRun, runs] = Deno.args.slice(1).map(Number);
  const gc = (globalThis as { gc?: () => void }).gc;
  console.log(JSON.stringify(
    measureCoreForward(payloadSize, { packetsPerRun, runs, collect: gc }),
  ));
}
