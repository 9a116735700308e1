import { TributaryError } from '../../errors.js';
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
 */
export class TransactionalSinkWriter<T> extends TwoPhaseCommitSink<T, string> {
  private shared: SharedClient | undefined;
  private txnWriter: TransactionalEventStreamWriter<T> | undefined;
  /** live handles of the transactions this process began */
  private readonly live = new Map<string, Transaction<T>>();

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
    const txn = await this.txnWriter!.beginTxn();
    this.live.set(txn.txnId, txn);
    return txn.txnId;
  }

  protected async write(txnId: string, records: readonly T[]): Promise<void> {
    const txn = this.live.get(txnId)!;
    void txn.writeBatch(records, this.settings.routingKey);
    await txn.ready(MAX_UNACKED_BYTES);
  }

  protected async preCommit(txnId: string): Promise<void> {
    await this.live.get(txnId)!.flush();
  }

  protected async commit(txnId: string): Promise<void> {
    const txn = this.live.get(txnId) ?? this.txnWriter!.resumeTxn(txnId);
    try {
      await txn.commit();
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
    } finally {
      this.live.delete(txnId);
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
    } finally {
      await this.txnWriter?.close();
      this.live.clear();
      await this.shared?.release();
      this.shared = undefined;
    }
  }
}
