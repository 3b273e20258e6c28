/**
 * Which file names a receiver accepts, and the names it picks instead of
 * overwriting (docs/TRANSFER.md §5). A name comes from the other peer, so it
 * is refused, never repaired: a name that needs repair is a mistake or an
 * attack, and the sender is told why.
 *
 * @module
 */

import { MAX_NAME_BYTES } from "./constants.ts";

/** Windows device names: harmless on Linux, a trap on a shared or synced folder. */
const DEVICE_NAMES =
  /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$/i;

/**
 * Characters that reorder or hide text (bidirectional controls, zero-width
 * marks), with which `exe.txt` can be shown as `txt.exe`.
 */
const DECEPTIVE =
  /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/u;

/** C0 and C1 control characters and DEL. */
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

const encoder = new TextEncoder();

/**
 * Why `name` cannot be a received file's name, or undefined when it can.
 * A valid name is one path component of 1–200 UTF-8 bytes that stays inside
 * the output folder on any file system altnet runs on.
 *
 * @example
 * ```ts
 * import { checkFileName } from "./file_name.ts";
 *
 * checkFileName("report.pdf"); // undefined
 * checkFileName("../.ssh/authorized_keys"); // "it contains a path separator"
 * ```
 */
export function checkFileName(name: string): string | undefined {
  if (name.length === 0) return "it is empty";
  const bytes = encoder.encode(name).length;
  if (bytes > MAX_NAME_BYTES) {
    return `it is longer than ${MAX_NAME_BYTES} bytes (${bytes})`;
  }
  if (name.includes("/") || name.includes("\\")) {
    return "it contains a path separator";
  }
  if (name === "." || name === "..") return "it names a folder";
  if (CONTROL.test(name)) return "it contains control characters";
  if (DECEPTIVE.test(name)) {
    return "it contains invisible or text-reordering characters";
  }
  if (name !== name.trim()) return "it starts or ends with white space";
  if (name.endsWith(".")) return "it ends with a dot";
  // Windows ignores the extension: NUL.txt is the NUL device.
  const stem = name.split(".")[0].trimEnd();
  if (DEVICE_NAMES.test(stem)) return `it is a device name (${stem})`;
  if (/[:*?"<>|]/.test(name)) {
    return 'it contains one of : * ? " < > |, which other systems refuse';
  }
  return undefined;
}

/**
 * The `n`th alternative to `name`: `report (1).pdf`, `archive (2).tar.gz`,
 * `notes (3)`. The number goes before the first dot of a name that is not a
 * dot file, so double extensions stay whole.
 *
 * @example
 * ```ts
 * import { numberedName } from "./file_name.ts";
 *
 * numberedName("photo.jpg", 1); // "photo (1).jpg"
 * ```
 */
export function numberedName(name: string, n: number): string {
  if (n === 0) return name;
  const dot = name.indexOf(".", 1);
  return dot < 0
    ? `${name} (${n})`
    : `${name.slice(0, dot)} (${n})${name.slice(dot)}`;
}
