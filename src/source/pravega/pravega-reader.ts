import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError, errorMessage } from '../../errors.js';
import { acquireClient, type SharedClient } from '../../pravega/client/client-registry.js';
import type {
  AcquiredHook,
  EventStreamReader,
  ReleasedHook,
  SegmentAt,
} from '../../pravega/client/reader-group/event-stream-reader.js';
import type { KeyGroupControl } from '../../runtime/key-group-control.js';
import type { PayloadRun } from '../../pravega/client/reader-group/owned-segment.js';
import { ReaderGroup } from '../../pravega/client/reader-group/reader-group.js';
import { bytesSerializer } from '../../pravega/client/serializer.js';
import { EVENT_HEADER_SIZE } from '../../pravega/protocol/index.js';
import type {
  CloseReason,
  ExternallyInducedSourceReader,
  SourceBatch,
  SourceReaderContext,
} from '../source.js';
import { checkpointIdOf } from './names.js';
import type { PravegaReaderSplit } from './pravega-split.js';
import type { ReadStats } from './read-stats.js';
import { sourceEvent, type SourceEvent } from './event-pointer.js';
import { handleTruncatedData, type TruncatedDataPolicy } from './truncation.js';

export interface ReaderSettings<T> {
  readonly deserialize: (payload: Buffer) => T;
  readonly deserializeEvent?: ((payload: Buffer, event: SourceEvent) => readonly T[]) | undefined;
  readonly onDeserializationError: 'fail' | 'skip';
  readonly onTruncatedData: TruncatedDataPolicy;
  readonly timestamp: ((value: T) => number) | undefined;
  readonly maxBatchEvents: number;
  /**
   * Batches read ahead of the task before the reader waits. Small on purpose: a checkpoint marker
   * queued behind them waits until the task has processed them.
   */
  readonly maxQueuedBatches: number;
  /** events per second this reader hands out at most (undefined: as fast as it can) */
  readonly maxEventsPerSecond: number | undefined;
  readonly pravega: unknown;
  /** Shared with the enumerator (lag in events). */
  readonly stats?: ReadStats;
  /**
   * When set, a record made by this function from the reader's segments follows the events each
   * time the segments it owns change (e.g. for per-segment watermarks).
   */
  readonly ownedSegments?: ((segments: readonly string[]) => T) | undefined;
  /**
   * When set, awaited with the segments this reader takes over (and the offsets it reads on
   * from) before any of their events is handed out (`EventStreamReader.onAcquired`; e.g. to load
   * the keyed state of the key groups a segment carries). A rejection fails the reader.
   */
  readonly onAcquired?: AcquiredHook | undefined;
  /**
   * When set, told of the segments this reader gave back at a checkpoint marker, once written
   * (`EventStreamReader.onReleased`; in a cluster job, where releases wait for the checkpoint).
   */
  readonly onReleased?: ReleasedHook | undefined;
  /**
   * When set (gated releases, i.e. in a cluster job): the key group controls that follow this
   * reader's segment changes, emitted in order with its records (see {@link SegmentControls}).
   */
  readonly segmentControls?: SegmentControls | undefined;
}

/**
 * What a reader's segment changes mean to the keyed operators after it (a cluster exchange edge:
 * the key groups a segment carries). Each returns the control to emit, or undefined for none.
 */
export interface SegmentControls {
  /** Segments taken over: emitted before their first record (awaited; a rejection fails the reader). */
  acquired(acquired: readonly SegmentAt[]): Promise<KeyGroupControl | undefined>;
  /**
   * Segments frozen at checkpoint `checkpointId`'s marker to be given back: emitted right after
   * that checkpoint's barrier (nothing more of them comes until they are given back or kept).
   */
  held(segments: readonly string[], checkpointId: number | undefined): KeyGroupControl | undefined;
  /** Held segments read on after all. */
  kept(segments: readonly string[]): KeyGroupControl | undefined;
  /** Held segments given back at checkpoint `checkpointId`'s positions. */
  released(
    released: readonly SegmentAt[],
    checkpointId: number | undefined,
  ): KeyGroupControl | undefined;
  /**
   * The reader reached checkpoint `checkpointId`'s marker (after any `held` of it, before its
   * barrier): e.g. to say which key groups this reader's part of that checkpoint holds.
   */
  marker?(checkpointId: number): void;
  /**
   * A batch of deserialized records was queued: the controls returned go out right after it
   * (e.g. an event-time floor moved by what the batch carried).
   */
  read?(records: readonly unknown[]): readonly KeyGroupControl[] | undefined;
}

type Item<T> =
  | { readonly kind: 'batch'; readonly batch: SourceBatch<T> }
  | { readonly kind: 'marker'; readonly checkpointId: number }
  | { readonly kind: 'control'; readonly control: KeyGroupControl }
  | { readonly kind: 'end' };

/**
 * One parallel reader of the Pravega source: a member of the source's reader group. A background
 * loop reads batches from the group into a bounded queue; the task polls the queue without
 * blocking. When the group hands this reader a checkpoint marker, everything before it is emitted
 * first, then `shouldTriggerCheckpoint()` names the job checkpoint: the task snapshots and emits
 * its barrier exactly there (externally induced checkpoints).
 */
