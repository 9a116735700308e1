import { crc32, gunzipSync } from 'node:zlib';
import { deflateRaw } from 'pako';
import { TributaryError } from '../../errors.js';
import { decodeMutf8, mutf8Length, writeMutf8 } from './mutf8.js';
import { validateName } from './segment-name.js';

/**
 * The Java client's two serialised forms of a `StreamCut` (Pravega 0.13 `StreamCutImpl`), byte for
 * byte, encoder and parser side by side.
 *
 * Bytes (`toBytes()` / `StreamCut.fromBytes`): Pravega's `VersionedSerializer` envelope
 * - `u8 0` (serializer format), `u8 version` (written: 1), `u8 revisionCount` (1), then per
 *   revision `u8 revision`, `int32 length`, `length` bytes;
 * - revision 0 of either version: `writeUTF("scope/stream")`, compact-int count, then per entry the
 *   segment id as a compact long and the offset as a compact signed long (version 1) or compact
 *   long (version 0, still read).
 *
 * Text (`asText()` / `StreamCut.from`): base64 of the gzip of
 * `0:scope/stream:<segment numbers>:<epochs>:<offsets>`, each list comma-separated decimal, where a
 * segment id is `epoch << 32 | number`. The gzip is what `java.util.zip.GZIPOutputStream` writes
 * (JDK 16 and later: OS byte 255, no time, no name) around zlib's default-level deflate; pako 2.1.0
 * is a port of zlib's deflate that gives the same bytes (Node's bundled zlib and pako 3 do not
 * always, so pako is pinned). Any gzip is read, as Java reads any.
 *
 * The UNBOUNDED cut (no stream) is the text `UNBOUNDED` and empty bytes. Entries keep the order of
 * the map they come from, as Java writes its map's order.
 */

/** The fields of a bounded stream cut. `positions`: segment id → offset, in writing order. */
export interface StreamCutFields {
  readonly scope: string;
  readonly stream: string;
  readonly positions: ReadonlyMap<bigint, bigint>;
}

export const UNBOUNDED_CUT_TEXT = 'UNBOUNDED';
export type UnboundedCut = typeof UNBOUNDED_CUT_TEXT;

const SERIALIZER_FORMAT = 0;
const WRITE_VERSION = 1;

const COMPACT_INT_MAX = 0x3fff_fffe;
const COMPACT_LONG_MAX = 0x3fff_ffff_ffff_fffen;
const COMPACT_SIGNED_LONG_MAX = 0x1fff_ffff_ffff_fffen;
const COMPACT_SIGNED_LONG_MIN = -0x1fff_ffff_ffff_ffffn;
const INT32_MAX = 0x7fff_ffffn;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** The most a cut's text may inflate to (a cut of 100 000 segments is a few MB). */
const MAX_TEXT_BYTES = 64 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// bytes: encoder

function badArgument(what: string, reason: string): TributaryError {
  return new TributaryError('ILLEGAL_ARGUMENT', `cannot encode the stream cut: ${what} ${reason}`);
}

function compactIntLength(value: number): number {
  return value > 0x3fff ? 4 : value > 0x7f ? 2 : 1;
}

function compactLongLength(value: bigint): number {
  return value > 0x3fff_ffffn ? 8 : value > 0x3fffn ? 4 : value > 0x3fn ? 2 : 1;
}

function compactSignedLongLength(value: bigint): number {
  const v = value < 0n ? -value - 1n : value;
  return v > 0x1fff_ffffn ? 8 : v > 0x1fffn ? 4 : v > 0x1fn ? 2 : 1;
}

class Out {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  compactInt(v: number): void {
    if (v > 0x3fff) this.buf.writeUInt32BE((v | 0xc000_0000) >>> 0, this.pos);
    else if (v > 0x7f) this.buf.writeUInt16BE(v | 0x8000, this.pos);
    else this.buf[this.pos] = v;
    this.pos += compactIntLength(v);
  }

