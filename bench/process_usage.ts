/**
 * What a process on this Linux machine costs, read from `/proc`: CPU time,
 * resident memory, and the datagrams the kernel dropped on its UDP sockets
 * because their receive buffers were full. Benchmarks read these for a
 * server they started, before and after a step.
 *
 * @module
 */

/** CPU time and memory of one process at one moment. */
export interface ProcessSample {
  /** User + system CPU time of all its threads so far, in seconds. */
  cpuSeconds: number;
  /** Resident set size (`VmRSS`), in bytes. */
  rssBytes: number;
  /** Peak resident set size (`VmHWM`), in bytes. */
  peakRssBytes: number;
}

let clockTicks: number | undefined;

/**
 * Clock ticks per second of `/proc/PID/stat` times (`getconf CLK_TCK`);
 * 100 on every Linux this runs on, asked once anyway.
 */
export function clockTicksPerSecond(): number {
  if (clockTicks !== undefined) return clockTicks;
  try {
    const { stdout } = new Deno.Command("getconf", { args: ["CLK_TCK"] })
      .outputSync();
    const value = Number(new TextDecoder().decode(stdout).trim());
    clockTicks = Number.isInteger(value) && value > 0 ? value : 100;
  } catch {
    clockTicks = 100;
  }
  return clockTicks;
}

/**
 * The CPU ticks (utime + stime) in the text of `/proc/PID/stat`. The command
 * name in parentheses may hold spaces, so fields are counted after its
 * closing parenthesis: utime and stime are fields 14 and 15 of proc(5).
 *
 * @example
 * ```ts
 * import { cpuTicksFromStat } from "./process_usage.ts";
 *
 * cpuTicksFromStat("7 (a b) S 1 7 7 0 -1 0 0 0 0 0 120 30 0 0"); // 150
 * ```
 *
 * @throws {TypeError} If the text is not a stat line.
 */
export function cpuTicksFromStat(text: string): number {
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state), so field n is fields[n - 3].
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new TypeError(`Cannot read CPU times from a stat line: ${text}`);
  }
  return utime + stime;
}

