/**
 * The `--identity` flag every identity-using command shares, and loading the
 * identity it names (creating one on first use, and saying so).
 *
 * @module
 */

import {
  fingerprint,
  type Identity,
  identityPath,
  readOrCreateIdentity,
} from "../lib/identity/mod.ts";
import type { Reporter } from "./output.ts";

/** The flag definition. */
export const IDENTITY_FLAG = { identity: { type: "string" } } as const;

/** Help text line for the flag. */
export const IDENTITY_HELP =
  "  --identity PATH   identity file (default: $ALTNET_IDENTITY, else $XDG_CONFIG_HOME/altnet/identity)";

/**
 * Loads the identity a command should use, creating it when missing and
 * telling the user (an `identity` event with `"created": true`).
 */
export async function loadCommandIdentity(
  flag: string | undefined,
  reporter: Reporter,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Promise<{ identity: Identity; path: string }> {
  const path = identityPath(flag, env);
  const { identity, created } = await readOrCreateIdentity(path);
  const print = fingerprint(identity.noisePublicKey);
  if (created) {
    reporter.notice(
      "identity",
      { created: true, path, fingerprint: print },
      `Created a new identity at ${path} (fingerprint ${print})`,
    );
  } else {
    reporter.event("identity", { created: false, path, fingerprint: print });
  }
  return { identity, path };
}