  compactLong(v: bigint): void {
    const n = compactLongLength(v);
    const marker = [0n, 1n, 0n, 2n, 0n, 0n, 0n, 3n][n - 1] as bigint;
    this.bigEndian(v | (marker << BigInt(8 * n - 2)), n);
  }

  compactSignedLong(value: bigint): void {
    const negative = value < 0n;
    const v = negative ? -value - 1n : value;
    const n = compactSignedLongLength(value);
    const width = [0n, 1n, 0n, 2n, 0n, 0n, 0n, 3n][n - 1] as bigint;
    const marker = (negative ? 4n : 0n) | width;
    this.bigEndian(v | (marker << BigInt(8 * n - 3)), n);
  }

  private bigEndian(v: bigint, n: number): void {
    for (let i = n - 1; i >= 0; i--) {
      this.buf[this.pos + i] = Number(v & 0xffn);
      v >>= 8n;
    }
    this.pos += n;
  }

  utf(s: string, len: number): void {
    this.buf.writeUInt16BE(len, this.pos);
    this.pos = writeMutf8(this.buf, this.pos + 2, s, len);
  }
}

function checkFields(cut: StreamCutFields): void {
  validateName('scope', cut.scope, true);
  validateName('stream', cut.stream, true);
  for (const [segment, offset] of cut.positions) {
    if (segment < 0n || segment > COMPACT_LONG_MAX) {
      throw badArgument(`segment id ${segment}`, `is outside [0, ${COMPACT_LONG_MAX}]`);
    }
    if (offset < COMPACT_SIGNED_LONG_MIN || offset > COMPACT_SIGNED_LONG_MAX) {
      throw badArgument(
        `offset ${offset} of segment ${segment}`,
        `is outside [${COMPACT_SIGNED_LONG_MIN}, ${COMPACT_SIGNED_LONG_MAX}]`,
      );
    }
  }
  if (cut.positions.size > COMPACT_INT_MAX) {
    throw badArgument(`${cut.positions.size} segments`, `are more than ${COMPACT_INT_MAX}`);
  }
}

/** `StreamCut.toBytes()`: empty for UNBOUNDED, else the version-1 serialisation. */
export function encodeStreamCutBytes(cut: StreamCutFields | UnboundedCut): Buffer {
  if (cut === UNBOUNDED_CUT_TEXT) return Buffer.alloc(0);
  checkFields(cut);
  const name = `${cut.scope}/${cut.stream}`;
  const nameLength = mutf8Length(name);
  let contentLength = 2 + nameLength + compactIntLength(cut.positions.size);
  for (const [segment, offset] of cut.positions) {
    contentLength += compactLongLength(segment) + compactSignedLongLength(offset);
  }
  const out = new Out(Buffer.allocUnsafe(3 + 1 + 4 + contentLength));
  out.u8(SERIALIZER_FORMAT);
  out.u8(WRITE_VERSION);
  out.u8(1); // revisions
  out.u8(0); // revision 0
  out.buf.writeInt32BE(contentLength, out.pos);
  out.pos += 4;
  out.utf(name, nameLength);
  out.compactInt(cut.positions.size);
  for (const [segment, offset] of cut.positions) {
    out.compactLong(segment);
    out.compactSignedLong(offset);
  }
  return out.buf;
}

// ---------------------------------------------------------------------------------------------
// bytes: parser

function decodeError(what: string, reason: string): TributaryError {
  return new TributaryError('DECODE_ERROR', `cannot decode the stream cut's ${what}: ${reason}`, {
    details: { field: what },
  });
}

class In {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  need(n: number, what: string): void {
    if (n > this.end - this.pos) {
      throw decodeError(what, `needs ${n} bytes, ${this.end - this.pos} left`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++] as number;
  }

  int32(what: string): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (
      ((b[p] as number) << 24) |
      ((b[p + 1] as number) << 16) |
      ((b[p + 2] as number) << 8) |
      (b[p + 3] as number)
    );
  }

