/**
 * Test-only: a relay and peers behind NATs on the in-memory network, in
 * virtual time, with helpers that make `send` and `receive` apps and files.
 *
 * @module
 */

import { join } from "node:path";
import { DH_25519, type KeyPair } from "../crypto/noise/mod.ts";
import { TrustStore } from "../identity/mod.ts";
import {
  DEFAULT_LIMITS,
  RelayCore,
  type RelayLimits,
  runRelay,
} from "../relay/mod.ts";
import {
  createMemoryNetwork,
  type DatagramSocket,
  type LinkConditions,
  type MemoryHost,
  type MemoryNetwork,
  NAT_PRESETS,
  type NatBehaviourOptions,
  type VirtualScheduler,
} from "../udp/mod.ts";
import type { Endpoint } from "../wire/mod.ts";
import type { Offer } from "./frames.ts";
import { openPartFile, type PartHandle } from "./part_file.ts";
import type { Decision } from "./incoming_transfers.ts";
import {
  ReceiveApp,
  type ReceiveAppOptions,
  type ReceiveEvent,
} from "./receive_app.ts";
import { SendApp, type SendAppOptions, type SendEvent } from "./send_app.ts";
import { FileSource, hashFile } from "./source_file.ts";

/** Options of {@linkcode createTransferWorld}. */
export interface TransferWorldOptions {
  seed?: number;
  /** Conditions on the internet between the NATs and the relay. */
  link?: LinkConditions;
  /** NAT of the sender and of the receiver (default port-restricted cone). */
  nats?: [NatBehaviourOptions, NatBehaviourOptions];
  limits?: Partial<RelayLimits>;
}

/** A running world; `close()` it. */
export interface TransferWorld {
  dir: string;
  network: MemoryNetwork;
  clock: VirtualScheduler;
  relay: Endpoint;
  hosts: { sender: MemoryHost; receiver: MemoryHost };
  keys: { sender: KeyPair; receiver: KeyPair };
  /** Writes a file of `size` pseudo-random bytes; returns its path. */
  makeFile(name: string, size: number, seed?: number): Promise<string>;
  /** Makes (and starts) a receiver app. */
  receiver(
    options?: Partial<ReceiveAppOptions> & { port?: number },
  ): Promise<
    {
      app: ReceiveApp;
      events: ReceiveEvent[];
      outDir: string;
      socket: DatagramSocket;
    }
  >;
  /** Hashes `path` and makes (and starts) a sender app. */
  sender(
    path: string,
    options?: Partial<SendAppOptions> & { chunkSize?: number; port?: number },
  ): Promise<
    { app: SendApp; events: SendEvent[]; offer: Offer; socket: DatagramSocket }
  >;
  close(): Promise<void>;
}

/**
 * A part file handle whose asynchronous operations are done synchronously:
 * in virtual time a real `fdatasync` would let the clock race ahead (timers
 * keep firing while the disk works), so tests use this to stay exact.
 */
export function synchronousHandle(file: Deno.FsFile): PartHandle {
  return {
    seekSync: (offset, whence) => file.seekSync(offset, whence),
    writeSync: (bytes) => file.writeSync(bytes),
    read: (into) => Promise.resolve(file.readSync(into)),
    syncData: () => Promise.resolve(file.syncDataSync()),
    truncateSync: (length) => file.truncateSync(length),
    tryLockSync: (exclusive) => file.tryLockSync(exclusive),
    close: () => file.close(),
  };
}

/** Fills `bytes` with a cheap deterministic pattern (xorshift32). */
export function fillPattern(bytes: Uint8Array, seed = 1): void {
  let x = seed | 1;
  for (let i = 0; i < bytes.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
}

/** Builds the world. */
export async function createTransferWorld(
  options: TransferWorldOptions = {},
): Promise<TransferWorld> {
  const dir = await Deno.makeTempDir({ prefix: "altnet-transfer-" });
  const network = createMemoryNetwork({ seed: options.seed ?? 5 });
  network.setLink(options.link ?? { delayMs: 10 });
  const clock = network.scheduler;
  const relaySocket = await network.addHost("203.0.113.1").openSocket(8000);
  const core = new RelayCore({
    staticKeyPair: DH_25519.generateKeyPair(),
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    now: () => clock.now(),
  });
  const controller = new AbortController();
  const relayDone = runRelay(relaySocket, core, {
    scheduler: clock,
    signal: controller.signal,
  });
  const [natS, natR] = options.nats ??
    [NAT_PRESETS.portRestrictedCone, NAT_PRESETS.portRestrictedCone];
  const hosts = {
    sender: network.addHost("10.0.0.2", {
      behind: network.addNat({ publicAddress: "198.51.100.1", ...natS }),
    }),
    receiver: network.addHost("10.1.0.2", {
      behind: network.addNat({ publicAddress: "198.51.100.2", ...natR }),
    }),
  };
  const keys = {
    sender: DH_25519.generateKeyPair(),
    receiver: DH_25519.generateKeyPair(),
  };
  const apps: { stop(): Promise<void> }[] = [];
  const stores = async (who: string) => ({
    knownPeers: await TrustStore.open(join(dir, who, "known_peers")),
    knownRelays: await TrustStore.open(join(dir, who, "known_relays")),
    relayLabel: "relay:8000",
  });
  return {
    dir,
    network,
    clock,
    relay: relaySocket.local,
    hosts,
    keys,
    async makeFile(name, size, seed = 1) {
      const path = join(dir, "files", name);
      await Deno.mkdir(join(dir, "files"), { recursive: true });
      const bytes = new Uint8Array(size);
      fillPattern(bytes, seed);
      await Deno.writeFile(path, bytes);
      return path;
    },
    async receiver(extra = {}) {
      const outDir = extra.outDir ?? join(dir, "out");
      await Deno.mkdir(outDir, { recursive: true });
      const socket = await hosts.receiver.openSocket(extra.port ?? 9002);
      const events: ReceiveEvent[] = [];
      const accept: Decision = { accept: true };
      const app = new ReceiveApp({
        socket,
        scheduler: clock,
        staticKeyPair: keys.receiver,
        name: "bob",
        relay: relaySocket.local,
        ...await stores("bob"),
        candidates: [socket.local],
        outDir,
        decide: () => Promise.resolve(accept),
        openPart: (offer, from) =>
          openPartFile(outDir, offer, {
            from,
            wrapHandleForTestingOnly: synchronousHandle,
          }),
        onEvent: (e) => events.push(e),
        ...extra,
      });
      app.start();
      apps.push(app);
      return { app, events, outDir, socket };
    },
    async sender(path, extra = {}) {
      const offer = await hashFile(path, { chunkSize: extra.chunkSize });
      const socket = await hosts.sender.openSocket(extra.port ?? 9001);
      const events: SendEvent[] = [];
      const app = new SendApp({
        socket,
        scheduler: clock,
        staticKeyPair: keys.sender,
        name: "alice",
        relay: relaySocket.local,
        ...await stores("alice"),
        peer: "bob",
        candidates: [socket.local],
        offer,
        openSource: () => new FileSource(Deno.openSync(path, { read: true })),
        onEvent: (e) => events.push(e),
        ...extra,
      });
      app.start();
      apps.push(app);
      return { app, events, offer, socket };
    },
    async close() {
      for (const app of apps) await app.stop().catch(() => {});
      controller.abort();
      await clock.advance(100);
      await relayDone;
      await Deno.remove(dir, { recursive: true });
    },
  };
}
