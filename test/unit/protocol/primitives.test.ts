import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { LONG_MAX, LONG_MIN } from '../../../src/pravega/protocol/constants.js';
import { decodeMutf8, encodeMutf8, mutf8Length } from '../../../src/pravega/protocol/mutf8.js';
import { WireReader } from '../../../src/pravega/protocol/wire-reader.js';
import type { WireSink } from '../../../src/pravega/protocol/wire-writer.js';
import {
  BufferWriter,
  isUuidText,
  SizeCounter,
} from '../../../src/pravega/protocol/wire-writer.js';

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

/** Encodes with the same two passes the command encoders use. */
function encode(write: (w: WireSink) => void): Buffer {
  const counter = new SizeCounter('Test');
  write(counter);
  const buf = Buffer.alloc(counter.size);
  const w = new BufferWriter(buf, 0);
  write(w);
  expect(w.pos).toBe(buf.length);
  return buf;
}

function decodeError(fn: () => unknown): TributaryError {
  try {
    fn();
  } catch (err) {
    expect(TributaryError.is(err, 'DECODE_ERROR')).toBe(true);
    return err as TributaryError;
  }
  throw new Error('expected a DECODE_ERROR');
}

describe('modified UTF-8', () => {
  const cases: [string, string][] = [
    ['', ''],
    ['abc', '616263'],
    ['\u0000', 'c080'],
    ['a\u0000b', '61c08062'],
    ['\u007f', '7f'],
    ['\u0080', 'c280'],
    ['\u00e9', 'c3a9'],
    ['\u07ff', 'dfbf'],
    ['\u0800', 'e0a080'],
    ['\u20ac', 'e282ac'],
    ['\uffff', 'efbfbf'],
    // U+1F600 as two 3-byte surrogates, never the 4-byte UTF-8 f09f9880
    ['\ud83d\ude00', 'eda0bdedb880'],
    // lone surrogates survive, as in Java
    ['\ud800', 'eda080'],
    ['\udfff', 'edbfbf'],
  ];

  it.each(cases)('%j encodes as %s and back', (text, bytes) => {
    expect(encodeMutf8(text).toString('hex')).toBe(bytes);
    expect(mutf8Length(text)).toBe(bytes.length / 2);
    const buf = hex(bytes);
    expect(decodeMutf8(buf, 0, buf.length)).toBe(text);
  });

  it('accepts what Java readUTF accepts: a raw zero byte and overlong forms', () => {
    expect(decodeMutf8(hex('00'), 0, 1)).toBe('\u0000');
    expect(decodeMutf8(hex('c181'), 0, 2)).toBe('A');
    expect(decodeMutf8(hex('e08080'), 0, 3)).toBe('\u0000');
  });

  it.each([
    ['f09f9880', '4-byte UTF-8'],
    ['80', 'a lone continuation byte'],
    ['bf', 'a lone continuation byte'],
    ['f8', 'an invalid lead byte'],
    ['c3', 'a cut 2-byte sequence'],
    ['e282', 'a cut 3-byte sequence'],
    ['c341', 'a bad continuation byte'],
    ['e241ac', 'a bad first continuation byte'],
    ['e28241', 'a bad second continuation byte'],
  ])('rejects %s (%s)', (bytes) => {
    const buf = hex(bytes);
    expect(decodeMutf8(buf, 0, buf.length)).toBeUndefined();
  });

  it('round-trips any UTF-16 string, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const bytes = encodeMutf8(s);
        expect(bytes.length).toBe(mutf8Length(s));
        expect(decodeMutf8(bytes, 0, bytes.length)).toBe(s);
      }),
    );
    fc.assert(
      fc.property(
        fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
        (s) => {
          const bytes = encodeMutf8(s);
          expect(decodeMutf8(bytes, 0, bytes.length)).toBe(s);
        },
      ),
    );
  });

  it('equals standard UTF-8 for BMP text without U+0000 or surrogates', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc
            .integer({ min: 1, max: 0xffff })
            .filter((c) => c < 0xd800 || c > 0xdfff)
            .map((c) => String.fromCharCode(c)),
        }),
        (s) => {
          expect(encodeMutf8(s)).toEqual(Buffer.from(s, 'utf8'));
        },
      ),
    );
  });

  it('decodes long non-ASCII strings (chunked) and never 4-byte sequences', () => {
    const s = '\u00e9\ud83d\ude00\u20ac'.repeat(6000);
    const bytes = encodeMutf8(s);
    expect(bytes.length).toBe(6000 * 11);
    expect(decodeMutf8(bytes, 0, bytes.length)).toBe(s);
    expect(bytes.includes(0xf0)).toBe(false);
  });
});

