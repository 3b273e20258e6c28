/**
 * The crypto benchmark: what altnet's handshakes and data path cost, each
 * measured beside the raw primitive underneath it in the same run, so that
 * the overhead of our layers reads as a ratio rather than a guess.
 *
 * 1. X25519 scalar multiplications per second: raw `node:crypto`, raw
 *    `@noble/curves`, and our `DhFunction` wrappers around both.
 * 2. Noise handshakes per second (IK, XX, NK as altnet runs them), against
 *    the ceiling their X25519 operations alone would allow.
 * 3. Seal+open throughput at 64, 1200 and 65536 bytes: raw ChaCha20-Poly1305
 *    from both libraries, our `TransportSession` with either AEAD, the full
 *    per-packet data path, and AES-256-GCM for reference.
 *
 * Run it with `deno task bench` (add `--quick` or `--json`); see
 * `bench/README.md` for how to read the report.
 *
 * @module
 */

import {
  createCipheriv,
  createDecipheriv,
  diffieHellman,
  generateKeyPairSync,
} from "node:crypto";
import { parseArgs } from "node:util";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import {
  DH_25519,
  type DhFunction,
  HandshakeState,
  resolveHandshakePattern,
} from "../lib/crypto/noise/mod.ts";
import { DH_25519_NOBLE } from "../lib/crypto/noise/dh.ts";
import {
  type Aead,
  nobleChaCha20Poly1305,
  nodeChaCha20Poly1305,
  TransportSession,
} from "../lib/crypto/transport/mod.ts";
import {
  AEAD_TAG_SIZE,
  decodeTransport,
  encodeTransportHeader,
  Suite,
  TRANSPORT_HEADER_SIZE,
} from "../lib/wire/mod.ts";
import { describeMachine, type MachineInfo } from "./machine.ts";
import {
  measureRates,
  type Rate,
  spread,
  type TimingOptions,
} from "./timing.ts";
import { formatCryptoReport } from "./crypto_report.ts";

/** How long to measure each cell, and at which packet sizes. */
export interface BenchSettings {
  /** Minimum time of each timed run of a cell, in milliseconds. */
  budgetMs: number;
  /** Minimum warm-up of each cell before it is timed, in milliseconds. */
  warmupMs: number;
  /** Timed runs per cell; the median is reported. */
  repeats: number;
  /** Plaintext sizes of the seal+open section, in bytes. */
  sizes: readonly number[];
}

/**
 * 64 B is a chat message or keepalive, 1200 B a full altnet datagram, and
 * 64 KiB the size the brief's reference figures were taken at (larger than
 * any UDP packet altnet sends). Five short runs rather than three long
 * ones: the median of five shrugs off a noisy run better. 27 cells of
 * 0.2 + 5 × 0.3 s: about 46 s.
 */
export const DEFAULT_SETTINGS: BenchSettings = {
  budgetMs: 300,
  warmupMs: 200,
  repeats: 5,
  sizes: [64, 1200, 65536],
};

/** `--quick`: a smoke run of a few seconds; its figures are rough. */
export const QUICK_SETTINGS: BenchSettings = {
  budgetMs: 40,
  warmupMs: 10,
  repeats: 1,
  sizes: DEFAULT_SETTINGS.sizes,
};

// ---------------------------------------------------------------------------
// 1. X25519

/** The X25519 cells, raw primitives first. */
export type X25519Cell =
  | "native-dh"
  | "native-keygen"
  | "noble-dh"
  | "noble-keygen"
  | "altnet-native-dh"
  | "altnet-native-keygen"
  | "altnet-noble-dh";

/** One measured X25519 cell. */
export interface X25519Row {
  /** Which cell. */
  cell: X25519Cell;
  /** What it runs, for people. */
  label: string;
  /** Scalar multiplications (or key pairs) per second. */
  opsPerSecond: number;
  /** The median time of one operation. */
  microsecondsPerOp: number;
  /** Operations per second of each timed run. */
  runs: number[];
  /** (max − min) / median of the runs. */
  spread: number;
}

