import { TributaryError } from '../../errors.js';
import type { StateValue } from '../../checkpoint/state-codec.js';
import type { StateSerializer } from '../source.js';

/**
 * A split of the streaming Pravega source is a reader slot, not a data range: one per parallel
 * reader, named after the reader group and the subtask. Positions live in the reader group (and,
 * at checkpoints, in the enumerator's state), never in the split.
 */
export interface PravegaReaderSplit {
  readonly splitId: string;
  readonly readerGroupScope: string;
  readonly readerGroup: string;
  readonly readerId: string;
}

export const pravegaReaderSplitSerializer: StateSerializer<PravegaReaderSplit> = {
  toState: (split) => ({ ...split }),
  fromState: (state: StateValue) => {
    const s = state as Partial<PravegaReaderSplit> | null;
    if (
      typeof s !== 'object' ||
      s === null ||
      typeof s.splitId !== 'string' ||
      typeof s.readerGroupScope !== 'string' ||
      typeof s.readerGroup !== 'string' ||
      typeof s.readerId !== 'string'
    ) {
      throw new TributaryError(
        'STATE_CORRUPT',
        `not a Pravega reader split: ${JSON.stringify(state)}`,
      );
    }
    return {
      splitId: s.splitId,
      readerGroupScope: s.readerGroupScope,
      readerGroup: s.readerGroup,
      readerId: s.readerId,
    };
  },
};

/** The enumerator's state: the reader-group checkpoint of the job checkpoint (text form). */
export interface PravegaEnumeratorState {
  readonly checkpoint: string | null;
}

export const pravegaEnumeratorStateSerializer: StateSerializer<PravegaEnumeratorState> = {
  toState: (state) => ({ checkpoint: state.checkpoint }),
  fromState: (state: StateValue) => {
    const s = state as { checkpoint?: unknown } | null;
    if (
      typeof s !== 'object' ||
      s === null ||
      (typeof s.checkpoint !== 'string' && s.checkpoint !== null)
    ) {
      throw new TributaryError(
        'STATE_CORRUPT',
        `not Pravega source enumerator state: ${JSON.stringify(state)}`,
      );
    }
    return { checkpoint: s.checkpoint };
  },
};
