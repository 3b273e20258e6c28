/**
 * Noise handshake patterns (§7) as a table in the spec's own notation, the
 * `pskN` (§9) and `fallback` (§10.2) modifiers, and the validity rules of
 * §7.3 and §9.3.
 *
 * Patterns are held in canonical form: the first message is the initiator's
 * and messages alternate from there, so even indexes are the initiator's.
 * A Bob-initiated pattern (made by `fallback`) is converted to this form by
 * swapping the roles (§7.2), which swaps the pre-messages and turns `es`
 * into `se`.
 *
 * @module
 */

/** A token of a message pattern (§7.1, §9.2). */
export type Token = "e" | "s" | "ee" | "es" | "se" | "ss" | "psk";

/** A token of a pre-message pattern (§7.1): only public keys. */
export type PreMessageToken = "e" | "s";

/** A handshake pattern in canonical (initiator-first) form. */
export interface HandshakePattern {
  /** The name with its modifiers, e.g. `"XXpsk0+psk2"`. */
  readonly name: string;
  /** Noise §7.4: a one-way pattern has one message and no reply. */
  readonly oneWay: boolean;
  /** The keys the responder knows of the initiator before the handshake. */
  readonly initiatorPreMessage: readonly PreMessageToken[];
  /** The keys the initiator knows of the responder before the handshake. */
  readonly responderPreMessage: readonly PreMessageToken[];
  /** The message patterns; even indexes are sent by the initiator. */
  readonly messages: readonly (readonly Token[])[];
}

// Noise §7.4, §7.5, §7.6: every pattern of the spec, in its notation. Pre-
// messages come before "...", and "->" is a message from Alice (the
// initiator in these Alice-initiated patterns).
const PATTERN_TABLE: Readonly<Record<string, string>> = {
  // Noise §7.4: one-way patterns.
  N: `
    <- s
    ...
    -> e, es`,
  K: `
    -> s
    <- s
    ...
    -> e, es, ss`,
  X: `
    <- s
    ...
    -> e, es, s, ss`,

  // Noise §7.5: fundamental interactive patterns.
  NN: `
    -> e
    <- e, ee`,
  NK: `
    <- s
    ...
    -> e, es
    <- e, ee`,
  NX: `
    -> e
    <- e, ee, s, es`,
  KN: `
    -> s
    ...
    -> e
    <- e, ee, se`,
  KK: `
    -> s
    <- s
    ...
    -> e, es, ss
    <- e, ee, se`,
  KX: `
    -> s
    ...
    -> e
    <- e, ee, se, s, es`,
  XN: `
    -> e
    <- e, ee
    -> s, se`,
  XK: `
    <- s
    ...
    -> e, es
    <- e, ee
    -> s, se`,
  XX: `
    -> e
    <- e, ee, s, es
    -> s, se`,
  IN: `
    -> e, s
    <- e, ee, se`,
  IK: `
    <- s
    ...
    -> e, es, s, ss
    <- e, ee, se`,
  IX: `
    -> e, s
    <- e, ee, se, s, es`,

  // Noise §7.6: deferred patterns, where "1" defers that party's
  // authentication DH to the next message.
  NK1: `
    <- s
    ...
    -> e
    <- e, ee, es`,
  NX1: `
    -> e
    <- e, ee, s
    -> es`,
  X1N: `
    -> e
    <- e, ee
    -> s
    <- se`,
  X1K: `
    <- s
    ...
    -> e, es
    <- e, ee
    -> s
    <- se`,
  XK1: `
    <- s
    ...
    -> e
    <- e, ee, es
    -> s, se`,
  X1K1: `
    <- s
    ...
    -> e
    <- e, ee, es
    -> s
    <- se`,
  X1X: `
    -> e
    <- e, ee, s, es
    -> s
    <- se`,
  XX1: `
    -> e
    <- e, ee, s
    -> es, s, se`,
  X1X1: `
    -> e
    <- e, ee, s
    -> es, s
    <- se`,
  K1N: `
    -> s
    ...
    -> e
    <- e, ee
    -> se`,
  K1K: `
    -> s
    <- s
    ...
    -> e, es
    <- e, ee
    -> se`,
  KK1: `
    -> s
    <- s
    ...
    -> e
    <- e, ee, se, es`,
  K1K1: `
    -> s
    <- s
    ...
    -> e
    <- e, ee, es
    -> se`,
  K1X: `
    -> s
    ...
    -> e
    <- e, ee, s, es
    -> se`,
  KX1: `
    -> s
    ...
    -> e
    <- e, ee, se, s
    -> es`,
  K1X1: `
    -> s
    ...
    -> e
    <- e, ee, s
    -> se, es`,
  I1N: `
    -> e, s
    <- e, ee
    -> se`,
  I1K: `
    <- s
    ...
    -> e, es, s
    <- e, ee
    -> se`,
  IK1: `
    <- s
    ...
    -> e, s
    <- e, ee, se, es`,
  I1K1: `
    <- s
    ...
    -> e, s
    <- e, ee, es
    -> se`,
  I1X: `
    -> e, s
    <- e, ee, s, es
    -> se`,
  IX1: `
    -> e, s
    <- e, ee, se, s
    -> es`,
  I1X1: `
    -> e, s
    <- e, ee, s
    -> se, es`,
};