const X25519_CELLS: readonly {
  cell: X25519Cell;
  label: string;
  setup: () => () => unknown;
}[] = [
  {
    cell: "native-dh",
    label: "node:crypto diffieHellman, key objects ready",
    setup() {
      const ours = generateKeyPairSync("x25519");
      const theirs = generateKeyPairSync("x25519");
      return () =>
        diffieHellman({
          privateKey: ours.privateKey,
          publicKey: theirs.publicKey,
        });
    },
  },
  {
    cell: "native-keygen",
    label: "node:crypto generateKeyPairSync",
    setup: () => () => generateKeyPairSync("x25519"),
  },
  {
    cell: "noble-dh",
    label: "@noble/curves x25519.scalarMult",
    setup() {
      const ours = x25519.keygen();
      const theirs = x25519.keygen();
      return () => x25519.scalarMult(ours.secretKey, theirs.publicKey);
    },
  },
  {
    cell: "noble-keygen",
    label: "@noble/curves x25519.keygen",
    setup: () => () => x25519.keygen(),
  },
  {
    cell: "altnet-native-dh",
    label: "DH_25519.dh (native, keys as bytes)",
    setup: () => dhOp(DH_25519),
  },
  {
    cell: "altnet-native-keygen",
    label: "DH_25519.generateKeyPair (native)",
    setup: () => () => DH_25519.generateKeyPair(),
  },
  {
    cell: "altnet-noble-dh",
    label: "DH_25519_NOBLE.dh (pure JS)",
    setup: () => dhOp(DH_25519_NOBLE),
  },
];

function dhOp(dh: DhFunction): () => Uint8Array {
  const ours = dh.generateKeyPair();
  const theirs = dh.generateKeyPair();
  return () => dh.dh(ours.privateKey, theirs.publicKey);
}

/**
 * Measures every X25519 cell.
 *
 * @example
 * ```ts
 * import { measureX25519 } from "./crypto.ts";
 *
 * const rows = measureX25519({ budgetMs: 20, warmupMs: 5, repeats: 1 });
 * ```
 */
export function measureX25519(timing: TimingOptions): X25519Row[] {
  const rates = measureRates(X25519_CELLS.map(({ setup }) => setup()), timing);
  return X25519_CELLS.map(({ cell, label }, index) => {
    const rate = rates[index];
    return {
      cell,
      label,
      opsPerSecond: rate.opsPerSecond,
      microsecondsPerOp: 1e6 / rate.opsPerSecond,
      runs: rate.runs,
      spread: spread(rate),
    };
  });
}

// ---------------------------------------------------------------------------
// 2. Noise handshakes

/** The handshake patterns altnet uses (docs/PROTOCOL.md §2.1). */
export type AltnetPattern = keyof typeof Suite;

/** The X25519 work one full handshake does, both sides together. */
export interface X25519Count {
  /** DH tokens (`ee`, `es`, `se`, `ss`): each side computes each once. */
  dhPerSide: number;
  /** Both sides: twice `dhPerSide`. */
  dhTotal: number;
  /** `e` tokens: each is a fresh key pair, made by its sender only. */
  keygens: number;
}

/**
 * Counts the X25519 operations of a handshake pattern from the pattern
 * itself (Noise §7): IK has 4 DH per side, XX 3 and NK 2, plus one
 * ephemeral key pair per side. Static key pairs are long-lived and not
 * counted.
 *
 * @example
 * ```ts
 * import { countX25519 } from "./crypto.ts";
 *
 * countX25519("IK"); // { dhPerSide: 4, dhTotal: 8, keygens: 2 }
 * ```
 */
export function countX25519(pattern: string): X25519Count {
  const tokens = resolveHandshakePattern(pattern).messages.flat();
  const dhPerSide =
    tokens.filter((token) =>
      token === "ee" || token === "es" || token === "se" || token === "ss"
    ).length;
  const keygens = tokens.filter((token) => token === "e").length;
  return { dhPerSide, dhTotal: 2 * dhPerSide, keygens };
}

