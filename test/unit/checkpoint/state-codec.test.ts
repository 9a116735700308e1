import { describe, expect, it } from 'vitest';
import {
  decodeState,
  encodeState,
  parseState,
  stringifyState,
} from '../../../src/checkpoint/state-codec.js';
import { TributaryError } from '../../../src/errors.js';

describe('state codec', () => {
  it('round-trips JSON plus bigint, Buffer, Map, Set, Date, undefined and non-finite numbers', () => {
    const value = {
      n: 1.5,
      s: 'text',
      b: true,
      nil: null,
      big: 12345678901234567890n,
      negBig: -5n,
      buf: Buffer.from([0, 1, 2, 255]),
      bytes: new Uint8Array([9, 8, 7]),
      map: new Map<unknown, unknown>([
        [1n, 'one'],
        ['k', { nested: [1, 2] }],
      ]),
      set: new Set([1, 'a']),
      date: new Date('2024-01-02T03:04:05.006Z'),
      inf: Infinity,
      nan: NaN,
      list: [undefined, 1],
      tagLike: { $t: 'bigint', v: 'not really' },
    };
    const back = parseState(stringifyState(value)) as Record<string, unknown>;
    expect(back['big']).toBe(12345678901234567890n);
    expect(back['negBig']).toBe(-5n);
    expect(Buffer.isBuffer(back['buf'])).toBe(true);
    expect([...(back['buf'] as Buffer)]).toEqual([0, 1, 2, 255]);
    expect([...(back['bytes'] as Buffer)]).toEqual([9, 8, 7]);
    expect(back['map']).toEqual(value.map);
    expect(back['set']).toEqual(value.set);
    expect((back['date'] as Date).toISOString()).toBe('2024-01-02T03:04:05.006Z');
    expect(back['inf']).toBe(Infinity);
    expect(back['nan']).toBeNaN();
    expect(back['list']).toEqual([undefined, 1]);
    expect(back['tagLike']).toEqual({ $t: 'bigint', v: 'not really' });
    expect(back['n']).toBe(1.5);
    expect(back['nil']).toBeNull();
  });

  it('encodes to plain JSON and decodes to a deep copy', () => {
    const original = { list: [1, 2], inner: { x: 1 } };
    const encoded = encodeState(original);
    expect(JSON.parse(JSON.stringify(encoded))).toEqual(encoded);
    const decoded = decodeState(encoded) as typeof original;
    decoded.list.push(3);
    expect(original.list).toEqual([1, 2]);
  });

  it('rejects values it cannot restore, naming the path', () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const fail = (value: unknown): TributaryError => {
      try {
        encodeState(value);
      } catch (err) {
        if (TributaryError.is(err)) return err;
      }
      throw new Error('expected a TributaryError');
    };
    expect(fail({ a: [0, new Point(1)] }).message).toMatch(/\$\.a\[1\].*class Point/);
    expect(fail({ f: () => 1 }).message).toMatch(/\$\.f.*function/);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(fail(cyclic).message).toMatch(/cycle/);
  });

  it('refuses corrupt encodings with STATE_CORRUPT', () => {
    expect(() => decodeState({ $t: 'what' })).toThrow(/unknown tag/);
    expect(() => parseState('{not json')).toThrow(TributaryError);
    expect(() => decodeState({ $t: 'bigint', v: 5 })).toThrow(/expected a string/);
  });
});