const TOKENS: ReadonlySet<string> = new Set<Token>([
  "e",
  "s",
  "ee",
  "es",
  "se",
  "ss",
  "psk",
]);

/**
 * Parses a pattern written in the spec's notation (§7.1): optional pre-
 * message lines, a `...` line, then one line per message, each `->` or `<-`
 * followed by comma-separated tokens. The first message must be `->`
 * (Alice-initiated form) and the arrows must alternate. The result is not
 * yet checked against §7.3; see {@link validateHandshakePattern}.
 *
 * @example
 * ```ts
 * const nk = parseHandshakePattern("NK", "<- s\n...\n-> e, es\n<- e, ee");
 * ```
 */
export function parseHandshakePattern(
  name: string,
  notation: string,
): HandshakePattern {
  const lines = notation.split("\n").map((line) => line.trim()).filter((
    line,
  ) => line !== "");
  const split = lines.indexOf("...");
  const preLines = split === -1 ? [] : lines.slice(0, split);
  const messageLines = split === -1 ? lines : lines.slice(split + 1);
  const fail = (reason: string): never => {
    throw new RangeError(
      `Cannot parse handshake pattern ${name} as ${reason}`,
    );
  };

  let initiatorPreMessage: PreMessageToken[] | undefined;
  let responderPreMessage: PreMessageToken[] | undefined;
  for (const line of preLines) {
    const [arrow, tokens] = parseLine(line, fail);
    for (const token of tokens) {
      if (token !== "e" && token !== "s") {
        fail(`a pre-message may only hold "e" and "s": line is "${line}"`);
      }
    }
    if (arrow === "->") {
      if (initiatorPreMessage) fail("Alice has two pre-messages");
      initiatorPreMessage = tokens as PreMessageToken[];
    } else {
      if (responderPreMessage) fail("Bob has two pre-messages");
      responderPreMessage = tokens as PreMessageToken[];
    }
  }

  const messages: Token[][] = [];
  for (const [index, line] of messageLines.entries()) {
    const [arrow, tokens] = parseLine(line, fail);
    const expected = index % 2 === 0 ? "->" : "<-";
    if (arrow !== expected) {
      fail(
        `message ${
          index + 1
        } should start with "${expected}": line is "${line}"`,
      );
    }
    messages.push(tokens);
  }
  return {
    name,
    // Noise §7.4: only the one-way patterns have a single message.
    oneWay: messages.length === 1,
    initiatorPreMessage: initiatorPreMessage ?? [],
    responderPreMessage: responderPreMessage ?? [],
    messages,
  };
}

function parseLine(
  line: string,
  fail: (reason: string) => never,
): ["->" | "<-", Token[]] {
  const arrow = line.slice(0, 2);
  if (arrow !== "->" && arrow !== "<-") {
    fail(`a line does not start with an arrow: line is "${line}"`);
  }
  const tokens = line.slice(2).split(",").map((token) => token.trim());
  for (const token of tokens) {
    if (!TOKENS.has(token)) fail(`a token is unknown: token is "${token}"`);
  }
  return [arrow as "->" | "<-", tokens as Token[]];
}

/**
 * Every handshake pattern defined in the spec, unmodified: the one-way N, K,
 * X (§7.4), the 12 fundamental interactive patterns (§7.5) and the 23
 * deferred patterns (§7.6), keyed by name.
 */
