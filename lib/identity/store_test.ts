import assert from "node:assert/strict";
import { join } from "node:path";
import { UserError } from "../user_error.ts";
import { generateIdentity } from "./identity.ts";
import {
  configDir,
  decodeIdentityFile,
  encodeIdentityFile,
  identityPath,
  readIdentity,
  readOrCreateIdentity,
  writeIdentity,
} from "./store.ts";

async function withTempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "altnet-identity-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the identity path prefers the flag, then ALTNET_IDENTITY, then XDG", () => {
  const env = { ALTNET_IDENTITY: "/env/id", XDG_CONFIG_HOME: "/xdg" };
  assert.equal(identityPath("/flag/id", env), "/flag/id");
  assert.equal(identityPath(undefined, env), "/env/id");
  assert.equal(
    identityPath(undefined, { XDG_CONFIG_HOME: "/xdg" }),
    "/xdg/altnet/identity",
  );
  assert.equal(
    identityPath(undefined, { HOME: "/home/a" }),
    "/home/a/.config/altnet/identity",
  );
  assert.throws(() => configDir({}), UserError);
});

Deno.test("an identity written with mode 0600 reads back the same keys", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "nested", "identity");
    const id = generateIdentity();
    await writeIdentity(path, id);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(join(dir, "nested"))).mode! & 0o777, 0o700);
    const back = await readIdentity(path);
    assert.deepEqual(back?.noisePublicKey, id.noisePublicKey);
    assert.deepEqual(back?.signingPublicKey, id.signingPublicKey);
  });
});

Deno.test("an existing identity is only replaced with force", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "identity");
    const first = generateIdentity();
    await writeIdentity(path, first);
    await assert.rejects(
      writeIdentity(path, generateIdentity()),
      (e: Error) => e instanceof UserError && /already exists/.test(e.message),
    );
    assert.deepEqual(
      (await readIdentity(path))?.noisePublicKey,
      first.noisePublicKey,
    );
    const second = generateIdentity();
    await writeIdentity(path, second, { force: true });
    assert.deepEqual(
      (await readIdentity(path))?.noisePublicKey,
      second.noisePublicKey,
    );
    // No temporary files are left behind.
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.deepEqual(names, ["identity"]);
  });
});

Deno.test("a key file readable by group or others is refused", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "identity");
    await writeIdentity(path, generateIdentity());
    for (const mode of [0o640, 0o604, 0o644]) {
      await Deno.chmod(path, mode);
      await assert.rejects(
        readIdentity(path),
        (e: Error) =>
          e instanceof UserError &&
          e.message.includes("readable by group or others") &&
          e.message.includes(mode.toString(8)),
      );
    }
  });
});

Deno.test("a missing identity reads as undefined and is created on first use", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "identity");
    assert.equal(await readIdentity(path), undefined);
    const made = await readOrCreateIdentity(path);
    assert.equal(made.created, true);
    const again = await readOrCreateIdentity(path);
    assert.equal(again.created, false);
    assert.deepEqual(
      again.identity.noisePublicKey,
      made.identity.noisePublicKey,
    );
  });
});

Deno.test("damaged identity files are refused with the reason", () => {
  const good = encodeIdentityFile(generateIdentity());
  const doc = JSON.parse(good);
  const cases: [string, RegExp][] = [
    ["not json", /not JSON/],
    [JSON.stringify({ ...doc, format: "x" }), /not an altnet identity/],
    [JSON.stringify({ ...doc, version: 2 }), /unsupported version/],
    [JSON.stringify({ ...doc, seed: "@@" }), /not base64/],
    [JSON.stringify({ ...doc, seed: "AAAA" }), /not 32 bytes/],
    [
      JSON.stringify({ ...doc, noisePublicKey: "A".repeat(44) }),
      /does not match/,
    ],
  ];
  for (const [text, reason] of cases) {
    assert.throws(
      () => decodeIdentityFile(text, "/x"),
      (e: Error) => e instanceof UserError && reason.test(e.message),
    );
  }
});
