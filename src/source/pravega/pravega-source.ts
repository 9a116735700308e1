import { TributaryError, errorMessage } from '../../errors.js';
import type { StreamId } from '../../pravega/controller/types.js';
import { parseStreamName } from '../../pravega/client/pravega-client.js';
import type { ReaderGroupConfigInput } from '../../pravega/client/reader-group/reader-group-config.js';
import {
  bytesSerializer,
  jsonSerializer,
  utf8Serializer,
  type Serializer,
} from '../../pravega/client/serializer.js';
import { parseStreamCut, type StreamCut } from '../../pravega/client/stream-cut.js';
import { validateName } from '../../pravega/protocol/index.js';
import { pravegaPreflight } from '../../connectors/pravega-preflight.js';
import { Checkpoint } from '../../pravega/client/reader-group/checkpoint.js';
import type {
  PreflightContext,
  PreflightResult,
  Boundedness,
  Source,
  SourceReader,
  SourceReaderContext,
  SplitEnumerator,
  SplitEnumeratorContext,
} from '../source.js';
import { ReadStats } from './read-stats.js';
import { PravegaBatchSource } from './batch-source.js';
import { readerGroupName } from './names.js';
import { PravegaSplitEnumerator } from './pravega-enumerator.js';
import { PravegaSourceReader } from './pravega-reader.js';
import type { TruncatedDataPolicy } from './truncation.js';
import type { SourceEvent } from './event-pointer.js';
import {
  pravegaEnumeratorStateSerializer,
  pravegaReaderSplitSerializer,
  type PravegaEnumeratorState,
  type PravegaReaderSplit,
} from './pravega-split.js';

/**
 * Reads Pravega streams with checkpoints delegated to a reader group (FLIP-27 shape, externally
 * induced checkpoints): the enumerator asks the reader group for checkpoint N, every reader cuts
 * its output at the group's marker, and the group's positions are the source's state. Restore
 * resets the group to those positions; a restart with no checkpoint resets it to the configured
 * start. Bounded when every stream has an end cut: the job then finishes on its own.
 *
 *     PravegaSource.forStream('shop/orders').json<Order>()
 *     PravegaSource.forStream('a/in', { start: cut }).forStream('b/in').utf8()
 */

export interface StreamSpec {
  readonly stream: StreamId;
  readonly start?: StreamCut;
  readonly end?: StreamCut;
}

export interface PravegaSourceSettings<T> {
  readonly streams: readonly StreamSpec[];
  readonly deserialize: (payload: Buffer) => T;
  /**
   * When set, used instead of `deserialize`: one event → 0..n values, with the event's place
   * (segment, offset, Java's event pointer bytes) — Flink's multi-record deserialization with
   * metadata.
   */
  readonly deserializeEvent?: ((payload: Buffer, event: SourceEvent) => readonly T[]) | undefined;
  readonly onDeserializationError: 'fail' | 'skip';
  readonly onTruncatedData: TruncatedDataPolicy;
  readonly timestamp: ((value: T) => number) | undefined;
  /** default: the scope of the first stream */
  readonly readerGroupScope: string | undefined;
  /** default: derived from the job name and the source uid */
  readonly readerGroupName: string | undefined;
  readonly maxOutstandingCheckpoints: number;
  /** a reader not heard from for this long is taken offline by the others */
  readonly readerTimeoutMs: number;
  readonly maxBatchEvents: number;
  /** batches read ahead of the task (small: a checkpoint marker waits behind them) */
  readonly maxQueuedBatches: number;
  /** events per second per reader at most (undefined: no limit) */
  readonly maxEventsPerSecond: number | undefined;
  /** Pravega connection; default: the job option `pravega` */
  readonly pravega: unknown;
}

type CutInput = StreamCut | string;

