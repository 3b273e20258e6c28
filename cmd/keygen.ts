/**
 * `altnet keygen`: create (or show) this machine's identity.
 *
 * @module
 */

import {
  fingerprint,
  generateIdentity,
  identityPath,
  readIdentity,
  writeIdentity,
} from "../lib/identity/mod.ts";
import { UserError } from "../lib/user_error.ts";
import { parseFlags } from "./flags.ts";
import { IDENTITY_FLAG, IDENTITY_HELP } from "./identity_option.ts";
import { PROCESS_SINKS, Reporter } from "./output.ts";
import type { OutputSinks } from "./output.ts";

/** One line for `altnet --help`. */
export const summary =
  "create this machine's identity and show its fingerprint";

/** `altnet keygen --help`. */
export const help = `altnet keygen: ${summary}

Usage: altnet keygen [--identity PATH] [--force] [--show] [--json]

Writes a new identity (one secret seed; the X25519 key for Noise and the
Ed25519 key for descriptors derive from it) with mode 0600, and prints its
fingerprint: the 20 characters people compare aloud, as every command shows it.

Options:
${IDENTITY_HELP}
  --force           replace an existing identity (the old key is lost)
  --show            print the fingerprint of the existing identity; change nothing
  --json            print one JSON object per line (event "done")
  -h, --help        show this help`;

/** Parsed `altnet keygen` flags. */
export interface KeygenOptions {
  help: boolean;
  json: boolean;
  identity?: string;
  force: boolean;
  show: boolean;
}

/** Parses `altnet keygen` arguments; throws UsageError on mistakes. */
export function parseKeygenArgs(args: string[]): KeygenOptions {
  const { values } = parseFlags("keygen", args, {
    ...IDENTITY_FLAG,
    force: { type: "boolean" },
    show: { type: "boolean" },
  });
  return {
    help: values.help ?? false,
    json: values.json ?? false,
    identity: values.identity,
    force: values.force ?? false,
    show: values.show ?? false,
  };
}

/** Runs `altnet keygen`. */
export async function run(
  options: KeygenOptions,
  context: { env?: Record<string, string | undefined>; sinks?: OutputSinks } =
    {},
): Promise<number> {
  const reporter = new Reporter(options.json, context.sinks ?? PROCESS_SINKS);
  const path = identityPath(
    options.identity,
    context.env ?? Deno.env.toObject(),
  );
  if (options.show) {
    const identity = await readIdentity(path);
    if (!identity) {
      throw new UserError(`No identity exists yet: ${path}`, {
        hint: "run 'altnet keygen' to create one",
      });
    }
    report(
      reporter,
      path,
      identity.noisePublicKey,
      identity.signingPublicKey,
      false,
    );
    return 0;
  }
  const identity = generateIdentity();
  await writeIdentity(path, identity, { force: options.force });
  report(
    reporter,
    path,
    identity.noisePublicKey,
    identity.signingPublicKey,
    true,
  );
  return 0;
}

function report(
  reporter: Reporter,
  path: string,
  noisePublicKey: Uint8Array,
  signingPublicKey: Uint8Array,
  created: boolean,
) {
  const print = fingerprint(noisePublicKey);
  reporter.event(
    "done",
    {
      created,
      path,
      fingerprint: print,
      noisePublicKey: noisePublicKey.toBase64(),
      signingPublicKey: signingPublicKey.toBase64(),
    },
    `${
      created ? "Created identity" : "Identity"
    } ${path}\nFingerprint: ${print}`,
  );
}
