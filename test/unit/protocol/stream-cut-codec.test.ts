import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import {
  decodeStreamCutBytes,
  decodeStreamCutText,
  encodeStreamCutBytes,
  encodeStreamCutText,
  type StreamCutFields,
  UNBOUNDED_CUT_TEXT,
} from '../../../src/pravega/protocol/stream-cut-codec.js';
import { JAVA_STREAM_CUTS, V0_BYTES } from './stream-cut-fixtures.js';

/** The fixture's cut, built from its `scope/stream` and `id=offset,...` columns. */
function expected(f: { stream: string; positions: string }): StreamCutFields {
  const [scope = '', stream = ''] = f.stream.split('/');
  const positions = new Map<bigint, bigint>(
    f.positions.split(',').map((p) => {
      const [id = '', offset = ''] = p.split('=');
      return [BigInt(id), BigInt(offset)];
    }),
  );
  return { scope, stream, positions };
}

/** The fields with positions as an ordered list, so order is compared too. */
function ordered(cut: StreamCutFields | 'UNBOUNDED'): unknown {
  return cut === 'UNBOUNDED' ? cut : { ...cut, positions: [...cut.positions] };
}

function error(fn: () => unknown): TributaryError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TributaryError);
    return err as TributaryError;
  }
  throw new Error('expected an error');
}

const bounded = JAVA_STREAM_CUTS.filter((f) => f.stream !== '');

describe('stream cuts written by the Java client', () => {
  it('has every fixture the generator writes', () => {
    expect(JAVA_STREAM_CUTS.map((f) => f.name)).toEqual([
      'unbounded',
      'oneSegmentAtZero',
      'epochsAndLargeOffsets',
      'dotsAndDashes',
      'compactWidths',
      'twoHundredSegments',
      'hashMapOrder',
    ]);
  });

  it('UNBOUNDED is the text UNBOUNDED and no bytes, both ways', () => {
    const [f] = JAVA_STREAM_CUTS;
    expect(f?.text).toBe('UNBOUNDED');
    expect(f?.hex).toBe('');
    expect(decodeStreamCutText('UNBOUNDED')).toBe(UNBOUNDED_CUT_TEXT);
    expect(decodeStreamCutBytes(Buffer.alloc(0))).toBe(UNBOUNDED_CUT_TEXT);
    expect(encodeStreamCutText(UNBOUNDED_CUT_TEXT)).toBe('UNBOUNDED');
    expect(encodeStreamCutBytes(UNBOUNDED_CUT_TEXT)).toEqual(Buffer.alloc(0));
  });

  for (const f of bounded) {
    it(`${f.name}: the text decodes to the cut and re-encodes to the identical text`, () => {
      const cut = decodeStreamCutText(f.text);
      expect(ordered(cut)).toEqual(ordered(expected(f)));
      expect(encodeStreamCutText(cut)).toBe(f.text);
      expect(encodeStreamCutText(expected(f))).toBe(f.text);
      expect(f.text.startsWith('H4sI')).toBe(true); // base64 of the gzip magic
    });

    it(`${f.name}: the bytes decode to the cut and re-encode to the identical bytes`, () => {
      const cut = decodeStreamCutBytes(Buffer.from(f.hex, 'hex'));
      expect(ordered(cut)).toEqual(ordered(expected(f)));
      expect(encodeStreamCutBytes(cut).toString('hex')).toBe(f.hex);
      expect(encodeStreamCutBytes(expected(f)).toString('hex')).toBe(f.hex);
    });
  }

  for (const f of V0_BYTES) {
    it(`${f.name}: version-0 bytes (unsigned offsets) still decode`, () => {
      expect(ordered(decodeStreamCutBytes(Buffer.from(f.hex, 'hex')))).toEqual(
        ordered(expected(f)),
      );
    });
  }

  it('a text gzipped by another deflater (Node zlib, another OS byte) still decodes', () => {
    for (const f of bounded) {
      const plain = decodeStreamCutPlain(f.text);
      const other = gzipSync(Buffer.from(plain, 'utf8'), { level: 9 }).toString('base64');
      expect(ordered(decodeStreamCutText(other))).toEqual(ordered(expected(f)));
    }
  });
});

