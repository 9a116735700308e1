import { TributaryError, errorMessage } from '../../errors.js';
import type { SharedClient } from '../../pravega/client/client-registry.js';
import type { TransactionalEventStreamWriter } from '../../pravega/client/transaction.js';
import type { CloseReason } from '../../source/source.js';
import { TwoPhaseCommitSink, transactionWriterId } from '../../twophase/two-phase-commit-sink.js';
import type { SinkWriterContext } from '../sink.js';
import type { PravegaSinkSettings } from './pravega-sink.js';
import { SharedTransactions } from './shared-transactions.js';

/**
 * How much a transaction may hold unacknowledged before a write waits for the server. The window
 * must cover the server's acknowledgement latency × the rate: the embedded store acknowledges after
 * its group commit's fdatasync (22–64 ms on this machine for 4 MiB), so a 4 MiB window held the
 * job to ~4 MiB per sync and the task thread idled while the sink waited. Unacknowledged events
 * are held as framed bytes in the segment writers' slabs (no object per event), so the window
 * costs its bytes, not GC. Measured with bench/job.ts (embedded, exactly-once, 2 M × 100 B,
 * alternated): 4 MiB 509–596 k events/s, 16 MiB 0.97–1.12 M, 32 MiB 0.56–1.0 M. Earlier, on the
 * real server with one object per pending event: 1 MiB 214–291 k, 4 MiB 302–427 k, 32 MiB 290 k.
 */
const MAX_UNACKED_BYTES = 16 * 1024 * 1024;

/**
 * Exactly-once: one Pravega transaction per checkpoint interval, shared by the sink's subtasks in
 * this process (SharedTransactions), through TwoPhaseCommitSink. Each subtask's state is the
 * transaction id; commit and abort work from a new process given only that id.
 *
 * Nothing the server does at a checkpoint holds up the data path:
 * - the next transaction is begun in the background while the current one is written, so a
 *   checkpoint only waits for the flush (pre-commit), not for the controller creating segments;
 * - commit runs in the background: the request (the controller answers once the commit is
 *   recorded as COMMITTING; the server then completes it on its own, as after Java's
 *   `Transaction.commit()`) and the wait for COMMITTED (the merge). Requests go one after the
 *   other, so the server merges the transactions in checkpoint order (key order holds).
 *   A failure fails the next call. The next checkpoint's pre-commit waits until every earlier
 *   request was accepted, because its state no longer lists those transactions.
 * - After the end of input (the final checkpoint of a bounded job) commit waits for the merge,
 *   and `close` waits for every one, so once a job finished or stopped its output is readable.
 */
export class TransactionalSinkWriter<T> extends TwoPhaseCommitSink<T, string> {
  private shared: SharedClient | undefined;
  /** resumes transactions by id (recovery) */
  private txnWriter: TransactionalEventStreamWriter<T> | undefined;
  private group: SharedTransactions<T> | undefined;
  /** the checkpoint that opened the current interval (-1: the start of this attempt) */
  private interval = -1;
  /** commit requests of transactions not in the group (resumed by id), chained */
  private requests: Promise<void> = Promise.resolve();
  /** commits whose merge is still being waited for */
  private readonly merging = new Set<Promise<void>>();
  private commitFailure: Error | undefined;
  private inputEnded = false;

  constructor(
    ctx: SinkWriterContext,
    private readonly settings: PravegaSinkSettings<T> & { readonly leaseMs: number },
    private readonly connect: () => Promise<SharedClient>,
  ) {
    super(ctx, { transactionTimeoutMs: settings.leaseMs });
  }

  override async initialize(): Promise<void> {
    this.shared = await this.connect();
    this.txnWriter = this.shared.client.createTransactionalWriter(
      this.settings.stream,
      this.settings.serializer,
      {
        leaseMs: this.settings.leaseMs,
        writerId: transactionWriterId(this.ctx, this.ctx.subtask),
      },
    );
    const { stream } = this.settings;
    this.group = await SharedTransactions.join<T>(
      [this.ctx.runId, this.ctx.attempt, this.ctx.jobName, this.ctx.sinkUid].join('|') +
        `|${stream.scope}/${stream.stream}`,
      this.ctx.subtask,
      async () => {
        const shared = await this.connect();
        const writer = shared.client.createTransactionalWriter(stream, this.settings.serializer, {
          leaseMs: this.settings.leaseMs,
          writerId: transactionWriterId(this.ctx),
        });
        return { shared, writer };
      },
    );
    await super.initialize();
  }

  override snapshotState(
    checkpointId: number,
  ): ReturnType<TwoPhaseCommitSink<T, string>['snapshotState']> {
    // the transaction begun after this snapshot is the one of the interval this checkpoint opens
    this.interval = checkpointId;
    return super.snapshotState(checkpointId);
  }

  protected async beginTransaction(): Promise<string> {
    this.throwIfCommitFailed();
    const txn = await this.group!.transactionFor(this.interval, this.ctx.subtask);
    return txn.txnId;
  }

  protected async write(txnId: string, records: readonly T[]): Promise<void> {
    this.throwIfCommitFailed();
    const txn = this.group!.get(txnId)!;
    void txn.writeBatch(records, this.settings.routingKey);
    await txn.ready(MAX_UNACKED_BYTES);
  }

  protected async preCommit(txnId: string): Promise<void> {
    await this.group!.get(txnId)!.flush();
    this.group!.precommitted(txnId, this.ctx.subtask);
    // this checkpoint's state drops the transactions committed before it: their commit requests
    // must have been accepted (else a restore from it would never commit them)
    await this.requests;
    await this.group!.requestsAccepted().catch((err: unknown) => this.failed(txnId, err));
    this.throwIfCommitFailed();
  }

