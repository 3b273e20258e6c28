// Runs every Noise test vector of tests/vectors/ (format: the Noise wiki's
// "Test vectors" page) through HandshakeState and the split CipherStates.

import assert from "node:assert/strict";
import type { CipherState } from "./cipher_state.ts";
import { HandshakeState } from "./handshake_state.ts";
import { parseProtocolName } from "./protocol_name.ts";

interface Vector {
  protocol_name: string;
  init_prologue: string;
  init_psks?: string[];
  init_static?: string;
  init_ephemeral?: string;
  init_remote_static?: string;
  resp_prologue: string;
  resp_psks?: string[];
  resp_static?: string;
  resp_ephemeral?: string;
  resp_remote_static?: string;
  handshake_hash?: string;
  messages: { payload: string; ciphertext: string }[];
}

function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return bytes;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join(
    "",
  );
}

function party(vector: Vector, initiator: boolean): HandshakeState {
  const { dh } = parseProtocolName(vector.protocol_name);
  const prefix = initiator ? "init" : "resp";
  const field = (name: string): string | undefined =>
    (vector as unknown as Record<string, string | undefined>)[
      `${prefix}_${name}`
    ];
  const staticKey = field("static");
  const remoteStatic = field("remote_static");
  const ephemeral = field("ephemeral");
  const psks = (initiator ? vector.init_psks : vector.resp_psks) ?? [];
  return new HandshakeState({
    protocolName: vector.protocol_name,
    initiator,
    prologue: fromHex(field("prologue")!),
    s: staticKey ? dh.keyPairFromPrivateKey(fromHex(staticKey)) : undefined,
    rs: remoteStatic ? fromHex(remoteStatic) : undefined,
    psks: psks.map(fromHex),
    fixedEphemeralKeyForTestingOnly: ephemeral ? fromHex(ephemeral) : undefined,
  });
}

/** Runs one vector; throws an AssertionError at the first mismatch. */
function runVector(vector: Vector): void {
  const { pattern } = parseProtocolName(vector.protocol_name);
  const initiator = party(vector, true);
  const responder = party(vector, false);
  const handshakeLength = pattern.messages.length;
  let transport:
    | {
      initiator: [CipherState, CipherState];
      responder: [CipherState, CipherState];
    }
    | undefined;

  for (const [index, message] of vector.messages.entries()) {
    const payload = fromHex(message.payload);
    const where = `message ${index}`;
    if (index < handshakeLength) {
      const [sender, receiver] = index % 2 === 0
        ? [initiator, responder]
        : [responder, initiator];
      const ciphertext = sender.writeMessage(payload);
      assert.equal(
        toHex(ciphertext),
        message.ciphertext,
        `${where} ciphertext`,
      );
      assert.equal(
        toHex(receiver.readMessage(ciphertext)),
        message.payload,
        `${where} payload`,
      );
      continue;
    }
    if (!transport) {
      assert.ok(
        initiator.isComplete && responder.isComplete,
        "handshake complete",
      );
      if (vector.handshake_hash) {
        assert.equal(
          toHex(initiator.handshakeHash),
          vector.handshake_hash,
          "initiator handshake hash",
        );
        assert.equal(
          toHex(responder.handshakeHash),
          vector.handshake_hash,
          "responder handshake hash",
        );
      }
      const i = initiator.split();
      const r = responder.split();
      transport = {
        initiator: [i.initiatorToResponder, i.responderToInitiator],
        responder: [r.initiatorToResponder, r.responderToInitiator],
      };
    }
    // After a one-way pattern every message goes initiator to responder;
    // otherwise they keep alternating.
    const fromInitiator = pattern.oneWay || index % 2 === 0;
    const [send, receive] = fromInitiator
      ? [transport.initiator[0], transport.responder[0]]
      : [transport.responder[1], transport.initiator[1]];
    const ad = new Uint8Array(0);
    const ciphertext = send.encryptWithAd(ad, payload);
    assert.equal(toHex(ciphertext), message.ciphertext, `${where} ciphertext`);
    assert.equal(
      toHex(receive.decryptWithAd(ad, ciphertext)),
      message.payload,
      `${where} payload`,
    );
  }
}

for (const file of ["cacophony.txt", "snow.txt"]) {
  Deno.test(`${file}: every vector matches byte for byte`, async () => {
    const url = new URL(`../../../tests/vectors/${file}`, import.meta.url);
    const { vectors } = JSON.parse(await Deno.readTextFile(url)) as {
      vectors: Vector[];
    };
    let passed = 0;
    let skipped = 0;
    const failures: string[] = [];
    for (const vector of vectors) {
      try {
        parseProtocolName(vector.protocol_name);
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        skipped++;
        continue;
      }
      try {
        runVector(vector);
        passed++;
      } catch (error) {
        failures.push(`${vector.protocol_name}: ${(error as Error).message}`);
      }
    }
    console.log(
      `${file}: ${passed}/${vectors.length} vectors passed (${skipped} skipped)`,
    );
    assert.deepEqual(failures, [], `${failures.length} vectors failed`);
    assert.ok(passed > 0);
  });
}
