import { z } from 'zod';
import { parseConfig } from '../../config.js';
import type {
  Boundedness,
  Source,
  SourceReader,
  SourceReaderContext,
  SplitEnumerator,
  SplitEnumeratorContext,
} from '../source.js';
import { SequenceEnumerator } from './sequence-enumerator.js';
import { SequenceReader } from './sequence-reader.js';
import {
  sequenceEnumeratorStateSerializer,
  sequenceSplitSerializer,
  type SequenceEnumeratorState,
  type SequenceSplit,
} from './sequence-split.js';

const optionsSchema = z
  .object({
    /** Number of splits; defaults to the source parallelism. */
    splits: z.number().int().positive().max(1_000_000).optional(),
    /** Records per poll. */
    batchSize: z.number().int().positive().max(1_000_000).default(1024),
    /** Throttle per reader (records per second). */
    ratePerSecond: z.number().positive().optional(),
  })
  .strict();

export type SequenceSourceOptions = z.input<typeof optionsSchema>;

const boundsSchema = z
  .object({
    from: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    to: z.number().int().max(Number.MAX_SAFE_INTEGER).nullable(),
  })
  .refine((b) => b.to === null || b.to >= b.from, { message: 'must be ≥ from', path: ['to'] });

/**
 * Integers `from, from + 1, …` (bounded: below `to`), split into strided splits (split i of n
 * holds from + i, from + i + n, …) handed to readers on request. Exactly-once replay: a split's
 * position is checkpointed with the reader, unassigned splits with the enumerator.
 */
export class SequenceSource implements Source<number, SequenceSplit, SequenceEnumeratorState> {
  readonly splitSerializer = sequenceSplitSerializer;
  readonly enumeratorStateSerializer = sequenceEnumeratorStateSerializer;
  private readonly options: z.output<typeof optionsSchema>;

  /** `next 1234 (step 2)` per split, and the splits not yet handed out. */
  describeState(state: SequenceEnumeratorState, splits: readonly SequenceSplit[]): string {
    const read = splits.map((s) => `${s.splitId} at ${s.next}`);
    const unassigned = state.unassigned.length;
    return [...read, ...(unassigned > 0 ? [`${unassigned} split(s) not started`] : [])].join(', ');
  }

  private constructor(
    private readonly from: number,
    private readonly to: number | null,
    options: SequenceSourceOptions,
  ) {
    parseConfig(boundsSchema, { from, to }, 'sequence source bounds');
    this.options = parseConfig(optionsSchema, options, 'sequence source options');
  }

  /** `from` (inclusive) to `to` (exclusive). */
  static bounded(from: number, to: number, options: SequenceSourceOptions = {}): SequenceSource {
    return new SequenceSource(from, to, options);
  }

  /** `from` onwards, forever. */
  static unbounded(from = 0, options: SequenceSourceOptions = {}): SequenceSource {
    return new SequenceSource(from, null, options);
  }

  get boundedness(): Boundedness {
    return this.to === null ? 'unbounded' : 'bounded';
  }

  createReader(ctx: SourceReaderContext): SourceReader<number, SequenceSplit> {
    return new SequenceReader(ctx, {
      batchSize: this.options.batchSize,
      ratePerSecond: this.options.ratePerSecond,
    });
  }

  createEnumerator(
    ctx: SplitEnumeratorContext<SequenceSplit>,
  ): SplitEnumerator<SequenceSplit, SequenceEnumeratorState> {
    const n = this.options.splits ?? ctx.parallelism;
    const splits: SequenceSplit[] = [];
    for (let i = 0; i < n; i++) {
      splits.push({ splitId: `seq-${i}-of-${n}`, next: this.from + i, step: n, end: this.to });
    }
    return new SequenceEnumerator(ctx, splits);
  }

  restoreEnumerator(
    ctx: SplitEnumeratorContext<SequenceSplit>,
    state: SequenceEnumeratorState,
  ): SplitEnumerator<SequenceSplit, SequenceEnumeratorState> {
    return new SequenceEnumerator(ctx, state.unassigned);
  }
}
