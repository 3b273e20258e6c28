/**
 * `altnet serve-directory`: run the relay directory and its dashboard.
 *
 * @module
 */

import { join } from "node:path";
import { configDir, fingerprint } from "../lib/identity/mod.ts";
import {
  Directory,
  type DirectoryServer,
  DirectoryStore,
  HTTP_LIMIT_DEFAULTS,
  REGISTRY_DEFAULTS,
  type RegistryChange,
  serveDirectory,
} from "../lib/directory/mod.ts";
import { UsageError, UserError } from "../lib/user_error.ts";
import {
  parseDuration,
  parseFlags,
  parseInteger,
  parsePort,
  parseRate,
} from "./flags.ts";
import {
  IDENTITY_FLAG,
  IDENTITY_HELP,
  loadCommandIdentity,
} from "./identity_option.ts";
import { PROCESS_SINKS, Reporter } from "./output.ts";

/** One line for `altnet --help`. */
export const summary =
  "run the directory: signed relay lists and a live dashboard";

/** `altnet serve-directory --help`. */
export const help = `altnet serve-directory: ${summary}

Usage: altnet serve-directory [--host ADDR] [--port 5000] [--db PATH]
                              [--identity PATH] [limit flags] [--json]

Serves the JSON API under /v1 (docs/DIRECTORY.md), the live dashboard at /,
and Prometheus metrics at /metrics. The relay list is signed with this
directory's identity; clients pin its key.

Options:
  --host ADDR                 address to listen on (default 0.0.0.0)
  --port N                    HTTP port (default 5000; 0 = any)
  --db PATH                   SQLite database (default $XDG_CONFIG_HOME/altnet/directory.db)
${IDENTITY_HELP}
  --ttl D                     drop a relay silent for this long (default 90s)
  --max-relays N              relays listed at most (default ${REGISTRY_DEFAULTS.maxRelays})
  --max-relays-per-ip N       relays registered from one IP at most (default ${REGISTRY_DEFAULTS.maxRelaysPerIp})
  --registration-rate R       registrations per second per IP (default ${HTTP_LIMIT_DEFAULTS.registrationRate}, burst ${HTTP_LIMIT_DEFAULTS.registrationBurst})
  --heartbeat-rate R          heartbeats per second per IP (default ${HTTP_LIMIT_DEFAULTS.updateRate}, burst ${HTTP_LIMIT_DEFAULTS.updateBurst})
  --allow-private-addresses   list relays on loopback and private addresses (labs, tests)
  --history-interval D        how often network totals are recorded (default 30s)
  --json                      print one JSON object per line
  -h, --help                  show this help`;

/** Parsed `altnet serve-directory` flags. */
export interface ServeDirectoryOptions {
  help: boolean;
  json: boolean;
  identity?: string;
  host: string;
  port: number;
  db?: string;
  ttlMs: number;
  maxRelays: number;
  maxRelaysPerIp: number;
  registrationRate: number;
  heartbeatRate: number;
  allowPrivateAddresses: boolean;
  historyIntervalMs: number;
}

/** Parses `altnet serve-directory` arguments; throws UsageError on mistakes. */
export function parseServeDirectoryArgs(args: string[]): ServeDirectoryOptions {
  const { values: v } = parseFlags("serve-directory", args, {
    ...IDENTITY_FLAG,
    host: { type: "string" },
    port: { type: "string" },
    db: { type: "string" },
    ttl: { type: "string" },
    "max-relays": { type: "string" },
    "max-relays-per-ip": { type: "string" },
    "registration-rate": { type: "string" },
    "heartbeat-rate": { type: "string" },
    "allow-private-addresses": { type: "boolean" },
    "history-interval": { type: "string" },
  });
  const rate = (text: string | undefined, flag: string, fallback: number) => {
    if (text === undefined) return fallback;
    const value = parseRate(text, flag, 1_000_000);
    if (value === 0) {
      throw new UsageError(
        `Invalid value for ${flag}: ${text} (expected a number above 0)`,
      );
    }
    return value;
  };
  return {
    help: v.help ?? false,
    json: v.json ?? false,
    identity: v.identity,
    host: v.host ?? "0.0.0.0",
    port: v.port === undefined ? 5000 : parsePort(v.port, "--port"),
    db: v.db,
    ttlMs: v.ttl === undefined
      ? REGISTRY_DEFAULTS.ttlMs
      : parseDuration(v.ttl, "--ttl"),
    maxRelays: v["max-relays"] === undefined
      ? REGISTRY_DEFAULTS.maxRelays
      : parseInteger(v["max-relays"], "--max-relays", {
        min: 1,
        max: 1_000_000,
      }),
    maxRelaysPerIp: v["max-relays-per-ip"] === undefined
      ? REGISTRY_DEFAULTS.maxRelaysPerIp
      : parseInteger(v["max-relays-per-ip"], "--max-relays-per-ip", {
        min: 1,
        max: 1_000_000,
      }),
    registrationRate: rate(
      v["registration-rate"],
      "--registration-rate",
      HTTP_LIMIT_DEFAULTS.registrationRate,
    ),
    heartbeatRate: rate(
      v["heartbeat-rate"],
      "--heartbeat-rate",
      HTTP_LIMIT_DEFAULTS.updateRate,
    ),
    allowPrivateAddresses: v["allow-private-addresses"] ?? false,
    historyIntervalMs: v["history-interval"] === undefined
      ? 30_000
      : parseDuration(v["history-interval"], "--history-interval"),
  };
}

