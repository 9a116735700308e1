import { describe, expect, it } from 'vitest';
import type { CheckpointData } from '../../../src/checkpoint/checkpoint-data.js';
import { encodeState, type StateValue } from '../../../src/checkpoint/state-codec.js';
import { pieceOf } from '../../../src/cluster/worker-piece.js';
import { NO_TRANSACTION } from '../../../src/twophase/two-phase-commit-sink.js';

/** A local checkpoint whose sink `send` (2 subtasks) holds the given two-phase writer states. */
function checkpoint(...states: object[]): CheckpointData {
  return {
    checkpointId: 4,
    jobName: 'orders',
    triggeredAt: 1_000,
    completedAt: 2_000,
    operators: {
      send: {
        parallelism: states.length,
        subtasks: states.map((s) => ({ items: [encodeState(s as StateValue)], keyGroups: [] })),
      },
    },
    enumerators: {},
    lineageStart: 1,
  };
}

const txn = (id: string, checkpointId = 4) => ({ txn: id, checkpointId });

describe('a worker piece', () => {
  it("lists the sink's pre-committed and open transactions, on the stream the sink named", () => {
    const piece = pieceOf(
      checkpoint(
        { pendingTransaction: txn('open-0', 5), pendingCommitTransactions: [txn('a'), txn('b')] },
        { pendingTransaction: txn('open-1', 5), pendingCommitTransactions: [txn('c')] },
      ),
      new Map([['send', 'shop/_tributary-x-orders-by-customer']]),
    );
    expect(piece.sinks).toEqual([
      {
        uid: 'send',
        stream: 'shop/_tributary-x-orders-by-customer',
        commit: ['a', 'b', 'c'],
        open: ['open-0', 'open-1'],
      },
    ]);
  });

  it(`leaves out "${NO_TRANSACTION}", what a writer with nothing to write names (no transaction to settle)`, () => {
    const piece = pieceOf(
      checkpoint({
        pendingTransaction: txn(NO_TRANSACTION, 5),
        pendingCommitTransactions: [txn('a', 3), txn(NO_TRANSACTION, 4)],
      }),
      new Map([['send', 'shop/_tributary-x-orders-by-customer']]),
    );
    expect(piece.sinks[0]).toMatchObject({ commit: ['a'], open: [] });
  });

  it('ignores sinks whose stream is not known', () => {
    const state = { pendingTransaction: null, pendingCommitTransactions: [txn('a')] };
    expect(pieceOf(checkpoint(state), new Map()).sinks).toEqual([]);
  });
});
