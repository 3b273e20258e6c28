/**
 * Canonical JSON: the exact bytes a directory signature covers.
 *
 * The encoding is RFC 8785 (JSON Canonicalization Scheme) restricted to the
 * values altnet's directory documents use, so that it needs no number
 * formatting rules at all:
 *
 * - `null`, `true`, `false`;
 * - numbers that are safe integers (|n| ≤ 2^53 − 1, never `-0`), written in
 *   plain decimal (RFC 8785 §3.2.2.3 gives the same text for them);
 * - well-formed strings (no lone surrogates), escaped as ECMAScript's
 *   `JSON.stringify` does, which is what RFC 8785 §3.2.2.2 prescribes;
 * - arrays, in their order;
 * - plain objects, members sorted by their names' UTF-16 code units
 *   (RFC 8785 §3.2.3), with no `undefined` values;
 * - no whitespace anywhere, and at most {@linkcode MAX_DEPTH} levels.
 *
 * Any other value (a fraction, `NaN`, a `Date`, a class instance…) is a
 * `TypeError`, so two implementations can never disagree on the bytes.
 * Parsing canonical JSON with `JSON.parse` and encoding it again gives the
 * same text, which is what lets a verifier recompute the signed bytes.
 *
 * @module
 */

/** How deeply arrays and objects may nest. */
export const MAX_DEPTH = 16;

/**
 * The canonical JSON text of `value`.
 *
 * @throws {TypeError} for a value outside the canonical subset
 *
 * @example
 * ```ts
 * canonicalJson({ b: [1, "x"], a: true }); // '{"a":true,"b":[1,"x"]}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  write(value, parts, 0, "$");
  return parts.join("");
}

function write(value: unknown, out: string[], depth: number, path: string) {
  switch (typeof value) {
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "number":
      if (!Number.isSafeInteger(value) || Object.is(value, -0)) {
        throw new TypeError(
          `Cannot encode canonical JSON as a number is not a safe integer: ${path} is ${value}`,
        );
      }
      out.push(String(value));
      return;
    case "string":
      if (!value.isWellFormed()) {
        throw new TypeError(
          `Cannot encode canonical JSON as a string has a lone surrogate: ${path}`,
        );
      }
      out.push(JSON.stringify(value));
      return;
    case "object":
      break;
    default:
      throw new TypeError(
        `Cannot encode canonical JSON as a value is of type ${typeof value}: ${path}`,
      );
  }
  if (value === null) {
    out.push("null");
    return;
  }
  if (depth >= MAX_DEPTH) {
    throw new TypeError(
      `Cannot encode canonical JSON as it nests too deeply: ${path} is deeper than ${MAX_DEPTH}`,
    );
  }
  if (Array.isArray(value)) {
    out.push("[");
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(",");
      write(value[i], out, depth + 1, `${path}[${i}]`);
    }
    out.push("]");
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError(
      `Cannot encode canonical JSON as a value is not a plain object: ${path}`,
    );
  }
  // Default sort compares UTF-16 code units, as RFC 8785 §3.2.3 asks.
  const keys = Object.keys(value).sort();
  out.push("{");
  let first = true;
  for (const key of keys) {
    const member = (value as Record<string, unknown>)[key];
    if (!first) out.push(",");
    first = false;
    if (!key.isWellFormed()) {
      throw new TypeError(
        `Cannot encode canonical JSON as a member name has a lone surrogate: ${path}`,
      );
    }
    out.push(JSON.stringify(key), ":");
    write(member, out, depth + 1, `${path}.${key}`);
  }
  out.push("}");
}

/**
 * The canonical JSON of an object whose members are those of `object` plus
 * those of `raw`, where each `raw` value is text that is already canonical
 * JSON (not checked). Lets a large document reuse cached member texts.
 *
 * @example
 * ```ts
 * canonicalJsonWithRaw({ b: 1 }, { a: "[2,3]" }); // '{"a":[2,3],"b":1}'
 * ```
 */
export function canonicalJsonWithRaw(
  object: Record<string, unknown>,
  raw: Record<string, string>,
): string {
  const keys = [...new Set([...Object.keys(object), ...Object.keys(raw)])]
    .sort();
  const parts: string[] = ["{"];
  keys.forEach((key, i) => {
    if (i > 0) parts.push(",");
    parts.push(JSON.stringify(key), ":");
    if (Object.hasOwn(raw, key)) parts.push(raw[key]);
    else write(object[key], parts, 1, `$.${key}`);
  });
  parts.push("}");
  return parts.join("");
}
