/**
 * Getting a verified relay list for `altnet list` and `altnet ping`: which
 * directory key to trust (`--directory-key`, else the key pinned on first use
 * in `known_directories` beside the identity), fetching, and turning every
 * failure into one sentence for the terminal.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { identityPath, TrustStore } from "../lib/identity/mod.ts";
import {
  DirectoryError,
  fetchRelayList,
  type RelayList,
} from "../lib/directory/mod.ts";
import { decodeBase64Exact } from "../lib/directory/signed_object.ts";
import { UsageError, UserError } from "../lib/user_error.ts";
import type { Reporter } from "./output.ts";

/** Help line for `--directory-key`. */
export const DIRECTORY_KEY_HELP =
  "  --directory-key KEY  the directory's signing key, base64 (default: trust on first use)";

/** Parses `--directory-key`: the base64 Ed25519 key `serve-directory` prints. */
export function parseDirectoryKey(
  text: string | undefined,
): string | undefined {
  if (text === undefined) return undefined;
  if (!decodeBase64Exact(text, 32)) {
    throw new UsageError(
      `Invalid key for --directory-key: ${text} (expected the 44-character base64 key that 'altnet serve-directory' prints)`,
    );
  }
  return text;
}

/** How the directory's key came to be trusted. */
export type DirectoryTrust = "flag" | "pinned" | "first-use";

/** The file of pinned directory keys for this identity location. */
export function knownDirectoriesPath(
  identity: string | undefined,
  env: Record<string, string | undefined>,
): string {
  return join(dirname(identityPath(identity, env)), "known_directories");
}

/**
 * Fetches and verifies the relay list of `options.directory`, pinning the
 * directory's key on first use.
 *
 * @throws {UserError} with one sentence and a hint on any failure
 */
export async function fetchTrustedRelayList(
  options: { directory: string; directoryKey?: string; identity?: string },
  reporter: Reporter,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Promise<{ list: RelayList; trust: DirectoryTrust }> {
  const url = options.directory;
  let store: TrustStore | undefined;
  let pinned: Uint8Array | undefined;
  let trust: DirectoryTrust;
  if (options.directoryKey) {
    pinned = Uint8Array.fromBase64(options.directoryKey);
    trust = "flag";
  } else {
    store = await TrustStore.open(knownDirectoriesPath(options.identity, env));
    pinned = store.get(url);
    trust = pinned ? "pinned" : "first-use";
  }
  let list: RelayList;
  try {
    list = await fetchRelayList(url, { pinnedKey: pinned });
  } catch (error) {
    if (!(error instanceof DirectoryError)) throw error;
    throw explain(error, url, trust, store?.path);
  }
  if (store && trust === "first-use") {
    const key = list.directory.signing_key;
    await store.pin(url, Uint8Array.fromBase64(key));
    reporter.notice(
      "trust",
      { directory: url, key, path: store.path },
      `Trusting the key of the directory at ${url} on first use: ${key} (saved in ${store.path})`,
    );
  }
  return { list, trust };
}

function explain(
  error: DirectoryError,
  url: string,
  trust: DirectoryTrust,
  storePath: string | undefined,
): UserError {
  switch (error.problem) {
    case "unreachable":
      return new UserError(error.message, {
        hint:
          "check --directory (or ALTNET_DIRECTORY) and that 'altnet serve-directory' runs there",
        cause: error,
      });
    case "wrong-key":
      if (trust === "pinned") {
        return new UserError(
          `The directory's key changed since it was first trusted: ${url}`,
          {
            hint:
              `if its operator really changed the key, remove its line from ${storePath} or pass --directory-key; otherwise someone may be impersonating it`,
            cause: error,
          },
        );
      }
      return new UserError(error.message, {
        hint: "check --directory-key against the key the operator published",
        cause: error,
      });
    case "bad-signature":
    case "bad-relay":
    case "malformed":
      return new UserError(error.message, {
        hint:
          "do not use this list; try the directory itself rather than a mirror",
        cause: error,
      });
    case "stale":
      return new UserError(error.message, {
        hint: "try again later, or the directory itself rather than a cache",
        cause: error,
      });
    case "not-yet-valid":
      return new UserError(error.message, {
        hint: "check this machine's clock",
        cause: error,
      });
    default:
      return new UserError(error.message, { cause: error });
  }
}
