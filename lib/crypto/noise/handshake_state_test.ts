import assert from "node:assert/strict";
import { DH_25519, type KeyPair } from "./dh.ts";
import { HandshakeState } from "./handshake_state.ts";
import { NoiseError } from "./noise_error.ts";

const XX = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
const IK = "Noise_IK_25519_AESGCM_SHA256";
const EMPTY = new Uint8Array(0);
const text = (value: string) => new TextEncoder().encode(value);

interface Parties {
  initiator: HandshakeState;
  responder: HandshakeState;
  initiatorStatic: KeyPair;
  responderStatic: KeyPair;
}

/** Two parties of `protocolName`, each with a fresh static key pair. */
function parties(
  protocolName: string,
  options: {
    rs?: "right" | "wrong";
    psks?: [Uint8Array[], Uint8Array[]];
  } = {},
): Parties {
  const initiatorStatic = DH_25519.generateKeyPair();
  const responderStatic = DH_25519.generateKeyPair();
  const rs = options.rs === "right"
    ? responderStatic.publicKey
    : options.rs === "wrong"
    ? DH_25519.generateKeyPair().publicKey
    : undefined;
  return {
    initiator: new HandshakeState({
      protocolName,
      initiator: true,
      s: initiatorStatic,
      rs,
      psks: options.psks?.[0],
    }),
    responder: new HandshakeState({
      protocolName,
      initiator: false,
      s: responderStatic,
      psks: options.psks?.[1],
    }),
    initiatorStatic,
    responderStatic,
  };
}

/** Runs the handshake to the end, returning every message sent. */
function complete(
  initiator: HandshakeState,
  responder: HandshakeState,
  payload = text("secret"),
) {
  const messages: Uint8Array[] = [];
  let [sender, receiver] = [initiator, responder];
  while (!initiator.isComplete) {
    const message = sender.writeMessage(payload);
    assert.deepEqual(receiver.readMessage(message), payload);
    messages.push(message);
    [sender, receiver] = [receiver, sender];
  }
  assert.ok(responder.isComplete);
  return messages;
}

function flipBit(message: Uint8Array, index: number): Uint8Array {
  const copy = message.slice();
  copy[index] ^= 0x01;
  return copy;
}

/** Asserts that `handshake` is dead: every use throws NoiseError. */
function assertUnusable(handshake: HandshakeState) {
  assert.throws(() => handshake.writeMessage(EMPTY), NoiseError);
  assert.throws(() => handshake.readMessage(new Uint8Array(48)), NoiseError);
  assert.throws(() => handshake.handshakeHash, NoiseError);
  assert.throws(() => handshake.split(), NoiseError);
}

Deno.test("XX and IK complete with matching hashes, statics and transport keys", () => {
  for (const name of [XX, IK]) {
    const { initiator, responder, initiatorStatic, responderStatic } = parties(
      name,
      { rs: name === IK ? "right" : undefined },
    );
    complete(initiator, responder);
    assert.deepEqual(initiator.handshakeHash, responder.handshakeHash);
    assert.deepEqual(initiator.remoteStatic, responderStatic.publicKey);
    assert.deepEqual(responder.remoteStatic, initiatorStatic.publicKey);
    const a = initiator.split();
    const b = responder.split();
    const there = a.initiatorToResponder.encryptWithAd(EMPTY, text("ping"));
    assert.deepEqual(
      b.initiatorToResponder.decryptWithAd(EMPTY, there),
      text("ping"),
    );
    const back = b.responderToInitiator.encryptWithAd(EMPTY, text("pong"));
    assert.deepEqual(
      a.responderToInitiator.decryptWithAd(EMPTY, back),
      text("pong"),
    );
  }
});

Deno.test("splitKeys gives the raw keys of split, once", () => {
  const { initiator, responder } = parties(XX);
  complete(initiator, responder);
  const keys = initiator.splitKeys();
  assert.equal(keys.initiatorToResponder.length, 32);
  assert.equal(keys.responderToInitiator.length, 32);
  assert.notDeepEqual(keys.initiatorToResponder, keys.responderToInitiator);
  const states = responder.split();
  // The same key on both sides: what one encrypts, the other decrypts.
  const ciphertext = states.responderToInitiator.encryptWithAd(
    EMPTY,
    text("x"),
  );
  assert.deepEqual(
    initiator.protocol.cipher.decrypt(
      keys.responderToInitiator,
      0n,
      EMPTY,
      ciphertext,
    ),
    text("x"),
  );
  // Handing the keys out twice would invite nonce reuse.
  assert.throws(() => initiator.splitKeys(), NoiseError);
  assert.throws(() => responder.split(), NoiseError);
});

