/**
 * The encoder of inner messages (docs/PROTOCOL.md §1.2). Import it from
 * `message.ts` or `mod.ts`.
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
  MAX_FORWARD_PACKET_SIZE,
  MAX_MESSAGE_SIZE,
  MAX_RENDEZVOUS_CANDIDATES,
  MessageKind,
  STREAM_DATA_HEADER_SIZE,
  STREAM_FLAG_FIN,
} from "./constants.ts";
import { checkBytes, checkUint, checkUint64, Writer } from "./cursor.ts";
import {
  endpointAddressBytes,
  endpointSizeOf,
  writeEndpoint,
} from "./endpoint.ts";
import {
  checkCandidates,
  checkReason,
  nameBytes,
  textBytes,
  writeCandidates,
} from "./fields.ts";
import type { Message } from "./message.ts";

function checkOffset(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot encode ${field} as it is not an integer in [0, 2^53): ${value}`,
    );
  }
}

function begin(size: number, kind: MessageKind): Writer {
  const w = new Writer(size);
  w.u8(kind);
  return w;
}

/**
 * Encode an inner message (the plaintext of one `TRANSPORT` packet).
 *
 * @throws {TypeError} for an unknown kind or a field of the wrong type
 * @throws {RangeError} for a field out of its range or too long
 *
 * @example
 * ```ts
 * import { encodeMessage, MessageKind } from "./mod.ts";
 * encodeMessage({ kind: MessageKind.CONNECT, requestId: 1, target: "bob" });
 * ```
 */
