/**
 * The signed relay list (`GET /v1/relays`): built and signed by the
 * directory, checked by clients, mirrors and caches that need not be
 * trusted (docs/DIRECTORY.md §4).
 *
 * ```json
 * {
 *   "directory": { "noise_key": "…", "signing_key": "…" },
 *   "relays": [ { "descriptor": { …as the relay signed it… },
 *                 "status": { "first_seen": …, "last_seen": …, "load": {…} } } ],
 *   "signature": "…",
 *   "type": "relay-list",
 *   "valid_after": 1732288000000,
 *   "valid_until": 1732288600000,
 *   "version": 1
 * }
 * ```
 *
 * The directory signs the list with its Ed25519 key (signed_object.ts);
 * every descriptor in it still carries its relay's own signature, so not
 * even the directory can change what a relay announced. `status` is the
 * directory's word: when it last heard from the relay, and the load the
 * relay reported in its latest heartbeat.
 *
 * @module
 */

import { canonicalJsonWithRaw } from "./canonical_json.ts";
import {
  type Checked,
  FORMAT_VERSION,
  MessageType,
  parseDescriptor,
  parseLoad,
  type RelayDescriptor,
  type RelayLoad,
} from "./descriptor.ts";
import type { BackgroundGzip } from "./background_gzip.ts";
import type { Ed25519Signer } from "./ed25519.ts";
import type { ListedRelay, RelayRegistry } from "./registry.ts";
import {
  decodeBase64Exact,
  SIGNING_CONTEXT,
  verifyObject,
} from "./signed_object.ts";

const CONTEXT_BYTES = new TextEncoder().encode(SIGNING_CONTEXT);

/** What the directory says about a listed relay. */
export interface RelayStatus {
  /** When the directory first listed it (ms). */
  first_seen: number;
  /** Its last registration or heartbeat (ms). */
  last_seen: number;
  /** The load of its latest heartbeat. */
  load: RelayLoad;
}

/** One relay of the list. */
export interface RelayListEntry {
  descriptor: RelayDescriptor;
  status: RelayStatus;
}

/** The signed relay list. */
export interface RelayList {
  type: typeof MessageType.RELAY_LIST;
  version: typeof FORMAT_VERSION;
  directory: { signing_key: string; noise_key: string };
  /** ms since the epoch: the list is not valid before… */
  valid_after: number;
  /** …nor from this moment on. */
  valid_until: number;
  relays: RelayListEntry[];
  signature: string;
}

/** A built list, ready to serve. */
export interface SignedRelayListText {
  /** The JSON text as UTF-8 (canonical, signature included). */
  body: Uint8Array;
  /** Strong validator for `If-None-Match`. */
  etag: string;
  validAfter: number;
  validUntil: number;
  relays: number;
  /** The same body gzipped, once the background compressor made it. */
  gzip?: Uint8Array;
}

/** How often and for how long lists are made. */
export const RELAY_LIST_DEFAULTS = {
  /** A list is valid for 10 minutes. */
  validityMs: 600_000,
  /**
   * Load figures in the list are at most this old (relays heartbeat every
   * 30 s, and a rebuild of a 10,000-relay list costs tens of milliseconds).
   */
  refreshMs: 15_000,
  /**
   * A relay joining or leaving shows within this long: re-signing a big list
   * costs tens of milliseconds, so a burst of joins must not re-sign it for
   * every fetch in between.
   */
  membershipRefreshMs: 1_000,
} as const;

/**
 * Builds the signed list from a registry, and rebuilds it only when needed:
 * within `membershipRefreshMs` (1 s) when a relay joins, changes its
 * descriptor or leaves; at most every `refreshMs` (15 s) when only load
 * figures changed; and when half its validity has passed. Each relay's JSON text is cached between builds, so a rebuild of
 * a large list is mostly string joining and one signature.
 */
export class RelayListBuilder {
  readonly #registry: RelayRegistry;
  readonly #sign: Ed25519Signer;
  readonly #directory: { signing_key: string; noise_key: string };
  readonly #validityMs: number;
  readonly #refreshMs: number;
  readonly #membershipRefreshMs: number;
  readonly #fragments = new Map<string, string>();
  readonly #gzip: BackgroundGzip | undefined;
  #compressing: Promise<void> = Promise.resolve();
  #current: SignedRelayListText | undefined;
  #builtAt = -Infinity;
  #membershipChanged = true;
  #loadChanged = false;

