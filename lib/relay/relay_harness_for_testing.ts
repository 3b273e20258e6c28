/**
 * Test-only: a relay core and relay clients wired by direct calls, with one
 * hand-moved clock.
 *
 * @module
 */

import { DH_25519 } from "../crypto/noise/mod.ts";
import { RelayClient, type RelayClientEvent } from "../peer/relay_client.ts";
import type { Endpoint } from "../wire/mod.ts";
import { DEFAULT_LIMITS, type RelayLimits } from "./limits.ts";
import { RelayCore, type RelayEvent } from "./relay_core.ts";

export const RELAY: Endpoint = { address: "203.0.113.1", port: 8000 };

/** A relay and peers wired by direct calls, with one hand-moved clock. */
export class Harness {
  now = 1_000;
  wall = 1_700_000_000_000;
  readonly relayKeys = DH_25519.generateKeyPair();
  readonly core: RelayCore;
  readonly clients = new Map<
    string,
    { client: RelayClient; address: Endpoint; events: RelayClientEvent[] }
  >();
  readonly relayEvents: RelayEvent[] = [];
  /** Datagrams the relay sent, for size checks. */
  readonly sent: { data: Uint8Array; to: Endpoint }[] = [];

  constructor(limits: Partial<RelayLimits> = {}) {
    this.core = new RelayCore({
      staticKeyPair: this.relayKeys,
      limits: { ...DEFAULT_LIMITS, ...limits },
      now: () => this.now,
    });
  }

  addPeer(
    name: string,
    address: Endpoint,
    options: { knowRelayKey?: boolean } = {},
  ) {
    const client = new RelayClient({
      staticKeyPair: DH_25519.generateKeyPair(),
      relay: RELAY,
      relayKey: options.knowRelayKey ? this.relayKeys.publicKey : undefined,
      name,
      candidates: [{ address: "10.0.0.2", port: address.port }],
      now: () => this.now,
      wallClock: () => this.wall++,
    });
    const entry = { client, address, events: [] as RelayClientEvent[] };
    this.clients.set(name, entry);
    return entry;
  }

  /** Moves every datagram until nobody has anything left to send. */
  flush() {
    for (let round = 0; round < 100; round++) {
      let moved = false;
      for (const entry of this.clients.values()) {
        for (let out; (out = entry.client.pollTransmit());) {
          moved = true;
          this.core.receive(out.data, entry.address, this.now);
        }
      }
      for (let out; (out = this.core.pollTransmit());) {
        moved = true;
        this.sent.push(out);
        for (const entry of this.clients.values()) {
          if (
            entry.address.address === out.to.address &&
            entry.address.port === out.to.port
          ) {
            entry.client.receive(out.data, this.now);
          }
        }
      }
      for (const entry of this.clients.values()) {
        for (let e; (e = entry.client.pollEvent());) entry.events.push(e);
      }
      for (let e; (e = this.core.pollEvent());) this.relayEvents.push(e);
      if (!moved) return;
    }
    throw new Error("The exchange did not settle");
  }

  /** Advances the clock, firing timers of everyone on the way. */
  advance(ms: number) {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + 500);
      this.core.onTimeout(this.now);
      for (const { client } of this.clients.values()) {
        client.onTimeout(this.now);
      }
      this.flush();
    }
  }

  event<T extends RelayClientEvent["type"]>(name: string, type: T) {
    return this.clients.get(name)!.events.find((e) => e.type === type) as
      | Extract<RelayClientEvent, { type: T }>
      | undefined;
  }
}

export function registered(
  h: Harness,
  name: string,
  address: Endpoint,
  options = {},
) {
  const entry = h.addPeer(name, address, options);
  entry.client.start(h.now);
  h.flush();
  return entry;
}
