import assert from "node:assert/strict";
import { generateIdentity } from "../identity/mod.ts";
import { checkNoiseProof, computeNoiseProof } from "./noise_proof.ts";

const relay = generateIdentity();
const directory = generateIdentity();
const descriptor = {
  type: "relay-descriptor",
  name: "r",
  noise_key: relay.noisePublicKey.toBase64(),
};

Deno.test("the directory accepts the relay's proof of its Noise key", () => {
  const proof = computeNoiseProof(descriptor, {
    relayNoisePrivateKey: relay.noisePrivateKey,
    directoryNoiseKey: directory.noisePublicKey,
  });
  assert.equal(proof.length, 32);
  assert.equal(
    checkNoiseProof(descriptor, proof, {
      directoryNoisePrivateKey: directory.noisePrivateKey,
      relayNoiseKey: relay.noisePublicKey,
    }),
    true,
  );
  // The proof does not cover itself or the signature.
  assert.equal(
    checkNoiseProof(
      { ...descriptor, noise_proof: "x", signature: "y" },
      proof,
      {
        directoryNoisePrivateKey: directory.noisePrivateKey,
        relayNoiseKey: relay.noisePublicKey,
      },
    ),
    true,
  );
});

Deno.test("a proof fails for another key, another directory or another descriptor", () => {
  const proof = computeNoiseProof(descriptor, {
    relayNoisePrivateKey: relay.noisePrivateKey,
    directoryNoiseKey: directory.noisePublicKey,
  });
  const other = generateIdentity();
  const keys = {
    directoryNoisePrivateKey: directory.noisePrivateKey,
    relayNoiseKey: relay.noisePublicKey,
  };
  // Someone announcing the relay's Noise key without its private half.
  const squatter = computeNoiseProof(descriptor, {
    relayNoisePrivateKey: other.noisePrivateKey,
    directoryNoiseKey: directory.noisePublicKey,
  });
  assert.equal(checkNoiseProof(descriptor, squatter, keys), false);
  assert.equal(
    checkNoiseProof(descriptor, proof, {
      ...keys,
      directoryNoisePrivateKey: other.noisePrivateKey,
    }),
    false,
  );
  assert.equal(
    checkNoiseProof({ ...descriptor, name: "s" }, proof, keys),
    false,
  );
  assert.equal(checkNoiseProof(descriptor, proof.subarray(1), keys), false);
  // A low-order point has no private half: refused, not thrown.
  assert.equal(
    checkNoiseProof(descriptor, proof, {
      ...keys,
      relayNoiseKey: new Uint8Array(32),
    }),
    false,
  );
  assert.throws(
    () =>
      computeNoiseProof(descriptor, {
        relayNoisePrivateKey: relay.noisePrivateKey,
        directoryNoiseKey: new Uint8Array(32),
      }),
    TypeError,
  );
});
