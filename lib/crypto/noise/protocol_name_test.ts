import assert from "node:assert/strict";
import { AESGCM } from "./cipher.ts";
import { DH_25519, DH_448 } from "./dh.ts";
import { BLAKE2B, SHA256 } from "./hash.ts";
import { parseProtocolName } from "./protocol_name.ts";

Deno.test("a protocol name resolves to its pattern, modifiers and functions", () => {
  const protocol = parseProtocolName("Noise_XXpsk0+psk1_25519_AESGCM_SHA256");
  assert.equal(protocol.name, "Noise_XXpsk0+psk1_25519_AESGCM_SHA256");
  assert.equal(protocol.basePattern, "XX");
  assert.deepEqual(protocol.modifiers, ["psk0", "psk1"]);
  assert.equal(protocol.pattern.name, "XXpsk0+psk1");
  assert.deepEqual(protocol.pattern.messages[0], ["psk", "e", "psk"]);
  assert.equal(protocol.dh, DH_25519);
  assert.equal(protocol.cipher, AESGCM);
  assert.equal(protocol.hash, SHA256);
  assert.equal(parseProtocolName("Noise_I1K1_448_AESGCM_BLAKE2b").dh, DH_448);
  assert.equal(
    parseProtocolName("Noise_I1K1_448_AESGCM_BLAKE2b").hash,
    BLAKE2B,
  );
});

Deno.test("unknown parts of a protocol name are a RangeError naming the part", () => {
  const cases: [string, RegExp][] = [
    ["Noise_XX_25519_AESGCM", /Noise_<pattern>_<dh>_<cipher>_<hash>/],
    ["Noise_XX_25519_AESGCM_SHA256_extra", /Noise_<pattern>/],
    ["Nose_XX_25519_AESGCM_SHA256", /Noise_<pattern>/],
    ["Noise_XX_P256_AESGCM_SHA256", /DH function: name is "P256"/],
    ["Noise_XX_25519_AESGCMSIV_SHA256", /cipher function: name is "AESGCMSIV"/],
    ["Noise_XX_25519_AESGCM_SHA3", /hash function: name is "SHA3"/],
    ["Noise_QQ_25519_AESGCM_SHA256", /handshake pattern: name is "QQ"/],
    ["Noise_XXhfs_25519_AESGCM_SHA256", /modifier hfs/],
    [`Noise_XX_25519_AESGCM_SHA256${"x".repeat(230)}`, /exceeds 255 bytes/],
  ];
  for (const [name, message] of cases) {
    assert.throws(() => parseProtocolName(name), (error: unknown) => {
      assert.ok(error instanceof RangeError, name);
      assert.match(error.message, message);
      return true;
    });
  }
});
