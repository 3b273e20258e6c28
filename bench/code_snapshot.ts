/**
 * Which altnet source a process benchmark ran. A benchmark that spawns
 * `main.ts` runs the working tree as it is at each spawn, so it records the
 * commit, whether the tree differed from it, and a hash of every source file
 * before and after: if the hashes differ, someone edited the code mid-run
 * and the runs did not all measure the same program.
 *
 * @module
 */

import { join, relative } from "node:path";

/** The source a benchmark measured. */
export interface CodeSnapshot {
  /** `git rev-parse --short HEAD`, or null without git. */
  commit: string | null;
  /** Paths under the hashed roots that `git status` reports as changed or new. */
  uncommitted: string[];
  /** SHA-256 over the path and bytes of every `.ts` file under the roots. */
  sourceHash: string;
}

/** The sources `main.ts` loads: itself, `cmd/` and `lib/`. */
export const SOURCE_ROOTS: readonly string[] = ["main.ts", "cmd", "lib"];

/**
 * Describes the source under `root` (the repository).
 *
 * @example
 * ```ts ignore
 * import { snapshotCode } from "./code_snapshot.ts";
 *
 * const before = await snapshotCode(new URL("..", import.meta.url).pathname);
 * ```
 */
export async function snapshotCode(
  root: string,
  roots: readonly string[] = SOURCE_ROOTS,
): Promise<CodeSnapshot> {
  const files: string[] = [];
  for (const entry of roots) await collectTs(join(root, entry), files);
  files.sort();
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const file of files) {
    parts.push(encoder.encode(`${relative(root, file)}\0`));
    parts.push(await Deno.readFile(file));
    parts.push(new Uint8Array([0]));
  }
  const all = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  const commit = await git(root, ["rev-parse", "--short", "HEAD"]);
  const status = await git(root, [
    "status",
    "--porcelain",
    "--untracked-files=all",
    "--",
    ...roots,
  ]);
  return {
    commit: commit?.trim() || null,
    uncommitted: status
      ? status.split("\n").filter(Boolean).map((line) => line.slice(3))
      : [],
    sourceHash: [...digest].map((b) => b.toString(16).padStart(2, "0")).join(
      "",
    ),
  };
}

async function collectTs(path: string, into: string[]): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    return; // a root this checkout lacks
  }
  if (info.isFile) {
    if (path.endsWith(".ts")) into.push(path);
    return;
  }
  for await (const entry of Deno.readDir(path)) {
    await collectTs(join(path, entry.name), into);
  }
}

/** A git command's stdout, or null when git is missing or fails. */
async function git(root: string, args: string[]): Promise<string | null> {
  try {
    const output = await new Deno.Command("git", {
      // No optional locks: never touch the index another git may be using.
      args: ["--no-optional-locks", "-C", root, ...args],
      stdout: "piped",
      stderr: "null",
    }).output();
    return output.success ? new TextDecoder().decode(output.stdout) : null;
  } catch {
    return null; // no git
  }
}
