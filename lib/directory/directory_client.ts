/**
 * Talking to a directory over HTTP: what relays call to get listed
 * ({@linkcode registerRelay}, {@linkcode heartbeat}, {@linkcode deregister},
 * or all three kept going by {@linkcode RelayRegistration}), and what
 * clients call to get the verified relay list ({@linkcode fetchRelayList}).
 *
 * Every failure is a {@linkcode DirectoryError} whose message is one
 * sentence for a person, with the HTTP status when the directory answered.
 *
 * @module
 */

import type { Identity } from "../identity/mod.ts";
import {
  createDeregistration,
  createDescriptor,
  createHeartbeat,
  type DirectoryKeys,
  type LoadFigures,
  type RelayAnnouncement,
} from "./relay_messages.ts";
import {
  type RelayList,
  type RelayListProblem,
  verifyRelayList,
} from "./relay_list.ts";
import { decodeBase64Exact } from "./signed_object.ts";

/** What went wrong, for callers that react differently. */
export type DirectoryProblem =
  | "unreachable"
  | "refused"
  | "bad-response"
  | RelayListProblem;

/** A failed exchange with a directory. */
export class DirectoryError extends Error {
  /** What kind of failure. */
  readonly problem: DirectoryProblem;
  /** The HTTP status when the directory answered with a refusal. */
  readonly status?: number;
  /** Seconds to wait, when the directory said so (`Retry-After`). */
  readonly retryAfterSeconds?: number;

