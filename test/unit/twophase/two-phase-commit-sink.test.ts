import { describe, expect, it } from 'vitest';
import { decodeState, encodeState, type StateValue } from '../../../src/checkpoint/state-codec.js';
import { TributaryError } from '../../../src/errors.js';
import type { SinkWriterContext } from '../../../src/sink/sink.js';
import {
  TwoPhaseCommitSink,
  type TwoPhaseCommitOptions,
} from '../../../src/twophase/two-phase-commit-sink.js';

type Status = 'open' | 'prepared' | 'committed' | 'aborted';

/** A tiny transactional store: what an external system (e.g. Pravega) looks like to a sink. */
class TxnStore {
  private nextId = 1;
  readonly txns = new Map<string, { status: Status; records: string[] }>();
  readonly visible: string[] = [];
  readonly log: string[] = [];
  failCommitOf = new Set<string>();

  begin(): string {
    const id = `t${this.nextId++}`;
    this.txns.set(id, { status: 'open', records: [] });
    return id;
  }

  commit(id: string): void {
    this.log.push(`commit ${id}`);
    const txn = this.txns.get(id);
    if (this.failCommitOf.has(id)) throw new Error(`commit of ${id} failed`);
    if (txn === undefined || txn.status === 'aborted') {
      throw new TributaryError('DATA_LOSS', `transaction ${id} is gone`);
    }
    if (txn.status === 'committed') return; // idempotent
    txn.status = 'committed';
    this.visible.push(...txn.records);
  }

  abort(id: string): void {
    this.log.push(`abort ${id}`);
    const txn = this.txns.get(id);
    if (txn !== undefined && txn.status !== 'committed') txn.status = 'aborted';
  }
}

class StoreSink extends TwoPhaseCommitSink<string, { id: string }> {
  constructor(
    ctx: SinkWriterContext,
    private readonly store: TxnStore,
    options?: TwoPhaseCommitOptions,
  ) {
    super(ctx, options);
  }
  protected async beginTransaction(): Promise<{ id: string }> {
    return { id: this.store.begin() };
  }
  protected write(txn: { id: string }, records: readonly string[]): void {
    this.store.txns.get(txn.id)?.records.push(...records);
  }
  protected async preCommit(txn: { id: string }): Promise<void> {
    const t = this.store.txns.get(txn.id);
    if (t !== undefined) t.status = 'prepared';
  }
  protected async commit(txn: { id: string }): Promise<void> {
    this.store.commit(txn.id);
  }
  protected async abort(txn: { id: string }): Promise<void> {
    this.store.abort(txn.id);
  }
}

function context(
  restoredState?: readonly StateValue[],
  warnings: string[] = [],
): SinkWriterContext {
  return {
    jobName: 'job',
    sinkUid: 'sink',
    subtask: 0,
    parallelism: 1,
    attempt: 0,
    checkpointing: { intervalMs: 1000, timeoutMs: 60_000, minPauseMs: 0, tolerableFailures: 3 },
    connectors: {},
    runId: 'run',
    restoredState,
    allowDuplicates: false,
    warn: (message) => warnings.push(message),
  };
}

/** Round-trips state through the checkpoint codec, as a real restore does. */
function viaCheckpoint(state: readonly StateValue[]): StateValue[] {
  return state.map((item) => decodeState(JSON.parse(JSON.stringify(encodeState(item)))));
}