Deno.test("a flipped bit anywhere in any handshake message is detected", async (t) => {
  for (const [name, rs] of [[XX, undefined], [IK, "right"]] as const) {
    const reference = parties(name, { rs });
    const lengths = complete(reference.initiator, reference.responder).map((
      message,
    ) => message.length);
    for (const [target, length] of lengths.entries()) {
      await t.step(`${name} message ${target + 1}`, () => {
        for (let byte = 0; byte < length; byte++) {
          const { initiator, responder } = parties(name, { rs });
          let [sender, receiver] = [initiator, responder];
          let index = 0;
          // A message without a tag (XX message 1) is caught by the next
          // message's MAC, since the handshake hash covers every byte.
          const run = () => {
            for (; !initiator.isComplete || !responder.isComplete; index++) {
              const message = sender.writeMessage(text("secret"));
              receiver.readMessage(
                index === target ? flipBit(message, byte) : message,
              );
              [sender, receiver] = [receiver, sender];
            }
          };
          assert.throws(run, NoiseError, `byte ${byte} went unnoticed`);
          assertUnusable(receiver);
          // Every other message carries a tag and fails on arrival.
          const failedAt = name === XX && target === 0 ? 1 : target;
          assert.equal(index, failedAt, `byte ${byte} caught late`);
        }
      });
    }
  }
});

Deno.test("a flipped bit in a transport message is rejected", () => {
  const { initiator, responder } = parties(XX);
  complete(initiator, responder);
  const send = initiator.split().initiatorToResponder;
  const receive = responder.split().initiatorToResponder;
  const ciphertext = send.encryptWithAd(EMPTY, text("transfer"));
  for (let index = 0; index < ciphertext.length; index++) {
    assert.throws(
      () => receive.decryptWithAd(EMPTY, flipBit(ciphertext, index)),
      NoiseError,
    );
  }
  // A rejected message does not advance the nonce (§5.1), so the genuine
  // one still decrypts.
  assert.deepEqual(receive.decryptWithAd(EMPTY, ciphertext), text("transfer"));
});

Deno.test("IK with the wrong remote static key fails at the responder", () => {
  const { initiator, responder } = parties(IK, { rs: "wrong" });
  assert.throws(
    () => responder.readMessage(initiator.writeMessage(EMPTY)),
    NoiseError,
  );
  assertUnusable(responder);
});

Deno.test("a wrong psk fails the handshake", () => {
  const psk = crypto.getRandomValues(new Uint8Array(32));
  const other = crypto.getRandomValues(new Uint8Array(32));
  for (
    const name of [
      "Noise_XXpsk3_25519_ChaChaPoly_SHA256",
      "Noise_NNpsk0_25519_ChaChaPoly_SHA256",
    ]
  ) {
    const good = parties(name, { psks: [[psk], [psk]] });
    complete(good.initiator, good.responder);
    const bad = parties(name, { psks: [[psk], [other]] });
    assert.throws(() => complete(bad.initiator, bad.responder), NoiseError);
  }
});

Deno.test("multiple psks in snow-style names each count", () => {
  const name = "Noise_XXpsk0+psk1+psk2+psk3_25519_ChaChaPoly_BLAKE2b";
  const psks = [0, 1, 2, 3].map(() =>
    crypto.getRandomValues(new Uint8Array(32))
  );
  const good = parties(name, { psks: [psks, psks] });
  complete(good.initiator, good.responder);
  for (let wrong = 0; wrong < 4; wrong++) {
    const altered = psks.map((psk, index) =>
      index === wrong ? psk.map((byte) => byte ^ 1) : psk
    );
    const bad = parties(name, { psks: [psks, altered] });
    assert.throws(() => complete(bad.initiator, bad.responder), NoiseError);
  }
});