/** A `kB` field of `/proc/PID/status` in bytes, or 0 when absent. */
function statusField(text: string, field: string): number {
  const match = text.match(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m"));
  return match ? Number(match[1]) * 1024 : 0;
}

/**
 * Samples the CPU time and memory of process `pid`.
 *
 * @throws {Deno.errors.NotFound} If the process is gone.
 */
export function sampleProcess(pid: number): ProcessSample {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return {
    cpuSeconds: cpuTicksFromStat(stat) / clockTicksPerSecond(),
    rssBytes: statusField(status, "VmRSS"),
    peakRssBytes: statusField(status, "VmHWM"),
  };
}

/** CPU use between two samples, in % of one core (200 = two cores busy). */
export function cpuPercent(
  before: ProcessSample,
  after: ProcessSample,
  wallSeconds: number,
): number {
  return wallSeconds > 0
    ? (after.cpuSeconds - before.cpuSeconds) / wallSeconds * 100
    : 0;
}

/** The socket inodes a process holds open (`socket:[N]` in its fd table). */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const entry of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      const target = Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`);
      const match = target.match(/^socket:\[(\d+)\]$/);
      if (match) inodes.add(match[1]);
    } catch {
      // The descriptor closed while we were listing: not ours to count.
    }
  }
  return inodes;
}

/**
 * The `drops` column of `/proc/net/udp`-format text for the sockets whose
 * inode is in `inodes`: datagrams the kernel discarded because the socket's
 * receive buffer was full, by inode.
 *
 * @example
 * ```ts
 * import { udpDropsFromTable } from "./process_usage.ts";
 *
 * const table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n" +
 *   " 1: 0100007F:1F40 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 17\n";
 * udpDropsFromTable(table, new Set(["4242"])).get("4242"); // 17
 * ```
 */
export function udpDropsFromTable(
  text: string,
  inodes: ReadonlySet<string>,
): Map<string, number> {
  const drops = new Map<string, number>();
  for (const line of text.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    // sl local remote st queues tr retrnsmt uid timeout inode ref pointer drops
    if (fields.length >= 13 && inodes.has(fields[9])) {
      drops.set(fields[9], Number(fields[12]) || 0);
    }
  }
  return drops;
}

/**
 * The receive-buffer drops of each of process `pid`'s UDP sockets (IPv4 and
 * IPv6) so far, by socket inode. Compare two readings with
 * {@linkcode dropsSince}: sockets come and go between them.
 */
export function udpReceiveDrops(pid: number): Map<string, number> {
  const inodes = socketInodes(pid);
  const drops = new Map<string, number>();
  for (const table of ["/proc/net/udp", "/proc/net/udp6"]) {
    try {
      const text = Deno.readTextFileSync(table);
      for (const [inode, n] of udpDropsFromTable(text, inodes)) {
        drops.set(inode, n);
      }
    } catch {
      // No IPv6 on this kernel.
    }
  }
  return drops;
}

/**
 * Drops between two readings of {@linkcode udpReceiveDrops}: the growth of
 * each socket in `after`, counting a socket that did not exist `before`
 * from zero, and ignoring sockets closed in between.
 */
export function dropsSince(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
): number {
  let total = 0;
  for (const [inode, n] of after) total += n - (before.get(inode) ?? 0);
  return total;
}

/** Jiffies a CPU spent busy and in total, from `/proc/stat`. */
export interface CpuTimes {
  busy: number;
  total: number;
}

/**
 * The `cpu` lines of `/proc/stat`-format text, by name (`cpu` is the sum,
 * `cpu0`… each logical CPU). Idle and iowait count as not busy.
 *
 * @example
 * ```ts
 * import { cpuTimesFromStat } from "./process_usage.ts";
 *
 * cpuTimesFromStat("cpu0 10 0 5 80 5 0 0 0 0 0\n").get("cpu0"); // { busy: 15, total: 100 }
 * ```
 */
export function cpuTimesFromStat(text: string): Map<string, CpuTimes> {
  const times = new Map<string, CpuTimes>();
  for (const line of text.split("\n")) {
    const match = line.match(/^(cpu\d*)\s+(.*)$/);
    if (!match) continue;
    // user nice system idle iowait irq softirq steal (guest time is
    // already inside user and nice)
    const fields = match[2].trim().split(/\s+/).slice(0, 8).map(Number);
    const total = fields.reduce((sum, n) => sum + n, 0);
    times.set(match[1], { busy: total - fields[3] - (fields[4] ?? 0), total });
  }
  return times;
}

/** Reads {@linkcode cpuTimesFromStat} from `/proc/stat`. */
export function readCpuTimes(): Map<string, CpuTimes> {
  return cpuTimesFromStat(Deno.readTextFileSync("/proc/stat"));
}

/**
 * The logical CPUs of a `taskset -c` list such as `"1"` or `"1-3,5"`, as
 * `/proc/stat` names them; `undefined` means all of them (`["cpu"]`).
 */
export function cpuNames(list: string | undefined): string[] {
  if (list === undefined) return ["cpu"];
  return list.split(",").flatMap((part) => {
    const [from, to = from] = part.split("-").map(Number);
    return Array.from({ length: to - from + 1 }, (_, i) => `cpu${from + i}`);
  });
}

/** How busy `cpus` were between two readings, in % of their capacity. */
export function busyPercent(
  before: ReadonlyMap<string, CpuTimes>,
  after: ReadonlyMap<string, CpuTimes>,
  cpus: readonly string[],
): number {
  let busy = 0;
  let total = 0;
  for (const cpu of cpus) {
    const a = before.get(cpu);
    const b = after.get(cpu);
    if (!a || !b) continue;
    busy += b.busy - a.busy;
    total += b.total - a.total;
  }
  return total > 0 ? busy / total * 100 : 0;
}
