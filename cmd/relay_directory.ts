/**
 * `altnet relay --directory URL`: keep the relay listed in a directory while
 * it runs (register, heartbeat, register again after a directory restart,
 * back off when it is down, deregister on a clean stop).
 *
 * @module
 */

import {
  fetchDirectoryInfo,
  fetchRelayList,
  RelayRegistration,
} from "../lib/directory/mod.ts";
import { resolveHost } from "../lib/peer/addresses.ts";
import { fingerprint, type Identity, TrustStore } from "../lib/identity/mod.ts";
import type { CoverTraffic, RelayCore } from "../lib/relay/mod.ts";
import { UserError } from "../lib/user_error.ts";
import { knownDirectoriesPath } from "./directory_access.ts";
import type { Reporter } from "./output.ts";
import type { RelayOptions } from "./relay.ts";

/** Starts the registration; resolves to a function that stops it. */
export async function startDirectoryRegistration(
  options: RelayOptions & { directory: string },
  identity: Identity,
  core: RelayCore,
  context: {
    reporter: Reporter;
    listening: { address: string; port: number };
    cover?: CoverTraffic;
  },
): Promise<() => Promise<void>> {
  const { reporter } = context;
  const announce = options.announce ??
    (context.listening.address !== "0.0.0.0" &&
        context.listening.address !== "::"
      ? { host: context.listening.address, port: context.listening.port }
      : undefined);
  if (!announce) {
    throw new UserError(
      "The relay does not know which address to announce to the directory",
      {
        hint:
          "pass --announce HOST:PORT, the address peers reach this relay at",
      },
    );
  }
  // The directory's key: the flag, else the one pinned on first use.
  let directoryKey: Uint8Array | undefined = options.directoryKey
    ? Uint8Array.fromBase64(options.directoryKey)
    : undefined;
  if (!directoryKey) {
    const store = await TrustStore.open(
      knownDirectoriesPath(options.identity, Deno.env.toObject()),
    );
    directoryKey = store.get(options.directory);
    if (!directoryKey) {
      try {
        const info = await fetchDirectoryInfo(options.directory);
        directoryKey = info.signingKey;
        await store.pin(options.directory, directoryKey);
        reporter.notice(
          "directory-key",
          { directory: options.directory, key: directoryKey.toBase64() },
          `directory ${options.directory}: key pinned on first use (${directoryKey.toBase64()})`,
        );
      } catch {
        // Unreachable now: the registration retries and learns it later.
      }
    }
  }
  const name = options.relayName ??
    `relay-${fingerprint(identity.noisePublicKey).slice(0, 4).toLowerCase()}`;
  const registration = new RelayRegistration(options.directory, identity, {
    announcement: {
      name,
      addresses: [announce],
      contact: options.contact,
    },
    directoryKey,
    load: () => {
      const s = core.snapshot();
      return {
        peers: s.peers,
        circuits: s.circuits,
        bytesRelayed: s.counters.bytesRelayed,
        uptimeSeconds: Math.floor(s.uptimeMs / 1000),
      };
    },
    onEvent: (event) => {
      switch (event.type) {
        case "registered":
          reporter.event(
            "directory",
            { status: event.result.status, name, directory: options.directory },
            `directory ${options.directory}: ${event.result.status} as ${name}`,
          );
          break;
        case "error":
          reporter.event(
            "directory",
            {
              status: "error",
              message: event.error.message,
              retryInMs: event.retryInMs,
            },
            `directory ${options.directory}: ${event.error.message}; retrying in ${
              Math.round(event.retryInMs / 1000)
            } s`,
          );
          break;
        case "deregistered":
          reporter.event(
            "directory",
            { status: "deregistered" },
            `directory ${options.directory}: deregistered`,
          );
          break;
      }
    },
  });
  registration.start();
  const stopCover = context.cover
    ? refreshCoverTargets(
      options.directory,
      directoryKey,
      identity,
      context.cover,
    )
    : () => {};
  return async () => {
    stopCover();
    await registration.stop();
  };
}

/** How often the cover targets are refreshed from the directory. */
const COVER_REFRESH_MS = 60_000;

/**
 * Keeps `cover`'s targets in step with the directory: every other listed
 * relay, by its first address and Noise key.
 */
function refreshCoverTargets(
  url: string,
  pinnedKey: Uint8Array | undefined,
  identity: Identity,
  cover: CoverTraffic,
): () => void {
  const own = identity.noisePublicKey.toBase64();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const refresh = async () => {
    try {
      const list = await fetchRelayList(url, { pinnedKey });
      const targets = [];
      for (const { descriptor } of list.relays) {
        if (descriptor.noise_key === own) continue;
        const first = descriptor.addresses[0];
        const address = first ? await resolveHost(first.host) : undefined;
        if (!address) continue;
        targets.push({
          endpoint: { address, port: first.port },
          noiseKey: Uint8Array.fromBase64(descriptor.noise_key),
        });
      }
      cover.setTargets(targets);
    } catch {
      // The directory is down or the list bad: keep the last targets.
    }
    if (!stopped) timer = setTimeout(refresh, COVER_REFRESH_MS);
  };
  timer = setTimeout(refresh, 1_000);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