function decodeStreamCutPlain(text: string): string {
  return gunzipSync(Buffer.from(text, 'base64')).toString('utf8');
}

const nameArb = fc.stringMatching(/^[A-Za-z0-9.-]{1,20}$/);
const segmentArb = fc.tuple(
  fc.integer({ min: 0, max: 0x3fff_ffff }),
  fc.integer({ min: 0, max: 0x7fff_ffff }),
);
const fieldsArb = fc
  .record({
    scope: nameArb,
    stream: nameArb,
    entries: fc.uniqueArray(
      fc.tuple(segmentArb, fc.bigInt({ min: 0n, max: 0x1fff_ffff_ffff_fffen })),
      { minLength: 1, maxLength: 40, selector: ([[epoch, number]]) => `${epoch}.${number}` },
    ),
  })
  .map(({ scope, stream, entries }): StreamCutFields => ({
    scope,
    stream,
    positions: new Map(
      entries.map(([[epoch, number], offset]) => [(BigInt(epoch) << 32n) | BigInt(number), offset]),
    ),
  }));

describe('stream cut codec round trips', () => {
  it('bytes: decode(encode(cut)) is the cut, in order', () => {
    fc.assert(
      fc.property(fieldsArb, (cut) => {
        expect(ordered(decodeStreamCutBytes(encodeStreamCutBytes(cut)))).toEqual(ordered(cut));
      }),
    );
  });

  it('bytes: negative offsets (allowed by version 1) round trip', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -0x1fff_ffff_ffff_ffffn, max: -1n }), (offset) => {
        const cut = { scope: 's', stream: 't', positions: new Map([[5n, offset]]) };
        expect(ordered(decodeStreamCutBytes(encodeStreamCutBytes(cut)))).toEqual(ordered(cut));
      }),
    );
  });

  it('text: decode(encode(cut)) is the cut, in order', () => {
    fc.assert(
      fc.property(fieldsArb, (cut) => {
        const text = encodeStreamCutText(cut);
        expect(text.startsWith('H4sI')).toBe(true);
        expect(ordered(decodeStreamCutText(text))).toEqual(ordered(cut));
      }),
      { numRuns: 50 },
    );
  });

  it('bytes: every truncation is a DECODE_ERROR, never another exception', () => {
    fc.assert(
      fc.property(fieldsArb, (cut) => {
        const bytes = encodeStreamCutBytes(cut);
        for (let n = 1; n < bytes.length; n++) {
          expect(error(() => decodeStreamCutBytes(bytes.subarray(0, n))).code).toBe('DECODE_ERROR');
        }
      }),
      { numRuns: 20 },
    );
  });

  it('bytes: random input decodes or fails with a DECODE_ERROR', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
        try {
          decodeStreamCutBytes(bytes);
        } catch (err) {
          expect((err as TributaryError).code).toBe('DECODE_ERROR');
        }
      }),
    );
  });
});