  constructor(
    registry: RelayRegistry,
    options: {
      sign: Ed25519Signer;
      signingKey: Uint8Array;
      noiseKey: Uint8Array;
      validityMs?: number;
      refreshMs?: number;
      membershipRefreshMs?: number;
      /** Compresses each new list off the event loop, for gzip clients. */
      gzip?: BackgroundGzip;
    },
  ) {
    this.#gzip = options.gzip;
    this.#registry = registry;
    this.#sign = options.sign;
    this.#directory = {
      signing_key: options.signingKey.toBase64(),
      noise_key: options.noiseKey.toBase64(),
    };
    this.#validityMs = options.validityMs ?? RELAY_LIST_DEFAULTS.validityMs;
    this.#refreshMs = options.refreshMs ?? RELAY_LIST_DEFAULTS.refreshMs;
    this.#membershipRefreshMs = options.membershipRefreshMs ??
      RELAY_LIST_DEFAULTS.membershipRefreshMs;
    registry.onChange((change) => {
      this.#fragments.delete(change.relay.noiseKey);
      if (change.kind === "load") this.#loadChanged = true;
      else this.#membershipChanged = true;
    });
  }

  /** The current list, rebuilt first when due. */
  current(): SignedRelayListText {
    const now = this.#registry.now();
    const age = now - this.#builtAt;
    const due = !this.#current ||
      (this.#membershipChanged && age >= this.#membershipRefreshMs) ||
      (this.#loadChanged && age >= this.#refreshMs) ||
      age >= this.#validityMs / 2 || age < 0;
    if (due) {
      const built = this.#build(now);
      this.#current = built;
      if (this.#gzip) {
        this.#compressing = this.#gzip.compress(built.body).then(
          (gzip) => {
            built.gzip = gzip;
          },
          () => {}, // closed while compressing: serve it uncompressed
        );
      }
    }
    return this.#current!;
  }

  /** Resolves once the current list's gzip is made (tests). */
  compressed(): Promise<void> {
    return this.#compressing;
  }

  #fragment(relay: ListedRelay): string {
    let text = this.#fragments.get(relay.noiseKey);
    if (text === undefined) {
      // canonicalJson of { descriptor, status }, written out by hand because
      // a big list rebuilds thousands of these: members in sorted order,
      // every value a safe integer or already canonical text. The list
      // tests re-canonicalize what is built here, so a slip cannot pass.
      const l = relay.load;
      text =
        `{"descriptor":${relay.descriptorJson},"status":{"first_seen":${relay.firstSeen},"last_seen":${relay.lastSeen},"load":{"bytes_relayed":${l.bytes_relayed},"circuits":${l.circuits},"peers":${l.peers},"uptime_s":${l.uptime_s}}}}`;
      this.#fragments.set(relay.noiseKey, text);
    }
    return text;
  }

  #build(now: number): SignedRelayListText {
    const relays = this.#registry.relays();
    // The list's members in canonical (sorted) order are: directory, relays,
    // signature, type, valid_after, valid_until, version. The signed bytes
    // are the context and the list without its signature; the body is the
    // same text with the signature member between relays and type.
    const encoder = new TextEncoder();
    const head = encoder.encode(
      `${
        canonicalJsonWithRaw({ directory: this.#directory }, { relays: "[" })
          .slice(0, -1) // drop the closing brace: the relays go on
      }${relays.map((r) => this.#fragment(r)).join(",")}]`,
    );
    const validUntil = now + this.#validityMs;
    const tail = encoder.encode(
      `,"type":${
        JSON.stringify(MessageType.RELAY_LIST)
      },"valid_after":${now},"valid_until":${validUntil},"version":${FORMAT_VERSION}}`,
    );
    const signature = this.#sign(
      concat([CONTEXT_BYTES, head, tail]),
    ).toBase64();
    const body = concat([
      head,
      encoder.encode(`,"signature":${JSON.stringify(signature)}`),
      tail,
    ]);
    this.#builtAt = now;
    this.#membershipChanged = false;
    this.#loadChanged = false;
    return {
      body,
      etag: `"${now.toString(36)}-${signature.slice(0, 16)}"`,
      validAfter: now,
      validUntil,
      relays: relays.length,
    };
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Why a relay list is refused. */
export type RelayListProblem =
  | "malformed"
  | "wrong-key"
  | "bad-signature"
  | "stale"
  | "not-yet-valid"
  | "bad-relay";

/** A verified list, or the problem and one sentence. */
export type CheckedRelayList =
  | { ok: true; value: RelayList }
  | { ok: false; problem: RelayListProblem; error: string };

function fail(problem: RelayListProblem, error: string): CheckedRelayList {
  return { ok: false, problem, error };
}

/** Clock difference tolerated on `valid_after` (not on `valid_until`). */
export const CLOCK_SKEW_MS = 300_000;

/**
 * Checks a relay list as a client must: shape, the directory's key against
 * `pinnedKey` when given, the directory's signature, the validity window at
 * `now`, and every relay's own signature. Never throws.
 *
 * @example
 * ```ts ignore
 * const checked = verifyRelayList(await response.json(), {
 *   now: Date.now(),
 *   pinnedKey,
 * });
 * if (!checked.ok) throw new Error(checked.error);
 * ```
 */