/** The database path: `--db`, else `directory.db` in the config folder. */
export function directoryDbPath(
  flag: string | undefined,
  env: Record<string, string | undefined>,
): string {
  return flag ?? join(configDir(env), "directory.db");
}

/** Runs `altnet serve-directory` until SIGINT or SIGTERM. */
export async function run(options: ServeDirectoryOptions): Promise<number> {
  const reporter = new Reporter(options.json, PROCESS_SINKS);
  const env = Deno.env.toObject();
  const { identity } = await loadCommandIdentity(options.identity, reporter);
  const dbPath = directoryDbPath(options.db, env);
  let store: DirectoryStore;
  try {
    if (!options.db) {
      await Deno.mkdir(configDir(env), { recursive: true, mode: 0o700 });
    }
    store = DirectoryStore.open(dbPath);
  } catch (error) {
    const why = error instanceof Error ? error.message.split(":")[0] : "";
    throw new UserError(
      `Cannot open the directory database: ${dbPath}${why ? ` (${why})` : ""}`,
      {
        hint:
          "check that its folder exists and is writable, or choose another --db",
        cause: error,
      },
    );
  }
  let directory: Directory;
  let server: DirectoryServer;
  try {
    directory = new Directory({
      identity,
      store,
      ttlMs: options.ttlMs,
      maxRelays: options.maxRelays,
      maxRelaysPerIp: options.maxRelaysPerIp,
      allowPrivateAddresses: options.allowPrivateAddresses,
      historyIntervalMs: options.historyIntervalMs,
      limits: {
        registrationRate: options.registrationRate,
        // A burst of at least ten, or of one second's worth at high rates.
        registrationBurst: Math.max(
          HTTP_LIMIT_DEFAULTS.registrationBurst,
          Math.ceil(options.registrationRate),
        ),
        updateRate: options.heartbeatRate,
        updateBurst: Math.max(
          HTTP_LIMIT_DEFAULTS.updateBurst,
          Math.ceil(options.heartbeatRate),
        ),
      },
      onInternalError: (error) => {
        reporter.error(
          `Internal error while handling a request: ${
            error instanceof Error ? error.message : String(error)
          }`,
          "this is a bug; please report it",
        );
        if (env.ALTNET_DEBUG) console.error(error);
      },
    });
    directory.registry.onChange((change) => logChange(reporter, change));
    server = serveDirectory(directory, {
      hostname: options.host,
      port: options.port,
    });
  } catch (error) {
    store.close();
    if (error instanceof Deno.errors.AddrInUse) {
      throw new UserError(
        `Cannot listen on ${options.host}:${options.port}: the port is in use`,
        { hint: "choose another --port, or stop the program using it" },
      );
    }
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new UserError(
        `Cannot listen on ${options.host}:${options.port}: permission denied`,
        { hint: "ports below 1024 need privileges; choose another --port" },
      );
    }
    throw error;
  }

  const address = server.addr;
  const host = address.hostname.includes(":")
    ? `[${address.hostname}]`
    : address.hostname;
  const url = `http://${host}:${address.port}`;
  const key = identity.signingPublicKey.toBase64();
  const print = fingerprint(identity.noisePublicKey);
  reporter.event(
    "ready",
    {
      address: address.hostname,
      port: address.port,
      url,
      fingerprint: print,
      key,
      db: dbPath,
      relays: directory.registry.size,
    },
    `altnet directory listening on ${url}/ (dashboard), fingerprint ${print}
  directory key: ${key}
  clients pin it with: altnet list --directory ${url} --directory-key ${key}
  database: ${dbPath} (${directory.registry.size} relays listed)`,
  );

  const stopped = Promise.withResolvers<void>();
  const onSignal = () => stopped.resolve();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    await stopped.promise;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await server.shutdown();
  }
  reporter.event("done", {}, "altnet directory stopped");
  return 0;
}

/** One line per relay joining, changing or leaving (not per heartbeat). */
function logChange(reporter: Reporter, change: RegistryChange) {
  if (change.kind === "load") return;
  const event = change.kind === "removed"
    ? change.why
    : change.isNew
    ? "registered"
    : "updated";
  const { name, fingerprint: print } = change.relay;
  reporter.event(
    "relay",
    { change: event, name, fingerprint: print },
    `${event} ${name} ${print}`,
  );
}
