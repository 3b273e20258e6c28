/**
 * Inner messages of docs/PROTOCOL.md §1.2: the plaintext of a `TRANSPORT`
 * packet is exactly one message, at most `MAX_MESSAGE_SIZE`
 * bytes, starting with its kind. (A zero-length plaintext is a keepalive,
 * not a message; the transport layer handles it before decoding.)
 *
 * Decoded byte fields (`peerKey`, `packet`, `data`, `body`) are views into
 * the input, not copies.
 *
 * @module
 */

import type { MessageKind, NatMapping, ReasonCode } from "./constants.ts";
import type { Endpoint } from "./endpoint.ts";

export { encodeMessage } from "./message_encode.ts";
export { decodeMessage } from "./message_decode.ts";

/** `0x00 PADDING`: cover traffic, all zero bytes; dropped on receipt. */
export interface PaddingMessage {
  /** {@linkcode MessageKind.PADDING} */
  kind: typeof MessageKind.PADDING;
  /** Total encoded size, the kind byte included: 1–`MAX_MESSAGE_SIZE`. */
  size: number;
}

/** `0x10 REGISTER`: a peer asks a relay to hold a name for it. */
export interface RegisterMessage {
  /** {@linkcode MessageKind.REGISTER} */
  kind: typeof MessageKind.REGISTER;
  /** The name to register (§1.2 name). */
  name: string;
  /** The peer's local candidates, at most `MAX_CANDIDATES`. */
  candidates: Endpoint[];
}

/** `0x11 REGISTERED`: the relay holds the reservation. */
export interface RegisteredMessage {
  /** {@linkcode MessageKind.REGISTERED} */
  kind: typeof MessageKind.REGISTERED;
  /** The peer's endpoint as the relay sees it. */
  observed: Endpoint;
  /** How often the peer must send `KEEPALIVE` (32-bit). */
  keepaliveMs: number;
  /** How long the reservation lasts without one (32-bit). */
  lifetimeMs: number;
}

/** `0x12 REFUSED`: a request was refused. */
export interface RefusedMessage {
  /** {@linkcode MessageKind.REFUSED} */
  kind: typeof MessageKind.REFUSED;
  /** The kind byte of the refused request; any byte, known or not. */
  requestKind: number;
  /** Why (§1.3). */
  reason: ReasonCode;
  /** The limit that was hit, 0 when none applies (32-bit). */
  limit: number;
  /** A human explanation, at most 200 bytes of UTF-8. */
  text: string;
}

/** `0x13 KEEPALIVE`: keeps a reservation; re-reports changed candidates. */
export interface KeepaliveMessage {
  /** {@linkcode MessageKind.KEEPALIVE} */
  kind: typeof MessageKind.KEEPALIVE;
  /** The peer's local candidates, at most `MAX_CANDIDATES`. */
  candidates: Endpoint[];
}

/** `0x14 CONNECT`: ask the relay for a circuit to a registered name. */
export interface ConnectMessage {
  /** {@linkcode MessageKind.CONNECT} */
  kind: typeof MessageKind.CONNECT;
  /** Chosen by the asker, echoed in the answer (32-bit). */
  requestId: number;
  /** The name to reach. */
  target: string;
}

/** `0x15 RENDEZVOUS`: the relay introduces two peers to each other. */
export interface RendezvousMessage {
  /** {@linkcode MessageKind.RENDEZVOUS} */
  kind: typeof MessageKind.RENDEZVOUS;
  /** The `CONNECT` answered, or 0 for the peer that did not ask (32-bit). */
  requestId: number;
  /** The relay circuit joining the two peers (64-bit). */
  circuitId: bigint;
  /** The other peer's X25519 public key (32 bytes). */
  peerKey: Uint8Array;
  /** The other peer's name. */
  peerName: string;
  /** When to start punching, from now (16-bit). */
  startInMs: number;
  /** The other peer's candidates, at most `MAX_RENDEZVOUS_CANDIDATES`. */
  candidates: Endpoint[];
}

/** `0x16 FORWARD`: an end-to-end packet carried over a relay circuit. */
export interface ForwardMessage {
  /** {@linkcode MessageKind.FORWARD} */
  kind: typeof MessageKind.FORWARD;
  /** The relay circuit (64-bit). */
  circuitId: bigint;
  /** A whole outer packet, 1–`MAX_FORWARD_PACKET_SIZE` bytes, opaque here. */
  packet: Uint8Array;
}

