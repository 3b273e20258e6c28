/**
 * What a benchmark ran on, printed at the top of its report so that figures
 * from different machines are never compared blindly.
 *
 * @module
 */

import { cpus } from "node:os";

/** The runtime and hardware a benchmark ran on. */
export interface MachineInfo {
  /** Deno's version, e.g. `"2.9.6"`. */
  deno: string;
  /** V8's version. */
  v8: string;
  /** The build target, e.g. `"x86_64-unknown-linux-gnu"`. */
  target: string;
  /** The CPU model, or `"unknown"`. */
  cpuModel: string;
  /** Logical cores the runtime sees. */
  cores: number;
}

/**
 * Describes this machine. The CPU model comes from `/proc/cpuinfo` (the
 * `model name` line on x86, `Model` or `Hardware` on ARM boards such as the
 * Raspberry Pi), falling back to `node:os` where that file is missing or
 * unreadable.
 */
export function describeMachine(): MachineInfo {
  return {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    target: Deno.build.target,
    cpuModel: cpuModelFromProc() ?? cpus()[0]?.model ?? "unknown",
    cores: navigator.hardwareConcurrency,
  };
}

/**
 * The CPU model named in the text of `/proc/cpuinfo`, or `undefined`.
 *
 * @example
 * ```ts
 * import { cpuModelFromCpuinfo } from "./machine.ts";
 *
 * cpuModelFromCpuinfo("processor\t: 0\nmodel name\t: Intel(R) Xeon(R)\n"); // "Intel(R) Xeon(R)"
 * ```
 */
export function cpuModelFromCpuinfo(text: string): string | undefined {
  for (const field of ["model name", "Model", "Hardware", "cpu model"]) {
    const match = text.match(new RegExp(`^${field}\\s*:\\s*(.+)$`, "m"));
    if (match) return match[1].trim();
  }
  return undefined;
}

function cpuModelFromProc(): string | undefined {
  try {
    return cpuModelFromCpuinfo(Deno.readTextFileSync("/proc/cpuinfo"));
  } catch {
    // Not Linux, or no read permission: node:os is the fallback.
    return undefined;
  }
}
