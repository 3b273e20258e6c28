/**
 * The translation table of a UDP NAT as RFC 4787 describes it, with no I/O:
 * mapping behaviour (§4.1), filtering behaviour (§5), port assignment
 * (§4.2.1), mapping refresh by outbound traffic (§4.3), and, on request, the
 * conntrack quirk of a plain Linux MASQUERADE router. The in-memory network
 * (`memory_network.ts`) puts one {@linkcode NatTable} in each NAT device.
 *
 * @module
 */

import type { Endpoint } from "../wire/mod.ts";

/**
 * How much of the remote endpoint a NAT looks at (RFC 4787 §4.1 for mapping,
 * §5 for filtering): nothing, its address, or its address and port.
 */
export type NatBehaviour =
  | "endpoint-independent"
  | "address-dependent"
  | "address-and-port-dependent";

/**
 * How a NAT picks the public port of a new mapping: keep the internal port
 * when it is free and otherwise pick at random (RFC 4787 §4.2.1 "port
 * preservation"), hand ports out in increasing order, or always pick at
 * random.
 */
export type PortAllocation = "preserve" | "sequential" | "random";

/** What a NAT does; every field but the two behaviours has a default. */
export interface NatBehaviourOptions {
  /** RFC 4787 §4.1: when a new public port is needed. */
  mapping: NatBehaviour;
  /** RFC 4787 §5: which outside endpoints may send in through a mapping. */
  filtering: NatBehaviour;
  /**
   * A mapping (and each filter permission) lives this long after the last
   * outbound packet through it; inbound packets do not refresh it (RFC 4787
   * REQ-6). Default 30 000.
   */
  mappingTimeoutMs?: number;
  /** Default `"preserve"`. */
  portAllocation?: PortAllocation;
  /**
   * Whether a host inside may reach another host inside through their public
   * endpoints (RFC 4787 §6). Default false: many home routers do not.
   */
  hairpinning?: boolean;
  /**
   * Behave like Linux conntrack under MASQUERADE. An unsolicited inbound
   * packet leaves a half-open entry for its (public port, remote endpoint)
   * tuple, kept alive by more such packets for `mappingTimeoutMs`. A public
   * port is only ever taken per remote tuple, so flows to different remotes
   * share the preserved port; but a new mapping towards a remote whose tuple
   * on that port is held by a half-open entry gets a different port. Meant
   * for the per-flow mapping Linux does: `"address-and-port-dependent"`
   * mapping with `"preserve"` allocation. Default false.
   */
  linuxConntrackQuirk?: boolean;
}

/** Well-known NAT types in RFC 4787 terms. */
export const NAT_PRESETS = {
  /** RFC 3489 "full cone": anyone may send in once a mapping exists. */
  fullCone: {
    mapping: "endpoint-independent",
    filtering: "endpoint-independent",
  },
  /** RFC 3489 "restricted cone": addresses the host has sent to. */
  restrictedCone: {
    mapping: "endpoint-independent",
    filtering: "address-dependent",
  },
  /** RFC 3489 "port restricted cone": endpoints the host has sent to. */
  portRestrictedCone: {
    mapping: "endpoint-independent",
    filtering: "address-and-port-dependent",
  },
  /** RFC 3489 "symmetric": a new random public port per destination. */
  symmetric: {
    mapping: "address-and-port-dependent",
    filtering: "address-and-port-dependent",
    portAllocation: "random",
  },
  /** A plain Linux router doing `iptables -j MASQUERADE`. */
  linuxMasquerade: {
    mapping: "address-and-port-dependent",
    filtering: "address-and-port-dependent",
    portAllocation: "preserve",
    linuxConntrackQuirk: true,
  },
} as const satisfies Record<string, NatBehaviourOptions>;

/** Why a NAT dropped a packet. */
export type NatDropReason =
  /** Inbound to a public port with no live mapping. */
  | "nat-no-mapping"
  /** Inbound through a live mapping from an endpoint the filter refuses. */
  | "nat-filtered"
  /** Outbound needing a new mapping when no public port is free. */
  | "nat-ports-exhausted";

/** The outcome of {@linkcode NatTable.outbound}. */
export type NatOutbound =
  | { ok: true; publicPort: number }
  | { ok: false; reason: "nat-ports-exhausted" };

/** The outcome of {@linkcode NatTable.inbound}. */
export type NatInbound =
  | { ok: true; internal: Endpoint }
  | { ok: false; reason: "nat-no-mapping" | "nat-filtered" };

/** A live mapping, as {@linkcode NatTable.mappings} reports it. */
export interface NatMappingInfo {
  internal: Endpoint;
  publicPort: number;
  /**
   * The part of the remote endpoint the mapping is for: absent for
   * endpoint-independent mapping, an address for address-dependent, an
   * address and port for address-and-port-dependent.
   */
  remote?: { address: string; port?: number };
  /** When it expires unless refreshed by outbound traffic. */
  expiresAtMs: number;
}

