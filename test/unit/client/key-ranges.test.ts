import { describe, expect, it } from 'vitest';
import { KeyRanges } from '../../../src/pravega/client/key-ranges.js';

describe('KeyRanges (routing of hashed keys to segments)', () => {
  it('finds the range holding a hash, with 1.0 in the last range', () => {
    const r = new KeyRanges([
      { min: 0.5, max: 1, value: 'b' },
      { min: 0, max: 0.5, value: 'a' },
    ]);
    expect(r.lookup(0)).toBe('a');
    expect(r.lookup(0.4999)).toBe('a');
    expect(r.lookup(0.5)).toBe('b');
    expect(r.lookup(1)).toBe('b');
  });

  it("replaces a sealed segment's range with its successors' pieces, leaving others alone", () => {
    const r = new KeyRanges([
      { min: 0, max: 0.5, value: 'a' },
      { min: 0.5, max: 1, value: 'b' },
    ]);
    // a merge: c covers [0, 1) but only a's half moves to it now
    r.replace('a', [{ min: 0, max: 1, value: 'c' }]);
    expect(r.lookup(0.25)).toBe('c');
    expect(r.lookup(0.75)).toBe('b');
    // a split of b
    r.replace('b', [
      { min: 0.5, max: 0.75, value: 'd' },
      { min: 0.75, max: 1, value: 'e' },
    ]);
    expect([r.lookup(0.6), r.lookup(0.9)]).toEqual(['d', 'e']);
    expect(r.size).toBe(3);
  });

  it('refuses to route when it has no ranges', () => {
    expect(() => new KeyRanges<string>([]).lookup(0.3)).toThrow(
      expect.objectContaining({ code: 'ILLEGAL_STATE' }) as Error,
    );
  });
});