  protected async commit(txnId: string): Promise<void> {
    this.throwIfCommitFailed();
    let merged: Promise<void>;
    if (this.group!.get(txnId) !== undefined) {
      // sent once every subtask writing to it asked for it
      merged = this.group!.commit(txnId, this.ctx.subtask).merged;
    } else {
      const txn = this.txnWriter!.resumeTxn(txnId);
      const requested = this.requests.then(async () => {
        if (this.commitFailure !== undefined) throw this.commitFailure;
        await txn.requestCommit();
      });
      this.requests = requested.catch((err: unknown) => this.failed(txnId, err));
      merged = requested.then(() => txn.waitCommitted());
    }
    const watched = merged.catch((err: unknown) => this.failed(txnId, err));
    this.merging.add(watched);
    void watched.finally(() => this.merging.delete(watched));
    if (this.inputEnded) {
      // the final checkpoint of a bounded job: its commit is done only once readable
      await watched;
      this.throwIfCommitFailed();
    }
  }

  /** Records the first commit failure (a lost transaction as DATA_LOSS): it fails the next call. */
  private failed(txnId: string, err: unknown): void {
    this.commitFailure ??= this.dataLoss(
      txnId,
      err instanceof Error ? err : new Error(errorMessage(err)),
    );
  }

  endOfInput(): void {
    this.inputEnded = true;
    this.group?.endOfInput();
  }

  /** Recovery commits wait for the merge: the restored job starts after its output is whole. */
  protected override async recoverAndCommit(txnId: string): Promise<void> {
    await this.dataLossIfLost(txnId, () => this.txnWriter!.resumeTxn(txnId).commit());
  }

  private throwIfCommitFailed(): void {
    if (this.commitFailure !== undefined) throw this.commitFailure;
    const shared = this.group?.commitFailure;
    if (shared !== undefined) throw this.dataLoss('', shared);
  }

  private async dataLossIfLost(txnId: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (err) {
      throw this.dataLoss(txnId, err instanceof Error ? err : new Error(errorMessage(err)));
    }
  }

  /** A lost transaction (TXN_LOST) as DATA_LOSS naming this sink; other errors as they are. */
  private dataLoss(txnId: string, err: Error): Error {
    if (!TributaryError.is(err, 'TXN_LOST')) return err;
    return new TributaryError(
      'DATA_LOSS',
      `Pravega sink ${this.ctx.sinkUid}[${this.ctx.subtask}]: ${err.message}`,
      {
        cause: err,
        details: {
          txnId,
          stream: `${this.settings.stream.scope}/${this.settings.stream.stream}`,
        },
      },
    );
  }

  protected async abort(txnId: string): Promise<void> {
    if (this.group?.get(txnId) !== undefined) {
      // aborted once no subtask writes to it any more
      this.group.abandon(txnId, this.ctx.subtask);
      return;
    }
    const txn = this.txnWriter!.resumeTxn(txnId);
    try {
      await txn.abort();
    } catch (err) {
      // a transaction that never reached the server or is already gone needs no abort
      if (TributaryError.is(err, 'TXN_NOT_FOUND')) return;
      // after a restore every subtask that shared the transaction aborts it: another one may
      // have just done so
      if (TributaryError.is(err, 'TXN_FAILED')) {
        const state = await this.txnWriter!.resumeTxn(txnId).checkStatus();
        if (state === 'aborting' || state === 'aborted' || state === 'unknown') return;
      }
      throw err;
    }
  }

  /**
   * The transaction that was open at the restored checkpoint. Committed already means a later
   * checkpoint committed it: this checkpoint is not the latest, and the output holds events
   * written after it. Refused (restoring would write them twice) unless duplicates are allowed.
   */
  protected override async recoverAndAbort(txnId: string): Promise<void> {
    const state = await this.txnWriter!.resumeTxn(txnId).checkStatus();
    if (state === 'committed' || state === 'committing') {
      const stream = `${this.settings.stream.scope}/${this.settings.stream.stream}`;
      if (this.ctx.allowDuplicates) {
        this.ctx.warn(
          `transaction ${txnId}, open at the restored checkpoint, was already committed by a later checkpoint: ${stream} holds events written after the restored checkpoint, which will be written again (allowDuplicates)`,
          { txnId, stream },
        );
        return;
      }
      throw new TributaryError(
        'TXN_STATE',
        `Pravega sink ${this.ctx.sinkUid}[${this.ctx.subtask}]: the restored checkpoint is not the latest: transaction ${txnId}, open at that checkpoint, was already committed by a later one, so ${stream} already holds events written after the restored checkpoint and restoring would write them twice. Restore from the latest checkpoint, or pass allowDuplicates: true to execute() to accept the duplicates and go on`,
        { details: { txnId, stream, state } },
      );
    }
    await this.abort(txnId);
  }

  override async close(reason: CloseReason): Promise<void> {
    try {
      await super.close(reason);
      if (reason === 'finished' || reason === 'stopped') {
        // every commit this subtask asked for, merged (or failed) before the job reports its end;
        // after a failure the restored job commits them again from its state instead
        await this.requests;
        await Promise.all(this.merging);
      }
      const group = this.group;
      this.group = undefined;
      await group?.leave(this.ctx.subtask, (message) => this.ctx.warn(message));
      if (this.commitFailure !== undefined) {
        this.ctx.warn(`committing a transaction failed: ${errorMessage(this.commitFailure)}`);
      }
    } finally {
      await this.txnWriter?.close();
      await this.shared?.release();
      this.shared = undefined;
    }
  }
}
