/**
 * The demo of what altnet can do today: two peers with real identities
 * establish Noise sessions over real UDP sockets on 127.0.0.1, exchange
 * encrypted messages, and shrug off an attacker's replayed, tampered and
 * spoofed packets. `altnet demo` prints its steps.
 *
 * @module
 */

import { join } from "node:path";
import type { KeyPair } from "../crypto/noise/mod.ts";
import {
  fingerprint,
  type Identity,
  readOrCreateIdentity,
} from "../identity/mod.ts";
import {
  CookieChecker,
  encodeCookieReply,
  type EstablishedSession,
  HandshakeInitiator,
  InitReplayGuard,
  type PendingResponder,
  respondToInit,
  sealMessage,
} from "../session/mod.ts";
import { type DatagramSocket, openUdpSocket } from "../udp/mod.ts";
import {
  decodeMessage,
  decodePacket,
  decodeTransport,
  MessageKind,
  type Packet,
  PacketType,
  Suite,
  TRANSPORT_HEADER_SIZE,
} from "../wire/mod.ts";

/** One step of the demo, for printing. */
export interface DemoStep {
  /** Short machine name of the step. */
  step: string;
  /** What happened, in one sentence for people. */
  text: string;
  /** Figures of the step (sizes, fingerprints, verdicts). */
  details?: Record<string, unknown>;
}

const keyPairOf = (id: Identity): KeyPair => ({
  publicKey: id.noisePublicKey,
  privateKey: id.noisePrivateKey,
});

/**
 * Runs the demo in `dir` (identities are created there) and reports each
 * step to `report`. Resolves when done; throws if anything misbehaves.
 */