export const HANDSHAKE_PATTERNS: Readonly<Record<string, HandshakePattern>> =
  Object.freeze(
    Object.fromEntries(
      Object.entries(PATTERN_TABLE).map((
        [name, notation],
      ) => [name, parseHandshakePattern(name, notation)]),
    ),
  );

/**
 * Splits a pattern name into its base pattern and modifiers (§8.1), e.g.
 * `"XXpsk0+psk2"` into `{ base: "XX", modifiers: ["psk0", "psk2"] }`.
 * Modifiers are returned as written; {@link applyPatternModifier} checks them.
 */
export function splitPatternName(
  name: string,
): { base: string; modifiers: string[] } {
  // Noise §8.1: the base name is uppercase letters and digits; modifiers are
  // alphanumeric, start lowercase, and are joined with "+".
  const match = /^([A-Z][A-Z0-9]*)([a-z][a-z0-9]*(?:\+[a-z][a-z0-9]*)*)?$/
    .exec(name);
  if (!match) {
    throw new RangeError(
      `Cannot parse the handshake pattern name: name is "${name}"`,
    );
  }
  return { base: match[1], modifiers: match[2] ? match[2].split("+") : [] };
}

/**
 * Applies one modifier to a pattern, returning a new pattern:
 *
 * - `pskN` (§9.4): `psk0` puts a `psk` token at the start of the first
 *   message; `pskN` for N ≥ 1 puts one at the end of message N.
 * - `fallback` (§10.2): Alice's first message becomes her pre-message and
 *   Bob sends first. The first message must hold only `e`, `s` or `e, s`,
 *   and Alice must have no pre-message already, since the spec leaves the
 *   order of the merged keys open.
 *
 * Throws `RangeError` for an unknown modifier or one that does not apply.
 */
export function applyPatternModifier(
  pattern: HandshakePattern,
  modifier: string,
): HandshakePattern {
  // Noise §8.1: the first modifier follows the base name directly, later
  // ones are joined with "+".
  const separator = /[a-z]/.test(pattern.name) ? "+" : "";
  const name = pattern.name + separator + modifier;
  const fail = (reason: string): never => {
    throw new RangeError(
      `Cannot apply modifier ${modifier} to handshake pattern ${pattern.name} as ${reason}`,
    );
  };
  const psk = /^psk(0|[1-9][0-9]*)$/.exec(modifier);
  if (psk) {
    const position = Number(psk[1]);
    if (position > pattern.messages.length) {
      fail(`it has only ${pattern.messages.length} messages`);
    }
    const messages = pattern.messages.map((tokens) => [...tokens]);
    if (position === 0) messages[0].unshift("psk");
    else messages[position - 1].push("psk");
    return { ...pattern, name, messages };
  }
  if (modifier === "fallback") {
    if (pattern.oneWay) fail("it is one-way");
    const [first, ...rest] = pattern.messages;
    const asPreMessage = first.join(", ");
    if (
      asPreMessage !== "e" && asPreMessage !== "s" && asPreMessage !== "e, s"
    ) {
      fail(
        `its first message cannot be a pre-message: message is "${asPreMessage}"`,
      );
    }
    if (pattern.initiatorPreMessage.length > 0) {
      fail("Alice already has a pre-message");
    }
    // Noise §7.2: to run a Bob-initiated pattern, Bob takes the initiator
    // role, so the pre-messages swap sides and each DH token's letters swap
    // (Alice's key is always the first letter in the spec's notation).
    return {
      name,
      oneWay: false,
      initiatorPreMessage: pattern.responderPreMessage,
      responderPreMessage: first as PreMessageToken[],
      messages: rest.map((tokens) => tokens.map(swapRoles)),
    };
  }
  return fail("the modifier is unknown");
}

function swapRoles(token: Token): Token {
  if (token === "es") return "se";
  if (token === "se") return "es";
  return token;
}

/**
 * Throws `RangeError` unless the pattern satisfies the validity rules of
 * §7.3 and the PSK rule of §9.3:
 *
 * 1. DH only with keys the parties hold (sent, or known from a pre-message).
 * 2. No public key sent twice, counting pre-messages.
 * 3. No DH computed twice.
 * 4. After `se` (`ss`) the initiator sends no payload until `ee` (`es`);
 *    after `es` (`ss`) the responder sends no payload until `ee` (`se`).
 * 5. (§9.3) After a `psk` token a party encrypts nothing until it has sent
 *    an `e`.
 */