/** One measured handshake pattern. */
export interface HandshakeRow extends X25519Count {
  /** The pattern, e.g. `"IK"`. */
  pattern: AltnetPattern;
  /** The full Noise protocol name. */
  protocolName: string;
  /** Complete handshakes (both sides, then Split) per second. */
  handshakesPerSecond: number;
  /** The median time of one complete handshake. */
  microsecondsPerHandshake: number;
  /** Handshakes per second the DH tokens alone allow on raw node:crypto. */
  ceilingDhOnly: number;
  /** The same with the ephemeral key pairs counted too: the real floor. */
  ceiling: number;
  /** The same ceiling on raw @noble/curves. */
  ceilingNoble: number;
  /** Time per handshake over the time its X25519 work takes: ≥ 1. */
  overhead: number;
  /** Handshakes per second of each timed run. */
  runs: number[];
  /** (max − min) / median of the runs. */
  spread: number;
}

/** The raw X25519 costs the handshake ceilings are computed from. */
export interface X25519Costs {
  /** Microseconds of one raw node:crypto DH. */
  nativeDh: number;
  /** Microseconds of one raw node:crypto key pair. */
  nativeKeygen: number;
  /** Microseconds of one raw @noble/curves DH. */
  nobleDh: number;
  /** Microseconds of one raw @noble/curves key pair. */
  nobleKeygen: number;
}

/** Picks the raw costs out of {@linkcode measureX25519}'s rows. */
export function x25519Costs(rows: readonly X25519Row[]): X25519Costs {
  const of = (cell: X25519Cell): number => {
    const row = rows.find((row) => row.cell === cell);
    if (!row) {
      throw new TypeError(`Cannot compute handshake ceilings without: ${cell}`);
    }
    return row.microsecondsPerOp;
  };
  return {
    nativeDh: of("native-dh"),
    nativeKeygen: of("native-keygen"),
    nobleDh: of("noble-dh"),
    nobleKeygen: of("noble-keygen"),
  };
}

const EMPTY = new Uint8Array(0);
const ALTNET_PATTERNS: readonly AltnetPattern[] = ["IK", "XX", "NK"];

/**
 * One complete in-process handshake of `pattern` as altnet runs it: its
 * protocol name and prologue ("altnet/1" and the suite byte, PROTOCOL.md
 * §2.1), fresh ephemerals, empty payloads, both sides' Split().
 */
function handshakeOp(pattern: AltnetPattern) {
  const protocolName = `Noise_${pattern}_25519_ChaChaPoly_BLAKE2s`;
  const prologue = new Uint8Array([
    ...new TextEncoder().encode("altnet/1"),
    Suite[pattern],
  ]);
  const initiatorStatic = DH_25519.generateKeyPair();
  const responderStatic = DH_25519.generateKeyPair();
  // Only the keys each pattern uses: HandshakeState refuses a pre-message
  // key the pattern does not have.
  const initiatorKeys = {
    IK: { s: initiatorStatic, rs: responderStatic.publicKey },
    XX: { s: initiatorStatic },
    NK: { rs: responderStatic.publicKey },
  }[pattern];
  return () => {
    const initiator = new HandshakeState({
      protocolName,
      initiator: true,
      prologue,
      ...initiatorKeys,
    });
    const responder = new HandshakeState({
      protocolName,
      initiator: false,
      prologue,
      s: responderStatic,
    });
    let writer = initiator;
    let reader = responder;
    while (!writer.isComplete) {
      reader.readMessage(writer.writeMessage(EMPTY));
      [writer, reader] = [reader, writer];
    }
    return [initiator.splitKeys(), responder.splitKeys()] as const;
  };
}

/**
 * Measures a complete handshake of each pattern altnet uses and sets it
 * against the ceilings of `costs`.
 *
 * @throws {Error} If a handshake does not end with matching keys.
 */
