import { TributaryError } from '../../errors.js';
import { decodeMutf8 } from './mutf8.js';

/**
 * Reads the primitive encodings (see `wire-writer.ts`) from one frame's payload. Every read first
 * checks that the bytes are there, so nothing is ever allocated from an untrusted length; on
 * truncated or invalid input it throws `TributaryError('DECODE_ERROR')` naming the command and field.
 * Byte fields are returned as views (`subarray`) of the payload, never copies.
 */
export class WireReader {
  private pos: number;
  private readonly end: number;

  constructor(
    private readonly buf: Buffer,
    readonly command: string,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  get position(): number {
    return this.pos;
  }

  /** A DECODE_ERROR naming this command and `field`. */
  error(field: string, reason: string): TributaryError {
    return new TributaryError('DECODE_ERROR', `cannot decode ${this.command}.${field}: ${reason}`, {
      details: { command: this.command, field },
    });
  }

  private need(count: number, field: string): void {
    if (count > this.end - this.pos) {
      throw this.error(field, `needs ${count} bytes, ${this.end - this.pos} left in the frame`);
    }
  }

  int32(field: string): number {
    this.need(4, field);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** An int32 that must be ≥ 0 (a length or a count). */
  count(field: string): number {
    const v = this.int32(field);
    if (v < 0) throw this.error(field, `negative length ${v}`);
    return v;
  }

  int64(field: string): bigint {
    this.need(8, field);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  bool(field: string): boolean {
    this.need(1, field);
    return this.buf[this.pos++] !== 0;
  }

  /** A signed byte, as Java's `readByte`. */
  byte(field: string): number {
    this.need(1, field);
    const v = this.buf.readInt8(this.pos);
    this.pos += 1;
    return v;
  }

  utf(field: string): string {
    this.need(2, field);
    const len = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    this.need(len, field);
    const s = decodeMutf8(this.buf, this.pos, this.pos + len);
    if (s === undefined) throw this.error(field, 'malformed modified UTF-8');
    this.pos += len;
    return s;
  }

  uuid(field: string): string {
    this.need(16, field);
    const s = uuidText(this.buf, this.pos);
    this.pos += 16;
    return s;
  }

  /** `int32 length + bytes`, as a view. */
  bytes(field: string): Buffer {
    const len = this.count(field);
    return this.fixed(len, field);
  }

  /** Exactly `length` bytes, as a view. */
  fixed(length: number, field: string): Buffer {
    this.need(length, field);
    const v = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return v;
  }

  /** All remaining bytes of the frame, as a view. */
  rest(): Buffer {
    const v = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return v;
  }

  /** A list count whose elements take at least `minElementSize` bytes each: checked up front. */
  listCount(field: string, minElementSize: number): number {
    const n = this.count(field);
    if (n * minElementSize > this.end - this.pos) {
      throw this.error(field, `${n} elements cannot fit in ${this.end - this.pos} bytes`);
    }
    return n;
  }
}

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const UUID_SCRATCH = Buffer.alloc(36);

/** Canonical lower-case text of the 16 UUID bytes at `offset`. */
export function uuidText(buf: Buffer, offset: number): string {
  const out = UUID_SCRATCH;
  let q = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) out[q++] = 0x2d; // '-'
    const b = buf[offset + i] as number;
    out[q++] = HEX_DIGITS[b >> 4] as number;
    out[q++] = HEX_DIGITS[b & 15] as number;
  }
  return out.toString('latin1', 0, 36);
}