export async function runSessionDemo(
  dir: string,
  report: (step: DemoStep) => void,
): Promise<void> {
  const alice = await readOrCreateIdentity(join(dir, "alice", "identity"));
  const bob = await readOrCreateIdentity(join(dir, "bob", "identity"));
  report({
    step: "identities",
    text: `alice is ${fingerprint(alice.identity.noisePublicKey)}, bob is ${
      fingerprint(bob.identity.noisePublicKey)
    }`,
    details: {
      alice: fingerprint(alice.identity.noisePublicKey),
      bob: fingerprint(bob.identity.noisePublicKey),
    },
  });

  const aliceSocket = await openUdpSocket({ hostname: "127.0.0.1", port: 0 });
  const bobSocket = await openUdpSocket({ hostname: "127.0.0.1", port: 0 });
  const mallorySocket = await openUdpSocket({ hostname: "127.0.0.1", port: 0 });
  const bobPeer = new DemoResponder(bobSocket, keyPairOf(bob.identity));
  const serving = bobPeer.serve();
  try {
    report({
      step: "sockets",
      text: `alice listens on UDP ${endpointText(aliceSocket)}, bob on ${
        endpointText(bobSocket)
      }`,
    });

    // First contact: alice does not know bob's key yet, so XX.
    const xx = new HandshakeInitiator({
      suite: Suite.XX,
      staticKeyPair: keyPairOf(alice.identity),
      senderIndex: randomIndex(),
    });
    const first = await exchange(aliceSocket, xx.packet, bobSocket);
    const cookie = expectPacket(first, PacketType.COOKIE_REPLY);
    report({
      step: "cookie",
      text:
        `bob answered alice's ${xx.packet.length}-byte init with a ${first.length}-byte cookie challenge: no state and no crypto work before alice proves her address`,
      details: { initBytes: xx.packet.length, cookieReplyBytes: first.length },
    });
    if (!xx.acceptCookie(cookie)) throw new Error("Cookie reply refused");
    const reply = expectPacket(
      await exchange(aliceSocket, xx.packet, bobSocket),
      PacketType.HANDSHAKE_REPLY,
    );
    const done = xx.receiveReply(reply);
    if (!done.ok || !done.finalPacket) throw new Error("XX reply refused");
    await aliceSocket.send(done.finalPacket, bobSocket.local);
    const aliceSession = done.established;
    const bobSession = await bobPeer.established;
    report({
      step: "xx",
      text: `first contact (Noise XX): alice sees bob as ${
        fingerprint(aliceSession.remoteStatic!)
      }, bob sees alice as ${fingerprint(bobSession.remoteStatic!)}`,
      details: {
        aliceSeesBob: fingerprint(aliceSession.remoteStatic!),
        bobSeesAlice: fingerprint(bobSession.remoteStatic!),
      },
    });

    const packet = sealText(aliceSession, "hello bob");
    await aliceSocket.send(packet, bobSocket.local);
    const heard = await bobPeer.nextMessage();
    report({
      step: "message",
      text:
        `alice → bob: "${heard}" in a ${packet.length}-byte ChaCha20-Poly1305 packet (${
          packet.subarray(TRANSPORT_HEADER_SIZE, TRANSPORT_HEADER_SIZE + 12)
            .toHex()
        }…)`,
      details: { received: heard, packetBytes: packet.length },
    });

    // Mallory replays, tampers and spoofs.
    await mallorySocket.send(packet, bobSocket.local);
    // A forged packet with a fresh counter: only the AEAD tag can catch it.
    const forged = packet.slice();
    forged[TRANSPORT_HEADER_SIZE - 1] ^= 0x40;
    forged[forged.length - 3] ^= 0x40;
    await mallorySocket.send(forged, bobSocket.local);
    const spoofedInit = new HandshakeInitiator({
      suite: Suite.XX,
      staticKeyPair: keyPairOf(alice.identity),
      senderIndex: randomIndex(),
    });
    const spoofAnswer = await exchange(
      mallorySocket,
      spoofedInit.packet,
      bobSocket,
    );
    await bobPeer.settled();
    report({
      step: "attacks",
      text:
        `mallory's replayed packet was refused (${bobPeer.drops.replay} replay), her forged one failed authentication (${bobPeer.drops.auth} auth), and her init got only a ${spoofAnswer.length}-byte cookie challenge`,
      details: { ...bobPeer.drops, spoofAnswerBytes: spoofAnswer.length },
    });

    // Second session: alice now knows bob's key, so IK (one round trip).
    const ik = new HandshakeInitiator({
      suite: Suite.IK,
      staticKeyPair: keyPairOf(alice.identity),
      remoteStatic: aliceSession.remoteStatic,
      senderIndex: randomIndex(),
    });
    const ikCookie = expectPacket(
      await exchange(aliceSocket, ik.packet, bobSocket),
      PacketType.COOKIE_REPLY,
    );
    ik.acceptCookie(ikCookie);
    const ikReply = expectPacket(
      await exchange(aliceSocket, ik.packet, bobSocket),
      PacketType.HANDSHAKE_REPLY,
    );
    const ikDone = ik.receiveReply(ikReply);
    if (!ikDone.ok) throw new Error("IK reply refused");
    await aliceSocket.send(
      sealText(ikDone.established, "again, via IK"),
      bobSocket.local,
    );
    const heardAgain = await bobPeer.nextMessage();
    // From another address, the recorded init's cookie is worthless…
    const fromElsewhere = await exchange(mallorySocket, ik.packet, bobSocket);
    // …and from alice's own address (an on-path attacker can spoof it) the
    // timestamp inside the encrypted init gives the replay away.
    await aliceSocket.send(ik.packet, bobSocket.local);
    await bobPeer.settled();
    report({
      step: "ik",
      text:
        `known key (Noise IK): one round trip, bob got "${heardAgain}"; a replay of alice's IK init got a ${fromElsewhere.length}-byte cookie challenge from elsewhere and was refused from her address (${bobPeer.drops.replayedInit} replayed init)`,
      details: {
        received: heardAgain,
        replayFromElsewhereBytes: fromElsewhere.length,
        replayedInit: bobPeer.drops.replayedInit,
      },
    });
  } finally {
    aliceSocket.close();
    bobSocket.close();
    mallorySocket.close();
    await serving;
  }
}

/** Bob: answers handshakes (cookie first) and opens data packets. */
class DemoResponder {
  readonly drops = { replay: 0, auth: 0, replayedInit: 0, other: 0 };
  readonly #socket: DatagramSocket;
  readonly #keyPair: KeyPair;
  readonly #cookies = new CookieChecker();
  readonly #guard = new InitReplayGuard();
  readonly #sessions = new Map<number, EstablishedSession>();
  readonly #pending = new Map<number, PendingResponder>();
  readonly #messages: string[] = [];
  #wake: (() => void) | undefined;
  #resolveEstablished!: (session: EstablishedSession) => void;
  readonly established = new Promise<EstablishedSession>((resolve) =>
    this.#resolveEstablished = resolve
  );
  #processed = 0;

  constructor(socket: DatagramSocket, keyPair: KeyPair) {
    this.#socket = socket;
    this.#keyPair = keyPair;
  }

