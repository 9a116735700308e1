import { TributaryError, errorMessage } from '../../errors.js';
import { acquireClient, type SharedClient } from '../../pravega/client/client-registry.js';
import type { Serializer } from '../../pravega/client/serializer.js';
import {
  TransactionalEventStreamWriter,
  type Transaction,
} from '../../pravega/client/transaction.js';
import type { StreamId } from '../../pravega/controller/types.js';
import { keyGroupOf } from '../../runtime/key-groups.js';
import type { Sink, SinkWriter, SinkWriterContext } from '../../sink/sink.js';
import type { CloseReason, PreflightContext } from '../../source/source.js';
import {
  NO_TRANSACTION,
  TwoPhaseCommitSink,
  transactionWriterId,
} from '../../twophase/two-phase-commit-sink.js';
import { edgeStream, ensureEdgeStream, type ExchangeEdge } from './edge.js';
import { senderFinished } from './edge-end.js';
import {
  encodeClusterWatermark,
  encodeRecord,
  encodeWatermark,
  incarnationId,
} from './envelope.js';
import { routingKeysForKeyGroups, routingKeysForSegments } from './routing.js';
import { SenderReports, SenderWatermark, type SenderReport } from './watermarks.js';

/** An encoded record and the routing key of its key group's segment. */
interface Routed {
  readonly data: Buffer;
  readonly routingKey: string;
}

const routedSerializer: Serializer<Routed> = {
  serialize: (r) => r.data,
  deserialize: () => {
    throw new TributaryError('INTERNAL', 'exchange records are read by the exchange source');
  },
};

/** How much a transaction may hold unacknowledged before a write waits (as the Pravega sink). */
const MAX_UNACKED_BYTES = 4 * 1024 * 1024;

/**
 * The sending side of an exchange edge: each subtask writes its records into a Pravega
 * transaction on the edge's internal stream, routed by key group (key group g → segment
 * ⌊g·S/K⌋), pre-committed on barrier N and committed once checkpoint N completed (the two-phase
 * machinery of the exactly-once Pravega sink). Each record carries its event timestamp.
 */
export class ExchangeSink<T> implements Sink<T> {
  constructor(private readonly edge: ExchangeEdge<T>) {}

  /** The edge ends only through checkpoints: a job without periodic ones would never finish. */
  preflight(ctx: PreflightContext): Promise<void> {
    if (ctx.checkpointing.intervalMs === undefined) {
      return Promise.reject(
        new TributaryError(
          'CONFIG_INVALID',
          `exchange ${this.edge.edgeUid}: needs periodic checkpoints (checkpoint.intervalMs): the receiving side only sees what a completed checkpoint committed`,
        ),
      );
    }
    if (
      this.edge.transactionLeaseMs <=
      ctx.checkpointing.intervalMs + ctx.checkpointing.timeoutMs
    ) {
      return Promise.reject(
        new TributaryError(
          'TXN_LEASE_INVALID',
          `exchange ${this.edge.edgeUid}: transactionLeaseMs (${this.edge.transactionLeaseMs}) must outlast checkpoint.intervalMs + checkpoint.timeoutMs (${ctx.checkpointing.intervalMs + ctx.checkpointing.timeoutMs})`,
        ),
      );
    }
    return Promise.resolve();
  }

  createWriter(ctx: SinkWriterContext): SinkWriter<T> {
    // in a cluster the leader commits or aborts a dead worker's transactions on this stream
    const { scope, stream } = edgeStream(this.edge, ctx.jobName);
    ctx.connectors.cluster?.transactionStream(ctx.sinkUid, `${scope}/${stream}`);
    return new ExchangeWriter(ctx, this.edge);
  }
}

class ExchangeWriter<T> extends TwoPhaseCommitSink<T, string> {
  private shared: SharedClient | undefined;
  private stream: StreamId | undefined;
  private txnWriter: TransactionalEventStreamWriter<Routed> | undefined;
  private readonly live = new Map<string, Transaction<Routed>>();
  /** routing key of each key group */
  private readonly routingKeys: readonly string[];
  /** routing key of each segment (for the watermark written into every segment) */
  private readonly segmentKeys: readonly string[];
  /** the watermarks from upstream, reported one per transaction (event-time edges) */
  private readonly reports = new SenderReports();
  /** commits requested whose merge is still awaited */
  private readonly merging = new Set<Promise<void>>();
  private failure: Error | undefined;
  private inputEnded = false;
  /** the edge was sealed before this writer started: nothing more may be sent */
  private sealed = false;
  /** the first checkpoint after the end of input: its transaction is the last one */
  private lastCheckpoint: number | undefined;
  private reportedEnd = false;
  /** the checkpoint being snapshotted (its transaction is pre-committed) */
  private snapshotting = 0;
  /** warned that a checkpoint's senders were not known in time (once) */
  private warnedSenders = false;