export function measureHandshakes(
  timing: TimingOptions,
  costs: X25519Costs,
): HandshakeRow[] {
  const ops = ALTNET_PATTERNS.map((pattern) => {
    const op = handshakeOp(pattern);
    const [initiatorKeys, responderKeys] = op();
    if (
      !sameBytes(
        initiatorKeys.initiatorToResponder,
        responderKeys.initiatorToResponder,
      ) ||
      !sameBytes(
        initiatorKeys.responderToInitiator,
        responderKeys.responderToInitiator,
      )
    ) {
      throw new Error(`Handshake ${pattern} ended with different keys`);
    }
    return op;
  });
  const rates = measureRates(ops, timing);
  return ALTNET_PATTERNS.map((pattern, index) => {
    const count = countX25519(pattern);
    const rate = rates[index];
    const nativeMicroseconds = count.dhTotal * costs.nativeDh +
      count.keygens * costs.nativeKeygen;
    const nobleMicroseconds = count.dhTotal * costs.nobleDh +
      count.keygens * costs.nobleKeygen;
    return {
      pattern,
      protocolName: `Noise_${pattern}_25519_ChaChaPoly_BLAKE2s`,
      ...count,
      handshakesPerSecond: rate.opsPerSecond,
      microsecondsPerHandshake: 1e6 / rate.opsPerSecond,
      ceilingDhOnly: 1e6 / (count.dhTotal * costs.nativeDh),
      ceiling: 1e6 / nativeMicroseconds,
      ceilingNoble: 1e6 / nobleMicroseconds,
      overhead: (1e6 / rate.opsPerSecond) / nativeMicroseconds,
      runs: rate.runs,
      spread: spread(rate),
    };
  });
}

// ---------------------------------------------------------------------------
// 3. Seal + open

/** The seal+open cells: (a) is the baseline the others are compared with. */
export type ThroughputCell = "a" | "b" | "c" | "d" | "e" | "f";

/** The figures of one measured seal+open cell. */
export interface ThroughputFigures {
  /** Packets sealed and opened per second. */
  packetsPerSecond: number;
  /** Plaintext megabytes (10^6 bytes) sealed and opened per second. */
  megabytesPerSecond: number;
  /** The median time of one seal plus one open. */
  microsecondsPerPacket: number;
  /** Time per packet over cell (a)'s at the same size: ≥ 1 is slower. */
  costVsRaw: number;
  /** Packets per second of each timed run. */
  runs: number[];
  /** (max − min) / median of the runs. */
  spread: number;
}

/** One seal+open cell at one size: measured, or skipped with a reason. */
export interface ThroughputRow {
  /** Which cell. */
  cell: ThroughputCell;
  /** What it runs, for people. */
  label: string;
  /** Plaintext bytes per packet. */
  size: number;
  /** The figures, unless the cell cannot run at this size. */
  figures?: ThroughputFigures;
  /** Why the cell was not measured at this size. */
  skipped?: string;
}

type CellSetup = (plaintext: Uint8Array) =>
  | { op: () => Uint8Array }
  | { skipped: string };

// Every cell authenticates the same 14-byte TRANSPORT header, as the data
// path does, so the cells differ only in the code around the cipher.
const HEADER = new Uint8Array(TRANSPORT_HEADER_SIZE);
encodeTransportHeader(HEADER, { receiverIndex: 2, counter: 0n });

/** The session clock of the benchmark: fixed, so no session ever expires. */
const NOW = 0;