  async serve(): Promise<void> {
    for (;;) {
      const datagram = await this.#socket.receive();
      if (!datagram) return;
      const data = datagram.data.slice();
      const decoded = decodePacket(data);
      if (decoded.ok) await this.#handle(decoded.value, data, datagram.from);
      else this.drops.other++;
      this.#processed++;
      this.#wake?.();
    }
  }

  async #handle(
    packet: Packet,
    bytes: Uint8Array,
    from: { address: string; port: number },
  ): Promise<void> {
    if (packet.type === PacketType.HANDSHAKE_INIT) {
      if (!this.#cookies.verify(packet.cookie, from)) {
        await this.#socket.send(
          encodeCookieReply(bytes, {
            senderIndex: packet.senderIndex,
            cookie: this.#cookies.issue(from),
          }),
          from,
        );
        return;
      }
      const answer = respondToInit(packet, {
        staticKeyPair: this.#keyPair,
        senderIndex: randomIndex(),
      });
      if (!answer.ok) return void this.drops.other++;
      const { established } = answer;
      if (
        established?.timestamp !== undefined &&
        !this.#guard.accept(established.remoteStatic!, established.timestamp)
      ) {
        established.session.destroy();
        this.drops.replayedInit++;
        return;
      }
      if (established) {
        this.#sessions.set(established.session.localIndex, established);
      }
      if (answer.pending) {
        this.#pending.set(answer.pending.localIndex, answer.pending);
      }
      await this.#socket.send(answer.replyPacket, from);
    } else if (packet.type === PacketType.HANDSHAKE_REPLY) {
      const pending = this.#pending.get(packet.receiverIndex);
      const result = pending?.receiveFinal(packet);
      if (!result?.ok) return void this.drops.other++;
      this.#pending.delete(packet.receiverIndex);
      this.#sessions.set(packet.receiverIndex, result.established);
      this.#resolveEstablished(result.established);
    } else if (packet.type === PacketType.TRANSPORT) {
      const view = decodeTransport(bytes);
      const established = this.#sessions.get(packet.receiverIndex);
      if (!view.ok || !established) return void this.drops.other++;
      const opened = established.session.open(
        view.value.counter,
        view.value.ciphertext,
        view.value.header,
      );
      if (!opened.ok) {
        if (opened.reason === "replay") this.drops.replay++;
        else if (opened.reason === "auth") this.drops.auth++;
        else this.drops.other++;
        return;
      }
      const message = decodeMessage(opened.plaintext);
      if (message.ok && message.value.kind === MessageKind.STREAM_DATA) {
        this.#messages.push(new TextDecoder().decode(message.value.data));
      }
    }
  }

  /** The next message bob received. */
  async nextMessage(): Promise<string> {
    while (this.#messages.length === 0) await this.#tick();
    return this.#messages.shift()!;
  }

  /** Waits until bob has handled everything sent to him so far. */
  async settled(): Promise<void> {
    // Loopback delivers in order within milliseconds; wait for quiet.
    let seen = -1;
    while (seen !== this.#processed) {
      seen = this.#processed;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  #tick(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, 2000);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}

function sealText(established: EstablishedSession, text: string): Uint8Array {
  return sealMessage(established.session, {
    kind: MessageKind.STREAM_DATA,
    streamId: 0,
    fin: false,
    offset: 0,
    data: new TextEncoder().encode(text),
  });
}

async function exchange(
  socket: DatagramSocket,
  packet: Uint8Array,
  to: DatagramSocket,
): Promise<Uint8Array> {
  await socket.send(packet, to.local);
  const timeout = new Promise<undefined>((resolve) =>
    setTimeout(() => resolve(undefined), 3000)
  );
  const answer = await Promise.race([socket.receive(), timeout]);
  if (!answer) throw new Error("No answer over loopback within 3 s");
  return answer.data.slice();
}

function expectPacket<T extends Packet["type"]>(
  bytes: Uint8Array,
  type: T,
): Extract<Packet, { type: T }> {
  const decoded = decodePacket(bytes);
  if (!decoded.ok || decoded.value.type !== type) {
    throw new Error(`Expected packet type ${type}`);
  }
  return decoded.value as Extract<Packet, { type: T }>;
}

function randomIndex(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

function endpointText(socket: DatagramSocket): string {
  return `${socket.local.address}:${socket.local.port}`;
}
