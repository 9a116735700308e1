import { TributaryError } from '../../errors.js';
import { LONG_MAX, LONG_MIN } from './constants.js';
import { mutf8Length, writeMutf8 } from './mutf8.js';

/**
 * The primitive encodings of the wire protocol (Java `DataOutput`, big-endian):
 * int32, int64 (fixed 8 bytes, as `bigint`), bool (1 byte), byte, modified-UTF-8 string with a u16
 * byte length, UUID (msb then lsb), and `int32 length + bytes` buffers.
 *
 * Every command encoder writes its fields into a {@link WireSink} twice: first into a
 * {@link SizeCounter}, which validates every value and measures the payload, then into a
 * {@link BufferWriter} over one pre-sized buffer. No field is ever concatenated.
 */
export interface WireSink {
  int32(value: number, field: string): void;
  int64(value: bigint, field: string): void;
  bool(value: boolean, field: string): void;
  /** One byte; Java `writeByte` keeps the low 8 bits of -128..255. */
  byte(value: number, field: string): void;
  /** u16 byte length + modified UTF-8 (at most 65535 bytes). */
  utf(value: string, field: string): void;
  /** 16 bytes: most significant long, then least significant long. */
  uuid(value: string, field: string): void;
  /** int32 length + the bytes. */
  bytes(value: Buffer, field: string): void;
  /** The bytes, with no length prefix. */
  raw(value: Buffer, field: string): void;
  /** `count` zero bytes. */
  zeros(count: number, field: string): void;
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const MAX_UTF_BYTES = 0xffff;

/** hex digit value by char code, −1 when not a hex digit */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX_VALUE[65 + i] = 10 + i;
  HEX_VALUE[97 + i] = 10 + i;
}

function isDash(i: number): boolean {
  return i === 8 || i === 13 || i === 18 || i === 23;
}

/** True for `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hex digits of either case). */
export function isUuidText(value: string): boolean {
  if (value.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = value.charCodeAt(i);
    if (isDash(i)) {
      if (c !== 45) return false;
    } else if (c >= 128 || (HEX_VALUE[c] as number) < 0) {
      return false;
    }
  }
  return true;
}

/** Writes the 16 bytes of a UUID already checked by {@link isUuidText}. */
export function writeUuidBytes(target: Buffer, offset: number, value: string): void {
  let p = offset;
  for (let i = 0; i < 36; i += 2) {
    if (isDash(i)) i++;
    const hi = HEX_VALUE[value.charCodeAt(i)] as number;
    const lo = HEX_VALUE[value.charCodeAt(i + 1)] as number;
    target[p++] = (hi << 4) | lo;
  }
}

function invalid(command: string, field: string, reason: string): TributaryError {
  return new TributaryError('ILLEGAL_ARGUMENT', `cannot encode ${command}.${field}: ${reason}`, {
    details: { command, field },
  });
}

/**
 * Validates every field and measures the payload. `external` counts the bytes of byte fields of
 * at least `zeroCopyMin` bytes, which {@link BufferWriter} in parts mode passes by reference.
 */
export class SizeCounter implements WireSink {
  size = 0;
  external = 0;

  constructor(
    readonly command: string,
    private readonly zeroCopyMin: number = Number.POSITIVE_INFINITY,
  ) {}

  int32(value: number, field: string): void {
    if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
      throw invalid(this.command, field, `${String(value)} is not a 32-bit integer`);
    }
    this.size += 4;
  }

  int64(value: bigint, field: string): void {
    if (typeof value !== 'bigint' || value < LONG_MIN || value > LONG_MAX) {
      throw invalid(this.command, field, `${String(value)} is not a 64-bit bigint`);
    }
    this.size += 8;
  }

  bool(value: boolean, field: string): void {
    if (typeof value !== 'boolean') throw invalid(this.command, field, 'not a boolean');
    this.size += 1;
  }

  byte(value: number, field: string): void {
    if (!Number.isInteger(value) || value < -128 || value > 255) {
      throw invalid(this.command, field, `${String(value)} is not a byte`);
    }
    this.size += 1;
  }

  utf(value: string, field: string): void {
    if (typeof value !== 'string') throw invalid(this.command, field, 'not a string');
    const len = mutf8Length(value);
    if (len > MAX_UTF_BYTES) {
      throw invalid(this.command, field, `string of ${len} encoded bytes exceeds 65535`);
    }
    this.size += 2 + len;
  }

  uuid(value: string, field: string): void {
    if (typeof value !== 'string' || !isUuidText(value)) {
      throw invalid(this.command, field, `${JSON.stringify(value)} is not a UUID`);
    }
    this.size += 16;
  }

  bytes(value: Buffer, field: string): void {
    this.size += 4;
    this.raw(value, field);
  }

  raw(value: Buffer, field: string): void {
    if (!(value instanceof Uint8Array)) throw invalid(this.command, field, 'not a Buffer');
    this.size += value.length;
    if (value.length >= this.zeroCopyMin) this.external += value.length;
  }

  zeros(count: number, field: string): void {
    if (!Number.isInteger(count) || count < 0) {
      throw invalid(this.command, field, `${String(count)} is not a byte count`);
    }
    this.size += count;
  }
}

/**
 * Writes already-validated fields into `buf` from `pos`. With `parts`, byte fields of at least
 * `zeroCopyMin` bytes are not copied: the writer closes the current slice of `buf`, pushes it and
 * then the caller's buffer onto `parts`, and carries on after it.
 */
export class BufferWriter implements WireSink {
  private sliceStart: number;

  constructor(
    readonly buf: Buffer,
    public pos: number,
    private readonly parts?: Buffer[],
    private readonly zeroCopyMin: number = Number.POSITIVE_INFINITY,
  ) {
    this.sliceStart = pos;
  }

  int32(value: number): void {
    this.buf.writeInt32BE(value, this.pos);
    this.pos += 4;
  }

  int64(value: bigint): void {
    this.buf.writeBigInt64BE(value, this.pos);
    this.pos += 8;
  }

  bool(value: boolean): void {
    this.buf[this.pos++] = value ? 1 : 0;
  }

  byte(value: number): void {
    this.buf[this.pos++] = value & 0xff;
  }

  utf(value: string): void {
    const len = mutf8Length(value);
    this.buf.writeUInt16BE(len, this.pos);
    this.pos = writeMutf8(this.buf, this.pos + 2, value, len);
  }

  uuid(value: string): void {
    writeUuidBytes(this.buf, this.pos, value);
    this.pos += 16;
  }

  bytes(value: Buffer, field: string): void {
    this.int32(value.length);
    this.raw(value, field);
  }

  raw(value: Buffer, _field?: string): void {
    if (this.parts !== undefined && value.length >= this.zeroCopyMin) {
      this.parts.push(this.buf.subarray(this.sliceStart, this.pos), value);
      this.sliceStart = this.pos;
      return;
    }
    this.pos += value.copy(this.buf, this.pos);
  }

  zeros(count: number): void {
    this.buf.fill(0, this.pos, this.pos + count);
    this.pos += count;
  }

  /** In parts mode, pushes the last slice of `buf` (if any) onto `parts`. */
  finish(): void {
    if (this.parts !== undefined && this.pos > this.sliceStart) {
      this.parts.push(this.buf.subarray(this.sliceStart, this.pos));
      this.sliceStart = this.pos;
    }
  }
}
