import { describe, expect, it } from 'vitest';
import { planFolds } from '../../../src/state/chain-folds.js';
import type { PieceRef } from '../../../src/state/state-pieces.js';

const DIR = '/ckpt/state';

function piece(bytes: number, kind: 'full' | 'delta', dir = DIR): PieceRef {
  return { path: `${dir}/p${bytes}-${Math.random()}.piece`, offset: 0, bytes, sha256: '', kind };
}

function chain(base: number, deltas: number[], dir = DIR): PieceRef[] {
  return [piece(base, 'full', dir), ...deltas.map((d) => piece(d, 'delta', dir))];
}

const plan = (chains: Map<number, PieceRef[]>, budget = 1e9) =>
  planFolds(chains, 4, budget, (g) => `group ${g}`, DIR).map((j) => [
    j.group,
    j.from,
    j.refs.length,
  ]);

describe('planning background folds of chains of state pieces', () => {
  it('merges the deltas of a hot set into one delta and leaves the full piece alone', () => {
    // 5 % of a key group changes per checkpoint: 4 deltas of 5 % each
    const chains = new Map([[0, chain(100_000, [5_000, 5_000, 5_000, 5_000])]]);
    expect(plan(chains)).toEqual([[0, 1, 4]]);
    // fewer deltas than consolidateEvery: nothing to do yet
    expect(plan(new Map([[0, chain(100_000, [5_000, 5_000, 5_000])]]))).toEqual([]);
  });

  it('rewrites the whole chain when its deltas outweigh the full piece (state grew)', () => {
    const chains = new Map([[3, chain(10_000, [40_000])]]);
    expect(plan(chains)).toEqual([[3, 0, 2]]);
  });

  it('takes the biggest gains first within the budget, and never chains of another directory', () => {
    const chains = new Map([
      [0, chain(10_000, [30_000])], // gain 3+2
      [1, chain(10_000, [90_000])], // gain 9+2
      [2, chain(100_000, [1_000, 1_000, 1_000, 1_000, 1_000])], // 5 deltas
      [3, chain(10_000, [90_000], '/elsewhere/state')],
    ]);
    expect(plan(chains)).toEqual([
      [1, 0, 2],
      [0, 0, 2],
      [2, 1, 5],
    ]);
    // a budget of 100 000 bytes read: the first fold (100 000) and no more but the small one
    expect(plan(chains, 100_000)).toEqual([[1, 0, 2]]);
    expect(plan(chains, 105_000)).toEqual([
      [1, 0, 2],
      [2, 1, 5],
    ]);
  });
});