describe('primitive encodings', () => {
  it('writes int64 as 8 fixed big-endian bytes, Long.MIN_VALUE included', () => {
    expect(encode((w) => w.int64(LONG_MIN, 'v')).toString('hex')).toBe('8000000000000000');
    expect(encode((w) => w.int64(LONG_MAX, 'v')).toString('hex')).toBe('7fffffffffffffff');
    expect(encode((w) => w.int64(-1n, 'v')).toString('hex')).toBe('ffffffffffffffff');
    for (const v of [LONG_MIN, LONG_MAX, -1n, 0n, 42n]) {
      const buf = encode((w) => w.int64(v, 'v'));
      expect(new WireReader(buf, 'Test').int64('v')).toBe(v);
    }
  });

  it('writes int32, bool, byte, string, UUID and length-prefixed bytes', () => {
    const buf = encode((w) => {
      w.int32(-2, 'i');
      w.bool(true, 'b');
      w.byte(255, 'y');
      w.utf('a\u0000', 's');
      w.uuid('00112233-4455-6677-8899-AABBCCDDEEFF', 'u');
      w.bytes(hex('0102'), 'd');
      w.raw(hex('03'), 'r');
      w.zeros(2, 'z');
    });
    expect(buf.toString('hex')).toBe(
      'fffffffe' +
        '01' +
        'ff' +
        '000361c080' +
        '00112233445566778899aabbccddeeff' +
        '000000020102' +
        '03' +
        '0000',
    );
    const r = new WireReader(buf, 'Test');
    expect(r.int32('i')).toBe(-2);
    expect(r.bool('b')).toBe(true);
    expect(r.byte('y')).toBe(-1);
    expect(r.utf('s')).toBe('a\u0000');
    expect(r.uuid('u')).toBe('00112233-4455-6677-8899-aabbccddeeff');
    expect(r.bytes('d')).toEqual(hex('0102'));
    expect(r.fixed(1, 'r')).toEqual(hex('03'));
    expect(r.rest()).toEqual(hex('0000'));
    expect(r.remaining).toBe(0);
  });

  it('reads any non-zero byte as true, like Java', () => {
    expect(new WireReader(hex('02'), 'Test').bool('b')).toBe(true);
    expect(new WireReader(hex('00'), 'Test').bool('b')).toBe(false);
  });

  it('recognises UUID text', () => {
    expect(isUuidText('00112233-4455-6677-8899-aabbccddeeff')).toBe(true);
    expect(isUuidText('00112233-4455-6677-8899-aabbccddeefg')).toBe(false);
    expect(isUuidText('00112233-4455-6677-8899aabbccddeeff0')).toBe(false);
    expect(isUuidText('00112233445566778899aabbccddeeff')).toBe(false);
    expect(isUuidText('0011223\u0660-4455-6677-8899-aabbccddeeff')).toBe(false);
  });

  it('round-trips UUIDs given as two longs', () => {
    fc.assert(
      fc.property(fc.uuid(), (u) => {
        const buf = encode((w) => w.uuid(u, 'u'));
        expect(new WireReader(buf, 'Test').uuid('u')).toBe(u.toLowerCase());
      }),
    );
  });
});

describe('WireReader on bad input', () => {
  it('names the command and field of a truncated read', () => {
    const err = decodeError(() => new WireReader(hex('000102'), 'SetupAppend').int64('requestId'));
    expect(err.message).toContain('SetupAppend.requestId');
    expect(err.details).toEqual({ command: 'SetupAppend', field: 'requestId' });
  });

  it('checks a string length against the bytes left before reading', () => {
    const err = decodeError(() => new WireReader(hex('ffff61'), 'T').utf('segment'));
    expect(err.message).toContain('T.segment');
  });

  it('rejects malformed modified UTF-8', () => {
    decodeError(() => new WireReader(hex('0004f09f9880'), 'T').utf('s'));
  });

  it('rejects negative lengths and counts', () => {
    decodeError(() => new WireReader(hex('ffffffff'), 'T').bytes('data'));
    decodeError(() => new WireReader(hex('80000000'), 'T').count('n'));
  });

  it('rejects a buffer length larger than the frame without allocating', () => {
    decodeError(() => new WireReader(hex('7fffffff00'), 'T').bytes('data'));
  });

  it('rejects a list count that cannot fit in the bytes left', () => {
    const err = decodeError(() =>
      new WireReader(hex('7fffffff' + '00'.repeat(64)), 'T').listCount('n', 8),
    );
    expect(err.message).toContain('cannot fit');
  });

  it('returns byte fields as views, not copies', () => {
    const buf = hex('00000003 aabbcc');
    const view = new WireReader(buf, 'T').bytes('d');
    expect(view.buffer).toBe(buf.buffer);
    expect(view.byteOffset).toBe(buf.byteOffset + 4);
  });
});
