import assert from "node:assert/strict";
import {
  canonicalJson,
  canonicalJsonWithRaw,
  MAX_DEPTH,
} from "./canonical_json.ts";

Deno.test("canonical JSON sorts members, drops whitespace and keeps array order", () => {
  assert.equal(
    canonicalJson({ b: [3, 1, { z: null, a: false }], a: "x", c: true }),
    '{"a":"x","b":[3,1,{"a":false,"z":null}],"c":true}',
  );
  assert.equal(canonicalJson([]), "[]");
  assert.equal(canonicalJson({}), "{}");
  assert.equal(canonicalJson(-9007199254740991), "-9007199254740991");
});

Deno.test("canonical JSON sorts member names by UTF-16 code units (RFC 8785 §3.2.3)", () => {
  // "\u20ac" (€) is 0x20AC; "\ud83d\ude00" (😀) starts with 0xD83D; "\ufb33"
  // is 0xFB33: code-unit order puts the emoji between them, unlike
  // code-point order.
  const text = canonicalJson({
    "\ufb33": 3,
    "\ud83d\ude00": 2,
    "\u20ac": 1,
    "a": 0,
  });
  assert.equal(text, '{"a":0,"\u20ac":1,"\ud83d\ude00":2,"\ufb33":3}');
});

Deno.test("canonical JSON escapes strings as JSON.stringify does", () => {
  assert.equal(
    canonicalJson({ s: 'q"\\\n\t\u0001</script>é' }),
    '{"s":"q\\"\\\\\\n\\t\\u0001</script>é"}',
  );
});

Deno.test("canonical JSON refuses every value outside its subset", () => {
  class Point {
    x = 1;
  }
  const deep: unknown[] = [];
  let cursor = deep;
  for (let i = 0; i < MAX_DEPTH; i++) {
    const next: unknown[] = [];
    cursor.push(next);
    cursor = next;
  }
  const bad: unknown[] = [
    1.5,
    -0,
    NaN,
    Infinity,
    2 ** 53,
    undefined,
    { a: undefined },
    () => 1,
    1n,
    Symbol("x"),
    "\ud800",
    { ["\udc00"]: 1 },
    new Date(0),
    new Point(),
    new Map(),
    deep,
  ];
  for (const value of bad) {
    assert.throws(() => canonicalJson(value), TypeError, String(value));
  }
});

Deno.test("parsing canonical JSON and encoding it again gives the same text", () => {
  const random = mulberry32(7);
  for (let i = 0; i < 500; i++) {
    const value = randomValue(random, 0);
    const text = canonicalJson(value);
    assert.equal(canonicalJson(JSON.parse(text)), text);
  }
});

Deno.test("raw member texts are merged in canonical order", () => {
  const raw = { m: canonicalJson([{ y: 1, x: 2 }]) };
  const object = { z: 1, a: "b" };
  assert.equal(
    canonicalJsonWithRaw(object, raw),
    canonicalJson({ ...object, m: [{ y: 1, x: 2 }] }),
  );
});

function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomString(random: () => number): string {
  const pool = [
    "a",
    "Z",
    "0",
    '"',
    "\\",
    "\n",
    "\u0000",
    "é",
    "€",
    "😀",
    "\u2028",
    " ",
  ];
  let s = "";
  const n = Math.floor(random() * 6);
  for (let i = 0; i < n; i++) s += pool[Math.floor(random() * pool.length)];
  return s;
}

function randomValue(random: () => number, depth: number): unknown {
  const kind = Math.floor(random() * (depth > 4 ? 4 : 6));
  switch (kind) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return Math.floor((random() - 0.5) * 2 ** 40);
    case 3:
      return randomString(random);
    case 4:
      return Array.from(
        { length: Math.floor(random() * 4) },
        () => randomValue(random, depth + 1),
      );
    default: {
      const object: Record<string, unknown> = {};
      const n = Math.floor(random() * 4);
      for (let i = 0; i < n; i++) {
        object[randomString(random)] = randomValue(random, depth + 1);
      }
      return object;
    }
  }
}
