import assert from "node:assert/strict";
import { CHACHAPOLY } from "./cipher.ts";
import { BLAKE2S, SHA256 } from "./hash.ts";
import { SymmetricState } from "./symmetric_state.ts";

const suite = { cipher: CHACHAPOLY, hash: SHA256 };
const EMPTY = new Uint8Array(0);

Deno.test("a protocol name up to HASHLEN is padded, a longer one hashed", () => {
  const short = "Noise_NN_25519_ChaChaPoly_SHA256"; // exactly 32 bytes
  const padded = new SymmetricState(short, suite).getHandshakeHash();
  assert.deepEqual(padded, new TextEncoder().encode(short));
  const long = "Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s";
  assert.deepEqual(
    new SymmetricState(long, { cipher: CHACHAPOLY, hash: BLAKE2S })
      .getHandshakeHash(),
    BLAKE2S.hash(new TextEncoder().encode(long)),
  );
});

Deno.test("encryption starts once a key is mixed in", () => {
  const state = new SymmetricState("Noise_NN_25519_ChaChaPoly_SHA256", suite);
  assert.deepEqual(
    state.encryptAndHash(Uint8Array.of(1, 2)),
    Uint8Array.of(1, 2),
  );
  state.mixKey(new Uint8Array(32));
  assert.equal(state.hasKey(), true);
  assert.equal(state.encryptAndHash(Uint8Array.of(1, 2)).length, 18);
});

Deno.test("split gives CipherStates keyed by splitKeys, in initiator-first order", () => {
  const make = () => {
    const state = new SymmetricState("Noise_NN_25519_ChaChaPoly_SHA256", suite);
    state.mixKey(Uint8Array.of(9));
    return state;
  };
  const keys = make().splitKeys();
  const [first, second] = make().split();
  const plaintext = Uint8Array.of(42);
  assert.deepEqual(
    first.encryptWithAd(EMPTY, plaintext),
    CHACHAPOLY.encrypt(keys.initiatorToResponder, 0n, EMPTY, plaintext),
  );
  assert.deepEqual(
    second.encryptWithAd(EMPTY, plaintext),
    CHACHAPOLY.encrypt(keys.responderToInitiator, 0n, EMPTY, plaintext),
  );
});
