import assert from "node:assert/strict";
import { generateIdentity } from "../identity/mod.ts";
import { createEd25519Signer } from "./ed25519.ts";
import {
  decodeBase64Exact,
  signedBytes,
  SIGNING_CONTEXT,
  signObject,
  verifyObject,
} from "./signed_object.ts";

const id = generateIdentity();
const sign = createEd25519Signer(id.signingPrivateKey);

Deno.test("the signed bytes are the context and the canonical JSON without the signature", () => {
  const bytes = signedBytes({ b: 1, a: "x", signature: "ignored" });
  assert.equal(
    new TextDecoder().decode(bytes),
    `${SIGNING_CONTEXT}{"a":"x","b":1}`,
  );
});

Deno.test("a signed object verifies whatever its member order, and any change breaks it", () => {
  const signed = signObject({ type: "t", n: 1, list: ["a", "b"] }, sign);
  assert.equal(verifyObject(signed, id.signingPublicKey), true);
  const reordered = JSON.parse(
    JSON.stringify({
      signature: signed.signature,
      list: signed.list,
      n: 1,
      type: "t",
    }),
  );
  assert.equal(verifyObject(reordered, id.signingPublicKey), true);
  const changes: Record<string, unknown>[] = [
    { ...signed, n: 2 },
    { ...signed, type: "u" },
    { ...signed, list: ["b", "a"] },
    { ...signed, extra: true },
    {
      ...signed,
      signature: signed.signature.replace(/^./, (c) => c === "A" ? "B" : "A"),
    },
    { ...signed, signature: undefined },
  ];
  for (const changed of changes) {
    assert.equal(verifyObject(changed, id.signingPublicKey), false);
  }
  assert.equal(
    verifyObject(signed, generateIdentity().signingPublicKey),
    false,
  );
});

Deno.test("an object outside canonical JSON does not verify (no throw)", () => {
  const signed = signObject({ n: 1 }, sign);
  assert.equal(verifyObject({ ...signed, n: 1.5 }, id.signingPublicKey), false);
});

Deno.test("base64 is accepted only in its one canonical form", () => {
  const key = new Uint8Array(32).fill(0xab);
  const text = key.toBase64();
  assert.deepEqual(decodeBase64Exact(text, 32), key);
  // Non-zero trailing bits decode to the same bytes: refused.
  const last = text[text.length - 2];
  const sibling = text.slice(0, -2) +
    String.fromCharCode(last.charCodeAt(0) + 1) + "=";
  assert.equal(decodeBase64Exact(sibling, 32), undefined);
  for (
    const bad of [
      text.slice(0, -1),
      text + "=",
      text.replace("=", ""),
      text.replaceAll("q", "-"),
      ` ${text.slice(1)}`,
      new Uint8Array(33).toBase64(),
      42,
      null,
    ]
  ) {
    assert.equal(decodeBase64Exact(bad, 32), undefined, String(bad));
  }
});
