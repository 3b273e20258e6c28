/**
 * The relay's STUN Binding server (RFC 8489, RFC 5780 port change): any
 * standard STUN client learns its reflexive address from the relay's UDP
 * port, and `altnet punch` classifies NATs with it.
 *
 * Sans-I/O and stateless: one request in, at most one response out, never
 * larger than the request or 32 bytes, whichever is more (no amplification).
 *
 * @module
 */

import {
  CHANGE_IP,
  CHANGE_PORT,
  changeRequestFlags,
  decodeStun,
  encodeBindingError,
  encodeBindingSuccess,
  type Endpoint,
  StunType,
  unknownRequiredAttributes,
} from "../wire/mod.ts";

/** Smallest response budget: header + XOR-MAPPED-ADDRESS (IPv4). */
const MIN_RESPONSE_BUDGET = 32;

/** A response to send, from the main or the alternate port. */
export interface StunReply {
  data: Uint8Array;
  /** Send from the alternate port (RFC 5780 CHANGE-REQUEST port). */
  fromAlternate: boolean;
}

/** Where the relay is reachable, when it knows (for RFC 5780 attributes). */
export interface StunServerAddresses {
  /** The public address of the main port, if known. */
  main?: Endpoint;
  /** The alternate port's public address, if the relay has one. */
  alternate?: Endpoint;
}

/**
 * Answers one STUN datagram received on the main (`onAlternate` false) or
 * the alternate port. Returns undefined for anything that is not a Binding
 * Request (responses, garbage): those are dropped.
 */
export function answerStun(
  data: Uint8Array,
  from: Endpoint,
  context: StunServerAddresses & {
    onAlternate: boolean;
    hasAlternate: boolean;
  },
): StunReply | undefined {
  const decoded = decodeStun(data);
  if (!decoded.ok || decoded.value.type !== StunType.BINDING_REQUEST) {
    return undefined;
  }
  const request = decoded.value;
  const unknown = unknownRequiredAttributes(request);
  const change = changeRequestFlags(request);
  // A relay has one IP: it can change its port (with an alternate port) but
  // never its address, so CHANGE-IP is "unknown" to it, as RFC 5780 §6.1 asks.
  if (
    unknown.length > 0 || (change & CHANGE_IP) ||
    ((change & CHANGE_PORT) && !context.hasAlternate)
  ) {
    const reply = encodeBindingError(request, 420, "Unknown");
    return reply.length <= Math.max(data.length, MIN_RESPONSE_BUDGET)
      ? { data: reply, fromAlternate: false }
      : undefined;
  }
  const fromAlternate = (change & CHANGE_PORT) !== 0
    ? !context.onAlternate
    : context.onAlternate;
  const origin = fromAlternate ? context.alternate : context.main;
  const other = fromAlternate ? context.main : context.alternate;
  return {
    data: encodeBindingSuccess(request, {
      mapped: from,
      responseOrigin: origin,
      otherAddress: other,
      maxSize: Math.max(data.length, MIN_RESPONSE_BUDGET),
    }),
    fromAlternate,
  };
}
