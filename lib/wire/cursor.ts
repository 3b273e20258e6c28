/**
 * Big-endian byte cursors shared by the codecs, and the argument checks the
 * encoders use. Internal to `lib/wire/`; not re-exported by `mod.ts`.
 *
 * @module
 */

/**
 * Reads big-endian fields from a byte array. Decoders ask {@linkcode has}
 * before every read; a read past the end is a decoder bug and throws a
 * `RangeError`, which the fuzz test would catch as an escape.
 */
export class Reader {
  /** The whole input; {@linkcode take} returns views into it. */
  readonly input: Uint8Array;
  #pos = 0;

  /** Start reading `input` at offset 0. */
  constructor(input: Uint8Array) {
    this.input = input;
  }

  /** Bytes read so far. */
  get offset(): number {
    return this.#pos;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.input.length - this.#pos;
  }

  /** Whether at least `n` more bytes can be read. */
  has(n: number): boolean {
    return n <= this.input.length - this.#pos;
  }

  /** Skip `n` bytes. */
  skip(n: number): void {
    this.#need(n);
    this.#pos += n;
  }

  /** Read one byte. */
  u8(): number {
    this.#need(1);
    return this.input[this.#pos++];
  }

  /** Read a 16-bit unsigned integer. */
  u16(): number {
    this.#need(2);
    const b = this.input, p = this.#pos;
    this.#pos = p + 2;
    return (b[p] << 8) | b[p + 1];
  }

  /** Read a 32-bit unsigned integer. */
  u32(): number {
    this.#need(4);
    const b = this.input, p = this.#pos;
    this.#pos = p + 4;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>>
      0;
  }

  /** Read a 64-bit unsigned integer as a bigint. */
  u64(): bigint {
    const hi = this.u32();
    const lo = this.u32();
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /**
   * Read a 64-bit unsigned integer that must be below 2^53; returns -1 when
   * it is not, so the caller can reject it as `bad-field`.
   */
  u53(): number {
    const hi = this.u32();
    const lo = this.u32();
    return hi < 0x200000 ? hi * 0x1_0000_0000 + lo : -1;
  }

  /** Take the next `n` bytes as a view (no copy). */
  take(n: number): Uint8Array {
    this.#need(n);
    const start = this.#pos;
    this.#pos = start + n;
    return this.input.subarray(start, start + n);
  }

  /** Take everything left as a view (no copy). */
  rest(): Uint8Array {
    return this.take(this.input.length - this.#pos);
  }

  /** Skip the next `n` bytes and tell whether they were all zero. */
  zeros(n: number): boolean {
    this.#need(n);
    const b = this.input, end = this.#pos + n;
    let any = 0;
    for (let i = this.#pos; i < end; i++) any |= b[i];
    this.#pos = end;
    return any === 0;
  }

  #need(n: number): void {
    if (!(n >= 0 && n <= this.input.length - this.#pos)) {
      throw new RangeError(
        `Cannot read past the end of the input: ${n} bytes wanted, ${this.remaining} left`,
      );
    }
  }
}

/** Writes big-endian fields into a buffer of a size computed beforehand. */
export class Writer {
  /** The buffer being filled. */
  readonly output: Uint8Array<ArrayBuffer>;
  #pos = 0;

  /** Write into a fresh zeroed buffer of `size` bytes. */
  constructor(size: number) {
    this.output = new Uint8Array(size);
  }

  /** Bytes written so far, counted from the start of the buffer. */
  get offset(): number {
    return this.#pos;
  }

  /** Write one byte. */
  u8(value: number): void {
    this.output[this.#pos++] = value;
  }

  /** Write a 16-bit unsigned integer. */
  u16(value: number): void {
    const b = this.output, p = this.#pos;
    b[p] = value >>> 8;
    b[p + 1] = value;
    this.#pos = p + 2;
  }

  /** Write a 32-bit unsigned integer. */
  u32(value: number): void {
    const b = this.output, p = this.#pos;
    b[p] = value >>> 24;
    b[p + 1] = value >>> 16;
    b[p + 2] = value >>> 8;
    b[p + 3] = value;
    this.#pos = p + 4;
  }

  /** Write a 64-bit unsigned integer given as a bigint. */
  u64(value: bigint): void {
    this.u32(Number(value >> 32n));
    this.u32(Number(value & 0xffff_ffffn));
  }

  /** Write a 64-bit unsigned integer given as a safe integer number. */
  u53(value: number): void {
    const hi = Math.floor(value / 0x1_0000_0000);
    this.u32(hi);
    this.u32(value - hi * 0x1_0000_0000);
  }

  /** Copy `bytes` in. */
  put(bytes: Uint8Array): void {
    this.output.set(bytes, this.#pos);
    this.#pos += bytes.length;
  }

  /** Skip `n` bytes, which stay zero in a fresh buffer. */
  skip(n: number): void {
    this.#pos += n;
  }

  /** Return the buffer, checking that the size computed beforehand was exact. */
  finish(): Uint8Array<ArrayBuffer> {
    if (this.#pos !== this.output.length) {
      throw new RangeError(
        `Cannot finish encoding as the size was miscomputed: wrote ${this.#pos} of ${this.output.length} bytes`,
      );
    }
    return this.output;
  }
}

/** Throw unless `value` is an integer in [0, 2^bits) (bits ≤ 32). */
export function checkUint(name: string, value: number, bits: number): void {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot encode ${name} as it is not a number: ${typeof value}`,
    );
  }
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
    throw new RangeError(
      `Cannot encode ${name} as it is not a ${bits}-bit unsigned integer: ${value}`,
    );
  }
}

/** Throw unless `value` is a bigint in [0, 2^64). */
export function checkUint64(name: string, value: bigint): void {
  if (typeof value !== "bigint") {
    throw new TypeError(
      `Cannot encode ${name} as it is not a bigint: ${typeof value}`,
    );
  }
  if (value < 0n || value > 0xffff_ffff_ffff_ffffn) {
    throw new RangeError(
      `Cannot encode ${name} as it is not a 64-bit unsigned integer: ${value}`,
    );
  }
}

/** Throw unless `value` is a Uint8Array of `min`–`max` bytes. */
export function checkBytes(
  name: string,
  value: Uint8Array,
  min: number,
  max = min,
): void {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`Cannot encode ${name} as it is not a Uint8Array`);
  }
  if (value.length < min || value.length > max) {
    const want = min === max ? `${min}` : `${min}–${max}`;
    throw new RangeError(
      `Cannot encode ${name} as it is not ${want} bytes long: ${value.length} bytes`,
    );
  }
}