  private bigEndian(first: number, n: number, what: string): bigint {
    this.need(n - 1, what);
    let v = BigInt(first);
    for (let i = 1; i < n; i++) v = (v << 8n) | BigInt(this.buf[this.pos++] as number);
    return v;
  }

  compactInt(what: string): number {
    const b1 = this.u8(what);
    if (b1 >>> 7 === 0) return b1;
    const n = ((b1 >>> 6) & 1) === 0 ? 2 : 4;
    return Number(this.bigEndian(b1 & 0x3f, n, what));
  }

  compactLong(what: string): bigint {
    const b1 = this.u8(what);
    const n = [1, 2, 4, 8][b1 >>> 6] as number;
    return this.bigEndian(b1 & 0x3f, n, what);
  }

  compactSignedLong(what: string): bigint {
    const b1 = this.u8(what);
    const negative = (b1 & 0x80) !== 0;
    const n = [1, 2, 4, 8][(b1 >>> 5) & 0x3] as number;
    const v = this.bigEndian(b1 & 0x1f, n, what);
    if (v > COMPACT_SIGNED_LONG_MAX) {
      throw decodeError(what, `${negative ? -v - 1n : v} is outside the compact signed range`);
    }
    return negative ? -v - 1n : v;
  }

  utf(what: string): string {
    this.need(2, what);
    const len = ((this.buf[this.pos] as number) << 8) | (this.buf[this.pos + 1] as number);
    this.pos += 2;
    this.need(len, what);
    const s = decodeMutf8(
      Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength),
      this.pos,
      this.pos + len,
    );
    if (s === undefined) throw decodeError(what, 'malformed modified UTF-8');
    this.pos += len;
    return s;
  }
}

function splitStreamName(name: string, what: string): { scope: string; stream: string } {
  const slash = name.indexOf('/');
  if (slash < 0) throw decodeError(what, `${JSON.stringify(name)} is not scope/stream`);
  const scope = name.slice(0, slash);
  const stream = name.slice(slash + 1);
  try {
    validateName('scope', scope, true);
    validateName('stream', stream, true);
  } catch (err) {
    throw decodeError(what, (err as Error).message);
  }
  return { scope, stream };
}

function readRevision0(input: In, version: number): StreamCutFields {
  const { scope, stream } = splitStreamName(input.utf('stream name'), 'stream name');
  const count = input.compactInt('segment count');
  // each entry takes at least two bytes: checked before anything is allocated for it
  if (count * 2 > input.end - input.pos) {
    throw decodeError(
      'segment count',
      `${count} segments cannot fit in ${input.end - input.pos} bytes`,
    );
  }
  const positions = new Map<bigint, bigint>();
  for (let i = 0; i < count; i++) {
    const segment = input.compactLong(`segment id ${i}`);
    const offset =
      version === 0 ? input.compactLong(`offset ${i}`) : input.compactSignedLong(`offset ${i}`);
    if (positions.has(segment))
      throw decodeError(`segment id ${i}`, `segment ${segment} is listed twice`);
    positions.set(segment, offset);
  }
  return { scope, stream, positions };
}

/** `StreamCut.fromBytes`: UNBOUNDED for no bytes; versions 0 and 1; later revisions skipped. */
export function decodeStreamCutBytes(bytes: Uint8Array): StreamCutFields | UnboundedCut {
  if (bytes.length === 0) return UNBOUNDED_CUT_TEXT;
  const input = new In(bytes, 0, bytes.length);
  const format = input.u8('serializer format');
  if (format !== SERIALIZER_FORMAT) {
    throw decodeError('serializer format', `${format} is not ${SERIALIZER_FORMAT}`);
  }
  const version = input.u8('version');
  if (version !== 0 && version !== 1) throw decodeError('version', `${version} is not 0 or 1`);
  const revisions = input.u8('revision count');
  if (revisions === 0 || revisions > 127) {
    throw decodeError('revision count', `${revisions} is not in [1, 127]`);
  }
  let fields: StreamCutFields | undefined;
  for (let r = 0; r < revisions; r++) {
    const id = input.u8(`revision ${r}`);
    const length = input.int32(`revision ${r} length`);
    if (length < 0) throw decodeError(`revision ${r} length`, `${length} is negative`);
    input.need(length, `revision ${r}`);
    const end = input.pos + length;
    if (r === 0) {
      if (id !== 0) throw decodeError('revision 0', `found revision ${id}`);
      // a revision's reader cannot read past its length; what it leaves is skipped
      fields = readRevision0(new In(bytes, input.pos, end), version);
    }
    input.pos = end;
  }
  if (input.pos !== bytes.length) {
    throw decodeError('end', `${bytes.length - input.pos} bytes after the last revision`);
  }
  return fields as StreamCutFields;
}

