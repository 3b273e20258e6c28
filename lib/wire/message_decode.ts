/**
 * The strict decoder of inner messages (docs/PROTOCOL.md §1.2). Import it
 * from `message.ts` or `mod.ts`.
 *
 * @module
 */

import {
  CELL_BODY_SIZE,
  isNatMapping,
  KEY_SIZE,
  MAX_ACK_RANGES,
  MAX_BIRTHDAY_SOCKETS,
  MAX_CANDIDATES,
  MAX_MESSAGE_SIZE,
  MAX_RENDEZVOUS_CANDIDATES,
  MAX_STREAM_OFFSET,
  MessageKind,
  STREAM_FLAG_FIN,
} from "./constants.ts";
import { Reader } from "./cursor.ts";
import { readEndpoint } from "./endpoint.ts";
import { readCandidates, readName, readReason, readText } from "./fields.ts";
import type { AckRange, Message } from "./message.ts";
import { type DecodeResult, fail, ok } from "./result.ts";

function truncated(kind: string): DecodeResult<never> {
  return fail("truncated", `${kind} cut short`);
}

function decodeRegister(r: Reader): DecodeResult<Message> {
  const name = readName(r);
  if (!name.ok) return name;
  const candidates = readCandidates(r, MAX_CANDIDATES);
  if (!candidates.ok) return candidates;
  return ok({
    kind: MessageKind.REGISTER,
    name: name.value,
    candidates: candidates.value,
  });
}

function decodeRegistered(r: Reader): DecodeResult<Message> {
  const observed = readEndpoint(r);
  if (!observed.ok) return observed;
  if (!r.has(8)) return truncated("REGISTERED");
  return ok({
    kind: MessageKind.REGISTERED,
    observed: observed.value,
    keepaliveMs: r.u32(),
    lifetimeMs: r.u32(),
  });
}

function decodeRefused(r: Reader): DecodeResult<Message> {
  if (!r.has(1)) return truncated("REFUSED");
  const requestKind = r.u8();
  const reason = readReason(r);
  if (!reason.ok) return reason;
  if (!r.has(4)) return truncated("REFUSED");
  const limit = r.u32();
  const text = readText(r);
  if (!text.ok) return text;
  return ok({
    kind: MessageKind.REFUSED,
    requestKind,
    reason: reason.value,
    limit,
    text: text.value,
  });
}

function decodeKeepalive(r: Reader): DecodeResult<Message> {
  const candidates = readCandidates(r, MAX_CANDIDATES);
  if (!candidates.ok) return candidates;
  return ok({ kind: MessageKind.KEEPALIVE, candidates: candidates.value });
}

function decodeConnect(r: Reader): DecodeResult<Message> {
  if (!r.has(4)) return truncated("CONNECT");
  const requestId = r.u32();
  const target = readName(r);
  if (!target.ok) return target;
  return ok({ kind: MessageKind.CONNECT, requestId, target: target.value });
}

function decodeRendezvous(r: Reader): DecodeResult<Message> {
  if (!r.has(4 + 8 + KEY_SIZE)) return truncated("RENDEZVOUS");
  const requestId = r.u32();
  const circuitId = r.u64();
  const peerKey = r.take(KEY_SIZE);
  const peerName = readName(r);
  if (!peerName.ok) return peerName;
  if (!r.has(2)) return truncated("RENDEZVOUS");
  const startInMs = r.u16();
  const candidates = readCandidates(r, MAX_RENDEZVOUS_CANDIDATES);
  if (!candidates.ok) return candidates;
  return ok({
    kind: MessageKind.RENDEZVOUS,
    requestId,
    circuitId,
    peerKey,
    peerName: peerName.value,
    startInMs,
    candidates: candidates.value,
  });
}

function decodeForward(r: Reader): DecodeResult<Message> {
  if (!r.has(8)) return truncated("FORWARD");
  const circuitId = r.u64();
  // The size cap on the whole message keeps the packet within
  // MAX_FORWARD_PACKET_SIZE; here only emptiness is left to reject.
  if (r.remaining === 0) return fail("bad-length", "FORWARD without a packet");
  return ok({ kind: MessageKind.FORWARD, circuitId, packet: r.rest() });
}

function decodeCircuitClosed(r: Reader): DecodeResult<Message> {
  if (!r.has(8)) return truncated("CIRCUIT_CLOSED");
  const circuitId = r.u64();
  const reason = readReason(r);
  if (!reason.ok) return reason;
  return ok({
    kind: MessageKind.CIRCUIT_CLOSED,
    circuitId,
    reason: reason.value,
  });
}

function decodePathProbeAck(r: Reader): DecodeResult<Message> {
  if (!r.has(8)) return truncated("PATH_PROBE_ACK");
  const probeId = r.u64();
  const observed = readEndpoint(r);
  if (!observed.ok) return observed;
  return ok({
    kind: MessageKind.PATH_PROBE_ACK,
    probeId,
    observed: observed.value,
  });
}

function decodeStreamData(r: Reader): DecodeResult<Message> {
  if (!r.has(11)) return truncated("STREAM_DATA");
  const streamId = r.u16();
  const flags = r.u8();
  if ((flags & ~STREAM_FLAG_FIN) !== 0) {
    return fail(
      "bad-field",
      `reserved stream flags set: 0x${flags.toString(16)}`,
    );
  }
  const offset = r.u53();
  if (offset < 0) return fail("bad-field", "stream offset not below 2^53");
  const data = r.rest();
  if (offset + data.length > MAX_STREAM_OFFSET) {
    return fail("bad-field", "stream data ends beyond 2^53 − 1");
  }
  return ok({
    kind: MessageKind.STREAM_DATA,
    streamId,
    fin: flags === STREAM_FLAG_FIN,
    offset,
    data,
  });
}

