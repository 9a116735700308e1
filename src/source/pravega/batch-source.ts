import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError, errorMessage } from '../../errors.js';
import { acquireClient, type SharedClient } from '../../pravega/client/client-registry.js';
import { SegmentReader } from '../../pravega/client/segment-reader.js';
import { segmentName } from '../../pravega/protocol/index.js';
import { pravegaPreflight } from '../../connectors/pravega-preflight.js';
import type {
  PreflightContext,
  PreflightResult,
  Boundedness,
  CloseReason,
  PollResult,
  Source,
  SourceBatch,
  SourceReader,
  SourceReaderContext,
  SplitEnumerator,
  SplitEnumeratorContext,
} from '../source.js';
import {
  batchEnumeratorStateSerializer,
  segmentRangeSplitSerializer,
  type BatchEnumeratorState,
  type SegmentRangeSplit,
} from './batch-split.js';
import type { PravegaSourceSettings } from './pravega-source.js';
import { handleTruncatedData } from './truncation.js';
import { sourceEvent } from './event-pointer.js';

/**
 * Batch mode: a bounded source whose splits are the segment ranges between the configured start
 * and end cuts (default: head and the tail when the job starts), handed to whichever reader is
 * free and read in parallel — throughput over order, like the Java connector's batch input
 * format. Restartable split by split: a reader's state is its current range and how far it got.
 */
export class PravegaBatchSource<T> implements Source<T, SegmentRangeSplit, BatchEnumeratorState> {
  readonly boundedness: Boundedness = 'bounded';
  readonly splitSerializer = segmentRangeSplitSerializer;
  readonly enumeratorStateSerializer = batchEnumeratorStateSerializer;

  constructor(readonly settings: PravegaSourceSettings<T>) {}

  /** Before the job starts: every scope and stream to read exists. */
  preflight(ctx: PreflightContext): Promise<PreflightResult> {
    return pravegaPreflight(
      ctx,
      `Pravega batch source ${ctx.uid}`,
      this.settings.pravega,
      this.settings.streams.map((s) => s.stream),
    );
  }

  createEnumerator(
    ctx: SplitEnumeratorContext<SegmentRangeSplit>,
  ): SplitEnumerator<SegmentRangeSplit, BatchEnumeratorState> {
    return new BatchEnumerator(ctx, this.settings, null);
  }

  restoreEnumerator(
    ctx: SplitEnumeratorContext<SegmentRangeSplit>,
    state: BatchEnumeratorState,
  ): SplitEnumerator<SegmentRangeSplit, BatchEnumeratorState> {
    return new BatchEnumerator(ctx, this.settings, state.pending);
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, SegmentRangeSplit> {
    return new BatchReader(ctx, this.settings);
  }
}

class BatchEnumerator<T> implements SplitEnumerator<SegmentRangeSplit, BatchEnumeratorState> {
  private pending: SegmentRangeSplit[] = [];

  constructor(
    private readonly ctx: SplitEnumeratorContext<SegmentRangeSplit>,
    private readonly settings: PravegaSourceSettings<T>,
    private restored: readonly SegmentRangeSplit[] | null,
  ) {}

  async start(): Promise<void> {
    if (this.restored !== null) {
      this.pending = [...this.restored];
      return;
    }
    const shared = await acquireClient(this.settings.pravega ?? this.ctx.connectors.pravega);
    try {
      const batch = shared.client.batchClient();
      for (const spec of this.settings.streams) {
        const ranges = await batch.listSegmentRanges(spec.stream, spec.start, spec.end);
        for (const r of ranges) {
          this.pending.push({
            splitId: `${r.segment}@${r.startOffset}`,
            scope: spec.stream.scope,
            stream: spec.stream.stream,
            segmentId: r.segmentId,
            startOffset: r.startOffset,
            endOffset: r.endOffset,
          });
        }
      }
    } finally {
      await shared.release();
    }
  }

  addReader(): void {}

  handleSplitRequest(subtask: number): void {
    const next = this.pending.shift();
    if (next) this.ctx.assignSplits(subtask, [next]);
    else this.ctx.signalNoMoreSplits(subtask);
  }

  addSplitsBack(splits: readonly SegmentRangeSplit[]): void {
    this.pending.unshift(...splits);
  }

  snapshotState(): BatchEnumeratorState {
    return { pending: [...this.pending] };
  }

  close(_reason: CloseReason): void {
    this.restored = null;
  }
}

interface ActiveSplit {
  /** the split as of the last record handed out: where a restart resumes */
  split: SegmentRangeSplit;
  readonly reader: SegmentReader;
  fetch: Promise<void> | undefined;
  /** the reader reached the end of the range */
  fetchedAll: boolean;
}

interface ReadyBatch<T> {
  readonly batch: SourceBatch<T>;
  /** offset after the batch's last event */
  readonly resumeAt: bigint;
}

class BatchReader<T> implements SourceReader<T, SegmentRangeSplit> {
  private readonly splits: SegmentRangeSplit[] = [];
  private active: ActiveSplit | undefined;
  /** read from the active split but not handed out yet (at most one batch) */
  private readonly ready: ReadyBatch<T>[] = [];
  private shared: SharedClient | undefined;
  private connecting: Promise<void> | undefined;
  private noMoreSplits = false;
  private requested = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private closed = false;
  private readonly started = Date.now();
  private handedOut = 0;

