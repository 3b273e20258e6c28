/**
 * The relay benchmark.
 *
 * - By default, **forwarding capacity**: a real `altnet relay` process on
 *   loopback and, in the same run, coturn's `turnserver` under the same
 *   stepped load (`bench/relay_capacity.ts`). Per step: offered, sent and
 *   delivered datagrams per second, loss, the server's CPU and RSS, and
 *   where datagrams were lost. About 2 minutes.
 * - With `--memory`, **memory per registered peer**: 10,000 peers into a
 *   relay process (RSS) and into an in-process `RelayCore` (heap after GC)
 *   (`bench/relay_memory.ts`). About 1 minute.
 *
 * Run it with `deno run -A bench/relay.ts` (add `--quick` or `--json`); see
 * `bench/README.md` for how to read the report.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  type CapacitySettings,
  DEFAULT_CAPACITY_SETTINGS,
  MAX_PAYLOAD,
  QUICK_CAPACITY_SETTINGS,
  runCapacityBench,
} from "./relay_capacity.ts";
import {
  DEFAULT_MEMORY_SETTINGS,
  type MemorySettings,
  QUICK_MEMORY_SETTINGS,
  runMemoryBench,
} from "./relay_memory.ts";
import { killStartedProcesses } from "./relay_load.ts";
import { formatCapacityReport, formatMemoryReport } from "./relay_report.ts";

/** What the command line asked for. */
export interface RelayBenchArgs {
  help: boolean;
  json: boolean;
  mode: "capacity" | "memory";
  capacity: CapacitySettings;
  memory: MemorySettings;
}

/** The usage text. */
export const help =
  `Usage: deno run -A bench/relay.ts [--quick] [--json] [--memory] [options]

Measures how fast a real altnet relay process forwards 1,193-byte end-to-end
packets on loopback, beside coturn under the same load (about 2 minutes), or
with --memory how much memory each registered peer costs (about 1 minute).
Needs Linux (/proc); raising net.core.rmem_default needs root.

Options:
  --quick             A smoke run of a few seconds; figures are rough
  --json              Print one JSON object on stdout (progress on stderr)
  --memory            Measure memory per registered peer instead
  --rates LIST        Offered rates, datagrams/s (default 5000,10000,15000,
                      20000,25000,30000,40000,60000,80000)
  --step-ms MS        Sending time per step (default 3000)
  --control-ms MS     Senders-only control per rate, 0 = none (default 1000)
  --generators N      Sender processes (default 2)
  --pairs N           Circuits (channel pairs) per sender process (default 2)
  --payload BYTES     End-to-end payload, at most ${MAX_PAYLOAD} (default ${MAX_PAYLOAD})
  --no-coturn         Measure altnet's relay only
  --rmem BYTES        net.core.rmem_default for the run (default 4194304)
  --no-sysctl         Leave net.core.rmem_default as it is
  --no-pin            Do not pin the server to CPU 0 and the load to the others
  --peers N           --memory: peers to register (default 10000)
  --no-process        --memory: skip the relay-process method (in-process only)
  -h, --help          Show this help
`;

function positiveInteger(
  flag: string,
  value: string | undefined,
  options: { min?: number; max?: number } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const { min = 1, max = Number.MAX_SAFE_INTEGER } = options;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new TypeError(
      `Cannot use ${flag} as it is not a whole number from ${min} to ${max}: ${value}`,
    );
  }
  return number;
}

/**
 * Parses the benchmark's arguments.
 *
 * @throws {TypeError} On an unknown option or a value out of range.
 */
export function parseRelayBenchArgs(args: readonly string[]): RelayBenchArgs {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: "boolean", short: "h", default: false },
      json: { type: "boolean", default: false },
      quick: { type: "boolean", default: false },
      memory: { type: "boolean", default: false },
      rates: { type: "string" },
      "step-ms": { type: "string" },
      "control-ms": { type: "string" },
      generators: { type: "string" },
      pairs: { type: "string" },
      payload: { type: "string" },
      "no-coturn": { type: "boolean", default: false },
      rmem: { type: "string" },
      "no-sysctl": { type: "boolean", default: false },
      "no-pin": { type: "boolean", default: false },
      peers: { type: "string" },
      "no-process": { type: "boolean", default: false },
    },
  });
  const capacityBase = values.quick
    ? QUICK_CAPACITY_SETTINGS
    : DEFAULT_CAPACITY_SETTINGS;
  const memoryBase = values.quick
    ? QUICK_MEMORY_SETTINGS
    : DEFAULT_MEMORY_SETTINGS;
  const rates = values.rates?.split(",").map((text) =>
    positiveInteger("--rates", text.trim(), { max: 10_000_000 })!
  );
  const rmem = positiveInteger("--rmem", values.rmem, { min: 4096 });
  return {
    help: values.help,
    json: values.json,
    mode: values.memory ? "memory" : "capacity",
    capacity: {
      ...capacityBase,
      rates: rates ?? capacityBase.rates,
      stepMs: positiveInteger("--step-ms", values["step-ms"]) ??
        capacityBase.stepMs,
      controlMs: positiveInteger("--control-ms", values["control-ms"], {
        min: 0,
      }) ?? capacityBase.controlMs,
      generators: positiveInteger("--generators", values.generators, {
        max: 64,
      }) ?? capacityBase.generators,
      pairsPerGenerator: positiveInteger("--pairs", values.pairs, {
        max: 64,
      }) ?? capacityBase.pairsPerGenerator,
      payloadSize: positiveInteger("--payload", values.payload, {
        max: MAX_PAYLOAD,
      }) ?? capacityBase.payloadSize,
      coturn: !values["no-coturn"],
      rmemBytes: values["no-sysctl"]
        ? undefined
        : rmem ?? capacityBase.rmemBytes,
      pin: !values["no-pin"],
    },
    memory: {
      ...memoryBase,
      peers: positiveInteger("--peers", values.peers, { max: 1_000_000 }) ??
        memoryBase.peers,
      process: !values["no-process"],
    },
  };
}

/** Runs the benchmark as a script; returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let parsed: RelayBenchArgs;
  try {
    parsed = parseRelayBenchArgs(args);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`${message}\nRun with --help to see the options.`);
    return 2;
  }
  if (parsed.help) {
    console.log(help.trimEnd());
    return 0;
  }
  const onProgress = (line: string) => console.error(line);
  try {
    if (parsed.mode === "memory") {
      // The capacity run has its own handler, which also restores rmem.
      const interrupted = () => {
        killStartedProcesses();
        Deno.exit(130);
      };
      Deno.addSignalListener("SIGINT", interrupted);
      const report = await runMemoryBench(parsed.memory, { onProgress });
      Deno.removeSignalListener("SIGINT", interrupted);
      console.log(
        parsed.json
          ? JSON.stringify(report, null, 2)
          : formatMemoryReport(report),
      );
    } else {
      const report = await runCapacityBench(parsed.capacity, { onProgress });
      console.log(
        parsed.json
          ? JSON.stringify(report, null, 2)
          : formatCapacityReport(report),
      );
    }
  } catch (error) {
    console.error(
      `The relay benchmark failed: ${(error as Error).message}`,
    );
    return 1;
  }
  return 0;
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