/** `0x17 CIRCUIT_CLOSED`: the relay closed a circuit. */
export interface CircuitClosedMessage {
  /** {@linkcode MessageKind.CIRCUIT_CLOSED} */
  kind: typeof MessageKind.CIRCUIT_CLOSED;
  /** The relay circuit (64-bit). */
  circuitId: bigint;
  /** Why (§1.3). */
  reason: ReasonCode;
}

/** `0x18 UNREGISTER`: the peer gives up its reservation. */
export interface UnregisterMessage {
  /** {@linkcode MessageKind.UNREGISTER} */
  kind: typeof MessageKind.UNREGISTER;
}

/** `0x20 PATH_PROBE`: is this direct path alive? */
export interface PathProbeMessage {
  /** {@linkcode MessageKind.PATH_PROBE} */
  kind: typeof MessageKind.PATH_PROBE;
  /** Chosen by the prober (64-bit). */
  probeId: bigint;
}

/** `0x21 PATH_PROBE_ACK`: answer to a `PATH_PROBE`. */
export interface PathProbeAckMessage {
  /** {@linkcode MessageKind.PATH_PROBE_ACK} */
  kind: typeof MessageKind.PATH_PROBE_ACK;
  /** The probe answered (64-bit). */
  probeId: bigint;
  /** Where the probe came from. */
  observed: Endpoint;
}

/** `0x22 STREAM_DATA`: bytes of a stream at an offset. */
export interface StreamDataMessage {
  /** {@linkcode MessageKind.STREAM_DATA} */
  kind: typeof MessageKind.STREAM_DATA;
  /** 16-bit stream id. */
  streamId: number;
  /** Whether the stream ends with these bytes. */
  fin: boolean;
  /** Offset of the first byte; `offset + data.length` is below 2^53. */
  offset: number;
  /** The bytes, at most 1202 − 12 = 1190. */
  data: Uint8Array;
}

/** A half-open range `[start, end)` of received stream bytes. */
export interface AckRange {
  /** First offset received. */
  start: number;
  /** One past the last offset received. */
  end: number;
}

/** `0x23 STREAM_ACK`: what a receiver has of a stream. */
export interface StreamAckMessage {
  /** {@linkcode MessageKind.STREAM_ACK} */
  kind: typeof MessageKind.STREAM_ACK;
  /** 16-bit stream id. */
  streamId: number;
  /** Every byte below this offset was received. */
  cumulative: number;
  /** Flow-control window (32-bit). */
  window: number;
  /** Received ranges above `cumulative`: ascending, non-empty, not touching. */
  ranges: AckRange[];
}

/** `0x24 CLOSE`: an end closes the session. */
export interface CloseMessage {
  /** {@linkcode MessageKind.CLOSE} */
  kind: typeof MessageKind.CLOSE;
  /** Why (§1.3). */
  reason: ReasonCode;
  /** A human explanation, at most 200 bytes of UTF-8. */
  text: string;
}

/** `0x30 CELL`: a fixed-size onion cell. */
export interface CellMessage {
  /** {@linkcode MessageKind.CELL} */
  kind: typeof MessageKind.CELL;
  /** Onion circuit on this link (32-bit). */
  circuitId: number;
  /** Cell command (8-bit), defined with onion routing. */
  command: number;
  /** Exactly `CELL_BODY_SIZE` bytes. */
  body: Uint8Array;
}

/**
 * `0x25 NAT_INFO`: end to end, what the sender knows of its own NAT and
 * whether it is ready for birthday probing (docs/PROTOCOL.md §4.4).
 */
export interface NatInfoMessage {
  /** {@linkcode MessageKind.NAT_INFO} */
  kind: typeof MessageKind.NAT_INFO;
  /** The sender's NAT mapping behaviour, one of {@linkcode NatMapping}. */
  mapping: NatMapping;
  /**
   * How many extra sockets the sender holds open for birthday probing now,
   * 0–`MAX_BIRTHDAY_SOCKETS`; 0 when it is not probing (16-bit).
   */
  birthdaySockets: number;
}

/** Any inner message; switch on `kind`. */
export type Message =
  | PaddingMessage
  | RegisterMessage
  | RegisteredMessage
  | RefusedMessage
  | KeepaliveMessage
  | ConnectMessage
  | RendezvousMessage
  | ForwardMessage
  | CircuitClosedMessage
  | UnregisterMessage
  | PathProbeMessage
  | PathProbeAckMessage
  | StreamDataMessage
  | StreamAckMessage
  | CloseMessage
  | NatInfoMessage
  | CellMessage;
