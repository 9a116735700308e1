import { TributaryError } from '../../errors.js';
import type { SourceSplit, StateSerializer } from '../source.js';

/**
 * A strided run of integers: `next, next + step, …` below `end` (exclusive; null = forever).
 * The split is both the unit of assignment and, through `next`, its own progress.
 */
export interface SequenceSplit extends SourceSplit {
  readonly next: number;
  readonly step: number;
  readonly end: number | null;
}

export interface SequenceEnumeratorState {
  /** Splits not yet handed to any reader. */
  readonly unassigned: readonly SequenceSplit[];
}

function parseSplit(state: unknown): SequenceSplit {
  const s = state as Partial<Record<keyof SequenceSplit, unknown>>;
  if (
    typeof s.splitId !== 'string' ||
    typeof s.next !== 'number' ||
    typeof s.step !== 'number' ||
    !(s.end === null || typeof s.end === 'number')
  ) {
    throw new TributaryError('STATE_CORRUPT', `bad sequence split state: ${JSON.stringify(state)}`);
  }
  return { splitId: s.splitId, next: s.next, step: s.step, end: s.end };
}

export const sequenceSplitSerializer: StateSerializer<SequenceSplit> = {
  toState: (split) => ({
    splitId: split.splitId,
    next: split.next,
    step: split.step,
    end: split.end,
  }),
  fromState: parseSplit,
};

export const sequenceEnumeratorStateSerializer: StateSerializer<SequenceEnumeratorState> = {
  toState: (state) => ({
    unassigned: state.unassigned.map((s) => sequenceSplitSerializer.toState(s)),
  }),
  fromState: (state) => {
    const unassigned = (state as { unassigned?: unknown }).unassigned;
    if (!Array.isArray(unassigned)) {
      throw new TributaryError(
        'STATE_CORRUPT',
        `bad sequence enumerator state: ${JSON.stringify(state)}`,
      );
    }
    return { unassigned: unassigned.map(parseSplit) };
  },
};