  constructor(
    message: string,
    options: {
      problem: DirectoryProblem;
      status?: number;
      retryAfterSeconds?: number;
      cause?: unknown;
    },
  ) {
    super(message, { cause: options.cause });
    this.name = "DirectoryError";
    this.problem = options.problem;
    this.status = options.status;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Options every call takes. */
export interface ClientOptions {
  /** The fetch to use; tests pass `(r) => app.request(r)`. */
  fetch?: (request: Request) => Promise<Response>;
  /** Cancels the request. */
  signal?: AbortSignal;
  /** Gives up after this long; default 10 s. */
  timeoutMs?: number;
  /** Wall-clock ms; default `Date.now`. */
  now?: () => number;
}

/** `GET /v1/directory`: what a relay needs to address its messages. */
export interface DirectoryInfo extends DirectoryKeys {
  /** The fingerprint of the directory's Noise key. */
  fingerprint: string;
  /** How often the directory wants heartbeats. */
  heartbeatIntervalMs: number;
  /** How long a silent relay stays listed. */
  ttlMs: number;
}

/** The directory's answer to a registration. */
export interface RegistrationResult {
  /** `registered` the first time, `updated` afterwards. */
  status: "registered" | "updated";
  /** The relay's fingerprint as the directory lists it. */
  fingerprint: string;
  /** How often to heartbeat. */
  heartbeatIntervalMs: number;
  /** The directory the relay registered with. */
  directory: DirectoryInfo;
}

/** Largest response a client reads (a relay list of ~60,000 relays). */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

// Each message needs a timestamp newer than the last one the directory
// accepted from this relay; two messages in the same millisecond must not
// collide.
const lastTimestamps = new Map<string, number>();

function nextTimestamp(identity: Identity, now: () => number): number {
  const id = identity.noisePublicKey.toBase64();
  const t = Math.max(now(), (lastTimestamps.get(id) ?? 0) + 1);
  lastTimestamps.set(id, t);
  return t;
}

function endpoint(directoryUrl: string, path: string): string {
  return directoryUrl.replace(/\/+$/, "") + path;
}

async function exchange(
  directoryUrl: string,
  path: string,
  options: ClientOptions & { body?: unknown },
): Promise<Response> {
  const url = endpoint(directoryUrl, path);
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const signal = options.signal
    ? AbortSignal.any([options.signal, timeout])
    : timeout;
  const request = new Request(url, {
    method: options.body === undefined ? "GET" : "POST",
    headers: options.body === undefined
      ? { accept: "application/json" }
      : { "content-type": "application/json", accept: "application/json" },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal,
  });
  try {
    return await (options.fetch ?? fetch)(request);
  } catch (cause) {
    const why = timeout.aborted
      ? `no answer within ${(options.timeoutMs ?? 10_000) / 1000} s`
      : describeFetchFailure(cause);
    throw new DirectoryError(
      `Cannot reach the directory at ${directoryUrl}: ${why}`,
      { problem: "unreachable", cause },
    );
  }
}

/** The useful end of a fetch failure: "Connection refused", a DNS error… */
function describeFetchFailure(cause: unknown): string {
  const inner = (cause as { cause?: { message?: unknown } })?.cause?.message;
  const text = typeof inner === "string"
    ? inner
    : cause instanceof Error
    ? cause.message
    : String(cause);
  return text
    .replace(/^.*client error \([^)]*\): /, "")
    .replace(/^tcp connect error: /, "")
    .replace(/ \(os error \d+\)$/, "");
}

async function readJson(
  response: Response,
  directoryUrl: string,
): Promise<unknown> {
  const reader = response.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (reader) {
    for (;;) {
      let read;
      try {
        read = await reader.read();
      } catch (cause) {
        throw new DirectoryError(
          `The directory at ${directoryUrl} broke off its answer`,
          { problem: "unreachable", cause },
        );
      }
      if (read.done) break;
      size += read.value.length;
      if (size > MAX_RESPONSE_BYTES) {
        await reader.cancel().catch(() => {});
        throw new DirectoryError(
          `The directory at ${directoryUrl} sent an answer larger than ${MAX_RESPONSE_BYTES} bytes`,
          { problem: "bad-response" },
        );
      }
      chunks.push(read.value);
    }
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new DirectoryError(
      `The directory at ${directoryUrl} did not answer with JSON (is it an altnet directory?)`,
      { problem: "bad-response", status: response.status, cause },
    );
  }
}

/** Reads a JSON answer; a non-2xx status becomes a DirectoryError. */
async function answer(
  response: Response,
  directoryUrl: string,
  what: string,
): Promise<Record<string, unknown>> {
  const body = await readJson(response, directoryUrl);
  const object = typeof body === "object" && body !== null
    ? body as Record<string, unknown>
    : {};
  if (!response.ok) {
    const reason = typeof object.error === "string"
      ? object.error.slice(0, 300)
      : `HTTP ${response.status}`;
    const retry = Number(response.headers.get("retry-after"));
    throw new DirectoryError(
      `The directory at ${directoryUrl} refused the ${what}: ${reason}`,
      {
        problem: "refused",
        status: response.status,
        retryAfterSeconds: Number.isFinite(retry) && retry > 0
          ? retry
          : undefined,
      },
    );
  }
  return object;
}

/**
 * `GET /v1/directory`: the directory's keys and timers. With
 * `directoryKey`, refuses a directory whose signing key is another.
 */
export async function fetchDirectoryInfo(
  directoryUrl: string,
  options: ClientOptions & { directoryKey?: Uint8Array } = {},
): Promise<DirectoryInfo> {
  const response = await exchange(directoryUrl, "/v1/directory", options);
  const info = await answer(response, directoryUrl, "request");
  const signingKey = decodeBase64Exact(info.signing_key, 32);
  const noiseKey = decodeBase64Exact(info.noise_key, 32);
  if (
    !signingKey || !noiseKey || typeof info.fingerprint !== "string" ||
    !(Number(info.heartbeat_interval_s) > 0) || !(Number(info.ttl_s) > 0)
  ) {
    throw new DirectoryError(
      `The directory at ${directoryUrl} sent malformed information about itself`,
      { problem: "bad-response" },
    );
  }
  if (
    options.directoryKey &&
    signingKey.toBase64() !== options.directoryKey.toBase64()
  ) {
    throw new DirectoryError(
      `The directory at ${directoryUrl} has another key than the pinned one: expected ${options.directoryKey.toBase64()}, got ${signingKey.toBase64()}`,
      { problem: "wrong-key" },
    );
  }
  return {
    signingKey,
    noiseKey,
    fingerprint: info.fingerprint,
    heartbeatIntervalMs: Number(info.heartbeat_interval_s) * 1000,
    ttlMs: Number(info.ttl_s) * 1000,
  };
}

/**
 * Registers the relay `identity` with the directory at `directoryUrl`:
 * fetches the directory's keys (unless `options.directory` has them),
 * builds and signs the descriptor and posts it.
 *
 * @throws {TypeError} when the announcement is invalid (before sending)
 * @throws {DirectoryError} when the directory is unreachable or refuses
 *
 * @example
 * ```ts ignore
 * const result = await registerRelay("http://127.0.0.1:5000", identity, {
 *   announcement: { name: "relay-1", addresses: [{ host: "203.0.113.5", port: 8000 }] },
 *   load: { peers: 0, circuits: 0, bytesRelayed: 0, uptimeSeconds: 0 },
 * });
 * ```
 */
export async function registerRelay(
  directoryUrl: string,
  identity: Identity,
  options: ClientOptions & {
    announcement: RelayAnnouncement;
    load: LoadFigures;
    /** The directory's keys, when already known (saves a request). */
    directory?: DirectoryInfo;
    /** Refuse a directory whose signing key is not this one. */
    directoryKey?: Uint8Array;
  },
): Promise<RegistrationResult> {
  const directory = options.directory ??
    await fetchDirectoryInfo(directoryUrl, options);
  const descriptor = createDescriptor(identity, options.announcement, {
    directory,
    load: options.load,
    timestamp: nextTimestamp(identity, options.now ?? Date.now),
  });
  const response = await exchange(directoryUrl, "/v1/relays", {
    ...options,
    body: descriptor,
  });
  const result = await answer(response, directoryUrl, "registration");
  return {
    status: result.status === "updated" ? "updated" : "registered",
    fingerprint: String(result.fingerprint),
    heartbeatIntervalMs: Number(result.heartbeat_interval_s) * 1000 ||
      directory.heartbeatIntervalMs,
    directory,
  };
}

/**
 * Sends one signed heartbeat carrying `options.load`.
 *
 * @throws {DirectoryError} with status 404 when the directory no longer
 * lists the relay: register again
 */
export async function heartbeat(
  directoryUrl: string,
  identity: Identity,
  options: ClientOptions & { load: LoadFigures; directory: DirectoryKeys },
): Promise<void> {
  const message = createHeartbeat(identity, options.load, {
    directory: options.directory,
    timestamp: nextTimestamp(identity, options.now ?? Date.now),
  });
  const response = await exchange(directoryUrl, "/v1/relays/heartbeat", {
    ...options,
    body: message,
  });
  await answer(response, directoryUrl, "heartbeat");
}

/** Asks the directory to stop listing the relay at once. */
export async function deregister(
  directoryUrl: string,
  identity: Identity,
  options: ClientOptions & { directory: DirectoryKeys },
): Promise<void> {
  const message = createDeregistration(identity, {
    directory: options.directory,
    timestamp: nextTimestamp(identity, options.now ?? Date.now),
  });
  const response = await exchange(directoryUrl, "/v1/relays/deregister", {
    ...options,
    body: message,
  });
  await answer(response, directoryUrl, "deregistration");
}

/**
 * `GET /v1/relays`, verified: the directory's signature (and, with
 * `pinnedKey`, that the directory is the one pinned), the validity window,
 * and every relay's own signature.
 *
 * @throws {DirectoryError} whose `problem` is `unreachable`, `refused`,
 * `bad-response`, or why the list was refused (`wrong-key`,
 * `bad-signature`, `stale`, `not-yet-valid`, `bad-relay`, `malformed`)
 */
export async function fetchRelayList(
  directoryUrl: string,
  options: ClientOptions & { pinnedKey?: Uint8Array } = {},
): Promise<RelayList> {
  const response = await exchange(directoryUrl, "/v1/relays", options);
  if (!response.ok) await answer(response, directoryUrl, "request");
  const body = await readJson(response, directoryUrl);
  const checked = verifyRelayList(body, {
    now: (options.now ?? Date.now)(),
    pinnedKey: options.pinnedKey,
  });
  if (!checked.ok) {
    throw new DirectoryError(checked.error, { problem: checked.problem });
  }
  return checked.value;
}

/** What a {@linkcode RelayRegistration} reports. */
export type RegistrationEvent =
  | { type: "registered"; result: RegistrationResult }
  | { type: "heartbeat" }
  | { type: "error"; error: DirectoryError | TypeError; retryInMs: number }
  | { type: "deregistered" };

/** What {@linkcode RelayRegistration} needs. */
export interface RelayRegistrationOptions extends ClientOptions {
  announcement: RelayAnnouncement;
  /** Called before every registration and heartbeat. */
  load: () => LoadFigures;
  /** Refuse a directory whose signing key is not this one. */
  directoryKey?: Uint8Array;
  /** Told about every registration, heartbeat and error. */
  onEvent?: (event: RegistrationEvent) => void;
  /** Overrides the directory's heartbeat interval (tests). */
  intervalMs?: number;
}

/**
 * Keeps a relay listed: registers, heartbeats at the interval the
 * directory asks for, registers again when the directory forgot the relay
 * (404), backs off when it is unreachable (5 s doubling to 60 s) or says to
 * wait (429), and deregisters on {@linkcode stop}.
 *
 * @example
 * ```ts ignore
 * const registration = new RelayRegistration(url, identity, {
 *   announcement: { name: "relay-1", addresses: [{ host, port }] },
 *   load: () => ({ peers, circuits, bytesRelayed, uptimeSeconds }),
 *   onEvent: (e) => console.log(e.type),
 * });
 * registration.start();
 * // …
 * await registration.stop();
 * ```
 */
export class RelayRegistration {
  readonly #url: string;
  readonly #identity: Identity;
  readonly #options: RelayRegistrationOptions;
  readonly #abort = new AbortController();
  #directory: DirectoryInfo | undefined;
  #loop: Promise<void> | undefined;

