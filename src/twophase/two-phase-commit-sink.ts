import { TributaryError, errorMessage } from '../errors.js';
import { encodeState, type StateValue } from '../checkpoint/state-codec.js';
import type { SinkWriter, SinkWriterContext } from '../sink/sink.js';
import type { CloseReason } from '../source/source.js';

export interface TwoPhaseCommitOptions {
  /**
   * How long the external system keeps a transaction alive (its lease). Used for warnings when a
   * transaction is committed late and for `ignoreFailuresAfterTransactionTimeout`.
   */
  readonly transactionTimeoutMs?: number;
  /** Warn when a committed transaction is older than ratio × timeout (default 0.8). */
  readonly timeoutWarningRatio?: number;
  /**
   * During recovery only: if `recoverAndCommit` fails and the transaction is older than the
   * timeout, warn that data loss may have occurred and continue instead of failing the job.
   */
  readonly ignoreFailuresAfterTransactionTimeout?: boolean;
}

interface TxnHolder<Txn> {
  readonly txn: Txn;
  readonly startedAt: number;
}

interface PendingCommit<Txn> extends TxnHolder<Txn> {
  readonly checkpointId: number;
}

/** The state item each subtask keeps (one list item per subtask). */
interface TwoPhaseState<Txn> {
  readonly pendingTransaction: TxnHolder<Txn> | null;
  readonly pendingCommitTransactions: readonly PendingCommit<Txn>[];
}

/**
 * Base of exactly-once sinks (Flink's `TwoPhaseCommitSinkFunction`): one transaction per subtask
 * per checkpoint interval.
 *
 * 1. initialize: if restoring, for every restored state item, `recoverAndCommit` each pending
 *    transaction in checkpoint order, then `recoverAndAbort` that item's open transaction; then
 *    `finishRecovery`; then begin a fresh transaction. Fresh start: just begin one.
 * 2. writeBatch → `write(current, …)`.
 * 3. snapshotState(N) (phase 1): `preCommit(current)`, remember it as pending under N, begin the
 *    next transaction, return `{open txn, all pending txns}`.
 * 4. notifyCheckpointComplete(N) (phase 2): `commit` every pending txn with id ≤ N in order
 *    (subsumption covers lost notifications), dropping each even if its commit throws; then
 *    rethrow the first failure, which fails the job: the restart re-commits it from state.
 * 5. notifyCheckpointAborted: nothing (the txn stays pending for a later completion).
 * 6. close: abort the current, not pre-committed transaction.
 *
 * Contract for implementers: after `preCommit` a later `commit` must succeed; `commit` and
 * `recoverAndCommit` must be idempotent (already committed = success) and must work from a new
 * process given only the serialised `Txn`; a transaction that is gone (aborted, expired) must be
 * reported as a DATA_LOSS error, never ignored. `Txn` is state: see `StateValue` for the rules.
 */
/**
 * The transaction a writer with nothing left to write names (e.g. an exchange sender after its
 * end of input): committing or aborting it does nothing, and a cluster does not settle it.
 */
export const NO_TRANSACTION = '-';

/**
 * The writer id a transactional sink commits its transactions with: `<job>-<sink uid>`, plus
 * `-<subtask>` for one subtask's writer, plus `@<worker id>` in a cluster (workers run the same
 * subtask numbers, and the id must tell their writers apart).
 */
export function transactionWriterId(ctx: SinkWriterContext, subtask?: number): string {
  const worker = ctx.connectors.cluster?.workerId;
  return (
    `${ctx.jobName}-${ctx.sinkUid}` +
    (subtask === undefined ? '' : `-${subtask}`) +
    (worker === undefined ? '' : `@${worker}`)
  );
}

export abstract class TwoPhaseCommitSink<T, Txn extends StateValue> implements SinkWriter<T> {
  private current: TxnHolder<Txn> | undefined;
  private readonly pending: PendingCommit<Txn>[] = [];

  protected constructor(
    protected readonly ctx: SinkWriterContext,
    private readonly options: TwoPhaseCommitOptions = {},
  ) {}

  protected abstract beginTransaction(): Promise<Txn>;
  protected abstract write(
    txn: Txn,
    records: readonly T[],
    timestamps: readonly number[] | undefined,
  ): void | Promise<void>;
  /**
   * Phase 1: make the transaction's data durable so that `commit` cannot fail. May return an
   * updated handle (e.g. with a record count), which is what gets stored and committed.
   */
  protected abstract preCommit(txn: Txn): Promise<Txn | void>;
  protected abstract commit(txn: Txn): Promise<void>;
  protected abstract abort(txn: Txn): Promise<void>;

  protected recoverAndCommit(txn: Txn): Promise<void> {
    return this.commit(txn);
  }

  protected recoverAndAbort(txn: Txn): Promise<void> {
    return this.abort(txn);
  }

  /** After recovery, before the first transaction (e.g. clean up orphans). */
  protected async finishRecovery(): Promise<void> {}

  /** The transaction currently written to (for subclasses and tests). */
  protected get currentTransaction(): Txn | undefined {
    return this.current?.txn;
  }

  /** Pre-committed transactions waiting for their checkpoint to complete, oldest first. */
  get pendingCommitCount(): number {
    return this.pending.length;
  }

