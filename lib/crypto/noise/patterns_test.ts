import assert from "node:assert/strict";
import {
  applyPatternModifier,
  HANDSHAKE_PATTERNS,
  parseHandshakePattern,
  resolveHandshakePattern,
  splitPatternName,
  validateHandshakePattern,
} from "./patterns.ts";

const ONE_WAY = ["N", "K", "X"];
const FUNDAMENTAL = "NN NK NX KN KK KX XN XK XX IN IK IX".split(" ");
const DEFERRED = [
  "NK1 NX1",
  "X1N X1K XK1 X1K1 X1X XX1 X1X1",
  "K1N K1K KK1 K1K1 K1X KX1 K1X1",
  "I1N I1K IK1 I1K1 I1X IX1 I1X1",
].join(" ").split(" ");

Deno.test("the table holds every pattern of the spec and each is valid", () => {
  assert.equal(DEFERRED.length, 23);
  assert.deepEqual(
    Object.keys(HANDSHAKE_PATTERNS).sort(),
    [...ONE_WAY, ...FUNDAMENTAL, ...DEFERRED].sort(),
  );
  for (const pattern of Object.values(HANDSHAKE_PATTERNS)) {
    validateHandshakePattern(pattern);
    assert.equal(pattern.oneWay, ONE_WAY.includes(pattern.name));
  }
});

Deno.test("IK reads as in §7.5", () => {
  assert.deepEqual(HANDSHAKE_PATTERNS.IK, {
    name: "IK",
    oneWay: false,
    initiatorPreMessage: [],
    responderPreMessage: ["s"],
    messages: [["e", "es", "s", "ss"], ["e", "ee", "se"]],
  });
});

Deno.test("pskN puts psk at the start of message 1 (N = 0) or the end of message N", () => {
  assert.deepEqual(resolveHandshakePattern("XXpsk0+psk2").messages, [
    ["psk", "e"],
    ["e", "ee", "s", "es", "psk"],
    ["s", "se"],
  ]);
  assert.deepEqual(resolveHandshakePattern("NXpsk0+psk1+psk2").messages, [
    ["psk", "e", "psk"],
    ["e", "ee", "s", "es", "psk"],
  ]);
  assert.deepEqual(resolveHandshakePattern("Npsk0").messages, [[
    "psk",
    "e",
    "es",
  ]]);
  assert.equal(resolveHandshakePattern("XXpsk3").name, "XXpsk3");
});

Deno.test("fallback turns XX into XXfallback of §10.2, run with Bob as initiator", () => {
  // §10.2 writes "-> e ... <- e, ee, s, es / -> s, se"; with Bob as the
  // initiator the arrows and the letters of es/se swap.
  assert.deepEqual(resolveHandshakePattern("XXfallback"), {
    name: "XXfallback",
    oneWay: false,
    initiatorPreMessage: [],
    responderPreMessage: ["e"],
    messages: [["e", "ee", "s", "se"], ["s", "es"]],
  });
  assert.deepEqual(resolveHandshakePattern("XXfallback+psk0").messages[0], [
    "psk",
    "e",
    "ee",
    "s",
    "se",
  ]);
});

Deno.test("modifiers that do not apply are refused", () => {
  for (
    const name of [
      "XXpsk4",
      "XKfallback",
      "Xfallback",
      "KNfallback",
      "XXpsk0+psk0",
      "XXhfs",
      "XXpsk01",
    ]
  ) {
    assert.throws(() => resolveHandshakePattern(name), RangeError, name);
  }
  assert.throws(
    () => applyPatternModifier(HANDSHAKE_PATTERNS.NN, "psk"),
    RangeError,
  );
});

Deno.test("pattern names split into base and modifiers", () => {
  assert.deepEqual(splitPatternName("XXpsk0+psk1"), {
    base: "XX",
    modifiers: ["psk0", "psk1"],
  });
  assert.deepEqual(splitPatternName("I1K1"), { base: "I1K1", modifiers: [] });
  assert.deepEqual(splitPatternName("XXfallback+psk0"), {
    base: "XX",
    modifiers: ["fallback", "psk0"],
  });
  for (const name of ["", "xx", "XX+psk0", "XXpsk0+", "XX psk0"]) {
    assert.throws(() => splitPatternName(name), RangeError, name);
  }
  assert.throws(() => resolveHandshakePattern("QQ"), RangeError);
});

Deno.test("§7.3 and §9.3 rule out invalid patterns", async (t) => {
  const invalid: [string, string][] = [
    ["a DH with a key not yet sent", "-> e, es"],
    ["a DH computed twice", "-> e\n<- e, ee, ee"],
    ["a key sent twice", "-> e\n<- e, ee\n-> e"],
    ["a key sent after its pre-message", "-> s\n...\n-> e, s"],
    ["se without ee before the initiator's payload", "-> e\n<- s\n-> s, se"],
    [
      "ss without es before the initiator's payload",
      "-> s\n<- s\n...\n-> e, ss",
    ],
    [
      "es without ee before the responder's payload",
      "<- s\n...\n-> e, es\n<- s",
    ],
    [
      "ss without se before the responder's payload",
      "-> s\n<- s\n...\n-> e, es\n<- e, ss",
    ],
    ["encryption after psk without e", "-> s\n<- s\n...\n-> psk"],
    ["s encrypted after psk before e", "-> psk, s, e"],
    ["a bad pre-message", "-> s, e\n...\n-> e"],
  ];
  for (const [reason, notation] of invalid) {
    await t.step(reason, () => {
      assert.throws(
        () => validateHandshakePattern(parseHandshakePattern("TEST", notation)),
        RangeError,
      );
    });
  }
});

Deno.test("the notation parser refuses malformed patterns", () => {
  for (
    const notation of [
      "<- e",
      "-> e\n-> e",
      "-> e, xx",
      "=> e",
      "...\n...\n-> e",
    ]
  ) {
    assert.throws(
      () => parseHandshakePattern("TEST", notation),
      RangeError,
      notation,
    );
  }
});