function decodeStreamAck(r: Reader): DecodeResult<Message> {
  if (!r.has(15)) return truncated("STREAM_ACK");
  const streamId = r.u16();
  const cumulative = r.u53();
  if (cumulative < 0) return fail("bad-field", "cumulative not below 2^53");
  const window = r.u32();
  const count = r.u8();
  if (count > MAX_ACK_RANGES) {
    return fail("bad-length", `too many ranges: ${count} > ${MAX_ACK_RANGES}`);
  }
  if (!r.has(16 * count)) return truncated("STREAM_ACK");
  const ranges: AckRange[] = [];
  let previous = cumulative;
  for (let i = 0; i < count; i++) {
    const start = r.u53();
    const end = r.u53();
    if (start < 0 || end < 0) {
      return fail("bad-field", `range ${i} not below 2^53`);
    }
    // §1.2: cumulative < start < end, and ranges ascending with a gap
    // between them (touching ranges would be a second encoding of one).
    if (!(start > previous && end > start)) {
      return fail("bad-field", `range ${i} empty, unordered or touching`);
    }
    ranges.push({ start, end });
    previous = end;
  }
  return ok({
    kind: MessageKind.STREAM_ACK,
    streamId,
    cumulative,
    window,
    ranges,
  });
}

function decodeClose(r: Reader): DecodeResult<Message> {
  const reason = readReason(r);
  if (!reason.ok) return reason;
  const text = readText(r);
  if (!text.ok) return text;
  return ok({
    kind: MessageKind.CLOSE,
    reason: reason.value,
    text: text.value,
  });
}

function decodeNatInfo(r: Reader): DecodeResult<Message> {
  if (!r.has(4)) return truncated("NAT_INFO");
  const mapping = r.u8();
  if (!isNatMapping(mapping)) {
    return fail("bad-field", `unknown NAT mapping: ${mapping}`);
  }
  const flags = r.u8();
  if (flags !== 0) {
    return fail(
      "bad-field",
      `reserved NAT_INFO flags set: 0x${flags.toString(16)}`,
    );
  }
  const birthdaySockets = r.u16();
  if (birthdaySockets > MAX_BIRTHDAY_SOCKETS) {
    return fail("bad-field", `too many birthday sockets: ${birthdaySockets}`);
  }
  return ok({ kind: MessageKind.NAT_INFO, mapping, birthdaySockets });
}

function decodeCell(r: Reader): DecodeResult<Message> {
  if (!r.has(5 + CELL_BODY_SIZE)) return truncated("CELL");
  return ok({
    kind: MessageKind.CELL,
    circuitId: r.u32(),
    command: r.u8(),
    body: r.take(CELL_BODY_SIZE),
  });
}

function decodeKind(r: Reader, kind: number): DecodeResult<Message> {
  switch (kind) {
    case MessageKind.PADDING:
      if (!r.zeros(r.remaining)) return fail("bad-field", "non-zero padding");
      return ok({ kind, size: r.input.length });
    case MessageKind.REGISTER:
      return decodeRegister(r);
    case MessageKind.REGISTERED:
      return decodeRegistered(r);
    case MessageKind.REFUSED:
      return decodeRefused(r);
    case MessageKind.KEEPALIVE:
      return decodeKeepalive(r);
    case MessageKind.CONNECT:
      return decodeConnect(r);
    case MessageKind.RENDEZVOUS:
      return decodeRendezvous(r);
    case MessageKind.FORWARD:
      return decodeForward(r);
    case MessageKind.CIRCUIT_CLOSED:
      return decodeCircuitClosed(r);
    case MessageKind.UNREGISTER:
      return ok({ kind });
    case MessageKind.PATH_PROBE:
      if (!r.has(8)) return truncated("PATH_PROBE");
      return ok({ kind, probeId: r.u64() });
    case MessageKind.PATH_PROBE_ACK:
      return decodePathProbeAck(r);
    case MessageKind.STREAM_DATA:
      return decodeStreamData(r);
    case MessageKind.STREAM_ACK:
      return decodeStreamAck(r);
    case MessageKind.CLOSE:
      return decodeClose(r);
    case MessageKind.NAT_INFO:
      return decodeNatInfo(r);
    case MessageKind.CELL:
      return decodeCell(r);
    default:
      return fail("bad-type", `unknown message kind: 0x${kind.toString(16)}`);
  }
}

/**
 * Decode one inner message, strictly: whatever it accepts re-encodes with
 * `encodeMessage` to the same bytes. Never throws.
 *
 * @example
 * ```ts
 * import { decodeMessage, MessageKind } from "./mod.ts";
 * const result = decodeMessage(new Uint8Array([0x18]));
 * if (result.ok && result.value.kind === MessageKind.UNREGISTER) {
 *   // drop the reservation
 * }
 * ```
 */
export function decodeMessage(input: Uint8Array): DecodeResult<Message> {
  if (input.length > MAX_MESSAGE_SIZE) {
    return fail("too-large", `message of ${input.length} bytes`);
  }
  if (input.length === 0) {
    return fail("truncated", "empty message (a keepalive is not a message)");
  }
  const r = new Reader(input);
  const result = decodeKind(r, r.u8());
  if (result.ok && r.remaining !== 0) {
    return fail("bad-length", `${r.remaining} trailing bytes`);
  }
  return result;
}
