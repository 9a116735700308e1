import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { HeapKeyedStateBackend } from '../../../src/runtime/keyed-state.js';
import { mergeSections, packSection, unpackSection } from '../../../src/state/state-sections.js';

describe('binary state sections (msgpack)', () => {
  it('round-trips every StateValue type, keeping Map and plain objects apart', () => {
    const value = {
      n: 1.5,
      big: 2n ** 80n,
      small: -3n,
      nan: NaN,
      inf: -Infinity,
      u: undefined,
      nul: null,
      d: new Date(1234),
      bytes: new Uint8Array([1, 2, 3]),
      m: new Map<unknown, unknown>([
        [1, 'x'],
        ['k', { z: 1 }],
      ]),
      s: new Set([1, 'a']),
      o: { nested: [1, { a: [] }] },
      empty: {},
    };
    const section = unpackSection(
      packSection({ t: ['value', ['key', value, 7n, 'v', true, 0], ['gone']] }),
      'test',
    );
    expect(section).toEqual({ t: ['value', ['key', value, 7n, 'v', true, 0], ['gone']] });
    const back = section['t']?.[1][1] as typeof value;
    expect(back.m).toBeInstanceOf(Map);
    expect(back.o).not.toBeInstanceOf(Map);
    expect(back.s).toBeInstanceOf(Set);
    expect(typeof back.small).toBe('bigint');
  });

  it('rejects bytes that are not a section with STATE_CORRUPT', () => {
    const err = (() => {
      try {
        unpackSection(Buffer.from([0xc1, 0xff]), 'piece p');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(TributaryError.is(err, 'STATE_CORRUPT')).toBe(true);
  });

  it('folds sections in order: later puts win, deletes remove', () => {
    const merged = mergeSections([
      { v: ['value', ['a', 1, 'b', 2], []] },
      { v: ['value', ['a', 3], ['b']], l: ['list', ['a', [1]], []] },
    ]);
    expect(merged).toEqual({ v: ['value', ['a', 3], []], l: ['list', ['a', [1]], []] });
  });

  it('capturing changes checks values against the StateValue rules, naming the path', () => {
    const backend = new HeapKeyedStateBackend(4);
    backend.trackChanges();
    backend.setCurrentKey('k');
    backend.valueState<unknown>('v').update({ when: new (class Custom {})() });
    expect(() => backend.captureChanges()).toThrow(/\$\.when .*instance of class Custom/);
  });
});