const THROUGHPUT_CELLS: readonly {
  cell: ThroughputCell;
  label: string;
  setup: CellSetup;
}[] = [
  {
    cell: "a",
    label: "node:crypto chacha20-poly1305, raw",
    setup: (plaintext) => ({ op: rawNodeOp("chacha20-poly1305", plaintext) }),
  },
  {
    cell: "b",
    label: "@noble/ciphers chacha20poly1305, raw",
    setup(plaintext) {
      const key = randomKey();
      const nonce = new Uint8Array(12);
      const counter = new DataView(nonce.buffer);
      let sent = 0;
      return {
        op() {
          counter.setUint32(4, sent++, true);
          const sealed = chacha20poly1305(key, nonce, HEADER).encrypt(
            plaintext,
          );
          return chacha20poly1305(key, nonce, HEADER).decrypt(sealed);
        },
      };
    },
  },
  {
    cell: "c",
    label: "TransportSession, node AEAD (data path)",
    setup: (plaintext) => ({ op: sessionOp(nodeChaCha20Poly1305, plaintext) }),
  },
  {
    cell: "d",
    label: "TransportSession, noble AEAD",
    setup: (plaintext) => ({ op: sessionOp(nobleChaCha20Poly1305, plaintext) }),
  },
  {
    cell: "e",
    label: "full path: header+seal+decode+open, node",
    setup(plaintext) {
      const { sender, receiver } = sessionPair(nodeChaCha20Poly1305);
      // One packet buffer, reused: the driver owns its buffers.
      const packet = new Uint8Array(
        TRANSPORT_HEADER_SIZE + plaintext.length + AEAD_TAG_SIZE,
      );
      const header = packet.subarray(0, TRANSPORT_HEADER_SIZE);
      const op = () => {
        encodeTransportHeader(packet, {
          receiverIndex: sender.remoteIndex,
          counter: sender.nextSendCounter,
        });
        const { ciphertext } = sender.seal(plaintext, header, NOW);
        packet.set(ciphertext, TRANSPORT_HEADER_SIZE);
        const view = decodeTransport(packet);
        if (!view.ok) {
          throw new RangeError(
            `decodeTransport refuses the packet: ${view.error.code} (${view.error.detail})`,
          );
        }
        const { counter, ciphertext: received, header: ad } = view.value;
        return opened(receiver.open(counter, received, ad, NOW));
      };
      try {
        op();
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        return { skipped: error.message };
      }
      return { op };
    },
  },
  {
    cell: "f",
    label: "node:crypto aes-256-gcm, raw (reference)",
    setup: (plaintext) => ({ op: rawNodeOp("aes-256-gcm", plaintext) }),
  },
];

function randomKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

/**
 * Seal and open with `createCipheriv`/`createDecipheriv` and nothing else:
 * no copy into ciphertext‖tag, no nonce object, no checks. The nonce is
 * Noise's layout (§5.1: 4 zero bytes, a 64-bit little-endian counter).
 */
// Spelled out per algorithm: node's typings pick the options type by the
// literal algorithm name.
const NODE_AEADS = {
  "chacha20-poly1305": {
    cipher: (key: Uint8Array, nonce: Uint8Array) =>
      createCipheriv("chacha20-poly1305", key, nonce, {
        authTagLength: AEAD_TAG_SIZE,
      }),
    decipher: (key: Uint8Array, nonce: Uint8Array) =>
      createDecipheriv("chacha20-poly1305", key, nonce, {
        authTagLength: AEAD_TAG_SIZE,
      }),
  },
  "aes-256-gcm": {
    cipher: (key: Uint8Array, nonce: Uint8Array) =>
      createCipheriv("aes-256-gcm", key, nonce, {
        authTagLength: AEAD_TAG_SIZE,
      }),
    decipher: (key: Uint8Array, nonce: Uint8Array) =>
      createDecipheriv("aes-256-gcm", key, nonce, {
        authTagLength: AEAD_TAG_SIZE,
      }),
  },
} as const;

/**
 * Seal and open with `createCipheriv`/`createDecipheriv` and nothing else:
 * no copy into ciphertext‖tag, no nonce object, no checks. The nonce is
 * Noise's layout (§5.1: 4 zero bytes, a 64-bit little-endian counter).
 */
