import { describe, expect, it } from 'vitest';
import type { SharedClient } from '../../../src/pravega/client/client-registry.js';
import type {
  Transaction,
  TransactionalEventStreamWriter,
} from '../../../src/pravega/client/transaction.js';
import { SharedTransactions } from '../../../src/sink/pravega/shared-transactions.js';

/** A writer whose transactions record the order in which their commits and aborts were asked. */
function fakeWriter(log: string[]) {
  let next = 0;
  const writer = {
    beginTxn: () => {
      const txnId = `t${next++}`;
      const txn = {
        txnId,
        requestCommit: () => {
          log.push(`commit ${txnId}`);
          return Promise.resolve();
        },
        waitCommitted: () => Promise.resolve(),
        abort: () => {
          log.push(`abort ${txnId}`);
          return Promise.resolve();
        },
      };
      return Promise.resolve(txn as unknown as Transaction<string>);
    },
    close: () => Promise.resolve(),
  };
  const shared = { release: () => Promise.resolve() };
  return {
    shared: shared as unknown as SharedClient,
    writer: writer as unknown as TransactionalEventStreamWriter<string>,
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('SharedTransactions', () => {
  it('sends a shared commit once every subtask that wrote to it asked', async () => {
    const log: string[] = [];
    const key = `order-${Math.random()}`;
    const [a, b] = await Promise.all(
      [0, 1].map((s) => SharedTransactions.join(key, s, () => Promise.resolve(fakeWriter(log)))),
    );
    expect(a).toBe(b);
    const t = await a!.transactionFor(-1, 0);
    expect((await a!.transactionFor(-1, 1)).txnId).toBe(t.txnId);
    a!.commit(t.txnId, 0);
    await settle();
    expect(log).toEqual([]);
    await a!.commit(t.txnId, 1).merged;
    expect(log).toEqual([`commit ${t.txnId}`]);
    await a!.leave(0, () => undefined);
    await a!.leave(1, () => undefined);
  });

  it('keeps commits in interval order when a subtask missed a checkpoint', async () => {
    const log: string[] = [];
    const key = `late-${Math.random()}`;
    const group = await SharedTransactions.join(key, 0, () => Promise.resolve(fakeWriter(log)));
    await SharedTransactions.join(key, 1, () => Promise.resolve(fakeWriter(log)));
    // both write interval -1; checkpoint 5 is snapshotted by subtask 0 only (then aborted), so
    // subtask 0 writes interval 5 while subtask 1 stays in -1
    const first = await group.transactionFor(-1, 0);
    await group.transactionFor(-1, 1);
    const second = await group.transactionFor(5, 0);
    // checkpoint 6 completes: subtask 0 commits both of its transactions, in order
    group.commit(first.txnId, 0);
    const secondMerged = group.commit(second.txnId, 0).merged;
    await settle();
    // the later transaction must not be merged before the older one subtask 1 still writes
    expect(log).toEqual([]);
    await group.commit(first.txnId, 1).merged;
    await secondMerged;
    expect(log).toEqual([`commit ${first.txnId}`, `commit ${second.txnId}`]);
    await group.leave(0, () => undefined);
    await group.leave(1, () => undefined);
  });

  it('aborts an open transaction once its last writer leaves, and forgets merged ones', async () => {
    const log: string[] = [];
    const key = `leave-${Math.random()}`;
    const group = await SharedTransactions.join(key, 0, () => Promise.resolve(fakeWriter(log)));
    await SharedTransactions.join(key, 1, () => Promise.resolve(fakeWriter(log)));
    const done = await group.transactionFor(-1, 0);
    await group.transactionFor(-1, 1);
    group.commit(done.txnId, 0);
    await group.commit(done.txnId, 1).merged;
    await settle();
    expect(group.get(done.txnId)).toBeUndefined();
    const open = await group.transactionFor(3, 0);
    await group.transactionFor(3, 1);
    await group.leave(0, () => undefined);
    expect(log).not.toContain(`abort ${open.txnId}`);
    await group.leave(1, () => undefined);
    expect(log).toContain(`abort ${open.txnId}`);
  });

  it('never aborts a pre-committed transaction on leave: its checkpoint may be complete, a restore commits it', async () => {
    const log: string[] = [];
    const key = `precommitted-${Math.random()}`;
    const group = await SharedTransactions.join(key, 0, () => Promise.resolve(fakeWriter(log)));
    await SharedTransactions.join(key, 1, () => Promise.resolve(fakeWriter(log)));
    // both subtasks pre-committed at the barrier; the completion had not reached them (a
    // cluster job's completion is the coordination table's) when the job was cancelled
    const pre = await group.transactionFor(5, 0);
    await group.transactionFor(5, 1);
    group.precommitted(pre.txnId, 0);
    group.precommitted(pre.txnId, 1);
    // the next interval's transaction is open, not pre-committed: that one is aborted
    const open = await group.transactionFor(6, 0);
    await group.transactionFor(6, 1);
    await group.leave(0, () => undefined);
    await group.leave(1, () => undefined);
    expect(log).not.toContain(`abort ${pre.txnId}`);
    expect(log).toContain(`abort ${open.txnId}`);
  });

  it('a sibling still commits a transaction that a leaving subtask pre-committed', async () => {
    const log: string[] = [];
    const key = `sibling-${Math.random()}`;
    const group = await SharedTransactions.join(key, 0, () => Promise.resolve(fakeWriter(log)));
    await SharedTransactions.join(key, 1, () => Promise.resolve(fakeWriter(log)));
    const pre = await group.transactionFor(7, 0);
    await group.transactionFor(7, 1);
    group.precommitted(pre.txnId, 0);
    group.precommitted(pre.txnId, 1);
    await group.leave(0, () => undefined);
    await group.commit(pre.txnId, 1).merged;
    expect(log).toEqual([`commit ${pre.txnId}`]);
    await group.leave(1, () => undefined);
  });
});
