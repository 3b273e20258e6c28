/**
 * The network part of the demo: a relay and two chatting peers on this
 * machine, over real UDP sockets on 127.0.0.1, with real identities.
 *
 * @module
 */

import { join } from "node:path";
import { ChatApp, type ChatEvent } from "../chat/chat_app.ts";
import {
  fingerprint,
  readOrCreateIdentity,
  TrustStore,
} from "../identity/mod.ts";
import {
  Directory,
  DirectoryStore,
  fetchRelayList,
  RelayRegistration,
  serveDirectory,
} from "../directory/mod.ts";
import { DEFAULT_LIMITS, RelayCore, runRelay } from "../relay/mod.ts";
import { openUdpSocket, realScheduler } from "../udp/mod.ts";
import type { DemoStep } from "./session_demo.ts";

/** Runs the relay and chat demo in `dir`, reporting each step. */
export async function runNetworkDemo(
  dir: string,
  report: (step: DemoStep) => void,
): Promise<void> {
  const relayId = await readOrCreateIdentity(join(dir, "relay", "identity"));
  const relaySocket = await openUdpSocket({ hostname: "127.0.0.1", port: 0 });
  const core = new RelayCore({
    staticKeyPair: {
      publicKey: relayId.identity.noisePublicKey,
      privateKey: relayId.identity.noisePrivateKey,
    },
    limits: DEFAULT_LIMITS,
  });
  const controller = new AbortController();
  const relayDone = runRelay(relaySocket, core, { signal: controller.signal });
  report({
    step: "relay",
    text:
      `relay listening on UDP 127.0.0.1:${relaySocket.local.port}, fingerprint ${
        fingerprint(relayId.identity.noisePublicKey)
      }`,
  });

  // The directory: the relay lists itself, and anyone can verify the list.
  const directoryId = await readOrCreateIdentity(
    join(dir, "directory", "identity"),
  );
  const directory = new Directory({
    identity: directoryId.identity,
    store: DirectoryStore.open(join(dir, "directory", "directory.db")),
    allowPrivateAddresses: true,
    listMembershipRefreshMs: 0,
  });
  const server = serveDirectory(directory, { hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const registration = new RelayRegistration(url, relayId.identity, {
    announcement: {
      name: "demo-relay",
      addresses: [{ host: "127.0.0.1", port: relaySocket.local.port }],
    },
    load: () => ({
      peers: core.snapshot().peers,
      circuits: core.snapshot().circuits,
      bytesRelayed: core.counters.bytesRelayed,
      uptimeSeconds: Math.floor(core.snapshot().uptimeMs / 1000),
    }),
  });
  registration.start();
  const pinnedKey = directoryId.identity.signingPublicKey;
  const list = await waitFor(async () => {
    const list = await fetchRelayList(url, { pinnedKey }).catch(() =>
      undefined
    );
    return list && list.relays.length > 0 ? list : undefined;
  });
  report({
    step: "directory",
    text: `the directory at ${url} lists ${list.relays.length} relay, "${
      list.relays[0].descriptor.name
    }": the descriptor signed by the relay, the list signed by the directory (${
      fingerprint(directoryId.identity.noisePublicKey)
    }), both verified`,
    details: { listed: list.relays.length, directoryUrl: url },
  });

  const peers: Record<string, { app: ChatApp; events: ChatEvent[] }> = {};
  for (const [name, other] of [["alice", "bob"], ["bob", "alice"]]) {
    const { identity } = await readOrCreateIdentity(
      join(dir, name, "identity"),
    );
    const socket = await openUdpSocket({ hostname: "127.0.0.1", port: 0 });
    const events: ChatEvent[] = [];
    const app = new ChatApp({
      socket,
      scheduler: realScheduler,
      staticKeyPair: {
        publicKey: identity.noisePublicKey,
        privateKey: identity.noisePrivateKey,
      },
      name,
      relay: relaySocket.local,
      knownPeers: await TrustStore.open(join(dir, name, "known_peers")),
      peer: other,
      candidates: [socket.local],
      onEvent: (event) => events.push(event),
    });
    app.start();
    peers[name] = { app, events };
  }
  const { alice, bob } = peers;
  try {
    const started = performance.now();
    alice.app.send("hello bob, over the relay at first");
    const first = await waitFor(() =>
      bob.events.find((e) => e.event === "message")
    );
    const firstMs = Math.round(performance.now() - started);
    report({
      step: "chat-relayed",
      text: `alice → bob: "${
        first.event === "message" ? first.text : ""
      }" after ${firstMs} ms, relayed end-to-end encrypted (the relay cannot read it)`,
      details: {
        firstMessageMs: firstMs,
        relayed: core.counters.packetsRelayed,
      },
    });
    const direct = await waitFor(() =>
      alice.events.find((e) => e.event === "path" && e.via === "direct")
    );
    // Each side decides on its own; bob's reply goes direct once his side
    // has seen a probe round trip too.
    await waitFor(() =>
      bob.events.find((e) => e.event === "path" && e.via === "direct")
    );
    report({
      step: "chat-direct",
      text: `alice and bob punched a direct path after ${
        Math.round(performance.now() - started)
      } ms (rtt ${
        direct.event === "path" ? direct.rtt_ms : "?"
      } ms); the relay steps aside`,
      details: { directMs: Math.round(performance.now() - started) },
    });
    const relayedBefore = core.counters.packetsRelayed;
    bob.app.send("hi alice, now direct");
    const reply = await waitFor(() =>
      alice.events.find((e) => e.event === "message")
    );
    await waitFor(() => bob.events.find((e) => e.event === "delivered"));
    report({
      step: "chat-reply",
      text: `bob → alice: "${
        reply.event === "message" ? reply.text : ""
      }", delivered and acknowledged; ${
        core.counters.packetsRelayed - relayedBefore
      } packets went through the relay for it`,
      details: {
        relayedForReply: core.counters.packetsRelayed - relayedBefore,
      },
    });
  } finally {
    await alice.app.stop();
    await bob.app.stop();
    await registration.stop();
    await server.shutdown();
    controller.abort();
    await relayDone;
  }
}

async function waitFor<T>(
  find: () => T | undefined | Promise<T | undefined>,
  ms = 10_000,
): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const found = await find();
    if (found !== undefined) return found;
    if (performance.now() > deadline) {
      throw new Error(`The demo stalled: nothing after ${ms} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