export function verifyRelayList(
  value: unknown,
  options: { now: number; pinnedKey?: Uint8Array },
): CheckedRelayList {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail("malformed", "The relay list is not a JSON object");
  }
  const doc = value as Record<string, unknown>;
  const members = [
    "type",
    "version",
    "directory",
    "valid_after",
    "valid_until",
    "relays",
    "signature",
  ];
  if (doc.type !== MessageType.RELAY_LIST || doc.version !== FORMAT_VERSION) {
    return fail(
      "malformed",
      `The document is not an altnet relay list of version ${FORMAT_VERSION}`,
    );
  }
  for (const key of Object.keys(doc)) {
    if (!members.includes(key)) {
      return fail(
        "malformed",
        `The relay list has an unknown member: ${JSON.stringify(key)}`,
      );
    }
  }
  const directory = doc.directory as Record<string, unknown> | null;
  const signingKey = decodeBase64Exact(directory?.signing_key, 32);
  if (
    !signingKey || !decodeBase64Exact(directory?.noise_key, 32) ||
    Object.keys(directory ?? {}).length !== 2
  ) {
    return fail(
      "malformed",
      "The relay list does not name its directory's keys",
    );
  }
  if (
    options.pinnedKey &&
    signingKey.toBase64() !== options.pinnedKey.toBase64()
  ) {
    return fail(
      "wrong-key",
      `The relay list is signed by another key than the directory's pinned key: expected ${options.pinnedKey.toBase64()}, got ${signingKey.toBase64()}`,
    );
  }
  if (!verifyObject(doc, signingKey)) {
    return fail(
      "bad-signature",
      "The relay list's signature is invalid: it was altered, or not signed by the directory's key",
    );
  }
  const validAfter = doc.valid_after;
  const validUntil = doc.valid_until;
  if (!Number.isSafeInteger(validAfter) || !Number.isSafeInteger(validUntil)) {
    return fail("malformed", "The relay list has no valid validity window");
  }
  if (options.now >= (validUntil as number)) {
    return fail(
      "stale",
      `The relay list is stale: it expired at ${
        new Date(validUntil as number).toISOString()
      }, ${
        Math.round((options.now - (validUntil as number)) / 1000)
      } s ago (a cache or mirror may be serving an old copy)`,
    );
  }
  if (options.now < (validAfter as number) - CLOCK_SKEW_MS) {
    return fail(
      "not-yet-valid",
      `The relay list is not valid yet: it starts at ${
        new Date(validAfter as number).toISOString()
      } (check this machine's clock)`,
    );
  }
  if (!Array.isArray(doc.relays)) {
    return fail("malformed", "The relay list's relays are not a JSON array");
  }
  const names = new Set<string>();
  const keys = new Set<string>();
  for (const [i, entry] of (doc.relays as unknown[]).entries()) {
    const checked = checkEntry(entry, directory!.signing_key as string);
    if (!checked.ok) {
      return fail(
        "bad-relay",
        `The relay list's entry ${i} is bad: ${checked.error}`,
      );
    }
    const d = checked.value.descriptor;
    if (names.has(d.name) || keys.has(d.noise_key)) {
      return fail("bad-relay", `The relay list names a relay twice: ${d.name}`);
    }
    names.add(d.name);
    keys.add(d.noise_key);
  }
  return { ok: true, value: doc as unknown as RelayList };
}

function checkEntry(
  entry: unknown,
  directoryKey: string,
): Checked<RelayListEntry> {
  if (typeof entry !== "object" || entry === null) {
    return { ok: false, error: "it is not a JSON object" };
  }
  const { descriptor, status, ...rest } = entry as Record<string, unknown>;
  if (Object.keys(rest).length > 0) {
    return { ok: false, error: "it has unknown members" };
  }
  const parsed = parseDescriptor(descriptor);
  if (!parsed.ok) return parsed;
  const d = parsed.value;
  if (d.directory_key !== directoryKey) {
    return { ok: false, error: `${d.name} registered with another directory` };
  }
  if (
    !verifyObject(
      descriptor as Record<string, unknown>,
      Uint8Array.fromBase64(d.signing_key),
    )
  ) {
    return {
      ok: false,
      error: `the descriptor of ${d.name} is not signed by its relay`,
    };
  }
  const s = status as Record<string, unknown> | null;
  if (
    typeof s !== "object" || s === null || Object.keys(s).length !== 3 ||
    !Number.isSafeInteger(s.first_seen) || !Number.isSafeInteger(s.last_seen)
  ) {
    return { ok: false, error: `the status of ${d.name} is malformed` };
  }
  if (!parseLoad(s.load).ok) {
    return { ok: false, error: `the load of ${d.name} is malformed` };
  }
  return {
    ok: true,
    value: { descriptor: d, status: s as unknown as RelayStatus },
  };
}