/** A cut object, or its text (Java's `StreamCut.asText()`; `UNBOUNDED` is `stream`'s). */
function toCut(
  cut: CutInput | undefined,
  stream: StreamId,
  what: 'start' | 'end',
): StreamCut | undefined {
  if (cut === undefined || typeof cut !== 'string') return cut;
  try {
    return parseStreamCut(cut, stream);
  } catch (err) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `forStream(${stream.scope}/${stream.stream}): the ${what} cut: ${errorMessage(err)}`,
      { cause: err },
    );
  }
}

export class PravegaSource<T> implements Source<T, PravegaReaderSplit, PravegaEnumeratorState> {
  readonly splitSerializer = pravegaReaderSplitSerializer;
  readonly enumeratorStateSerializer = pravegaEnumeratorStateSerializer;
  readonly externallyInducedCheckpoints = true;

  /** What this source's readers read, per stream (to count its lag in events). */
  private readonly stats = new ReadStats();

  private constructor(readonly settings: PravegaSourceSettings<T>) {}

  /** A source reading `stream` (`'scope/stream'`), optionally from `start` and up to `end`. */
  static forStream(
    stream: string | StreamId,
    cuts: { start?: CutInput; end?: CutInput } = {},
  ): PravegaSource<Buffer> {
    return new PravegaSource<Buffer>({
      streams: [],
      deserialize: (payload) => payload,
      onDeserializationError: 'fail',
      onTruncatedData: 'skip',
      timestamp: undefined,
      readerGroupScope: undefined,
      readerGroupName: undefined,
      maxOutstandingCheckpoints: 3,
      readerTimeoutMs: 30_000,
      maxBatchEvents: 2048,
      maxQueuedBatches: 2,
      maxEventsPerSecond: undefined,
      pravega: undefined,
    }).forStream(stream, cuts);
  }

  private with<U = T>(changes: Partial<PravegaSourceSettings<U>>): PravegaSource<U> {
    return new PravegaSource<U>({
      ...(this.settings as unknown as PravegaSourceSettings<U>),
      ...changes,
    });
  }