describe('stream cut codec: what Java skips or rejects', () => {
  const cut: StreamCutFields = { scope: 'sc', stream: 'st', positions: new Map([[7n, 9n]]) };

  it('skips bytes a later revision added to revision 0, and revisions it does not know', () => {
    const bytes = encodeStreamCutBytes(cut);
    const content = bytes.subarray(8);
    const extended = Buffer.concat([
      Buffer.from([0, 1, 2, 0]),
      Buffer.from([0, 0, 0, content.length + 3]),
      content,
      Buffer.from([1, 2, 3]),
      Buffer.from([1, 0, 0, 0, 2, 0xaa, 0xbb]),
    ]);
    expect(ordered(decodeStreamCutBytes(extended))).toEqual(ordered(cut));
  });

  it.each([
    ['serializer format 1', '01', 'serializer format'],
    ['version 2', '0002', 'version'],
    ['no revisions', '000100', 'revision count'],
    ['revision 1 first', '0001010100000000', 'revision 0'],
    ['a negative revision length', '00010100ffffffff', 'revision 0 length'],
    ['no slash in the name', '000101000000000600027363' + '00' + '00', 'stream name'],
    ['an invalid scope', '0001010000000007000361212f' + '7400', 'stream name'],
    ['bytes after the last revision', `${'00010100000000060003732f7400'}ff`, 'end'],
  ])('rejects %s', (_what, hex, field) => {
    const e = error(() => decodeStreamCutBytes(Buffer.from(hex, 'hex')));
    expect(e.code).toBe('DECODE_ERROR');
    expect(e.message).toContain(field);
  });

  it('rejects a segment listed twice', () => {
    // revision 0 of "sc/st" with two entries, both segment 7 at offset 9
    const bytes = Buffer.from(
      '00010100' + '0000000c' + '000573632f7374' + '02' + '07090709',
      'hex',
    );
    expect(error(() => decodeStreamCutBytes(bytes)).message).toContain('listed twice');
  });

  const gz = (plain: string): string => gzipSync(Buffer.from(plain, 'utf8')).toString('base64');

  it.each([
    ['not base64', 'not a cut!', 'not base64'],
    ['base64 of something else', Buffer.from('{"v":1}').toString('base64'), 'not gzip'],
    ['four fields', gz('0:sc/st:1:0'), '4 colon-separated fields'],
    ['version 1', gz('1:sc/st:1:0:5'), 'text version'],
    ['lists of different lengths', gz('0:sc/st:1,2:0:5,6'), 'as long'],
    ['a negative epoch', gz('0:sc/st:1:-1:5'), 'epoch 0'],
    ['a segment number past int', gz('0:sc/st:2147483648:0:5'), 'segment number 0'],
    ['an empty list', gz('0:sc/st:::'), 'segment number 0'],
    ['a segment twice', gz('0:sc/st:1,1:0,0:5,6'), 'listed twice'],
    ['an invalid stream name', gz('0:sc/s_t:1:0:5'), 'stream name'],
  ])('rejects text with %s', (_what, text, reason) => {
    const e = error(() => decodeStreamCutText(text));
    expect(e.code).toBe('DECODE_ERROR');
    expect(e.message).toContain(reason);
  });

  it('reads list items the way Guava and Integer.valueOf do (spaces, + sign, zeros)', () => {
    const text = gz('0:sc/st: 1, +02 :0,1: 005,6');
    expect(ordered(decodeStreamCutText(text))).toEqual(
      ordered({
        scope: 'sc',
        stream: 'st',
        positions: new Map([
          [1n, 5n],
          [(1n << 32n) | 2n, 6n],
        ]),
      }),
    );
  });

  it('refuses to encode what Java could not read back', () => {
    const empty = { scope: 'sc', stream: 'st', positions: new Map<bigint, bigint>() };
    expect(error(() => encodeStreamCutText(empty)).code).toBe('ILLEGAL_ARGUMENT');
    const bigNumber = { ...empty, positions: new Map([[0x8000_0000n, 0n]]) };
    expect(error(() => encodeStreamCutText(bigNumber)).message).toContain('2^31');
    const bigOffset = { ...empty, positions: new Map([[1n, 1n << 61n]]) };
    expect(error(() => encodeStreamCutBytes(bigOffset)).code).toBe('ILLEGAL_ARGUMENT');
    const negativeId = { ...empty, positions: new Map([[-1n, 0n]]) };
    expect(error(() => encodeStreamCutBytes(negativeId)).code).toBe('ILLEGAL_ARGUMENT');
    expect(error(() => encodeStreamCutBytes({ ...cut, scope: 'a/b' })).code).toBe('INVALID_NAME');
  });

  it('an empty bounded cut has bytes (Java reads them) but no text', () => {
    const empty = { scope: 'sc', stream: 'st', positions: new Map<bigint, bigint>() };
    expect(ordered(decodeStreamCutBytes(encodeStreamCutBytes(empty)))).toEqual(ordered(empty));
  });
});
