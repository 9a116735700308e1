import { describe, expect, it } from 'vitest';
import { inlineFolds } from '../../../src/state/incremental-snapshots.js';
import type { PieceRef } from '../../../src/state/state-pieces.js';

const chainOf = (length: number): PieceRef[] =>
  Array.from({ length }, (_, i) => ({
    path: `/p/${i}`,
    offset: 0,
    bytes: 1,
    sha256: '',
    kind: i === 0 ? 'full' : 'delta',
  }));

describe('inlineFolds (chains the background folds left behind, folded at a checkpoint)', () => {
  it('spreads chains growing in step over the checkpoints before the limit, and folds those at it', () => {
    const every = 8; // limit: 24 pieces
    // 64 key groups, each 7 checkpoints from the limit: 8 per checkpoint, not 64 at the last
    const chains = new Map(Array.from({ length: 64 }, (_, g) => [g, chainOf(16)] as const));
    let due = [...chains.keys()];
    for (let checkpoint = 0; checkpoint < 8; checkpoint++) {
      const folded = inlineFolds(chains, chains.keys(), every);
      expect(folded.size, `checkpoint ${checkpoint}`).toBe(8);
      for (const [group, chain] of chains)
        chains.set(group, folded.has(group) ? chainOf(1) : chainOf(chain.length + 1));
      due = due.filter((g) => !folded.has(g));
    }
    expect(due).toEqual([]);
    // the background folds had their chance first; a chain at the limit is folded now; a group
    // without changes gets no piece and is left alone
    const mixed = new Map([
      [0, chainOf(10)],
      [1, chainOf(23)],
      [2, chainOf(23)],
    ]);
    expect([...inlineFolds(mixed, [0, 1], every)]).toEqual([1]);
  });
});