  async initialize(): Promise<void> {
    const states = (this.ctx.restoredState ?? []).map((item) =>
      asTwoPhaseState<Txn>(item, `${this.ctx.sinkUid}[${this.ctx.subtask}]`),
    );
    for (const state of states) {
      const ordered = [...state.pendingCommitTransactions].sort(
        (a, b) => a.checkpointId - b.checkpointId,
      );
      for (const holder of ordered) await this.recoverOne(holder);
    }
    // every open transaction is aborted, even after one abort failed: none is left to expire
    const failures: Error[] = [];
    for (const state of states) {
      if (state.pendingTransaction === null) continue;
      try {
        await this.recoverAndAbort(state.pendingTransaction.txn);
        this.ctx.reportTransaction?.({ action: 'aborted', recovery: true });
      } catch (err) {
        failures.push(err instanceof Error ? err : new Error(errorMessage(err)));
      }
    }
    if (failures[0] !== undefined) throw failures[0];
    await this.finishRecovery();
    this.current = await this.begin();
  }

  writeBatch(
    records: readonly T[],
    timestamps: readonly number[] | undefined,
  ): void | Promise<void> {
    if (this.current === undefined) {
      throw new TributaryError('ILLEGAL_STATE', 'two-phase sink written before initialize()');
    }
    return this.write(this.current.txn, records, timestamps);
  }

  async snapshotState(checkpointId: number): Promise<readonly StateValue[]> {
    const current = this.current;
    if (current === undefined)
      throw new TributaryError('ILLEGAL_STATE', 'snapshot before initialize()');
    const prepared = (await this.preCommit(current.txn)) ?? current.txn;
    this.pending.push({ checkpointId, txn: prepared, startedAt: current.startedAt });
    this.current = undefined;
    this.current = await this.begin();
    const state: TwoPhaseState<Txn> = {
      pendingTransaction: this.current,
      pendingCommitTransactions: [...this.pending],
    };
    return [state as unknown as StateValue];
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    let firstError: unknown;
    while (this.pending.length > 0 && (this.pending[0]?.checkpointId ?? Infinity) <= checkpointId) {
      const holder = this.pending.shift() as PendingCommit<Txn>;
      this.warnIfOld(holder);
      try {
        await this.commit(holder.txn);
        this.ctx.reportTransaction?.({ action: 'committed', checkpointId: holder.checkpointId });
      } catch (err) {
        firstError ??= err;
      }
    }
    if (firstError !== undefined) {
      if (TributaryError.is(firstError)) throw firstError;
      throw new TributaryError('TXN_FAILED', `commit failed: ${errorMessage(firstError)}`, {
        cause: firstError,
      });
    }
  }

  notifyCheckpointAborted(): void {}

  async close(_reason: CloseReason): Promise<void> {
    const current = this.current;
    this.current = undefined;
    if (current === undefined) return;
    try {
      await this.abort(current.txn);
      this.ctx.reportTransaction?.({ action: 'aborted' });
    } catch (err) {
      this.ctx.warn(`aborting the open transaction on close failed: ${errorMessage(err)}`);
    }
  }

  private async begin(): Promise<TxnHolder<Txn>> {
    const txn = await this.beginTransaction();
    this.ctx.reportTransaction?.({ action: 'begun' });
    return { txn, startedAt: Date.now() };
  }

  private async recoverOne(holder: PendingCommit<Txn>): Promise<void> {
    try {
      await this.recoverAndCommit(holder.txn);
      this.ctx.reportTransaction?.({
        action: 'committed',
        checkpointId: holder.checkpointId,
        recovery: true,
      });
    } catch (err) {
      const timeout = this.options.transactionTimeoutMs;
      const age = Date.now() - holder.startedAt;
      if (
        this.options.ignoreFailuresAfterTransactionTimeout === true &&
        timeout !== undefined &&
        age > timeout
      ) {
        this.ctx.warn(
          `recoverAndCommit of the transaction of checkpoint ${holder.checkpointId} failed after its timeout (${age} ms > ${timeout} ms); data loss might have occurred: ${errorMessage(err)}`,
          { checkpointId: holder.checkpointId },
        );
        return;
      }
      throw err;
    }
  }

  private warnIfOld(holder: PendingCommit<Txn>): void {
    const timeout = this.options.transactionTimeoutMs;
    if (timeout === undefined) return;
    const ratio = this.options.timeoutWarningRatio ?? 0.8;
    const age = Date.now() - holder.startedAt;
    if (age > ratio * timeout) {
      this.ctx.warn(
        `transaction of checkpoint ${holder.checkpointId} is ${age} ms old at commit, close to its timeout of ${timeout} ms`,
        { checkpointId: holder.checkpointId, ageMs: age, timeoutMs: timeout },
      );
    }
  }
}

function asTwoPhaseState<Txn>(item: StateValue, sink: string): TwoPhaseState<Txn> {
  const state = item as {
    pendingTransaction?: unknown;
    pendingCommitTransactions?: unknown;
  } | null;
  if (
    typeof state !== 'object' ||
    state === null ||
    !Array.isArray(state.pendingCommitTransactions) ||
    state.pendingTransaction === undefined
  ) {
    throw new TributaryError(
      'STATE_CORRUPT',
      `two-phase sink ${sink}: restored state is not two-phase state: ${JSON.stringify(encodeState(item))}`,
    );
  }
  return state as unknown as TwoPhaseState<Txn>;
}