const BEHAVIOURS: readonly NatBehaviour[] = [
  "endpoint-independent",
  "address-dependent",
  "address-and-port-dependent",
];
const ALLOCATIONS: readonly PortAllocation[] = [
  "preserve",
  "sequential",
  "random",
];
/** Ports handed out when the internal one is not kept. */
const FIRST_DYNAMIC_PORT = 1024;
const LAST_PORT = 65535;
const RANDOM_PORT_TRIES = 32;

/** The remote part of a mapping; an absent field matches anything. */
interface Scope {
  address?: string;
  port?: number;
}

interface Mapping {
  key: string;
  internal: Endpoint;
  scope: Scope;
  publicPort: number;
  lastOutboundMs: number;
  /** Filter key of each remote sent to, with the time of the last send. */
  permissions: Map<string, number>;
}

interface HalfOpen {
  publicPort: number;
  remote: Endpoint;
  lastInboundMs: number;
}

function endpointKey(endpoint: Endpoint): string {
  return `${endpoint.address}|${endpoint.port}`;
}

function scopeOf(behaviour: NatBehaviour, remote: Endpoint): Scope {
  if (behaviour === "endpoint-independent") return {};
  if (behaviour === "address-dependent") return { address: remote.address };
  return { address: remote.address, port: remote.port };
}

function scopeKey(scope: Scope): string {
  return `${scope.address ?? "*"}|${scope.port ?? "*"}`;
}

function scopesOverlap(a: Scope, b: Scope): boolean {
  return (a.address === undefined || b.address === undefined ||
    a.address === b.address) &&
    (a.port === undefined || b.port === undefined || a.port === b.port);
}

function inScope(scope: Scope, remote: Endpoint): boolean {
  return scopesOverlap(scope, remote);
}

/**
 * One NAT's mappings and filter state. Times are milliseconds on whatever
 * clock the caller uses; nothing happens between calls, expired entries are
 * noticed when next looked at.
 *
 * @example
 * ```ts
 * import { NAT_PRESETS, NatTable } from "./nat_behaviour.ts";
 *
 * const nat = new NatTable(NAT_PRESETS.portRestrictedCone);
 * const host = { address: "10.0.0.2", port: 5000 };
 * const server = { address: "192.0.2.1", port: 3478 };
 * nat.outbound(host, server, 0); // { ok: true, publicPort: 5000 }
 * nat.inbound(5000, server, 10); // { ok: true, internal: host }
 * nat.inbound(5000, { address: "192.0.2.9", port: 1 }, 10); // nat-filtered
 * ```
 */
export class NatTable {
  /** The options with their defaults filled in. */
  readonly config: Readonly<Required<NatBehaviourOptions>>;
  readonly #random: () => number;
  #byKey = new Map<string, Mapping>();
  #byPort = new Map<number, Mapping[]>();
  #halfOpen = new Map<string, HalfOpen>();
  #nextSequentialPort: number | undefined;

  constructor(
    options: NatBehaviourOptions,
    deps: { random?: () => number } = {},
  ) {
    this.config = checkOptions(options);
    this.#random = deps.random ?? Math.random;
  }