// ---------------------------------------------------------------------------------------------
// text: encoder

/** A GZIPOutputStream member: fixed 10-byte header (JDK 16+), raw deflate, CRC-32, length. */
function javaGzip(data: Buffer): Buffer {
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  const body = deflateRaw(data);
  const trailer = Buffer.allocUnsafe(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length >>> 0, 4);
  return Buffer.concat([header, body, trailer]);
}

/** `StreamCut.asText()`: `UNBOUNDED`, or base64 of the gzip of the colon-separated form. */
export function encodeStreamCutText(cut: StreamCutFields | UnboundedCut): string {
  if (cut === UNBOUNDED_CUT_TEXT) return UNBOUNDED_CUT_TEXT;
  checkFields(cut);
  if (cut.positions.size === 0) {
    // Java writes `0:sc/st:::` here, which its own parser rejects
    throw badArgument(
      'a bounded cut',
      'needs at least one segment in the text form (else UNBOUNDED)',
    );
  }
  const numbers: string[] = [];
  const epochs: string[] = [];
  const offsets: string[] = [];
  for (const [segment, offset] of cut.positions) {
    const number = segment & 0xffff_ffffn;
    if (number > INT32_MAX) {
      throw badArgument(
        `segment id ${segment}`,
        'has a segment number ≥ 2^31, which the text form cannot carry',
      );
    }
    numbers.push(number.toString());
    epochs.push((segment >> 32n).toString());
    offsets.push(offset.toString());
  }
  const plain = `0:${cut.scope}/${cut.stream}:${numbers.join(',')}:${epochs.join(',')}:${offsets.join(',')}`;
  return javaGzip(Buffer.from(plain, 'utf8')).toString('base64');
}

// ---------------------------------------------------------------------------------------------
// text: parser

const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;
const DECIMAL_RE = /^[+-]?\d+$/;

function parseList(list: string, what: string, min: bigint, max: bigint): bigint[] {
  // Guava's Splitter.on(',').trimResults(), then Integer/Long.valueOf
  return list.split(',').map((item, i) => {
    const t = item.trim();
    if (!DECIMAL_RE.test(t))
      throw decodeError(`${what} ${i}`, `${JSON.stringify(t)} is not a decimal integer`);
    const v = BigInt(t);
    if (v < min || v > max) throw decodeError(`${what} ${i}`, `${v} is outside [${min}, ${max}]`);
    return v;
  });
}

