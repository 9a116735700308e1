import { describe, expect, it } from 'vitest';
import { keyText, type Key } from '../../../../src/runtime/key-groups.js';
import { decodeStoredKey, encodeStoredKey } from '../../../../src/state/disk/stored-entries.js';

describe('stored entries of the LMDB backend', () => {
  it('lays keys out as [group][table][key text]: integers written digit by digit give the same bytes', () => {
    const keys: Key[] = [
      0,
      -0,
      7,
      10,
      -10,
      123_456_789,
      2 ** 31,
      -(2 ** 31) - 1,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      1.5,
      1e21,
      'é',
      7n,
      true,
    ];
    for (const key of keys) {
      const stored = encodeStoredKey(300, 2, key, true);
      const expected = Buffer.concat([Buffer.from([1, 44, 0, 2]), Buffer.from(keyText(key))]);
      expect(stored.equals(expected), `key ${String(key)}`).toBe(true);
      expect(decodeStoredKey(stored)).toEqual([300, 2, Object.is(key, -0) ? 0 : key]);
    }
  });
});
