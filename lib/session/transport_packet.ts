/**
 * Framing a session's plaintext as a `TRANSPORT` packet (PROTOCOL §1.1):
 * the 14-byte header is the AEAD's associated data.
 *
 * @module
 */

import type { TransportSession } from "../crypto/transport/mod.ts";
import {
  encodeMessage,
  encodeTransportHeader,
  type Message,
  TRANSPORT_HEADER_SIZE,
} from "../wire/mod.ts";

/**
 * Seals `plaintext` (an encoded inner message, or empty for a keepalive) in
 * `session` and returns the whole `TRANSPORT` packet.
 */
export function sealTransport(
  session: TransportSession,
  plaintext: Uint8Array,
  now?: number,
): Uint8Array {
  const header = new Uint8Array(TRANSPORT_HEADER_SIZE);
  encodeTransportHeader(header, {
    receiverIndex: session.remoteIndex,
    counter: session.nextSendCounter,
  });
  const sealed = session.seal(plaintext, header, now);
  const packet = new Uint8Array(
    TRANSPORT_HEADER_SIZE + sealed.ciphertext.length,
  );
  packet.set(header);
  packet.set(sealed.ciphertext, TRANSPORT_HEADER_SIZE);
  return packet;
}

/** Encodes `message` and seals it as a `TRANSPORT` packet. */
export function sealMessage(
  session: TransportSession,
  message: Message,
  now?: number,
): Uint8Array {
  return sealTransport(session, encodeMessage(message), now);
}