Deno.test("messages out of turn throw and end the handshake", async (t) => {
  await t.step("initiator reads first", () => {
    const { initiator } = parties(XX);
    assert.throws(() => initiator.readMessage(new Uint8Array(32)), NoiseError);
    assertUnusable(initiator);
  });
  await t.step("initiator writes twice", () => {
    const { initiator } = parties(XX);
    initiator.writeMessage(EMPTY);
    assert.throws(() => initiator.writeMessage(EMPTY), NoiseError);
    assertUnusable(initiator);
  });
  await t.step("responder writes first", () => {
    const { responder } = parties(XX);
    assert.throws(() => responder.writeMessage(EMPTY), NoiseError);
    assertUnusable(responder);
  });
  await t.step("writing after completion", () => {
    const { initiator, responder } = parties(XX);
    complete(initiator, responder);
    assert.throws(() => responder.writeMessage(EMPTY), NoiseError);
  });
  await t.step("split before completion", () => {
    const { initiator } = parties(XX);
    assert.throws(() => initiator.split(), NoiseError);
  });
});

Deno.test("truncated handshake messages throw", async (t) => {
  for (const [name, rs] of [[XX, undefined], [IK, "right"]] as const) {
    const reference = parties(name, { rs });
    const count = complete(reference.initiator, reference.responder).length;
    for (let target = 0; target < count; target++) {
      await t.step(`${name} message ${target + 1}`, () => {
        for (const cut of [1, 16, 33]) {
          const { initiator, responder } = parties(name, { rs });
          let [sender, receiver] = [initiator, responder];
          for (let index = 0; index < target; index++) {
            receiver.readMessage(sender.writeMessage(EMPTY));
            [sender, receiver] = [receiver, sender];
          }
          const message = sender.writeMessage(EMPTY);
          if (message.length < cut) continue;
          assert.throws(
            () =>
              receiver.readMessage(message.subarray(0, message.length - cut)),
            NoiseError,
          );
          assertUnusable(receiver);
        }
      });
    }
  }
  await t.step("an empty first message", () => {
    const { responder } = parties(XX);
    assert.throws(() => responder.readMessage(EMPTY), NoiseError);
  });
});

Deno.test("messages over 65535 bytes are refused", () => {
  const { initiator, responder } = parties(XX);
  // 32 bytes of e plus 65504 of plaintext payload is exactly 65536.
  assert.throws(
    () => initiator.writeMessage(new Uint8Array(65504)),
    RangeError,
  );
  // Refusing to write is not a protocol failure: the handshake goes on.
  const message = initiator.writeMessage(new Uint8Array(65503));
  assert.equal(message.length, 65535);
  assert.throws(() => responder.readMessage(new Uint8Array(65536)), NoiseError);
  assertUnusable(responder);
});

Deno.test("a low-order ephemeral key from the peer is rejected", () => {
  const { initiator, responder } = parties(XX);
  responder.readMessage(initiator.writeMessage(EMPTY));
  const reply = responder.writeMessage(EMPTY);
  reply.fill(0, 0, 32); // the responder's e becomes the point of order 1
  assert.throws(() => initiator.readMessage(reply), NoiseError);
});

Deno.test("options that do not fit the pattern are refused up front", () => {
  const s = DH_25519.generateKeyPair();
  const rs = DH_25519.generateKeyPair().publicKey;
  assert.throws(
    () => new HandshakeState({ protocolName: XX, initiator: true }),
    TypeError,
  );
  assert.throws(
    () => new HandshakeState({ protocolName: XX, initiator: true, s, rs }),
    TypeError,
  );
  assert.throws(
    () => new HandshakeState({ protocolName: IK, initiator: true, s }),
    TypeError,
  );
  assert.throws(
    () =>
      new HandshakeState({
        protocolName: "Noise_NNpsk0_25519_ChaChaPoly_SHA256",
        initiator: true,
      }),
    TypeError,
  );
  assert.throws(
    () =>
      new HandshakeState({
        protocolName: "Noise_NNpsk0_25519_ChaChaPoly_SHA256",
        initiator: true,
        psks: [new Uint8Array(31)],
      }),
    TypeError,
  );
  assert.throws(
    () =>
      new HandshakeState({
        protocolName: "Noise_XX_25519_ChaChaPoly_MD5",
        initiator: true,
        s,
      }),
    RangeError,
  );
  assert.throws(
    () =>
      new HandshakeState({
        protocolName: "Noise_NN_448_ChaChaPoly_SHA256",
        initiator: true,
        s,
      }),
    TypeError,
  );
});

