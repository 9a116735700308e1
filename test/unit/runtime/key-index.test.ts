import { describe, expect, it } from 'vitest';
import type { Key } from '../../../src/runtime/key-groups.js';
import { KeyIndex } from '../../../src/runtime/key-index.js';

/** A small deterministic PRNG (mulberry32): the same operations on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Keys in -1000…3999 whose slot in `index` differs from `reference`'s. */
function mismatches(index: KeyIndex, reference: Map<number, number>): number[] {
  const wrong: number[] = [];
  for (let k = -1_000; k < 4_000; k++) if (index.get(k) !== (reference.get(k) ?? -1)) wrong.push(k);
  return wrong;
}

describe('KeyIndex', () => {
  it('agrees with a Map under random sets, replacements and deletes of integer keys', () => {
    const next = random(17);
    const index = new KeyIndex();
    const reference = new Map<number, number>();
    // keys from a small range: long probe runs, many deletes inside them, growth on the way
    for (let op = 0; op < 200_000; op++) {
      const key = Math.floor(next() * 5_000) - 1_000;
      if (next() < 0.4) {
        expect(index.delete(key)).toBe(reference.delete(key));
      } else {
        const slot = Math.floor(next() * 1_000_000);
        index.set(key, slot);
        reference.set(key, slot);
      }
      if (op % 10_000 === 0) expect(mismatches(index, reference)).toEqual([]);
    }
    expect(index.size).toBe(reference.size);
    expect(mismatches(index, reference)).toEqual([]);
  });

  it('deletes from the middle of a probe run without losing the keys behind it', () => {
    const index = new KeyIndex();
    // thousands of keys in 16 → 8192 buckets: every key shares runs with others
    for (let k = 0; k < 3_000; k++) index.set(k * 16, k);
    for (let k = 0; k < 3_000; k += 3) expect(index.delete(k * 16)).toBe(true);
    const wrong: number[] = [];
    for (let k = 0; k < 3_000; k++) if (index.get(k * 16) !== (k % 3 === 0 ? -1 : k)) wrong.push(k);
    expect(wrong).toEqual([]);
    expect(index.size).toBe(2_000);
  });

  it('keeps integers at the int32 limits, -0, fractions, strings, bigints and booleans apart', () => {
    const index = new KeyIndex();
    const keys: Key[] = [
      0,
      -1,
      2 ** 31 - 1,
      -(2 ** 31),
      2 ** 31, // beyond int32: kept in the map
      2 ** 53 - 1,
      1.5,
      '0',
      '1.5',
      '',
      0n,
      1n,
      true,
      false,
    ];
    keys.forEach((key, slot) => index.set(key, slot));
    keys.forEach((key, slot) => expect(index.get(key)).toBe(slot));
    expect(index.size).toBe(keys.length);
    expect(index.get(-0)).toBe(0); // as a Map: -0 is 0
    expect(index.get(1)).toBe(-1);
    expect(index.get('true')).toBe(-1);
    expect(index.get(Number.NaN)).toBe(-1);
    index.set(Number.NaN, 99);
    expect(index.get(Number.NaN)).toBe(99);
    expect(index.delete(2 ** 31)).toBe(true);
    expect(index.get(2 ** 31)).toBe(-1);
    expect(index.delete(-(2 ** 31))).toBe(true);
    expect(index.get(-(2 ** 31))).toBe(-1);
    expect(index.get(2 ** 31 - 1)).toBe(2);
    expect(index.delete('missing')).toBe(false);
    expect(index.delete(12345)).toBe(false);
  });
});