  constructor(
    private readonly ctx: SourceReaderContext,
    private readonly settings: PravegaSourceSettings<T>,
  ) {}

  start(): void {
    this.connecting = acquireClient(this.settings.pravega ?? this.ctx.connectors.pravega).then(
      (shared) => {
        this.shared = shared;
        this.notify();
      },
      (err: unknown) => this.fail(err),
    );
    this.request();
  }

  private request(): void {
    if (this.requested || this.noMoreSplits) return;
    this.requested = true;
    this.ctx.sendSplitRequest();
  }

  addSplits(splits: readonly SegmentRangeSplit[]): void {
    this.requested = false;
    this.splits.push(...splits);
    this.notify();
  }

  notifyNoMoreSplits(): void {
    this.noMoreSplits = true;
    this.requested = false;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private fail(err: unknown): void {
    this.failure ??= err instanceof Error ? err : new TributaryError('INTERNAL', errorMessage(err));
    this.notify();
  }

  private get done(): boolean {
    return (
      this.noMoreSplits &&
      this.active === undefined &&
      this.splits.length === 0 &&
      this.ready.length === 0
    );
  }

  /** Opens the next split when none is active; fetches the next batch when nothing is buffered. */
  private advance(): void {
    if (this.shared === undefined || this.closed) return;
    if (this.active === undefined) {
      const split = this.splits.shift();
      if (split === undefined) {
        this.request();
        return;
      }
      const reader = new SegmentReader(
        this.shared.client.segmentStore,
        segmentName(split.scope, split.stream, split.segmentId),
        split.startOffset,
        { endOffset: split.endOffset, onTruncated: 'skip' },
      );
      this.active = { split, reader, fetch: undefined, fetchedAll: false };
      // ask for the following split early, so that the reader does not idle between splits
      if (this.splits.length === 0) this.request();
    }
    const active = this.active;
    if (active.fetch !== undefined || this.ready.length > 0) return;
    if (active.fetchedAll) {
      active.reader.close();
      this.active = undefined;
      this.advance();
      return;
    }
    const rate = this.settings.maxEventsPerSecond;
    const ahead =
      rate === undefined ? 0 : this.handedOut / rate - (Date.now() - this.started) / 1000;
    active.fetch = (ahead > 0 ? sleep(ahead * 1000) : Promise.resolve())
      .then(() => active.reader.next())
      .then((read) => {
        active.fetch = undefined;
        active.fetchedAll = read.end;
        const gap = read.truncated;
        if (gap !== undefined) {
          const segment = active.reader.segment;
          handleTruncatedData(this.ctx, this.settings.onTruncatedData, segment, gap.from, gap.to);
          active.split = { ...active.split, startOffset: gap.to };
        }
        const last = read.events[read.events.length - 1];
        if (last !== undefined) {
          const records = this.deserialize(active, read.events);
          const resumeAt = BigInt(last.nextOffset);
          if (records.length > 0) {
            const timestamp = this.settings.timestamp;
            const batch: SourceBatch<T> =
              timestamp === undefined
                ? { records }
                : { records, timestamps: records.map(timestamp) };
            this.ready.push({ batch, resumeAt });
          } else {
            active.split = { ...active.split, startOffset: resumeAt };
          }
        }
        this.notify();
      })
      .catch((err: unknown) => this.fail(err));
  }

  private deserialize(
    active: ActiveSplit,
    events: readonly { data: Buffer; offset: number }[],
  ): T[] {
    const records: T[] = [];
    let bytes = 0;
    for (const e of events) {
      bytes += e.data.length;
      try {
        const expand = this.settings.deserializeEvent;
        if (expand === undefined) records.push(this.settings.deserialize(e.data));
        else
          for (const v of expand(
            e.data,
            sourceEvent(active.reader.segment, e.offset, e.data.length),
          ))
            records.push(v);
      } catch (err) {
        if (this.settings.onDeserializationError === 'skip') {
          this.ctx.count('deserializationErrorsSkipped', 1);
          continue;
        }
        throw new TributaryError(
          'DESERIALIZATION_FAILED',
          `cannot deserialize the event at ${active.reader.segment} offset ${e.offset}: ${errorMessage(err)}`,
          { cause: err, details: { segment: active.reader.segment, offset: e.offset } },
        );
      }
    }
    this.ctx.count('bytesRead', bytes);
    return records;
  }

  pollNext(): PollResult<T> {
    if (this.failure) throw this.failure;
    const next = this.ready.shift();
    if (next && this.active) {
      this.active.split = { ...this.active.split, startOffset: next.resumeAt };
      this.handedOut += next.batch.records.length;
      this.advance();
      return next.batch;
    }
    this.advance();
    return this.done ? 'end-of-input' : 'nothing-available';
  }

  isAvailable(): Promise<void> {
    if (this.ready.length > 0 || this.failure || this.done) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.wake;
      this.wake = () => {
        previous?.();
        resolve();
      };
    });
  }

  snapshotState(): readonly SegmentRangeSplit[] {
    const out = this.active ? [this.active.split] : [];
    return [...out, ...this.splits];
  }

  async close(): Promise<void> {
    this.closed = true;
    this.active?.reader.close();
    await this.connecting;
    await this.shared?.release();
    this.shared = undefined;
  }
}