  constructor(
    ctx: SinkWriterContext,
    private readonly edge: ExchangeEdge<T>,
  ) {
    super(ctx, { transactionTimeoutMs: edge.transactionLeaseMs });
    this.routingKeys = routingKeysForKeyGroups(edge.segments, edge.keyGroups);
    this.segmentKeys = routingKeysForSegments(edge.segments);
  }

  override async initialize(): Promise<void> {
    this.shared = await acquireClient(this.edge.pravega ?? this.ctx.connectors.pravega);
    const client = this.shared.client;
    this.stream = edgeStream(this.edge, this.ctx.jobName);
    ({ sealed: this.sealed } = await ensureEdgeStream(client, this.stream, this.edge.segments));
    // the client's public API refuses `_` names; the edge's internal stream is one by design
    this.txnWriter = new TransactionalEventStreamWriter(
      this.stream,
      client.controller,
      client.segmentStore,
      routedSerializer,
      {
        leaseMs: this.edge.transactionLeaseMs,
        writerId: transactionWriterId(this.ctx, this.ctx.subtask),
      },
    );
    await super.initialize();
  }

  protected async beginTransaction(): Promise<string> {
    this.throwIfFailed();
    if (this.inputEnded || this.sealed) return NO_TRANSACTION;
    const txn = await this.txnWriter!.beginTxn();
    this.live.set(txn.txnId, txn);
    return txn.txnId;
  }

  protected async write(
    txnId: string,
    records: readonly T[],
    timestamps: readonly number[] | undefined,
  ): Promise<void> {
    this.throwIfFailed();
    const { keySelector, keyGroups, serializer } = this.edge;
    const routed: Routed[] = [];
    for (let i = 0; i < records.length; i++) {
      const value = records[i] as T;
      if (value instanceof SenderWatermark) {
        this.reports.note(value);
        continue;
      }
      routed.push({
        data: encodeRecord(serializer.serialize(value), timestamps?.[i]),
        routingKey: this.routingKeys[keyGroupOf(keySelector(value), keyGroups)]!,
      });
    }
    if (routed.length === 0) return;
    const txn = this.live.get(txnId);
    if (txn === undefined) {
      throw new TributaryError(
        'ILLEGAL_STATE',
        `exchange ${this.edge.edgeUid}[${this.ctx.subtask}]: records after the edge ended (${this.sealed ? 'its stream is sealed' : 'after the end of input'})`,
      );
    }
    void txn.writeBatch(routed, (r) => r.routingKey).catch((err: unknown) => this.failed(err));
    await txn.ready(MAX_UNACKED_BYTES);
  }

  protected async preCommit(txnId: string): Promise<void> {
    this.throwIfFailed();
    if (txnId === NO_TRANSACTION) return;
    const txn = this.live.get(txnId)!;
    const report = this.edge.eventTime ? this.reports.current() : undefined;
    const data = report !== undefined ? await this.watermarkEvent(report) : undefined;
    if (data !== undefined) {
      this.reports.sent(this.snapshotting, report!);
      // the sender's watermark follows its records in every segment (see watermarks.ts)
      void txn
        .writeBatch(
          this.segmentKeys.map((routingKey) => ({ data, routingKey })),
          (r) => r.routingKey,
        )
        .catch((err: unknown) => this.failed(err));
    }
    await txn.flush();
  }

