// The directory's signing scheme against pinned vectors (data, not code):
// the canonical signed text and the signatures must never change by accident.
import assert from "node:assert/strict";
import {
  createDescriptor,
  createHeartbeat,
  ed25519Verify,
  parseDescriptor,
  signedBytes,
} from "../../lib/directory/mod.ts";
import { deriveIdentity } from "../../lib/identity/mod.ts";

const vectors = JSON.parse(
  await Deno.readTextFile(
    new URL("./vectors/messages_v1.json", import.meta.url),
  ),
);

Deno.test("descriptors and heartbeats reproduce the pinned vectors byte for byte", () => {
  const directory = deriveIdentity(
    Uint8Array.fromHex(vectors.directory_seed_hex),
  );
  const relay = deriveIdentity(Uint8Array.fromHex(vectors.relay_seed_hex));
  assert.equal(
    directory.signingPublicKey.toBase64(),
    vectors.directory_signing_key,
  );
  const keys = {
    signingKey: directory.signingPublicKey,
    noiseKey: directory.noisePublicKey,
  };
  const descriptor = createDescriptor(relay, vectors.announcement, {
    directory: keys,
    load: vectors.load_figures,
    timestamp: vectors.descriptor.timestamp,
  });
  assert.deepEqual(descriptor, vectors.descriptor.message);
  const text = new TextDecoder().decode(
    signedBytes(vectors.descriptor.message),
  );
  assert.equal(text, vectors.descriptor.signed_text);
  assert.ok(parseDescriptor(vectors.descriptor.message).ok);
  assert.equal(
    ed25519Verify(
      relay.signingPublicKey,
      new TextEncoder().encode(vectors.descriptor.signed_text),
      Uint8Array.fromBase64(vectors.descriptor.message.signature),
    ),
    true,
  );
  const heartbeat = createHeartbeat(
    relay,
    { ...vectors.load_figures, peers: 12 },
    { directory: keys, timestamp: vectors.heartbeat.timestamp },
  );
  assert.deepEqual(heartbeat, vectors.heartbeat.message);
  assert.equal(
    new TextDecoder().decode(signedBytes(vectors.heartbeat.message)),
    vectors.heartbeat.signed_text,
  );
});
