import { TributaryError } from '../../errors.js';
import type { StateValue } from '../../checkpoint/state-codec.js';
import type { StateSerializer } from '../source.js';

/** A split of the batch source: one segment range [startOffset, endOffset) of one stream. */
export interface SegmentRangeSplit {
  readonly splitId: string;
  readonly scope: string;
  readonly stream: string;
  readonly segmentId: bigint;
  /** where reading (re)starts: the range's start, or where a reader got to */
  readonly startOffset: bigint;
  readonly endOffset: bigint;
}

export const segmentRangeSplitSerializer: StateSerializer<SegmentRangeSplit> = {
  toState: (split) => ({ ...split }),
  fromState: (state: StateValue) => {
    const s = state as Partial<SegmentRangeSplit> | null;
    if (
      typeof s !== 'object' ||
      s === null ||
      typeof s.splitId !== 'string' ||
      typeof s.scope !== 'string' ||
      typeof s.stream !== 'string' ||
      typeof s.segmentId !== 'bigint' ||
      typeof s.startOffset !== 'bigint' ||
      typeof s.endOffset !== 'bigint'
    ) {
      throw new TributaryError(
        'STATE_CORRUPT',
        `not a Pravega segment-range split: ${typeof state}`,
      );
    }
    return {
      splitId: s.splitId,
      scope: s.scope,
      stream: s.stream,
      segmentId: s.segmentId,
      startOffset: s.startOffset,
      endOffset: s.endOffset,
    };
  },
};

/** The batch enumerator's state: ranges not handed to a reader yet (null before listing). */
export interface BatchEnumeratorState {
  readonly pending: readonly SegmentRangeSplit[] | null;
}

export const batchEnumeratorStateSerializer: StateSerializer<BatchEnumeratorState> = {
  toState: (state) => ({
    pending:
      state.pending === null
        ? null
        : state.pending.map((s) => segmentRangeSplitSerializer.toState(s)),
  }),
  fromState: (state: StateValue) => {
    const s = state as { pending?: unknown } | null;
    if (typeof s !== 'object' || s === null || (s.pending !== null && !Array.isArray(s.pending))) {
      throw new TributaryError('STATE_CORRUPT', 'not Pravega batch enumerator state');
    }
    return {
      pending:
        s.pending === null
          ? null
          : (s.pending as StateValue[]).map((p) => segmentRangeSplitSerializer.fromState(p)),
    };
  },
};