export class PravegaSourceReader<T> implements ExternallyInducedSourceReader<
  T,
  PravegaReaderSplit
> {
  private split: PravegaReaderSplit | undefined;
  private shared: SharedClient | undefined;
  private reader: EventStreamReader<Buffer> | undefined;
  private loop: Promise<void> | undefined;
  private readonly queue: Item<T>[] = [];
  /** controls of segments held at the marker being returned: queued right after it */
  private readonly afterMarker: KeyGroupControl[] = [];
  private queuedBatches = 0;
  private failure: Error | undefined;
  private closed = false;
  private noSplits = false;
  private wakeTask: (() => void) | undefined;
  private wakeLoop: (() => void) | undefined;

  constructor(
    private readonly ctx: SourceReaderContext,
    private readonly settings: ReaderSettings<T>,
  ) {}

  start(): void {}

  addSplits(splits: readonly PravegaReaderSplit[]): void {
    const split = splits[0];
    if (split === undefined || this.split !== undefined) return;
    this.split = split;
    this.loop = this.run(split).catch((err: unknown) => {
      if (!this.closed) this.fail(err);
    });
  }

  notifyNoMoreSplits(): void {
    this.noSplits = true;
    this.notifyTask();
  }

  private fail(err: unknown): void {
    this.failure ??= err instanceof Error ? err : new TributaryError('INTERNAL', errorMessage(err));
    this.notifyTask();
  }

  private notifyTask(): void {
    const wake = this.wakeTask;
    this.wakeTask = undefined;
    wake?.();
  }

  private async run(split: PravegaReaderSplit): Promise<void> {
    this.shared = await acquireClient(this.settings.pravega ?? this.ctx.connectors.pravega);
    const group = await ReaderGroup.get(
      this.shared.client,
      split.readerGroupScope,
      split.readerGroup,
    );
    const reader = await group.createReader(split.readerId, bytesSerializer);
    this.reader = reader;
    this.watchSegments(reader);
    const cluster = this.ctx.connectors.cluster;
    if (cluster !== undefined) {
      // segments go to another worker only where this worker's output is committed for good
      const exact =
        this.settings.segmentControls !== undefined && cluster.checkpointOutcome !== undefined;
      reader.gateReleases((name) => {
        const id = checkpointIdOf(name);
        if (id === undefined) return false;
        // state moves with the segments: their state is named at that very checkpoint
        if (exact) {
          const outcome = cluster.checkpointOutcome?.(id) ?? 'pending';
          return outcome === 'pending' ? false : outcome === 'completed' ? true : 'void';
        }
        return id <= cluster.completedThrough();
      });
      reader.gateAcquisitions(() => cluster.mayAcquire());
      cluster.readerJoined(`${split.readerGroupScope}/${split.readerGroup}`, split.readerId);
    }
    const rate = this.settings.maxEventsPerSecond;
    const maxEvents =
      rate === undefined
        ? this.settings.maxBatchEvents
        : Math.max(1, Math.min(this.settings.maxBatchEvents, Math.floor(rate / 20)));
    const started = Date.now();
    let handedOut = 0;
    let owned: string | undefined;
    while (!this.closed) {
      if (rate !== undefined) {
        const ahead = handedOut / rate - (Date.now() - started) / 1000;
        if (ahead > 0) await sleep(ahead * 1000);
        // closed while sleeping: close() found no wait to wake, so the one below would be endless
        if (this.closed) return;
      }
      if (this.queuedBatches >= this.settings.maxQueuedBatches) {
        await new Promise<void>((resolve) => (this.wakeLoop = resolve));
        continue;
      }
      const read = await reader.readRuns({ maxEvents, timeoutMs: 200 });
      if (this.closed) return;
      if (read.kind === 'runs') {
        handedOut += this.pushRuns(read.runs);
      } else if (read.kind === 'checkpoint') {
        const checkpointId = checkpointIdOf(read.name);
        if (checkpointId !== undefined) {
          this.settings.segmentControls?.marker?.(checkpointId);
          this.queue.push({ kind: 'marker', checkpointId });
        }
        // segments held at this marker: their control follows its barrier
        for (const control of this.afterMarker.splice(0))
          this.queue.push({ kind: 'control', control });
      } else if (read.kind === 'truncated') {
        const { segment, from, to } = read;
        handleTruncatedData(this.ctx, this.settings.onTruncatedData, segment, from, to);
      } else {
        this.queue.push({ kind: 'end' });
        this.notifyTask();
        // leave the group now, so that checkpoints do not wait for a reader that has ended
        await reader.close({ leaveGroup: true });
        return;
      }
      const ownedSegments = this.settings.ownedSegments;
      if (ownedSegments !== undefined) {
        const now = reader.ownedSegments;
        const text = now.join('\n');
        if (text !== owned) {
          owned = text;
          this.pushRecords([ownedSegments(now)]);
        }
      }
      this.notifyTask();
    }
  }

  /** Registers the settings' segment hooks (and the controls they make) with the group reader. */
  private watchSegments(reader: EventStreamReader<Buffer>): void {
    const { onAcquired, onReleased, segmentControls: controls } = this.settings;
    const push = (control: KeyGroupControl | undefined): void => {
      if (control === undefined) return;
      this.queue.push({ kind: 'control', control });
      this.notifyTask();
    };
    if (onAcquired !== undefined || controls !== undefined)
      reader.onAcquired(async (acquired) => {
        await onAcquired?.(acquired);
        // before any event of these segments: the group reader awaits this hook
        if (controls !== undefined) push(await controls.acquired(acquired));
      });
    if (onReleased !== undefined || controls !== undefined)
      reader.onReleased((released, marker) => {
        onReleased?.(released, marker);
        push(controls?.released(released, checkpointIdOf(marker)));
      });
    if (controls !== undefined)
      reader.onHeld((change) => {
        if ('held' in change) {
          // told as the marker is returned, before the loop queues it
          const control = controls.held(change.held, checkpointIdOf(change.marker));
          if (control !== undefined) this.afterMarker.push(control);
        } else push(controls.kept(change.kept));
      });
  }

  /** Deserializes runs of payloads into one batch; returns how many events they held. */
  private pushRuns(runs: readonly PayloadRun[]): number {
    const { deserialize, deserializeEvent, onDeserializationError } = this.settings;
    const stats = this.settings.stats;
    let total = 0;
    for (const run of runs) total += run.payloads.length;
    // one value per event without deserializeEvent: the array is sized once, not grown by push
    const records: T[] = deserializeEvent === undefined ? new Array<T>(total) : [];
    let n = 0;
    let bytes = 0;
    // read stats per run of events of one segment (a batch holds a few such runs), not per event
    for (const { segment, payloads, offset: first } of runs) {
      let offset = first;
      let runBytes = 0;
      for (const payload of payloads) {
        const length = payload.length;
        runBytes += length;
        try {
          if (deserializeEvent === undefined) {
            const value = deserialize(payload); // first: a failure leaves no hole
            records[n++] = value;
          } else
            for (const v of deserializeEvent(payload, sourceEvent(segment, offset, length)))
              records.push(v);
        } catch (err) {
          if (onDeserializationError !== 'skip') {
            throw new TributaryError(
              'DESERIALIZATION_FAILED',
              `cannot deserialize the event at ${segment} offset ${offset} (${length} bytes): ${errorMessage(err)}`,
              { cause: err, details: { segment, offset } },
            );
          }
          this.ctx.count('deserializationErrorsSkipped', 1);
        }
        offset += EVENT_HEADER_SIZE + length;
      }
      stats?.add(segment, runBytes, payloads.length);
      bytes += runBytes;
    }
    if (deserializeEvent === undefined) records.length = n; // less when events were skipped
    this.ctx.count('bytesRead', bytes);
    this.pushRecords(records);
    for (const control of this.settings.segmentControls?.read?.(records) ?? [])
      this.queue.push({ kind: 'control', control });
    return total;
  }

  private pushRecords(records: readonly T[]): void {
    const { timestamp } = this.settings;
    if (records.length === 0) return;
    const batch: SourceBatch<T> =
      timestamp === undefined
        ? { records }
        : { records, timestamps: records.map((r) => timestamp(r)) };
    this.queue.push({ kind: 'batch', batch });
    this.queuedBatches++;
  }

  pollNext(): SourceBatch<T> | 'nothing-available' | 'end-of-input' {
    if (this.failure) throw this.failure;
    // key group controls go out in queue order: ahead of this poll's records
    while (this.queue[0]?.kind === 'control') {
      const { control } = this.queue.shift() as { control: KeyGroupControl };
      this.ctx.emitKeyGroupControl(control);
    }
    const head = this.queue[0];
    if (head === undefined)
      return this.noSplits && this.split === undefined ? 'end-of-input' : 'nothing-available';
    if (head.kind === 'marker') return 'nothing-available';
    if (head.kind === 'end') return 'end-of-input';
    this.queue.shift();
    this.queuedBatches--;
    const wake = this.wakeLoop;
    this.wakeLoop = undefined;
    wake?.();
    return head.batch;
  }

  shouldTriggerCheckpoint(): number | undefined {
    const head = this.queue[0];
    if (head?.kind !== 'marker') return undefined;
    this.queue.shift();
    return head.checkpointId;
  }

  isAvailable(): Promise<void> {
    if (
      this.queue.length > 0 ||
      this.failure !== undefined ||
      (this.noSplits && this.split === undefined)
    ) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const previous = this.wakeTask;
      this.wakeTask = () => {
        previous?.();
        resolve();
      };
    });
  }

  snapshotState(): readonly PravegaReaderSplit[] {
    return this.split ? [this.split] : [];
  }

  async close(reason: CloseReason): Promise<void> {
    this.closed = true;
    this.wakeLoop?.();
    this.notifyTask();
    try {
      await this.reader?.close({ leaveGroup: reason === 'finished' });
      await this.loop;
    } catch {
      // closing a reader of a group that was reset or deleted: nothing left to release
    } finally {
      await this.shared?.release();
      this.shared = undefined;
    }
  }
}
