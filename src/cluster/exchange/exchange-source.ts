import { TributaryError } from '../../errors.js';
import { acquireClient } from '../../pravega/client/client-registry.js';
import type {
  Boundedness,
  CloseReason,
  SourceReader,
  SourceReaderContext,
  Source,
  SplitEnumerator,
  SplitEnumeratorContext,
  StreamLag,
} from '../../source/source.js';
import { PravegaSplitEnumerator } from '../../source/pravega/pravega-enumerator.js';
import { PravegaSourceReader } from '../../source/pravega/pravega-reader.js';
import {
  pravegaEnumeratorStateSerializer,
  pravegaReaderSplitSerializer,
  type PravegaEnumeratorState,
  type PravegaReaderSplit,
} from '../../source/pravega/pravega-split.js';
import { ReadStats } from '../../source/pravega/read-stats.js';
import { Checkpoint } from '../../pravega/client/reader-group/checkpoint.js';
import {
  edgeReaderGroup,
  edgeStream,
  ensureEdgeStream,
  removeEdgeStream,
  type ExchangeEdge,
} from './edge.js';
import { edgeSegmentControls } from './edge-key-groups.js';
import { decodeReceived, type Received } from './envelope.js';

/**
 * The receiving side of an exchange edge: the Pravega source's reader and enumerator over the
 * edge's internal stream, through the edge's own reader group `<job>-x-<edgeUid>` (checkpoints
 * delegated to it, as for any Pravega source). Readers see only committed transactions, i.e. what
 * completed checkpoints sent. Emits what it reads (records with the sender's timestamp, the senders'
 * watermarks) and the reader's segments; `ReceiverWatermarks` after it unwraps the records.
 *
 * Bounded when the sending side's sources are: the senders seal the stream after their last
 * commit, and the reader group ends once every sealed segment is read. When the job ends for good
 * (finished, or cancelled) the reader group and the internal stream are deleted; after a crash or
 * a stop both stay, since a resume reads on from the checkpoint's positions.
 */
export class ExchangeSource<T> implements Source<
  Received<T>,
  PravegaReaderSplit,
  PravegaEnumeratorState
> {
  readonly splitSerializer = pravegaReaderSplitSerializer;
  readonly enumeratorStateSerializer = pravegaEnumeratorStateSerializer;
  readonly externallyInducedCheckpoints = true;
  private readonly stats = new ReadStats();

  constructor(
    private readonly edge: ExchangeEdge<T>,
    readonly boundedness: Boundedness,
  ) {}

  createReader(ctx: SourceReaderContext): SourceReader<Received<T>, PravegaReaderSplit> {
    const { serializer, eventTime } = this.edge;
    const deserialize = (p: Buffer) => serializer.deserialize(p);
    const cluster = ctx.connectors.cluster;
    // across workers: the keyed state after the edge moves with its segments
    const controls =
      cluster?.keyGroupStates !== undefined && cluster.keyGroupsOwned !== undefined
        ? edgeSegmentControls(
            this.edge,
            `${this.edge.edgeUid}/${ctx.subtask}`,
            {
              keyGroupStates: cluster.keyGroupStates.bind(cluster),
              keyGroupsOwned: cluster.keyGroupsOwned.bind(cluster),
            },
            ctx.checkpointing.timeoutMs,
          )
        : undefined;
    return new PravegaSourceReader<Received<T>>(ctx, {
      ...(controls !== undefined ? { segmentControls: controls } : {}),
      deserialize: () => {
        throw new TributaryError('INTERNAL', 'exchange events are read with their segment');
      },
      deserializeEvent: (bytes, event) => [decodeReceived(bytes, event.segment, deserialize)],
      ...(eventTime
        ? {
            ownedSegments: (segments) => ({
              kind: 'owned' as const,
              segments,
              adopting: controls !== undefined,
            }),
          }
        : {}),
      onDeserializationError: 'fail',
      // the edge's data is never truncated while the job runs: losing some is an error
      onTruncatedData: 'fail',
      timestamp: eventTime
        ? (e) =>
            e.kind === 'record' ? (e.timestamp ?? Number.MIN_SAFE_INTEGER) : Number.MIN_SAFE_INTEGER
        : undefined,
      maxBatchEvents: 2048,
      maxQueuedBatches: 2,
      maxEventsPerSecond: undefined,
      pravega: this.edge.pravega,
      stats: this.stats,
    });
  }

  createEnumerator(
    ctx: SplitEnumeratorContext<PravegaReaderSplit>,
  ): SplitEnumerator<PravegaReaderSplit, PravegaEnumeratorState> {
    return new ExchangeEnumerator(ctx, this.edge, this.stats, undefined);
  }

  restoreEnumerator(
    ctx: SplitEnumeratorContext<PravegaReaderSplit>,
    state: PravegaEnumeratorState,
  ): SplitEnumerator<PravegaReaderSplit, PravegaEnumeratorState> {
    return new ExchangeEnumerator(ctx, this.edge, this.stats, state);
  }
}

