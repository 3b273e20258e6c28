/**
 * Test-only: a directory on an in-memory database with a clock the test
 * moves by hand, relays to register with it, and request helpers that set
 * the client's IP through the `x-test-client-ip` header (which only this
 * harness honours).
 *
 * @module
 */

import { generateIdentity, type Identity } from "../identity/mod.ts";
import { Directory, type DirectoryOptions } from "./directory.ts";
import type { DirectoryInfo } from "./directory_client.ts";
import {
  createDescriptor,
  createHeartbeat,
  type LoadFigures,
  type RelayAnnouncement,
} from "./relay_messages.ts";
import type { RelayDescriptor, RelayHeartbeat } from "./descriptor.ts";
import { DirectoryStore } from "./store.ts";

/** The IP a request comes from unless it says otherwise. */
export const DEFAULT_TEST_IP = "198.51.100.7";

/** A directory under test. */
export interface TestDirectory {
  directory: Directory;
  identity: Identity;
  /** The directory's keys as a relay learns them. */
  info: DirectoryInfo;
  clock: { now: number };
  /** `app.request` with a JSON body and a client IP. */
  post(path: string, body: unknown, ip?: string): Promise<Response>;
  /** `app.request` GET. */
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  /** A fetch for directory_client.ts. */
  fetch(request: Request): Promise<Response>;
  close(): void;
}

/** Starts a directory on `:memory:` (or `options.store`) at a fixed time. */
export function createTestDirectory(
  options: Partial<DirectoryOptions> = {},
): TestDirectory {
  const identity = options.identity ?? generateIdentity();
  const clock = { now: 1_750_000_000_000 };
  const directory = new Directory({
    store: options.store ?? DirectoryStore.open(":memory:"),
    now: () => clock.now,
    allowPrivateAddresses: true,
    // Tests register and list at the same instant of their clock.
    listMembershipRefreshMs: 0,
    clientAddress: (c) => c.req.header("x-test-client-ip") ?? DEFAULT_TEST_IP,
    onInternalError: (error) => {
      throw error;
    },
    ...options,
    identity,
  });
  const app = directory.app;
  return {
    directory,
    identity,
    clock,
    info: {
      signingKey: identity.signingPublicKey,
      noiseKey: identity.noisePublicKey,
      fingerprint: "",
      heartbeatIntervalMs: 30_000,
      ttlMs: directory.registry.ttlMs,
    },
    post: async (path, body, ip = DEFAULT_TEST_IP) =>
      await app.request(path, {
        method: "POST",
        headers: { "content-type": "application/json", "x-test-client-ip": ip },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
    get: async (path, headers = {}) => await app.request(path, { headers }),
    fetch: async (request) => await app.request(request),
    close: () => directory.close(),
  };
}

/** Load figures for tests. */
export function testLoad(peers = 3): LoadFigures {
  return { peers, circuits: 1, bytesRelayed: 4096, uptimeSeconds: 60 };
}

/** A relay identity with helpers to sign for one test directory. */
export class TestRelay {
  readonly identity: Identity;
  readonly announcement: RelayAnnouncement;
  readonly #dir: TestDirectory;
  #step = 0;

  constructor(
    dir: TestDirectory,
    announcement: Partial<RelayAnnouncement> & { name: string },
    identity: Identity = generateIdentity(),
  ) {
    this.#dir = dir;
    this.identity = identity;
    this.announcement = {
      addresses: [{ host: "203.0.113.5", port: 8000 }],
      capabilities: ["relay"],
      bandwidth: 1_000_000,
      contact: "ops@example.org",
      ...announcement,
    };
  }

  /** A timestamp one millisecond after the previous one (so none repeat). */
  nextTimestamp(): number {
    return this.#dir.clock.now + ++this.#step;
  }

  descriptor(
    overrides: Partial<RelayAnnouncement> = {},
    timestamp = this.nextTimestamp(),
  ): RelayDescriptor {
    return createDescriptor(this.identity, {
      ...this.announcement,
      ...overrides,
    }, { directory: this.#dir.info, load: testLoad(), timestamp });
  }

  heartbeat(peers = 5, timestamp = this.nextTimestamp()): RelayHeartbeat {
    return createHeartbeat(this.identity, testLoad(peers), {
      directory: this.#dir.info,
      timestamp,
    });
  }

  register(ip?: string): Promise<Response> {
    return this.#dir.post("/v1/relays", this.descriptor(), ip);
  }
}
