/**
 * Classifying this side's NAT from STUN answers (RFC 4787 terms, RFC 5780
 * method): mapping from two servers' view of the same local port, filtering
 * from whether an answer from another port gets through.
 *
 * @module
 */

import { type Endpoint, NatMapping } from "../wire/mod.ts";
import type { BindingResult } from "./stun_client.ts";

/** What was observed. */
export interface NatObservation {
  /** Our own addresses (interfaces) and port. */
  local: Endpoint[];
  /** The answer of the first server (the relay). */
  first?: BindingResult;
  /** The answer of a second destination (another port or server). */
  second?: BindingResult;
  /** Whether an answer sent from another port of the first server came in. */
  changePort: "answered" | "silent" | "untested";
}

/** RFC 4787 mapping behaviour, as far as we can tell. */
export type MappingBehaviour =
  | "no-nat"
  | "endpoint-independent"
  | "endpoint-dependent"
  | "unknown";

/** Filtering behaviour, as far as one IP with two ports can tell. */
export type FilteringBehaviour =
  | "open-to-other-ports"
  | "address-and-port-dependent"
  | "unknown";

/** The verdict with its reasons. */
export interface NatClassification {
  public?: Endpoint;
  behindNat?: boolean;
  portPreserved?: boolean;
  mapping: MappingBehaviour;
  filtering: FilteringBehaviour;
  notes: string[];
}

/** Classifies from an observation; pure. */
export function classifyNat(o: NatObservation): NatClassification {
  const notes: string[] = [];
  if (!o.first) {
    return {
      mapping: "unknown",
      filtering: "unknown",
      notes: ["the relay did not answer STUN: UDP to it may be blocked"],
    };
  }
  const pub = o.first.mapped;
  // Loopback (a relay on this machine) sees us untranslated.
  const behindNat = !pub.address.startsWith("127.") && pub.address !== "::1" &&
    !o.local.some((l) => l.address === pub.address && l.port === pub.port);
  const portPreserved = o.local.some((l) => l.port === pub.port);
  let mapping: MappingBehaviour = "unknown";
  if (!behindNat) {
    mapping = "no-nat";
    notes.push("our address is public: peers can reach us directly");
  } else if (o.second) {
    const same = o.second.mapped.address === pub.address &&
      o.second.mapped.port === pub.port;
    mapping = same ? "endpoint-independent" : "endpoint-dependent";
    notes.push(
      same
        ? "the same public port toward two destinations: peers can punch to it"
        : `a new public port per destination (${pub.port}, then ${o.second.mapped.port}): a symmetric NAT; peers cannot predict our port`,
    );
  } else {
    notes.push(
      "only one STUN destination answered, so the mapping behaviour is unknown (run the relay with --stun-port and --public-address, or pass --stun HOST:PORT)",
    );
  }
  let filtering: FilteringBehaviour = "unknown";
  if (o.changePort === "answered") {
    filtering = "open-to-other-ports";
    notes.push(
      "an answer from another port got in: inbound filtering is loose",
    );
  } else if (o.changePort === "silent" && behindNat) {
    filtering = "address-and-port-dependent";
    notes.push(
      "no answer from another port got in: only endpoints we sent to may answer (hole punching needs both sides to send)",
    );
  }
  return { public: pub, behindNat, portPreserved, mapping, filtering, notes };
}

/** The `NAT_INFO` number of a mapping behaviour (PROTOCOL §1.2). */
export function natMappingNumber(mapping: MappingBehaviour): NatMapping {
  switch (mapping) {
    case "no-nat":
      return NatMapping.NONE;
    case "endpoint-independent":
      return NatMapping.ENDPOINT_INDEPENDENT;
    case "endpoint-dependent":
      return NatMapping.ENDPOINT_DEPENDENT;
    default:
      return NatMapping.UNKNOWN;
  }
}

/** The mapping behaviour a `NAT_INFO` number stands for. */
export function mappingBehaviourOf(mapping: NatMapping): MappingBehaviour {
  switch (mapping) {
    case NatMapping.NONE:
      return "no-nat";
    case NatMapping.ENDPOINT_INDEPENDENT:
      return "endpoint-independent";
    case NatMapping.ENDPOINT_DEPENDENT:
      return "endpoint-dependent";
    default:
      return "unknown";
  }
}