/** The Pravega source's enumerator, after making sure the edge's stream exists; cleans up at the end. */
class ExchangeEnumerator<T> implements SplitEnumerator<PravegaReaderSplit, PravegaEnumeratorState> {
  private inner: PravegaSplitEnumerator;

  constructor(
    private readonly ctx: SplitEnumeratorContext<PravegaReaderSplit>,
    private readonly edge: ExchangeEdge<T>,
    private readonly stats: ReadStats,
    private readonly restored: PravegaEnumeratorState | undefined,
  ) {
    this.inner = this.enumerator(restored);
  }

  private enumerator(restored: PravegaEnumeratorState | undefined): PravegaSplitEnumerator {
    const stream = edgeStream(this.edge, this.ctx.jobName);
    return new PravegaSplitEnumerator(
      this.ctx,
      {
        scope: this.edge.scope,
        group: edgeReaderGroup(this.edge, this.ctx.jobName),
        config: {
          streams: [{ stream }],
          maxOutstandingCheckpoints: 3,
          handover: 'at-checkpoint',
          readerTimeoutMs: 30_000,
          heartbeatIntervalMs: 1_000,
        },
        pravega: this.edge.pravega,
        stats: this.stats,
      },
      restored,
    );
  }

  async start(): Promise<void> {
    const shared = await acquireClient(this.edge.pravega ?? this.ctx.connectors.pravega);
    try {
      const stream = edgeStream(this.edge, this.ctx.jobName);
      const checkpoint = this.restored?.checkpoint;
      if (
        checkpoint &&
        Checkpoint.parse(checkpoint).name.startsWith('final-') &&
        !(await shared.client.controller.streamExists(stream))
      ) {
        // the job had finished (its final checkpoint) and was cleaning up when it stopped: the
        // edge is gone with everything it carried, and the senders, at their end, send nothing
        // more; the receivers start on the new, empty stream and end when the senders seal it
        this.inner = this.enumerator(undefined);
      }
      await ensureEdgeStream(shared.client, stream, this.edge.segments);
    } finally {
      await shared.release();
    }
    await this.inner.start();
  }

  addReader(subtask: number): void {
    this.inner.addReader(subtask);
  }

  handleSplitRequest(subtask: number): void {
    this.inner.handleSplitRequest();
    void subtask;
  }

  addSplitsBack(splits: readonly PravegaReaderSplit[], subtask: number): void {
    this.inner.addSplitsBack(splits, subtask);
  }

  snapshotState(checkpointId: number): Promise<PravegaEnumeratorState | undefined> {
    return this.inner.snapshotState(checkpointId);
  }

  lag(): Promise<StreamLag[]> {
    return this.inner.lag();
  }

  notifyCheckpointAborted(checkpointId: number): Promise<void> {
    return this.inner.notifyCheckpointAborted(checkpointId);
  }

  /**
   * The job ended for good: the reader group (by the inner enumerator), then the stream. Not in a
   * cluster: one worker ending is not the job's end (`ClusterWorker.endJob` removes both).
   */
  async close(reason: CloseReason): Promise<void> {
    await this.inner.close(reason);
    if (reason !== 'finished' && reason !== 'cancelled') return;
    if (this.ctx.connectors.cluster !== undefined) return;
    const stream = edgeStream(this.edge, this.ctx.jobName);
    const shared = await acquireClient(this.edge.pravega ?? this.ctx.connectors.pravega);
    try {
      await removeEdgeStream(shared.client, stream, `exchange ${this.edge.edgeUid}`);
    } finally {
      await shared.release();
    }
  }
}