  /**
   * Translates the source of a packet from `internal` to `remote` sent at
   * `nowMs`: finds or creates the mapping, refreshes it and lets `remote`
   * through the filter.
   */
  outbound(internal: Endpoint, remote: Endpoint, nowMs: number): NatOutbound {
    this.#expire(nowMs);
    const scope = scopeOf(this.config.mapping, remote);
    const key = `${endpointKey(internal)}>${scopeKey(scope)}`;
    let mapping = this.#byKey.get(key);
    if (mapping === undefined) {
      const publicPort = this.#allocate(internal.port, scope);
      if (publicPort === undefined) {
        return { ok: false, reason: "nat-ports-exhausted" };
      }
      mapping = {
        key,
        internal: { ...internal },
        scope,
        publicPort,
        lastOutboundMs: nowMs,
        permissions: new Map(),
      };
      this.#byKey.set(key, mapping);
      const onPort = this.#byPort.get(publicPort);
      if (onPort === undefined) this.#byPort.set(publicPort, [mapping]);
      else onPort.push(mapping);
    }
    mapping.lastOutboundMs = nowMs;
    mapping.permissions.set(this.#filterKey(remote), nowMs);
    return { ok: true, publicPort: mapping.publicPort };
  }

  /**
   * Decides on a packet from `remote` arriving at `publicPort` at `nowMs`,
   * and on success says which internal endpoint it goes to.
   */
  inbound(publicPort: number, remote: Endpoint, nowMs: number): NatInbound {
    this.#expire(nowMs);
    const candidates = this.#byPort.get(publicPort) ?? [];
    const filterKey = this.#filterKey(remote);
    for (const mapping of candidates) {
      const permitted = mapping.permissions.get(filterKey);
      if (
        permitted !== undefined &&
        nowMs < permitted + this.config.mappingTimeoutMs
      ) {
        return { ok: true, internal: { ...mapping.internal } };
      }
    }
    if (this.config.linuxConntrackQuirk) {
      // Conntrack tracks the unsolicited flow even though nothing accepts
      // it, and the entry holds the tuple (remote → public port) until it
      // times out.
      const key = `${publicPort}>${endpointKey(remote)}`;
      this.#halfOpen.set(key, {
        publicPort,
        remote: { ...remote },
        lastInboundMs: nowMs,
      });
    }
    return {
      ok: false,
      reason: candidates.length === 0 ? "nat-no-mapping" : "nat-filtered",
    };
  }

  /** The live mappings at `nowMs`, oldest first. */
  mappings(nowMs: number): NatMappingInfo[] {
    this.#expire(nowMs);
    return [...this.#byKey.values()].map((mapping) => {
      const info: NatMappingInfo = {
        internal: { ...mapping.internal },
        publicPort: mapping.publicPort,
        expiresAtMs: mapping.lastOutboundMs + this.config.mappingTimeoutMs,
      };
      const { address, port } = mapping.scope;
      if (address !== undefined) {
        info.remote = port === undefined ? { address } : { address, port };
      }
      return info;
    });
  }

  /** Forgets every mapping and half-open entry, as a reboot would. */
  clear(): void {
    this.#byKey.clear();
    this.#byPort.clear();
    this.#halfOpen.clear();
  }

  #filterKey(remote: Endpoint): string {
    const filtering = this.config.filtering;
    if (filtering === "endpoint-independent") return "";
    if (filtering === "address-dependent") return remote.address;
    return endpointKey(remote);
  }

  #expire(nowMs: number): void {
    const timeout = this.config.mappingTimeoutMs;
    for (const mapping of this.#byKey.values()) {
      if (nowMs < mapping.lastOutboundMs + timeout) {
        for (const [key, at] of mapping.permissions) {
          if (nowMs >= at + timeout) mapping.permissions.delete(key);
        }
        continue;
      }
      this.#byKey.delete(mapping.key);
      const onPort = this.#byPort.get(mapping.publicPort)!;
      onPort.splice(onPort.indexOf(mapping), 1);
      if (onPort.length === 0) this.#byPort.delete(mapping.publicPort);
    }
    for (const [key, entry] of this.#halfOpen) {
      if (nowMs >= entry.lastInboundMs + timeout) this.#halfOpen.delete(key);
    }
  }

  #isFree(port: number, scope: Scope): boolean {
    const onPort = this.#byPort.get(port);
    if (!this.config.linuxConntrackQuirk) return onPort === undefined;
    // Conntrack only needs the reply tuple (remote → public port) to be
    // unique, so a port is shared between flows to different remotes.
    if (onPort?.some((mapping) => scopesOverlap(mapping.scope, scope))) {
      return false;
    }
    for (const entry of this.#halfOpen.values()) {
      if (entry.publicPort === port && inScope(scope, entry.remote)) {
        return false;
      }
    }
    return true;
  }

  #allocate(internalPort: number, scope: Scope): number | undefined {
    const allocation = this.config.portAllocation;
    if (allocation === "preserve" && this.#isFree(internalPort, scope)) {
      return internalPort;
    }
    const span = LAST_PORT - FIRST_DYNAMIC_PORT + 1;
    const randomPort = () =>
      FIRST_DYNAMIC_PORT + Math.floor(this.#random() * span);
    let start: number;
    if (allocation === "sequential") {
      start = this.#nextSequentialPort ??= randomPort();
    } else {
      for (let i = 0; i < RANDOM_PORT_TRIES; i++) {
        const port = randomPort();
        if (this.#isFree(port, scope)) return port;
      }
      start = randomPort();
    }
    for (let i = 0; i < span; i++) {
      const port = FIRST_DYNAMIC_PORT + (start - FIRST_DYNAMIC_PORT + i) % span;
      if (this.#isFree(port, scope)) {
        if (allocation === "sequential") {
          this.#nextSequentialPort = port === LAST_PORT
            ? FIRST_DYNAMIC_PORT
            : port + 1;
        }
        return port;
      }
    }
    return undefined;
  }
}

function checkOptions(
  options: NatBehaviourOptions,
): Readonly<Required<NatBehaviourOptions>> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      "Cannot configure a NAT as its options are not an object",
    );
  }
  for (const field of ["mapping", "filtering"] as const) {
    if (!BEHAVIOURS.includes(options[field])) {
      throw new TypeError(
        `Cannot configure a NAT as its ${field} behaviour is unknown: ${
          options[field]
        }`,
      );
    }
  }
  const config = {
    mapping: options.mapping,
    filtering: options.filtering,
    mappingTimeoutMs: options.mappingTimeoutMs ?? 30_000,
    portAllocation: options.portAllocation ?? "preserve",
    hairpinning: options.hairpinning ?? false,
    linuxConntrackQuirk: options.linuxConntrackQuirk ?? false,
  };
  if (!(config.mappingTimeoutMs > 0)) {
    throw new RangeError(
      `Cannot configure a NAT as its mapping timeout is not positive: ${config.mappingTimeoutMs}`,
    );
  }
  if (!ALLOCATIONS.includes(config.portAllocation)) {
    throw new TypeError(
      `Cannot configure a NAT as its port allocation is unknown: ${config.portAllocation}`,
    );
  }
  return Object.freeze(config);
}