function rawNodeOp(
  algorithm: keyof typeof NODE_AEADS,
  plaintext: Uint8Array,
): () => Uint8Array {
  const { cipher: createCipher, decipher: createDecipher } =
    NODE_AEADS[algorithm];
  const key = randomKey();
  const nonce = new Uint8Array(12);
  const counter = new DataView(nonce.buffer);
  const aad = { plaintextLength: plaintext.length };
  let sent = 0;
  return () => {
    counter.setUint32(4, sent++, true);
    const cipher = createCipher(key, nonce);
    cipher.setAAD(HEADER, aad);
    const body = cipher.update(plaintext);
    cipher.final();
    const tag = cipher.getAuthTag();
    const decipher = createDecipher(key, nonce);
    decipher.setAAD(HEADER, aad);
    decipher.setAuthTag(tag);
    const result = decipher.update(body);
    decipher.final();
    return result;
  };
}

function sessionPair(aead: Aead) {
  const forward = randomKey();
  const backward = randomKey();
  const common = { createdAt: NOW, now: () => NOW, aead };
  return {
    sender: new TransportSession({
      ...common,
      sendKey: forward,
      receiveKey: backward,
      isInitiator: true,
      localIndex: 1,
      remoteIndex: 2,
    }),
    receiver: new TransportSession({
      ...common,
      sendKey: backward.slice(),
      receiveKey: forward.slice(),
      isInitiator: false,
      localIndex: 2,
      remoteIndex: 1,
    }),
  };
}

function sessionOp(aead: Aead, plaintext: Uint8Array): () => Uint8Array {
  const { sender, receiver } = sessionPair(aead);
  return () => {
    const { counter, ciphertext } = sender.seal(plaintext, HEADER, NOW);
    return opened(receiver.open(counter, ciphertext, HEADER, NOW));
  };
}

function opened(
  result: ReturnType<TransportSession["open"]>,
): Uint8Array {
  if (!result.ok) {
    throw new Error(`Cannot open a packet just sealed: ${result.reason}`);
  }
  return result.plaintext;
}

/**
 * Measures every seal+open cell at every size, the cells of one size in
 * interleaved rounds so that their ratios compare like with like. Each cell
 * is checked once (the plaintext must come back intact) before it is timed.
 *
 * @throws {Error} If a cell does not return its plaintext.
 */