Deno.test("one-way X delivers to the responder and completes after one message", () => {
  const responderStatic = DH_25519.generateKeyPair();
  const name = "Noise_X_25519_ChaChaPoly_SHA512";
  const sender = new HandshakeState({
    protocolName: name,
    initiator: true,
    s: DH_25519.generateKeyPair(),
    rs: responderStatic.publicKey,
  });
  const receiver = new HandshakeState({
    protocolName: name,
    initiator: false,
    s: responderStatic,
  });
  assert.equal(receiver.isMyTurnToWrite, false);
  assert.deepEqual(
    receiver.readMessage(sender.writeMessage(text("hi"))),
    text("hi"),
  );
  assert.ok(sender.isComplete && receiver.isComplete);
  assert.throws(() => receiver.writeMessage(EMPTY), NoiseError);
});

Deno.test("IK that fails falls back to XXfallback (§10.2)", () => {
  const fallbackName = "Noise_XXfallback_25519_AESGCM_SHA256";
  // Alice's idea of Bob's static key is stale, so Bob cannot read her IK
  // message; he answers with the first XXfallback message instead.
  const alice = parties(IK, { rs: "wrong" });
  const { initiator, responder, initiatorStatic, responderStatic } = alice;
  const ikMessage = initiator.writeMessage(text("early data"));
  assert.throws(() => responder.readMessage(ikMessage), NoiseError);

  const bob = responder.fallback(fallbackName, { prologue: text("pipes") });
  assert.ok(bob.isInitiator);
  const reply = bob.writeMessage(text("fall back"));

  // Alice first tries the reply as IK message 2; it fails, so she falls
  // back too, keeping the ephemeral key her IK message carried.
  assert.throws(() => initiator.readMessage(reply), NoiseError);
  const aliceFallback = initiator.fallback(fallbackName, {
    prologue: text("pipes"),
  });
  assert.equal(aliceFallback.isInitiator, false);
  assert.deepEqual(aliceFallback.readMessage(reply), text("fall back"));
  assert.deepEqual(
    bob.readMessage(aliceFallback.writeMessage(text("done"))),
    text("done"),
  );

  assert.ok(bob.isComplete && aliceFallback.isComplete);
  assert.deepEqual(bob.handshakeHash, aliceFallback.handshakeHash);
  assert.deepEqual(bob.remoteStatic, initiatorStatic.publicKey);
  assert.deepEqual(aliceFallback.remoteStatic, responderStatic.publicKey);
  const fromAlice = aliceFallback.split().responderToInitiator.encryptWithAd(
    EMPTY,
    text("data"),
  );
  assert.deepEqual(
    bob.split().responderToInitiator.decryptWithAd(EMPTY, fromAlice),
    text("data"),
  );

  // The abandoned handshakes hold no keys any more.
  assert.throws(() => initiator.fallback(fallbackName), NoiseError);
  assertUnusable(responder);
});

Deno.test("fallback refuses a protocol without the fallback modifier", () => {
  const { initiator } = parties(IK, { rs: "right" });
  initiator.writeMessage(EMPTY);
  assert.throws(() => initiator.fallback(XX), RangeError);
});

Deno.test("XXfallback+psk0 round-trips and needs the same psk", () => {
  const name = "Noise_XXfallback+psk0_25519_ChaChaPoly_BLAKE2s";
  const psk = crypto.getRandomValues(new Uint8Array(32));
  const run = (bobPsk: Uint8Array) => {
    const { initiator, responder } = parties(
      "Noise_NN_25519_ChaChaPoly_BLAKE2s",
    );
    // Any pattern whose first message is "e" can be abandoned for XXfallback.
    const first = initiator.writeMessage(EMPTY);
    responder.readMessage(first);
    const aliceStatic = DH_25519.generateKeyPair();
    const bob = responder.fallback(name, {
      s: DH_25519.generateKeyPair(),
      psks: [bobPsk],
    });
    const alice = initiator.fallback(name, { s: aliceStatic, psks: [psk] });
    complete(bob, alice);
    assert.deepEqual(bob.remoteStatic, aliceStatic.publicKey);
  };
  run(psk);
  assert.throws(() => run(psk.map((byte) => byte ^ 0x80)), NoiseError);
});