/** `StreamCut.from`: `UNBOUNDED` or the base64-of-gzip form; a clear DECODE_ERROR otherwise. */
export function decodeStreamCutText(text: string): StreamCutFields | UnboundedCut {
  const t = text.trim();
  if (t === UNBOUNDED_CUT_TEXT) return UNBOUNDED_CUT_TEXT;
  if (!BASE64_RE.test(t) || t.length % 4 === 1) throw decodeError('text', 'not base64');
  let plain: string;
  try {
    plain = gunzipSync(Buffer.from(t, 'base64'), { maxOutputLength: MAX_TEXT_BYTES }).toString(
      'utf8',
    );
  } catch (err) {
    throw decodeError('text', `not gzip (${(err as Error).message})`);
  }
  const parts = splitN(plain, ':', 5);
  if (parts.length !== 5) {
    throw decodeError(
      'text',
      `${parts.length} colon-separated fields, expected 5 (version:scope/stream:numbers:epochs:offsets)`,
    );
  }
  const [version, name, numberList, epochList, offsetList] = parts as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (version !== '0') throw decodeError('text version', `${JSON.stringify(version)} is not 0`);
  const { scope, stream } = splitStreamName(name, 'stream name');
  const numbers = parseList(numberList, 'segment number', 0n, INT32_MAX);
  const epochs = parseList(epochList, 'epoch', 0n, INT32_MAX);
  const offsets = parseList(offsetList, 'offset', INT64_MIN, INT64_MAX);
  if (epochs.length !== numbers.length || offsets.length !== numbers.length) {
    throw decodeError(
      'text',
      `${numbers.length} segment numbers, ${epochs.length} epochs and ${offsets.length} offsets: the three lists must be as long`,
    );
  }
  const positions = new Map<bigint, bigint>();
  numbers.forEach((number, i) => {
    const segment = ((epochs[i] as bigint) << 32n) | number;
    if (positions.has(segment))
      throw decodeError(`segment ${i}`, `segment ${segment} is listed twice`);
    positions.set(segment, offsets[i] as bigint);
  });
  return { scope, stream, positions };
}

/** Java's `split(sep, limit)` for a limit > 0: at most `limit` fields, the last takes the rest. */
function splitN(s: string, sep: string, limit: number): string[] {
  const out: string[] = [];
  let from = 0;
  while (out.length < limit - 1) {
    const at = s.indexOf(sep, from);
    if (at < 0) break;
    out.push(s.slice(from, at));
    from = at + sep.length;
  }
  out.push(s.slice(from));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tributary's earlier text (read only)

/** True when `text` looks like Tributary's earlier cut text: base64 of a JSON object. */
export function isLegacyStreamCutText(text: string): boolean {
  return text.trim().startsWith('eyJ'); // base64 of '{"'
}

/**
 * Tributary's cut text before it wrote Java's (base64 of `{"v":1,"scope","stream","positions":
 * [["segmentId","offset"],...]}`), read for one release so cuts saved then still parse. An empty
 * list was its UNBOUNDED, which named the stream.
 */
export function decodeLegacyStreamCutText(text: string): StreamCutFields {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(text.trim(), 'base64').toString('utf8'));
  } catch (err) {
    throw decodeError('earlier Tributary text', `not base64 of JSON (${(err as Error).message})`);
  }
  const d = doc as Record<string, unknown>;
  const keys = typeof doc === 'object' && doc !== null ? Object.keys(d).sort().join(',') : '';
  if (keys !== 'positions,scope,stream,v' || d.v !== 1) {
    throw decodeError('earlier Tributary text', 'expected {v: 1, scope, stream, positions}');
  }
  if (typeof d.scope !== 'string' || typeof d.stream !== 'string' || !Array.isArray(d.positions)) {
    throw decodeError(
      'earlier Tributary text',
      'scope and stream must be strings, positions a list',
    );
  }
  const { scope, stream } = splitStreamName(`${d.scope}/${d.stream}`, 'stream name');
  const positions = new Map<bigint, bigint>();
  d.positions.forEach((entry: unknown, i) => {
    const ok =
      Array.isArray(entry) &&
      entry.length === 2 &&
      entry.every((x) => typeof x === 'string' && /^\d+$/.test(x));
    if (!ok) throw decodeError(`position ${i}`, 'expected ["segmentId", "offset"] in decimal');
    const [segment, offset] = (entry as [string, string]).map((x) => BigInt(x)) as [bigint, bigint];
    if (positions.has(segment))
      throw decodeError(`position ${i}`, `segment ${segment} is listed twice`);
    positions.set(segment, offset);
  });
  return { scope, stream, positions };
}
