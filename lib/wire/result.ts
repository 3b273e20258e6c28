/**
 * The result type every altnet decoder returns instead of throwing
 * (docs/PROTOCOL.md §1: decoders never throw on hostile input).
 *
 * @module
 */

/**
 * Why a decoder rejected its input. Callers count drops by this code.
 *
 * - `truncated`: the input ends inside a field (or is empty).
 * - `bad-version`: the first byte is not {@linkcode PROTOCOL_VERSION}.
 * - `bad-type`: unknown packet type or message kind.
 * - `too-large`: the input exceeds the size limit of what it claims to be
 *   (`MAX_PACKET_SIZE` for a packet, `MAX_MESSAGE_SIZE` for a message).
 * - `bad-length`: a length or count field is out of range, or the input's
 *   total size disagrees with its fields (trailing bytes, missing or extra
 *   padding, a fixed-size packet of the wrong size).
 * - `bad-field`: a field holds a value the spec forbids (non-zero padding,
 *   invalid UTF-8 or name, bad endpoint, unknown suite or reason, unordered
 *   ranges, offsets ≥ 2^53, reserved flag bits).
 */
export type DecodeErrorCode =
  | "truncated"
  | "bad-version"
  | "bad-type"
  | "too-large"
  | "bad-length"
  | "bad-field";

/** A rejected input: the code to count it by and a short human explanation. */
export interface DecodeError {
  /** The category callers count drops by. */
  code: DecodeErrorCode;
  /** What exactly was wrong, for logs and tests; never parse it. */
  detail: string;
}

/** The failing half of {@linkcode DecodeResult}; it fits any `DecodeResult<T>`. */
export interface DecodeFailure {
  /** Always `false`. */
  ok: false;
  /** Why the input was rejected. */
  error: DecodeError;
}

/** The succeeding half of {@linkcode DecodeResult}. */
export interface DecodeSuccess<T> {
  /** Always `true`. */
  ok: true;
  /** The decoded value. */
  value: T;
}

/**
 * What every decoder returns: the value, or why the input was rejected.
 *
 * @example
 * ```ts
 * import { decodePacket } from "./mod.ts";
 * const result = decodePacket(new Uint8Array(0));
 * if (!result.ok) console.log(result.error.code); // "truncated"
 * ```
 */
export type DecodeResult<T> = DecodeSuccess<T> | DecodeFailure;

/** Wrap a decoded value as a success. */
export function ok<T>(value: T): DecodeSuccess<T> {
  return { ok: true, value };
}

/** Build a failure with the given code and detail. */
export function fail(code: DecodeErrorCode, detail: string): DecodeFailure {
  return { ok: false, error: { code, detail } };
}