  /** Adds another stream (any scope) to read. */
  forStream(
    stream: string | StreamId,
    cuts: { start?: CutInput; end?: CutInput } = {},
  ): PravegaSource<T> {
    const id = parseStreamName(stream);
    validateName('scope', id.scope);
    validateName('stream', id.stream);
    const start = toCut(cuts.start, id, 'start');
    const end = toCut(cuts.end, id, 'end');
    for (const [what, cut] of [
      ['start', start],
      ['end', end],
    ] as const) {
      if (cut && (cut.stream.scope !== id.scope || cut.stream.stream !== id.stream)) {
        throw new TributaryError(
          'CONFIG_INVALID',
          `forStream(${id.scope}/${id.stream}): the ${what} cut belongs to ${cut.stream.scope}/${cut.stream.stream}`,
        );
      }
    }
    if (
      this.settings.streams.some(
        (s) => s.stream.scope === id.scope && s.stream.stream === id.stream,
      )
    ) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `forStream: ${id.scope}/${id.stream} is already read by this source`,
      );
    }
    const spec: StreamSpec = { stream: id, ...(start ? { start } : {}), ...(end ? { end } : {}) };
    return this.with({ streams: [...this.settings.streams, spec] });
  }

  /** Events as values of a serializer. */
  serializer<U>(serializer: Serializer<U>): PravegaSource<U> {
    return this.with<U>({
      deserialize: (p) => serializer.deserialize(p),
      deserializeEvent: undefined,
      timestamp: undefined,
    });
  }

  /** Events as JSON documents. */
  json<U>(): PravegaSource<U> {
    return this.serializer(jsonSerializer<U>());
  }

  /** Events as UTF-8 text. */
  utf8(): PravegaSource<string> {
    return this.serializer(utf8Serializer);
  }

  /** Events as raw bytes. */
  bytes(): PravegaSource<Buffer> {
    return this.serializer(bytesSerializer);
  }

  /** Events through a function of the payload. */
  deserializer<U>(fn: (payload: Buffer) => U): PravegaSource<U> {
    return this.with<U>({ deserialize: fn, deserializeEvent: undefined, timestamp: undefined });
  }

  /**
   * Each event through a function of its payload and place (segment, offset, `pointer()`: Java's
   * `EventPointer.toBytes()`), giving any number of values (none skips the event).
   */
  eventDeserializer<U>(
    fn: (payload: Buffer, event: SourceEvent) => readonly U[],
  ): PravegaSource<U> {
    return this.with<U>({
      deserialize: (payload) => {
        throw new TributaryError(
          'INTERNAL',
          `eventDeserializer: ${payload.length} bytes without their event`,
        );
      },
      deserializeEvent: fn,
      timestamp: undefined,
    });
  }

  /**
   * What a payload that cannot be deserialized does: `'fail'` (default) fails the job, naming the
   * event's segment and offset; `'skip'` drops it and counts it.
   */
  onDeserializationError(policy: 'fail' | 'skip'): PravegaSource<T> {
    if (policy !== 'fail' && policy !== 'skip') {
      throw new TributaryError(
        'CONFIG_INVALID',
        `onDeserializationError: expected 'fail' or 'skip', got ${String(policy)}`,
      );
    }
    return this.with({ onDeserializationError: policy });
  }

  /**
   * What data truncated away before it was read does (retention, or a truncation at a stream cut;
   * e.g. a reader lagging behind retention, or a restore from an old checkpoint): `'skip'`
   * (default, as the Flink connector) goes on at the segment's new start with a `warning` job event
   * and the `truncations` / `truncatedBytesSkipped` counters; `'fail'` fails the job, naming the
   * segment and the lost range.
   */
  onTruncatedData(policy: TruncatedDataPolicy): PravegaSource<T> {
    if (policy !== 'fail' && policy !== 'skip') {
      throw new TributaryError(
        'CONFIG_INVALID',
        `onTruncatedData: expected 'fail' or 'skip', got ${String(policy)}`,
      );
    }
    return this.with({ onTruncatedData: policy });
  }

  /** Event time of each value (ms), for watermarks and windows. */
  timestamps(fn: (value: T) => number): PravegaSource<T> {
    return this.with({ timestamp: fn });
  }

  readerGroup(options: {
    scope?: string;
    name?: string;
    maxOutstandingCheckpoints?: number;
    readerTimeoutMs?: number;
  }): PravegaSource<T> {
    if (options.scope !== undefined) validateName('scope', options.scope);
    if (options.name !== undefined) validateName('reader group', options.name);
    const max = options.maxOutstandingCheckpoints;
    if (max !== undefined && (!Number.isInteger(max) || max < 1 || max > 100)) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `readerGroup: maxOutstandingCheckpoints must be 1..100, got ${max}`,
      );
    }
    return this.with({
      ...(options.scope !== undefined ? { readerGroupScope: options.scope } : {}),
      ...(options.name !== undefined ? { readerGroupName: options.name } : {}),
      ...(max !== undefined ? { maxOutstandingCheckpoints: max } : {}),
      ...(options.readerTimeoutMs !== undefined
        ? { readerTimeoutMs: options.readerTimeoutMs }
        : {}),
    });
  }

  /** Reads at most `eventsPerSecond` per parallel reader (e.g. to protect a slow downstream). */
  rateLimit(eventsPerSecond: number): PravegaSource<T> {
    if (!(eventsPerSecond > 0) || !Number.isFinite(eventsPerSecond)) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `rateLimit: eventsPerSecond must be a positive number, got ${eventsPerSecond}`,
      );
    }
    return this.with({ maxEventsPerSecond: eventsPerSecond });
  }

  /**
   * Batch mode: a bounded source over the segment ranges between the start and end cuts (default:
   * the head, and the tail when the job starts), read in parallel by whichever reader is free —
   * throughput over order (no per-key order). Restartable split by split.
   */
  batch(): PravegaBatchSource<T> {
    return new PravegaBatchSource(this.settings);
  }

  /** Uses this Pravega connection instead of the job's `pravega` option. */
  withPravega(config: unknown): PravegaSource<T> {
    return this.with({ pravega: config });
  }

  get boundedness(): Boundedness {
    return this.settings.streams.every((s) => s.end !== undefined && s.end.positions.size > 0)
      ? 'bounded'
      : 'unbounded';
  }

  private groupOf(ctx: { jobName: string; sourceUid: string }): { scope: string; group: string } {
    const first = this.settings.streams[0];
    if (first === undefined)
      throw new TributaryError('CONFIG_INVALID', 'PravegaSource: no stream to read');
    return {
      scope: this.settings.readerGroupScope ?? first.stream.scope,
      group: this.settings.readerGroupName ?? readerGroupName(ctx.jobName, ctx.sourceUid),
    };
  }

  private readerGroupConfig(): ReaderGroupConfigInput {
    const s = this.settings;
    return {
      streams: s.streams.map((spec) => ({
        stream: spec.stream,
        ...(spec.start ? { start: spec.start } : {}),
        ...(spec.end ? { end: spec.end } : {}),
      })),
      maxOutstandingCheckpoints: s.maxOutstandingCheckpoints,
      // segments change readers only at checkpoints: between two checkpoints every event of a
      // key flows through one reader, one task and one sink transaction, so per-key order holds
      // through parallel sinks too
      handover: 'at-checkpoint',
      readerTimeoutMs: s.readerTimeoutMs,
      heartbeatIntervalMs: Math.max(10, Math.min(1_000, Math.floor(s.readerTimeoutMs / 5))),
    };
  }

  /** Before the job starts: every scope and stream to read exists. */
  preflight(ctx: PreflightContext): Promise<PreflightResult> {
    return pravegaPreflight(
      ctx,
      `Pravega source ${ctx.uid}`,
      this.settings.pravega,
      this.settings.streams.map((s) => s.stream),
    );
  }

  /** `scope/stream: segment@offset …` of the reader-group checkpoint in the state. */
  describeState(state: PravegaEnumeratorState): string {
    return describeCheckpoint(state.checkpoint);
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, PravegaReaderSplit> {
    const s = this.settings;
    return new PravegaSourceReader<T>(ctx, {
      deserialize: s.deserialize,
      deserializeEvent: s.deserializeEvent,
      onDeserializationError: s.onDeserializationError,
      onTruncatedData: s.onTruncatedData,
      timestamp: s.timestamp,
      maxBatchEvents: s.maxBatchEvents,
      maxQueuedBatches: s.maxQueuedBatches,
      maxEventsPerSecond: s.maxEventsPerSecond,
      pravega: s.pravega,
      stats: this.stats,
    });
  }

  createEnumerator(
    ctx: SplitEnumeratorContext<PravegaReaderSplit>,
  ): SplitEnumerator<PravegaReaderSplit, PravegaEnumeratorState> {
    return new PravegaSplitEnumerator(
      ctx,
      {
        ...this.groupOf(ctx),
        config: this.readerGroupConfig(),
        pravega: this.settings.pravega,
        stats: this.stats,
      },
      undefined,
    );
  }

  restoreEnumerator(
    ctx: SplitEnumeratorContext<PravegaReaderSplit>,
    state: PravegaEnumeratorState,
  ): SplitEnumerator<PravegaReaderSplit, PravegaEnumeratorState> {
    return new PravegaSplitEnumerator(
      ctx,
      {
        ...this.groupOf(ctx),
        config: this.readerGroupConfig(),
        pravega: this.settings.pravega,
        stats: this.stats,
      },
      state,
    );
  }
}

/** One line of positions: `scope/stream 0@1234 1@0` (segment number@offset), or `start`. */
export function describeCheckpoint(text: string | null): string {
  if (text === null) return 'the configured start (no reader-group checkpoint yet)';
  const checkpoint = Checkpoint.parse(text);
  return [...checkpoint.positions]
    .map(
      ([stream, segments]) =>
        `${stream} ${[...segments].map(([segment, offset]) => `${segment}@${offset}`).join(' ')}`,
    )
    .join(', ');
}
