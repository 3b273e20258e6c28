// Thousands of hostile bodies at the write endpoints: every answer is a
// clean refusal (4xx with a JSON reason), never a 5xx or a crash.
import assert from "node:assert/strict";
import { seededRandom } from "../udp/seeded_random.ts";
import {
  createTestDirectory,
  TestRelay,
} from "./directory_harness_for_testing.ts";

const ROUNDS = 3000;

type Random = () => number;

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

const NASTY_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  -0,
  1.5,
  1e308,
  -1e308,
  2 ** 53,
  "",
  "x".repeat(300),
  "\u0000",
  "\ud800",
  "<script>alert(1)</script>",
  "💥".repeat(70),
  [],
  [[[[[]]]]],
  {},
  { __proto__: { polluted: true } },
  Array(50).fill(0),
];

function randomValue(random: Random, depth = 0): unknown {
  const roll = random();
  if (roll < 0.4 || depth > 3) return pick(random, NASTY_VALUES);
  if (roll < 0.6) {
    return Array.from(
      { length: Math.floor(random() * 4) },
      () => randomValue(random, depth + 1),
    );
  }
  if (roll < 0.8) {
    const object: Record<string, unknown> = {};
    const keys = [
      "type",
      "version",
      "name",
      "load",
      "addresses",
      "x",
      "__proto__",
      "constructor",
    ];
    for (let i = Math.floor(random() * 4); i > 0; i--) {
      object[pick(random, keys)] = randomValue(random, depth + 1);
    }
    return object;
  }
  return Math.floor(random() * 1e6) - 5e5;
}

/** Replaces, deletes or adds one member somewhere in a valid message. */
function mutateMessage(random: Random, message: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(message));
  const containers: Record<string, unknown>[] = [];
  const walk = (value: unknown) => {
    if (typeof value === "object" && value !== null) {
      containers.push(value as Record<string, unknown>);
      for (const child of Object.values(value)) walk(child);
    }
  };
  walk(copy);
  for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
    const target = pick(random, containers);
    const keys = Object.keys(target);
    const key = keys.length ? pick(random, keys) : "0";
    const roll = random();
    if (roll < 0.5) target[key] = randomValue(random);
    else if (roll < 0.7) delete target[key];
    else if (roll < 0.85) target[`extra${n}`] = randomValue(random);
    else if (typeof target[key] === "string") {
      const s = target[key] as string;
      const at = Math.floor(random() * (s.length + 1));
      target[key] = s.slice(0, at) + pick(random, ["A", "=", "\n", "é", "/"]) +
        s.slice(at + 1);
    } else if (typeof target[key] === "number") {
      target[key] = (target[key] as number) + pick(random, [1, -1, 0.5, 1e9]);
    }
  }
  return copy;
}

/** Flips, inserts or deletes characters of JSON text. */
function mutateText(random: Random, text: string): string {
  let out = text;
  for (let n = 1 + Math.floor(random() * 4); n > 0; n--) {
    const at = Math.floor(random() * (out.length + 1));
    const roll = random();
    const char = pick(random, [
      '"',
      "{",
      "}",
      "[",
      "]",
      ",",
      ":",
      "\\",
      "0",
      "e",
      "\u0000",
      " ",
      "💥",
    ]);
    if (roll < 0.4) out = out.slice(0, at) + char + out.slice(at + 1);
    else if (roll < 0.7) out = out.slice(0, at) + char + out.slice(at);
    else out = out.slice(0, at) + out.slice(at + 1 + Math.floor(random() * 8));
  }
  return out;
}

function randomBytes(random: Random): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(Math.floor(random() * 600));
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

Deno.test(`the write endpoints answer ${ROUNDS} hostile bodies with 4xx, never 5xx`, async () => {
  const dir = createTestDirectory({
    limits: {
      registrationRate: 1e6,
      registrationBurst: 1e6,
      updateRate: 1e6,
      updateBurst: 1e6,
    },
    maxRelaysPerIp: 1e6,
  });
  try {
    const random = seededRandom(20251122);
    const relays = Array.from(
      { length: 8 },
      (_, i) => new TestRelay(dir, { name: `seed-${i}` }),
    );
    for (const relay of relays.slice(0, 4)) {
      assert.equal((await relay.register()).status, 201);
    }
    const statuses = new Map<number, number>();
    for (let round = 0; round < ROUNDS; round++) {
      const relay = pick(random, relays);
      const [path, valid] = pick(
        random,
        [
          ["/v1/relays", () => relay.descriptor()],
          ["/v1/relays/heartbeat", () => relay.heartbeat()],
          ["/v1/relays/deregister", () => relay.heartbeat()],
        ] as const,
      );
      const roll = random();
      let body: string | Uint8Array<ArrayBuffer>;
      if (roll < 0.35) body = JSON.stringify(mutateMessage(random, valid()));
      else if (roll < 0.6) body = mutateText(random, JSON.stringify(valid()));
      else if (roll < 0.8) body = JSON.stringify(randomValue(random));
      else body = randomBytes(random);
      const response = await dir.directory.app.request(path, {
        method: "POST",
        body,
      });
      const status = response.status;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      assert.ok(
        status < 500,
        `round ${round}: ${status} for ${String(body).slice(0, 200)}`,
      );
      if (status >= 400) {
        const answer = await response.json();
        assert.equal(typeof answer.error, "string");
        assert.ok(answer.error.length > 10 && answer.error.length < 400);
      } else {
        await response.body?.cancel();
      }
    }
    // Most bodies are refused as malformed; the run did reach deeper checks.
    assert.ok(
      (statuses.get(400) ?? 0) > ROUNDS / 2,
      JSON.stringify([...statuses]),
    );
    assert.equal(
      dir.directory.registry.counters().get("rejected:malformed")! > 0,
      true,
    );
  } finally {
    dir.close();
  }
});