export function measureThroughput(
  timing: TimingOptions,
  sizes: readonly number[],
): ThroughputRow[] {
  const rows: ThroughputRow[] = [];
  for (const size of sizes) {
    const plaintext = crypto.getRandomValues(new Uint8Array(size));
    const measured: {
      cell: ThroughputCell;
      label: string;
      op: () => unknown;
    }[] = [];
    for (const { cell, label, setup } of THROUGHPUT_CELLS) {
      const prepared = setup(plaintext);
      if ("skipped" in prepared) {
        rows.push({ cell, label, size, skipped: prepared.skipped });
        continue;
      }
      if (!sameBytes(prepared.op(), plaintext)) {
        throw new Error(
          `Cell (${cell}) did not return its plaintext: size is ${size}`,
        );
      }
      measured.push({ cell, label, op: prepared.op });
    }
    const rates: Rate[] = measureRates(measured.map(({ op }) => op), timing);
    // Cell (a) comes first and never skips: it is the baseline.
    const baseline = 1e6 / rates[0].opsPerSecond;
    measured.forEach(({ cell, label }, index) => {
      const rate = rates[index];
      const microsecondsPerPacket = 1e6 / rate.opsPerSecond;
      rows.push({
        cell,
        label,
        size,
        figures: {
          packetsPerSecond: rate.opsPerSecond,
          megabytesPerSecond: rate.opsPerSecond * size / 1e6,
          microsecondsPerPacket,
          costVsRaw: microsecondsPerPacket / baseline,
          runs: rate.runs,
          spread: spread(rate),
        },
      });
    });
  }
  // By size, then in cell order, whether measured or skipped.
  return rows.sort((a, b) => a.size - b.size || a.cell.localeCompare(b.cell));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------
// The whole run

/** Everything one run measured, with where and how. */
export interface CryptoBenchReport {
  /** The runtime and hardware. */
  machine: MachineInfo;
  /** The budgets and sizes used. */
  settings: BenchSettings;
  /** Section 1. */
  x25519: X25519Row[];
  /** Section 2. */
  handshakes: HandshakeRow[];
  /** Section 3, by size then cell. */
  throughput: ThroughputRow[];
}

/** Options of {@linkcode runCryptoBench}. */
export interface RunOptions {
  /** Called before each section with its title, e.g. to show progress. */
  onSection?: (title: string) => void;
}

/**
 * Runs the three sections in order, single-threaded.
 *
 * @example
 * ```ts
 * import { formatCryptoReport, QUICK_SETTINGS, runCryptoBench } from "./crypto.ts";
 *
 * console.log(formatCryptoReport(runCryptoBench(QUICK_SETTINGS)));
 * ```
 */
export function runCryptoBench(
  settings: BenchSettings,
  options: RunOptions = {},
): CryptoBenchReport {
  const { onSection = () => {} } = options;
  const timing: TimingOptions = {
    budgetMs: settings.budgetMs,
    warmupMs: settings.warmupMs,
    repeats: settings.repeats,
  };
  const machine = describeMachine();
  onSection("X25519");
  const x25519 = measureX25519(timing);
  onSection("handshakes");
  const handshakes = measureHandshakes(timing, x25519Costs(x25519));
  onSection("seal+open");
  const throughput = measureThroughput(timing, settings.sizes);
  return { machine, settings, x25519, handshakes, throughput };
}

export { formatCryptoReport };

// ---------------------------------------------------------------------------
// Command line

/** What the command line asked for. */
export interface BenchArgs {
  /** Print the help and stop. */
  help: boolean;
  /** Print one JSON object instead of the text report. */
  json: boolean;
  /** The settings to run with. */
  settings: BenchSettings;
}

/** The usage text of `deno task bench`. */
export const help =
  `Usage: deno task bench [--quick] [--json] [--repeats N] [--budget-ms MS]

Measures altnet's X25519, Noise handshakes and seal+open data path beside
the raw primitives, on one core, and prints a report (about 50 s).

Options:
  --quick         A smoke run of a few seconds; figures are rough
  --json          Print one JSON object on stdout instead of the report
  --repeats N     Timed runs per cell, median reported (default 5)
  --budget-ms MS  Time of each timed run (default 300)
  -h, --help      Show this help
`;

/**
 * Parses the benchmark's arguments.
 *
 * @throws {TypeError} On an unknown option or a value that is not a
 * positive integer.
 */
export function parseBenchArgs(args: readonly string[]): BenchArgs {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: "boolean", short: "h", default: false },
      json: { type: "boolean", default: false },
      quick: { type: "boolean", default: false },
      repeats: { type: "string" },
      "budget-ms": { type: "string" },
    },
  });
  const base = values.quick ? QUICK_SETTINGS : DEFAULT_SETTINGS;
  return {
    help: values.help,
    json: values.json,
    settings: {
      ...base,
      repeats: positiveInteger("--repeats", values.repeats) ?? base.repeats,
      budgetMs: positiveInteger("--budget-ms", values["budget-ms"]) ??
        base.budgetMs,
    },
  };
}

function positiveInteger(
  flag: string,
  value: string | undefined,
): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) {
    throw new TypeError(
      `Cannot use ${flag} as it is not a positive integer: ${value}`,
    );
  }
  return number;
}

/** Runs the benchmark as a script; returns the exit code. */
export function main(args: readonly string[]): number {
  let parsed: BenchArgs;
  try {
    parsed = parseBenchArgs(args);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`${message}\nRun with --help to see the options.`);
    return 2;
  }
  if (parsed.help) {
    console.log(help.trimEnd());
    return 0;
  }
  const report = runCryptoBench(parsed.settings, {
    onSection: (title) => console.error(`measuring ${title}…`),
  });
  console.log(
    parsed.json ? JSON.stringify(report, null, 2) : formatCryptoReport(report),
  );
  return 0;
}

if (import.meta.main) {
  Deno.exitCode = main(Deno.args);
}
