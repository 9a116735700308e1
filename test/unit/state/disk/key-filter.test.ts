import { describe, expect, it } from 'vitest';
import { hashKey } from '../../../../src/runtime/key-groups.js';
import { KeyFilter } from '../../../../src/state/disk/key-filter.js';

describe('KeyFilter (which keys the LMDB environment may hold)', () => {
  it('never forgets an added key across its growing layers, and rules out most others', () => {
    const filter = new KeyFilter();
    expect(filter.mayHold(hashKey(1))).toBe(false);
    // only the keys of even key groups, as one subtask sees them: their hashes share low bits
    const added: number[] = [];
    for (let k = 0; added.length < 300_000; k++) if ((hashKey(k) & 1) === 0) added.push(k);
    for (const k of added) filter.add(hashKey(k));
    for (const k of added) if (!filter.mayHold(hashKey(k))) expect.fail(`key ${k} was forgotten`);
    let falsePositives = 0;
    const others = 100_000;
    for (let k = 0; k < others; k++) if (filter.mayHold(hashKey(`other-${k}`))) falsePositives++;
    expect(falsePositives / others).toBeLessThan(0.05);
  });
});
