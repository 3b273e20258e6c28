/**
 * Where identities live on disk, and how they are read and written.
 *
 * The identity file is JSON holding the secret seed (base64) and, to catch
 * corruption, the public key it must derive. It is written with mode 0600 into
 * a 0700 directory through a temporary file and a rename, so a crash never
 * leaves half a key. Like ssh, altnet refuses a key file that group or others
 * can read.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { UserError } from "../user_error.ts";
import { deriveIdentity, generateIdentity, type Identity } from "./identity.ts";
import { fingerprint } from "./fingerprint.ts";

/** The identity file's format marker and version. */
const FILE_FORMAT = "altnet-identity";
const FILE_VERSION = 1;

/**
 * The folder for altnet's state: `$XDG_CONFIG_HOME/altnet`, else
 * `$HOME/.config/altnet`. Known peers and partial downloads live here too.
 */
export function configDir(env: Record<string, string | undefined>): string {
  const base = env.XDG_CONFIG_HOME ||
    (env.HOME ? join(env.HOME, ".config") : undefined);
  if (!base) {
    throw new UserError(
      "Cannot find a folder for altnet's state as neither XDG_CONFIG_HOME nor HOME is set",
      { hint: "set XDG_CONFIG_HOME, or pass --identity PATH" },
    );
  }
  return join(base, "altnet");
}

/**
 * The identity file to use: the `--identity` flag, else `ALTNET_IDENTITY`,
 * else `identity` in {@linkcode configDir}.
 */
export function identityPath(
  flag: string | undefined,
  env: Record<string, string | undefined>,
): string {
  if (flag) return flag;
  if (env.ALTNET_IDENTITY) return env.ALTNET_IDENTITY;
  return join(configDir(env), "identity");
}

/** Serializes an identity to the identity file format. */
export function encodeIdentityFile(identity: Identity): string {
  return JSON.stringify(
    {
      format: FILE_FORMAT,
      version: FILE_VERSION,
      seed: identity.seed.toBase64(),
      noisePublicKey: identity.noisePublicKey.toBase64(),
      fingerprint: fingerprint(identity.noisePublicKey),
    },
    null,
    2,
  ) + "\n";
}

/** Parses an identity file; throws a UserError naming `path` when it is not one. */
export function decodeIdentityFile(text: string, path: string): Identity {
  const bad = (why: string) =>
    new UserError(`The identity file is damaged: ${path} (${why})`, {
      hint:
        "restore it from a backup, or create a new identity with 'altnet keygen --force'",
    });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw bad("not JSON");
  }
  if (typeof doc !== "object" || doc === null) throw bad("not an object");
  const { format, version, seed, noisePublicKey } = doc as Record<
    string,
    unknown
  >;
  if (format !== FILE_FORMAT) throw bad("not an altnet identity");
  if (version !== FILE_VERSION) {
    throw bad(`unsupported version ${JSON.stringify(version)}`);
  }
  if (typeof seed !== "string") throw bad("no seed");
  let seedBytes: Uint8Array;
  try {
    seedBytes = Uint8Array.fromBase64(seed);
  } catch {
    throw bad("seed is not base64");
  }
  if (seedBytes.length !== 32) throw bad("seed is not 32 bytes");
  const identity = deriveIdentity(seedBytes);
  seedBytes.fill(0);
  if (
    typeof noisePublicKey !== "string" ||
    noisePublicKey !== identity.noisePublicKey.toBase64()
  ) {
    throw bad("public key does not match the seed");
  }
  return identity;
}

/**
 * Reads the identity at `path`, refusing a file readable by group or others.
 * Returns undefined when there is no file.
 */
export async function readIdentity(
  path: string,
): Promise<Identity | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new UserError(`Cannot read the identity file: ${path}`, {
      cause: error,
      hint: describeFsError(error),
    });
  }
  if (!info.isFile) {
    throw new UserError(`The identity path is not a file: ${path}`);
  }
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, "0");
    throw new UserError(
      `The identity file is readable by group or others (mode ${mode}): ${path}`,
      { hint: `run 'chmod 600 ${path}' if the key is still secret` },
    );
  }
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UserError(`Cannot read the identity file: ${path}`, {
      cause: error,
      hint: describeFsError(error),
    });
  }
  return decodeIdentityFile(text, path);
}

/**
 * Writes `identity` to `path` with mode 0600, creating the folder (0700).
 * Refuses to replace an existing file unless `force`.
 */
export async function writeIdentity(
  path: string,
  identity: Identity,
  options: { force?: boolean } = {},
): Promise<void> {
  const exists = await Deno.lstat(path).then(() => true, () => false);
  if (exists && !options.force) {
    throw new UserError(`An identity already exists: ${path}`, {
      hint:
        "pass --force to replace it (the old key is lost and peers that pinned it will refuse the new one)",
    });
  }
  const dir = dirname(path);
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(tmp, encodeIdentityFile(identity), {
      mode: 0o600,
      createNew: true,
    });
    await Deno.chmod(tmp, 0o600);
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw new UserError(`Cannot write the identity file: ${path}`, {
      cause: error,
      hint: describeFsError(error),
    });
  }
}

/**
 * Reads the identity at `path`, or creates and saves a new one when there is
 * none (the caller tells the user, as `created` says).
 */
export async function readOrCreateIdentity(
  path: string,
): Promise<{ identity: Identity; created: boolean }> {
  const existing = await readIdentity(path);
  if (existing) return { identity: existing, created: false };
  const identity = generateIdentity();
  await writeIdentity(path, identity);
  return { identity, created: true };
}

function describeFsError(error: unknown): string | undefined {
  if (error instanceof Deno.errors.PermissionDenied) {
    return "check the permissions of the file and its folder";
  }
  if (error instanceof Deno.errors.NotFound) {
    return "check that the folder exists";
  }
  if (error instanceof Error) return error.message;
  return undefined;
}
