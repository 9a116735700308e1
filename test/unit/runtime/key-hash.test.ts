import { describe, expect, it } from 'vitest';
import { hashKey, keyGroupOf, keyText, type Key } from '../../../src/runtime/key-groups.js';

/** The hash as first defined: FNV-1a over `keyText`, then murmur3's fmix32 (key groups in checkpoints depend on it). */
function textHash(key: Key): number {
  const text = keyText(key);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

describe('key hash', () => {
  it('equals FNV-1a over the key text for every kind of key (checkpointed key groups stay put)', () => {
    const keys: Key[] = [
      0,
      -0,
      1,
      -1,
      9,
      10,
      99,
      100,
      12345,
      -98765,
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 32 + 7,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER + 1,
      1e21,
      -1e-7,
      0.5,
      -3.25,
      NaN,
      Infinity,
      -Infinity,
      '',
      'a',
      'customer-42',
      'ünïcödé ✓ 😀',
      '0',
      10n,
      -(2n ** 70n),
      true,
      false,
    ];
    for (let i = 0; i < 20_000; i++) {
      keys.push(i, -i * 7919, Math.floor(Math.random() * Number.MAX_SAFE_INTEGER), `k${i}`);
      keys.push(Math.random() * 1e6, String.fromCharCode(...[i & 0xffff, (i * 31) & 0xffff]));
    }
    const wrong = keys.filter(
      (key) => hashKey(key) !== textHash(key) || keyGroupOf(key, 128) !== textHash(key) % 128,
    );
    expect(wrong.map(String)).toEqual([]);
  });

  it('refuses a key that is not a string, number, bigint or boolean', () => {
    expect(() => hashKey({} as unknown as Key)).toThrow(/keyBy: a key must be/);
  });
});