describe('TwoPhaseCommitSink', () => {
  it('pre-commits on snapshot and commits on completion, in order', async () => {
    const store = new TxnStore();
    const sink = new StoreSink(context(), store);
    await sink.initialize();
    await sink.writeBatch(['a', 'b'], undefined);
    await sink.snapshotState(1);
    await sink.writeBatch(['c'], undefined);
    expect(store.visible).toEqual([]);
    await sink.notifyCheckpointComplete(1);
    expect(store.visible).toEqual(['a', 'b']);
    await sink.snapshotState(2);
    await sink.notifyCheckpointComplete(2);
    expect(store.visible).toEqual(['a', 'b', 'c']);
    expect(store.txns.get('t3')?.status).toBe('open');
    await sink.close('finished');
    expect(store.txns.get('t3')?.status).toBe('aborted');
  });

  it('commits every older pending transaction when a notification was lost (subsumption)', async () => {
    const store = new TxnStore();
    const sink = new StoreSink(context(), store);
    await sink.initialize();
    await sink.writeBatch(['a'], undefined);
    await sink.snapshotState(1);
    sink.notifyCheckpointAborted();
    await sink.writeBatch(['b'], undefined);
    await sink.snapshotState(2);
    expect(sink.pendingCommitCount).toBe(2);
    await sink.notifyCheckpointComplete(2);
    expect(store.visible).toEqual(['a', 'b']);
    expect(store.log).toEqual(['commit t1', 'commit t2']);
    expect(sink.pendingCommitCount).toBe(0);
  });

  it('on restore re-commits pending transactions in checkpoint order, then aborts the recorded open one', async () => {
    const store = new TxnStore();
    const first = new StoreSink(context(), store);
    await first.initialize();
    await first.writeBatch(['a'], undefined);
    await first.snapshotState(1);
    await first.writeBatch(['b'], undefined);
    await first.notifyCheckpointComplete(1); // t1 committed
    const state = await first.snapshotState(2); // t2 pending, t3 open; notification lost, then crash
    await first.writeBatch(['lost'], undefined);

    const second = new StoreSink(context(viaCheckpoint(state)), store);
    await second.initialize();
    expect(store.visible).toEqual(['a', 'b']);
    expect(store.log.slice(1)).toEqual(['commit t2', 'abort t3']);
    expect(store.txns.get('t3')?.status).toBe('aborted');
    expect(store.txns.get('t4')?.status).toBe('open'); // the fresh transaction
  });

  it('treats an already committed transaction as success on recovery (idempotent)', async () => {
    const store = new TxnStore();
    const first = new StoreSink(context(), store);
    await first.initialize();
    await first.writeBatch(['a'], undefined);
    const state = await first.snapshotState(1);
    await first.notifyCheckpointComplete(1); // committed just before the crash
    const second = new StoreSink(context(viaCheckpoint(state)), store);
    await second.initialize();
    expect(store.visible).toEqual(['a']);
  });

  it('fails loudly when a pending transaction is gone on recovery', async () => {
    const store = new TxnStore();
    const first = new StoreSink(context(), store);
    await first.initialize();
    await first.writeBatch(['a'], undefined);
    const state = await first.snapshotState(1);
    store.abort('t1'); // e.g. expired while the job was down
    const second = new StoreSink(context(viaCheckpoint(state)), store);
    await expect(second.initialize()).rejects.toSatisfy((err) =>
      TributaryError.is(err, 'DATA_LOSS'),
    );
  });

  it('with ignoreFailuresAfterTransactionTimeout, warns about data loss for a timed-out transaction', async () => {
    const store = new TxnStore();
    const first = new StoreSink(context(), store);
    await first.initialize();
    const state = await first.snapshotState(1);
    store.abort('t1');
    const aged = viaCheckpoint(state).map((item) => {
      const s = item as { pendingCommitTransactions: { startedAt: number }[] };
      for (const p of s.pendingCommitTransactions) p.startedAt -= 10_000;
      return item;
    });
    const warnings: string[] = [];
    const second = new StoreSink(context(aged, warnings), store, {
      transactionTimeoutMs: 1_000,
      ignoreFailuresAfterTransactionTimeout: true,
    });
    await second.initialize();
    expect(warnings.join('\n')).toMatch(/data loss might have occurred/);
  });

  it('commits the other pending transactions, then rethrows a failed commit', async () => {
    const store = new TxnStore();
    const sink = new StoreSink(context(), store);
    await sink.initialize();
    await sink.writeBatch(['a'], undefined);
    await sink.snapshotState(1);
    await sink.writeBatch(['b'], undefined);
    await sink.snapshotState(2);
    store.failCommitOf.add('t1');
    await expect(sink.notifyCheckpointComplete(2)).rejects.toThrow(/commit of t1 failed/);
    expect(store.visible).toEqual(['b']);
    expect(sink.pendingCommitCount).toBe(0);
  });

  it('warns when a transaction is committed close to its timeout', async () => {
    const store = new TxnStore();
    const warnings: string[] = [];
    const sink = new StoreSink(context(undefined, warnings), store, {
      transactionTimeoutMs: 10,
      timeoutWarningRatio: 0.5,
    });
    await sink.initialize();
    await sink.snapshotState(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await sink.notifyCheckpointComplete(1);
    expect(warnings.join('\n')).toMatch(/close to its timeout/);
  });
});

describe('TwoPhaseCommitSink restore validation', () => {
  it('refuses state that is not two-phase state', async () => {
    const sink = new StoreSink(context([{ something: 'else' }]), new TxnStore());
    await expect(sink.initialize()).rejects.toSatisfy((err) =>
      TributaryError.is(err, 'STATE_CORRUPT'),
    );
  });
});
