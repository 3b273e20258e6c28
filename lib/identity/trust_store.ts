/**
 * Trust on first use: the keys of peers and relays seen before, kept beside
 * the identity (`known_peers`, `known_relays`), as ssh's `known_hosts`.
 *
 * A key seen for the first time is pinned; the same key later is a match; a
 * different key for the same name is a change, which callers refuse loudly
 * unless the user accepts it (`--accept-new-key`).
 *
 * @module
 */

import { dirname } from "node:path";
import { UserError } from "../user_error.ts";

/** What a store says about a key presented for a name. */
export type TrustVerdict = "new" | "match" | "changed";

interface Entry {
  key: string;
  firstSeen: string;
}

/** A file of pinned keys by name. */
export class TrustStore {
  readonly path: string;
  #entries: Record<string, Entry> = {};

  private constructor(path: string) {
    this.path = path;
  }

  /** Opens the store at `path` (an empty one when the file does not exist). */
  static async open(path: string): Promise<TrustStore> {
    const store = new TrustStore(path);
    let text: string | undefined;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        throw new UserError(`Cannot read the list of known keys: ${path}`, {
          cause: error,
        });
      }
    }
    if (text !== undefined) {
      try {
        const doc = JSON.parse(text);
        if (typeof doc !== "object" || doc === null) throw new Error();
        for (const [name, entry] of Object.entries(doc)) {
          const e = entry as Entry;
          if (typeof e.key === "string") store.#entries[name] = e;
        }
      } catch {
        throw new UserError(`The list of known keys is damaged: ${path}`, {
          hint: "fix or remove the file (every key is then trusted anew)",
        });
      }
    }
    return store;
  }

  /** The pinned key for `name`, if any. */
  get(name: string): Uint8Array | undefined {
    const entry = this.#entries[name];
    return entry ? Uint8Array.fromBase64(entry.key) : undefined;
  }

  /** Compares `key` with what is pinned for `name`. */
  check(name: string, key: Uint8Array): TrustVerdict {
    const entry = this.#entries[name];
    if (!entry) return "new";
    return entry.key === key.toBase64() ? "match" : "changed";
  }

  /** Pins `key` for `name` and saves the file (mode 0600). */
  async pin(name: string, key: Uint8Array): Promise<void> {
    this.#entries[name] = {
      key: key.toBase64(),
      firstSeen: new Date().toISOString(),
    };
    await Deno.mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(
      tmp,
      JSON.stringify(this.#entries, null, 2) + "\n",
      {
        mode: 0o600,
      },
    );
    await Deno.rename(tmp, this.path);
  }
}