  /**
   * This sender's report (its latest watermark; {@link SenderReports}) as an event. Across
   * workers it names this worker and the checkpoint's participants (segment-senders.ts); when the
   * proposal was not seen in time it is left out of this transaction: receivers keep its previous
   * one, which is lower (safe), and the report stays due.
   */
  private async watermarkEvent(report: SenderReport): Promise<Buffer | undefined> {
    const { watermark, idle } = report;
    const { subtask, parallelism } = this.ctx;
    const cluster = this.ctx.connectors.cluster;
    if (cluster === undefined) return encodeWatermark(watermark, subtask, parallelism, idle);
    const checkpoint = this.snapshotting;
    const senders = await cluster.checkpointSenders(
      checkpoint,
      Math.min(5_000, this.ctx.checkpointing.timeoutMs),
    );
    if (senders === undefined) {
      if (!this.warnedSenders) {
        this.warnedSenders = true;
        this.ctx.warn(
          `exchange ${this.edge.edgeUid}[${subtask}]: the participants of checkpoint ${checkpoint} were not known in time; its transaction carries no watermark (the edge's event time waits for the next)`,
        );
      }
      return undefined;
    }
    return encodeClusterWatermark({
      watermark,
      idle,
      subtask,
      parallelism,
      checkpoint,
      incarnation: incarnationId(senders.self.workerId, senders.self.epoch),
      participants: senders.participants.map((p) => incarnationId(p.workerId, p.epoch)),
    });
  }

  /**
   * Requests the commit (the controller accepts it as COMMITTING and completes it on its own),
   * then waits for the merge in the background; requests go in checkpoint order.
   */
  protected async commit(txnId: string): Promise<void> {
    this.throwIfFailed();
    if (txnId === NO_TRANSACTION) return;
    const txn = this.live.get(txnId) ?? this.txnWriter!.resumeTxn(txnId);
    this.live.delete(txnId);
    await this.dataLossIfLost(txnId, () => txn.requestCommit());
    const merged = this.dataLossIfLost(txnId, () => txn.waitCommitted()).catch((err: unknown) =>
      this.failed(err),
    );
    this.merging.add(merged);
    void merged.finally(() => this.merging.delete(merged));
  }

  protected override async recoverAndCommit(txnId: string): Promise<void> {
    if (txnId === NO_TRANSACTION) return;
    await this.dataLossIfLost(txnId, () => this.txnWriter!.resumeTxn(txnId).commit());
  }

  protected async abort(txnId: string): Promise<void> {
    if (txnId === NO_TRANSACTION) return;
    const txn = this.live.get(txnId) ?? this.txnWriter!.resumeTxn(txnId);
    this.live.delete(txnId);
    try {
      await txn.abort();
    } catch (err) {
      if (!TributaryError.is(err, 'TXN_NOT_FOUND')) throw err;
    }
  }

  endOfInput(): void {
    this.inputEnded = true;
  }

  override snapshotState(
    checkpointId: number,
  ): ReturnType<TwoPhaseCommitSink<T, string>['snapshotState']> {
    if (this.inputEnded && this.lastCheckpoint === undefined) this.lastCheckpoint = checkpointId;
    this.snapshotting = checkpointId;
    return super.snapshotState(checkpointId);
  }

  /** After the last transaction is merged, this sender is done: the last one seals the edge. */
  override async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    await super.notifyCheckpointComplete(checkpointId);
    this.reports.committed(checkpointId);
    const last = this.lastCheckpoint;
    if (this.reportedEnd || last === undefined || checkpointId < last) return;
    await Promise.all(this.merging);
    this.throwIfFailed();
    this.reportedEnd = true;
    await senderFinished({
      client: this.shared!.client,
      stream: this.stream!,
      run: `${this.ctx.runId}#${this.ctx.attempt}`,
      subtask: this.ctx.subtask,
      parallelism: this.ctx.parallelism,
    });
  }

  private failed(err: unknown): void {
    this.failure ??= err instanceof Error ? err : new Error(errorMessage(err));
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private async dataLossIfLost(txnId: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (err) {
      if (TributaryError.is(err, 'TXN_LOST')) {
        throw new TributaryError(
          'DATA_LOSS',
          `exchange ${this.edge.edgeUid}[${this.ctx.subtask}]: ${err.message}`,
          { cause: err, details: { txnId } },
        );
      }
      throw err;
    }
  }

  override async close(reason: CloseReason): Promise<void> {
    try {
      await super.close(reason);
      if (reason === 'finished' || reason === 'stopped') await Promise.all(this.merging);
      if (this.failure !== undefined) {
        this.ctx.warn(
          `exchange ${this.edge.edgeUid}: a commit failed: ${errorMessage(this.failure)}`,
        );
      }
    } finally {
      await this.txnWriter?.close();
      this.live.clear();
      await this.shared?.release();
      this.shared = undefined;
    }
  }
}