export function validateHandshakePattern(pattern: HandshakePattern): void {
  const fail = (reason: string): never => {
    throw new RangeError(
      `Cannot use handshake pattern ${pattern.name} as ${reason}`,
    );
  };
  const parties = ["initiator", "responder"] as const;
  const sent = [
    new Set<string>(pattern.initiatorPreMessage),
    new Set<string>(pattern.responderPreMessage),
  ];
  for (
    const [index, preMessage] of [
      pattern.initiatorPreMessage,
      pattern.responderPreMessage,
    ].entries()
  ) {
    // Noise §7.1: a pre-message is "e", "s", "e, s" or empty.
    const text = preMessage.join(", ");
    if (text !== "" && text !== "e" && text !== "s" && text !== "e, s") {
      fail(`the ${parties[index]} pre-message is not allowed: it is "${text}"`);
    }
  }
  if (pattern.messages.length === 0) fail("it has no messages");
  if (pattern.oneWay && pattern.messages.length !== 1) {
    fail("a one-way pattern has more than one message");
  }

  const done = new Set<string>();
  let hasKey = false;
  let pskSeen = false;
  // Rules 4 and 5 for a payload (handshake or transport) from `sender`.
  const checkPayload = (sender: 0 | 1, where: string) => {
    if (hasKey && pskSeen && !sent[sender].has("e")) {
      fail(
        `the ${
          parties[sender]
        } encrypts ${where} after a psk without sending e`,
      );
    }
    const [own, needed] = sender === 0 ? [["se", "ee"], ["ss", "es"]] : [
      ["es", "ee"],
      ["ss", "se"],
    ];
    for (const [after, unless] of [own, needed]) {
      if (done.has(after) && !done.has(unless)) {
        fail(
          `the ${
            parties[sender]
          } sends ${where} after ${after} without ${unless}`,
        );
      }
    }
  };

  for (const [index, tokens] of pattern.messages.entries()) {
    const sender = (index % 2) as 0 | 1;
    const where = `message ${index + 1}`;
    for (const token of tokens) {
      if (token === "e" || token === "s") {
        if (sent[sender].has(token)) {
          fail(`the ${parties[sender]} sends ${token} twice`);
        }
        if (token === "s" && hasKey && pskSeen && !sent[sender].has("e")) {
          fail(
            `the ${parties[sender]} encrypts s after a psk without sending e`,
          );
        }
        sent[sender].add(token);
      } else if (token === "psk") {
        pskSeen = true;
        hasKey = true;
      } else {
        const [initiatorKey, responderKey] = token;
        if (!sent[0].has(initiatorKey) || !sent[1].has(responderKey)) {
          fail(`${token} in ${where} uses a key not yet known`);
        }
        if (done.has(token)) fail(`${token} is computed twice`);
        done.add(token);
        hasKey = true;
      }
    }
    checkPayload(sender, `the payload of ${where}`);
  }
  checkPayload(0, "transport messages");
  if (!pattern.oneWay) checkPayload(1, "transport messages");
}

/**
 * Looks up a pattern by name, applies its modifiers left to right and
 * validates the result, e.g. `resolveHandshakePattern("XXpsk0+psk2")`.
 * Throws `RangeError` for an unknown pattern or modifier, or an invalid
 * result.
 */
export function resolveHandshakePattern(name: string): HandshakePattern {
  const { base, modifiers } = splitPatternName(name);
  const basePattern = Object.hasOwn(HANDSHAKE_PATTERNS, base)
    ? HANDSHAKE_PATTERNS[base]
    : undefined;
  if (!basePattern) {
    throw new RangeError(
      `Cannot find the handshake pattern: name is "${base}"`,
    );
  }
  if (new Set(modifiers).size !== modifiers.length) {
    throw new RangeError(
      `Cannot use handshake pattern ${name} as a modifier repeats`,
    );
  }
  let pattern = basePattern;
  for (const modifier of modifiers) {
    pattern = applyPatternModifier(pattern, modifier);
  }
  validateHandshakePattern(pattern);
  return { ...pattern, name };
}