  constructor(
    directoryUrl: string,
    identity: Identity,
    options: RelayRegistrationOptions,
  ) {
    this.#url = directoryUrl;
    this.#identity = identity;
    this.#options = options;
  }

  /** Starts the loop in the background. */
  start(): void {
    this.#loop ??= this.#run();
  }

  async #run() {
    const signal = this.#abort.signal;
    const options = { ...this.#options, signal };
    let registered = false;
    let interval = this.#options.intervalMs ?? 30_000;
    let backoff = 5_000;
    while (!signal.aborted) {
      let wait = interval;
      try {
        if (!registered) {
          const result = await registerRelay(this.#url, this.#identity, {
            ...options,
            load: this.#options.load(),
            directory: this.#directory,
          });
          this.#directory = result.directory;
          interval = this.#options.intervalMs ?? result.heartbeatIntervalMs;
          registered = true;
          this.#options.onEvent?.({ type: "registered", result });
        } else {
          await heartbeat(this.#url, this.#identity, {
            ...options,
            load: this.#options.load(),
            directory: this.#directory!,
          });
          this.#options.onEvent?.({ type: "heartbeat" });
        }
        wait = interval;
        backoff = 5_000;
      } catch (error) {
        if (signal.aborted) break;
        if (!(error instanceof DirectoryError || error instanceof TypeError)) {
          throw error;
        }
        if (error instanceof DirectoryError && error.status === 404) {
          registered = false; // forgotten (expired, or a new database)
          wait = 0;
        } else if (error instanceof DirectoryError && error.retryAfterSeconds) {
          wait = error.retryAfterSeconds * 1000;
        } else {
          wait = backoff;
          backoff = Math.min(backoff * 2, 60_000);
        }
        if (
          error instanceof DirectoryError && error.problem === "unreachable"
        ) {
          this.#directory = undefined; // it may come back with new keys
          registered = false;
        }
        this.#options.onEvent?.({ type: "error", error, retryInMs: wait });
      }
      if (wait > 0) await sleep(wait, signal);
    }
  }

  /** Stops heartbeating and deregisters (best effort, 5 s at most). */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop?.catch(() => {});
    if (!this.#directory) return;
    try {
      await deregister(this.#url, this.#identity, {
        ...this.#options,
        signal: undefined,
        timeoutMs: 5_000,
        directory: this.#directory,
      });
      this.#options.onEvent?.({ type: "deregistered" });
    } catch {
      // The directory drops the relay after its TTL anyway.
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
