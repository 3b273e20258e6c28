/**
 * The kernel's default UDP receive buffer (`net.core.rmem_default`), which
 * neither Deno socket API can enlarge per socket: a benchmark raises it for
 * its run, records the value it used, and puts the old one back.
 *
 * @module
 */

const RMEM_DEFAULT = "/proc/sys/net/core/rmem_default";
const RMEM_MAX = "/proc/sys/net/core/rmem_max";

/** The two sysctls that size a new socket's receive buffer, in bytes. */
export interface ReceiveBufferSysctls {
  /** `net.core.rmem_default`: what a new socket gets. */
  rmemDefault: number;
  /** `net.core.rmem_max`: the most `SO_RCVBUF` may ask for. */
  rmemMax: number;
}

/** What {@linkcode raiseReceiveBuffer} did. */
export interface ReceiveBufferChange {
  /** The values before the run. */
  original: ReceiveBufferSysctls;
  /** The values sockets of this run were created with. */
  used: ReceiveBufferSysctls;
  /** Whether the sysctls were changed (and must be restored). */
  changed: boolean;
  /** Why they were left alone, when they were. */
  note?: string;
}

/**
 * Reads the current values.
 *
 * @throws {Deno.errors.NotFound} Where `/proc/sys` is missing (not Linux).
 */
export function readReceiveBuffer(): ReceiveBufferSysctls {
  return {
    rmemDefault: Number(Deno.readTextFileSync(RMEM_DEFAULT).trim()),
    rmemMax: Number(Deno.readTextFileSync(RMEM_MAX).trim()),
  };
}

function write(values: ReceiveBufferSysctls): void {
  // rmem_max first, so that rmem_default never exceeds it in between.
  Deno.writeTextFileSync(RMEM_MAX, `${values.rmemMax}\n`);
  Deno.writeTextFileSync(RMEM_DEFAULT, `${values.rmemDefault}\n`);
}

/**
 * Sets `rmem_default` to `bytes` (and `rmem_max` to at least that), for
 * sockets created from now on. Never throws: without the right to write
 * (not root, read-only `/proc/sys` in a container) it leaves the values
 * alone and says why in `note`.
 */
export function raiseReceiveBuffer(bytes: number): ReceiveBufferChange {
  let original: ReceiveBufferSysctls;
  try {
    original = readReceiveBuffer();
  } catch (error) {
    const unknown = { rmemDefault: 0, rmemMax: 0 };
    return {
      original: unknown,
      used: unknown,
      changed: false,
      note: `cannot read net.core.rmem_default: ${(error as Error).message}`,
    };
  }
  if (original.rmemDefault === bytes && original.rmemMax >= bytes) {
    return { original, used: original, changed: false };
  }
  const wanted = {
    rmemDefault: bytes,
    rmemMax: Math.max(original.rmemMax, bytes),
  };
  try {
    write(wanted);
  } catch (error) {
    try {
      write(original);
    } catch {
      // Nothing was written if the first write failed.
    }
    return {
      original,
      used: original,
      changed: false,
      note: `cannot write net.core.rmem_default (run as root to raise it): ${
        (error as Error).message
      }`,
    };
  }
  return { original, used: readReceiveBuffer(), changed: true };
}

/** Puts back the values {@linkcode raiseReceiveBuffer} changed. */
export function restoreReceiveBuffer(change: ReceiveBufferChange): void {
  if (change.changed) write(change.original);
}
