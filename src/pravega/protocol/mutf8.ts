/**
 * Java "modified UTF-8" (`DataOutput.writeUTF` / `DataInput.readUTF`), without the u16 length:
 * - U+0001..U+007F take one byte;
 * - U+0000 and U+0080..U+07FF take two bytes (so U+0000 is `C0 80`, never a zero byte);
 * - every other UTF-16 code unit takes three bytes. Characters outside the BMP are two surrogate
 *   code units, so six bytes (CESU-8 style); a 4-byte UTF-8 sequence is never produced or accepted.
 *
 * Strings are handled as sequences of UTF-16 code units, exactly as Java does: lone surrogates
 * round-trip.
 */

/** Number of bytes `s` takes in modified UTF-8. */
export function mutf8Length(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || c === 0) bytes += c < 0x800 ? 1 : 2;
  }
  return bytes;
}

/**
 * Writes `s` at `offset`; `byteLength` must be `mutf8Length(s)`. Returns the offset after it.
 * The caller has checked that `target` has room.
 */
export function writeMutf8(target: Buffer, offset: number, s: string, byteLength: number): number {
  const n = s.length;
  if (byteLength === n) {
    // only U+0001..U+007F: identical to ASCII
    if (n > 0) target.write(s, offset, n, 'latin1');
    return offset + n;
  }
  let p = offset;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0 && c < 0x80) {
      target[p++] = c;
    } else if (c < 0x800) {
      target[p++] = 0xc0 | (c >> 6);
      target[p++] = 0x80 | (c & 0x3f);
    } else {
      target[p++] = 0xe0 | (c >> 12);
      target[p++] = 0x80 | ((c >> 6) & 0x3f);
      target[p++] = 0x80 | (c & 0x3f);
    }
  }
  return p;
}

/** Modified-UTF-8 bytes of `s` (no length prefix). */
export function encodeMutf8(s: string): Buffer {
  const len = mutf8Length(s);
  const out = Buffer.allocUnsafe(len);
  writeMutf8(out, 0, s, len);
  return out;
}

const CHUNK = 8192;

/**
 * Decodes `source[start, end)` as modified UTF-8, or returns `undefined` if the bytes are not valid
 * modified UTF-8 (the same rules as Java's `readUTF`: a bad lead byte, a missing or malformed
 * continuation byte, or a sequence cut off at `end`). Overlong forms are accepted, as Java does.
 */
export function decodeMutf8(source: Buffer, start: number, end: number): string | undefined {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if ((source[i] as number) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return source.toString('latin1', start, end);

  const units = new Uint16Array(end - start);
  let n = 0;
  let i = start;
  while (i < end) {
    const a = source[i] as number;
    switch (a >> 4) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4:
      case 5:
      case 6:
      case 7:
        units[n++] = a;
        i += 1;
        break;
      case 12:
      case 13: {
        if (i + 1 >= end) return undefined;
        const b = source[i + 1] as number;
        if ((b & 0xc0) !== 0x80) return undefined;
        units[n++] = ((a & 0x1f) << 6) | (b & 0x3f);
        i += 2;
        break;
      }
      case 14: {
        if (i + 2 >= end) return undefined;
        const b = source[i + 1] as number;
        const c = source[i + 2] as number;
        if ((b & 0xc0) !== 0x80 || (c & 0xc0) !== 0x80) return undefined;
        units[n++] = ((a & 0x0f) << 12) | ((b & 0x3f) << 6) | (c & 0x3f);
        i += 3;
        break;
      }
      default:
        // 10xx xxxx (a continuation byte) or 1111 xxxx (4-byte UTF-8) as a lead byte
        return undefined;
    }
  }
  let out = '';
  for (let from = 0; from < n; from += CHUNK) {
    // a typed array is a valid argument list for apply (no spread iterator)
    const chunk = units.subarray(from, Math.min(n, from + CHUNK)) as unknown as number[];
    out += String.fromCharCode.apply(null, chunk);
  }
  return out;
}
