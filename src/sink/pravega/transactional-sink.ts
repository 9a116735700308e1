import { TributaryError, errorMessage } from '../../errors.js';
import type { SharedClient } from '../../pravega/client/client-registry.js';
import type {
  Transaction,
  TransactionalEventStreamWriter,
} from '../../pravega/client/transaction.js';
import type { CloseReason } from '../../source/source.js';
import { TwoPhaseCommitSink } from '../../twophase/two-phase-commit-sink.js';
import type { SinkWriterContext } from '../sink.js';
import type { PravegaSinkSettings } from './pravega-sink.js';

/**
 * How much a transaction may hold unacknowledged before a write waits for the server. Measured
 * with bench/job.ts on the real server (exactly-once, 2 M × 100 B): 1 MiB 214–291 k events/s,
 * 4 MiB 302–427 k, 32 MiB 290 k; large windows keep many pending events alive (see the event
 * writer's `maxInFlightBytes`).
 */
const MAX_UNACKED_BYTES = 4 * 1024 * 1024;

/**
 * Exactly-once: one Pravega transaction per subtask per checkpoint (TwoPhaseCommitSink). The
 * state is the transaction id; commit and abort work from a new process given only that id.
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
  private txnWriter: TransactionalEventStreamWriter<T> | undefined;
  /** live handles of the transactions this process began */
  private readonly live = new Map<string, Transaction<T>>();
  /** the next transaction, begun ahead of the checkpoint that needs it */
  private next: Promise<Transaction<T>> | undefined;
  /** the commit requests, chained: each is sent once the one before it was accepted */
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
        writerId: `${this.ctx.jobName}-${this.ctx.sinkUid}-${this.ctx.subtask}`,
      },
    );
    await super.initialize();
  }

  protected async beginTransaction(): Promise<string> {
    this.throwIfCommitFailed();
    const begun = this.next ?? this.txnWriter!.beginTxn();
    this.next = undefined;
    const txn = await begun;
    this.live.set(txn.txnId, txn);
    // the one after it, while this one is written (after the end of input only the final
    // checkpoint is left: the transaction it begins is never written to, so none is begun early)
    if (!this.inputEnded) {
      const next = this.txnWriter!.beginTxn();
      next.catch(() => undefined); // its failure shows when it is needed
      this.next = next;
    }
    return txn.txnId;
  }

  protected async write(txnId: string, records: readonly T[]): Promise<void> {
    this.throwIfCommitFailed();
    const txn = this.live.get(txnId)!;
    void txn.writeBatch(records, this.settings.routingKey);
    await txn.ready(MAX_UNACKED_BYTES);
  }

  protected async preCommit(txnId: string): Promise<void> {
    await this.live.get(txnId)!.flush();
    // this checkpoint's state drops the transactions committed before it: their commit requests
    // must have been accepted (else a restore from it would never commit them)
    await this.requests;
    this.throwIfCommitFailed();
  }

  protected async commit(txnId: string): Promise<void> {
    this.throwIfCommitFailed();
    const txn = this.live.get(txnId) ?? this.txnWriter!.resumeTxn(txnId);
    this.live.delete(txnId);
    const failed = (err: unknown) => {
      this.commitFailure ??= err instanceof Error ? err : new Error(errorMessage(err));
    };
    const requested = this.requests.then(async () => {
      if (this.commitFailure !== undefined) throw this.commitFailure;
      await this.dataLossIfLost(txnId, () => txn.requestCommit());
    });
    this.requests = requested.catch(failed);
    const merged = requested
      .then(() => this.dataLossIfLost(txnId, () => txn.waitCommitted()))
      .catch(failed);
    this.merging.add(merged);
    void merged.finally(() => this.merging.delete(merged));
    if (this.inputEnded) {
      // the final checkpoint of a bounded job: its commit is done only once readable
      await merged;
      this.throwIfCommitFailed();
    }
  }

  endOfInput(): void {
    this.inputEnded = true;
  }

  /** Recovery commits wait for the merge: the restored job starts after its output is whole. */
  protected override async recoverAndCommit(txnId: string): Promise<void> {
    await this.dataLossIfLost(txnId, () => this.txnWriter!.resumeTxn(txnId).commit());
  }

  private throwIfCommitFailed(): void {
    if (this.commitFailure !== undefined) throw this.commitFailure;
  }

  private async dataLossIfLost(txnId: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (err) {
      if (TributaryError.is(err, 'TXN_LOST')) {
        throw new TributaryError(
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
      throw err;
    }
  }

  protected async abort(txnId: string): Promise<void> {
    const txn = this.live.get(txnId) ?? this.txnWriter!.resumeTxn(txnId);
    this.live.delete(txnId);
    try {
      await txn.abort();
    } catch (err) {
      // a transaction that never reached the server or is already gone needs no abort
      if (!TributaryError.is(err, 'TXN_NOT_FOUND')) throw err;
    }
  }

  private async abortUnused(next: Promise<Transaction<T>>): Promise<void> {
    try {
      await (await next).abort();
    } catch (err) {
      if (!TributaryError.is(err, 'TXN_NOT_FOUND')) {
        this.ctx.warn(`aborting an unused transaction on close failed: ${errorMessage(err)}`);
      }
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
      const next = this.next;
      this.next = undefined;
      if (next !== undefined) await this.abortUnused(next);
      if (reason === 'finished' || reason === 'stopped') {
        // every commit this subtask asked for, merged (or failed) before the job reports its end;
        // after a failure the restored job commits them again from its state instead
        await this.requests;
        await Promise.all(this.merging);
      }
      if (this.commitFailure !== undefined) {
        this.ctx.warn(`committing a transaction failed: ${errorMessage(this.commitFailure)}`);
      }
    } finally {
      await this.txnWriter?.close();
      this.live.clear();
      await this.shared?.release();
      this.shared = undefined;
    }
  }
}