export function encodeMessage(message: Message): Uint8Array<ArrayBuffer> {
  switch (message?.kind) {
    case MessageKind.PADDING: {
      checkUint("padding size", message.size, 16);
      if (message.size < 1 || message.size > MAX_MESSAGE_SIZE) {
        throw new RangeError(
          `Cannot encode padding as its size is not 1–${MAX_MESSAGE_SIZE}: ${message.size}`,
        );
      }
      return new Uint8Array(message.size); // kind 0x00, then zeros
    }
    case MessageKind.REGISTER: {
      const name = nameBytes("name", message.name);
      const list = checkCandidates(
        "candidates",
        message.candidates,
        MAX_CANDIDATES,
      );
      const w = begin(2 + name.length + list.size, message.kind);
      w.u8(name.length);
      w.put(name);
      writeCandidates(w, list);
      return w.finish();
    }
    case MessageKind.REGISTERED: {
      const address = endpointAddressBytes(message.observed, "observed");
      checkUint("keepaliveMs", message.keepaliveMs, 32);
      checkUint("lifetimeMs", message.lifetimeMs, 32);
      const w = begin(9 + endpointSizeOf(address), message.kind);
      writeEndpoint(w, address, message.observed.port);
      w.u32(message.keepaliveMs);
      w.u32(message.lifetimeMs);
      return w.finish();
    }
    case MessageKind.REFUSED: {
      checkUint("requestKind", message.requestKind, 8);
      checkReason("reason", message.reason);
      checkUint("limit", message.limit, 32);
      const text = textBytes("text", message.text);
      const w = begin(8 + text.length, message.kind);
      w.u8(message.requestKind);
      w.u8(message.reason);
      w.u32(message.limit);
      w.u8(text.length);
      w.put(text);
      return w.finish();
    }
    case MessageKind.KEEPALIVE: {
      const list = checkCandidates(
        "candidates",
        message.candidates,
        MAX_CANDIDATES,
      );
      const w = begin(1 + list.size, message.kind);
      writeCandidates(w, list);
      return w.finish();
    }
    case MessageKind.CONNECT: {
      checkUint("requestId", message.requestId, 32);
      const target = nameBytes("target", message.target);
      const w = begin(6 + target.length, message.kind);
      w.u32(message.requestId);
      w.u8(target.length);
      w.put(target);
      return w.finish();
    }
    case MessageKind.RENDEZVOUS: {
      checkUint("requestId", message.requestId, 32);
      checkUint64("circuitId", message.circuitId);
      checkBytes("peerKey", message.peerKey, KEY_SIZE);
      const name = nameBytes("peerName", message.peerName);
      checkUint("startInMs", message.startInMs, 16);
      const list = checkCandidates(
        "candidates",
        message.candidates,
        MAX_RENDEZVOUS_CANDIDATES,
      );
      const size = 1 + 4 + 8 + KEY_SIZE + 1 + name.length + 2 + list.size;
      const w = begin(size, message.kind);
      w.u32(message.requestId);
      w.u64(message.circuitId);
      w.put(message.peerKey);
      w.u8(name.length);
      w.put(name);
      w.u16(message.startInMs);
      writeCandidates(w, list);
      return w.finish();
    }
    case MessageKind.FORWARD: {
      checkUint64("circuitId", message.circuitId);
      checkBytes("packet", message.packet, 1, MAX_FORWARD_PACKET_SIZE);
      const w = begin(9 + message.packet.length, message.kind);
      w.u64(message.circuitId);
      w.put(message.packet);
      return w.finish();
    }
    case MessageKind.CIRCUIT_CLOSED: {
      checkUint64("circuitId", message.circuitId);
      checkReason("reason", message.reason);
      const w = begin(10, message.kind);
      w.u64(message.circuitId);
      w.u8(message.reason);
      return w.finish();
    }
    case MessageKind.UNREGISTER:
      return begin(1, message.kind).finish();
    case MessageKind.PATH_PROBE: {
      checkUint64("probeId", message.probeId);
      const w = begin(9, message.kind);
      w.u64(message.probeId);
      return w.finish();
    }
    case MessageKind.PATH_PROBE_ACK: {
      checkUint64("probeId", message.probeId);
      const address = endpointAddressBytes(message.observed, "observed");
      const w = begin(9 + endpointSizeOf(address), message.kind);
      w.u64(message.probeId);
      writeEndpoint(w, address, message.observed.port);
      return w.finish();
    }
    case MessageKind.STREAM_DATA: {
      checkUint("streamId", message.streamId, 16);
      if (typeof message.fin !== "boolean") {
        throw new TypeError(
          `Cannot encode fin as it is not a boolean: ${typeof message.fin}`,
        );
      }
      checkOffset("offset", message.offset);
      const max = MAX_MESSAGE_SIZE - STREAM_DATA_HEADER_SIZE;
      checkBytes("data", message.data, 0, max);
      // §1.2: the end of the data is an offset too, so it stays below 2^53.
      checkOffset("offset + data length", message.offset + message.data.length);
      const w = begin(
        STREAM_DATA_HEADER_SIZE + message.data.length,
        message.kind,
      );
      w.u16(message.streamId);
      w.u8(message.fin ? STREAM_FLAG_FIN : 0);
      w.u53(message.offset);
      w.put(message.data);
      return w.finish();
    }
    case MessageKind.STREAM_ACK: {
      checkUint("streamId", message.streamId, 16);
      checkOffset("cumulative", message.cumulative);
      checkUint("window", message.window, 32);
      const ranges = message.ranges;
      if (!Array.isArray(ranges)) {
        throw new TypeError("Cannot encode ranges as it is not an array");
      }
      if (ranges.length > MAX_ACK_RANGES) {
        throw new RangeError(
          `Cannot encode ranges as there are more than ${MAX_ACK_RANGES}: ${ranges.length}`,
        );
      }
      let previous = message.cumulative;
      for (let i = 0; i < ranges.length; i++) {
        const { start, end } = ranges[i];
        checkOffset(`ranges[${i}].start`, start);
        checkOffset(`ranges[${i}].end`, end);
        // §1.2: cumulative < start < end, and a gap before every range.
        if (!(start > previous && end > start)) {
          throw new RangeError(
            `Cannot encode ranges[${i}] as it is empty, unordered or touches the one before: [${start}, ${end})`,
          );
        }
        previous = end;
      }
      const w = begin(16 + 16 * ranges.length, message.kind);
      w.u16(message.streamId);
      w.u53(message.cumulative);
      w.u32(message.window);
      w.u8(ranges.length);
      for (const range of ranges) {
        w.u53(range.start);
        w.u53(range.end);
      }
      return w.finish();
    }
    case MessageKind.CLOSE: {
      checkReason("reason", message.reason);
      const text = textBytes("text", message.text);
      const w = begin(3 + text.length, message.kind);
      w.u8(message.reason);
      w.u8(text.length);
      w.put(text);
      return w.finish();
    }
    case MessageKind.NAT_INFO: {
      if (!isNatMapping(message.mapping)) {
        throw new RangeError(
          `Cannot encode mapping as it is not a NAT mapping of §1.2: ${message.mapping}`,
        );
      }
      checkUint("birthdaySockets", message.birthdaySockets, 16);
      if (message.birthdaySockets > MAX_BIRTHDAY_SOCKETS) {
        throw new RangeError(
          `Cannot encode birthdaySockets above ${MAX_BIRTHDAY_SOCKETS}: ${message.birthdaySockets}`,
        );
      }
      const w = begin(5, message.kind);
      w.u8(message.mapping);
      w.u8(0);
      w.u16(message.birthdaySockets);
      return w.finish();
    }
    case MessageKind.CELL: {
      checkUint("circuitId", message.circuitId, 32);
      checkUint("command", message.command, 8);
      checkBytes("body", message.body, CELL_BODY_SIZE);
      const w = begin(6 + CELL_BODY_SIZE, message.kind);
      w.u32(message.circuitId);
      w.u8(message.command);
      w.put(message.body);
      return w.finish();
    }
    default:
      throw new TypeError(
        `Cannot encode message as its kind is unknown: ${
          (message as { kind?: unknown })?.kind
        }`,
      );
  }
}
