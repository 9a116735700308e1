import type {
  PollResult,
  Source,
  SourceReader,
  SourceReaderContext,
  SourceSplit,
} from '../../src/source/source.js';

/**
 * Pauses a source at a point of progress until a condition holds, so that a test which needs
 * "the failure comes after two checkpoints" does not depend on how fast the machine is: the
 * records after the gate are simply not read until the checkpoints are there.
 */
export interface Gate {
  /**
   * Records read (by all readers of the source together, over all attempts) before the gate; below
   * the number of records the source has, or it never ends.
   */
  readonly afterRecords: number;
  /** What the records after the gate wait for, e.g. `() => checkpoints() >= 2`. */
  readonly until: () => boolean;
  /** A name for the error when the gate never opens. */
  readonly name?: string;
}

/** How long a gate may stay shut before the job is failed with a message that says which. */
const GATE_DEADLINE_MS = 120_000;
const POLL_MS = 10;

/**
 * Wraps `source` so that its readers stop polling once `afterRecords` records were read, until
 * `until()` holds (gates in order). A paused reader is simply not polled: nothing is taken from
 * the inner reader, so its checkpointed position stays exact. Only for sources whose barriers the
 * runtime injects; an externally induced source (the streaming Pravega source) needs polls to
 * pass its checkpoint markers, so pausing it would also pause its checkpoints.
 */
export function gatedSource<T, Split extends SourceSplit, EnumState>(
  source: Source<T, Split, EnumState>,
  gates: readonly Gate[],
): Source<T, Split, EnumState> {
  if (source.externallyInducedCheckpoints === true) {
    throw new Error('gatedSource: an externally induced source cannot be paused (see its doc)');
  }
  const pending = [...gates].sort((a, b) => a.afterRecords - b.afterRecords);
  let read = 0;
  let shutSince: number | undefined;
  /** The gate that holds the readers now, if any. */
  const shut = (): Gate | undefined => {
    while (pending[0] !== undefined && read >= pending[0].afterRecords && pending[0].until()) {
      pending.shift();
      shutSince = undefined;
    }
    const gate = pending[0];
    if (gate === undefined || read < gate.afterRecords) return undefined;
    shutSince ??= Date.now();
    if (Date.now() - shutSince > GATE_DEADLINE_MS) {
      throw new Error(
        `gate ${gate.name ?? `after ${gate.afterRecords} records`} did not open within ${GATE_DEADLINE_MS} ms`,
      );
    }
    return gate;
  };
  return {
    boundedness: source.boundedness,
    splitSerializer: source.splitSerializer,
    enumeratorStateSerializer: source.enumeratorStateSerializer,
    createEnumerator: (ctx) => source.createEnumerator(ctx),
    restoreEnumerator: (ctx, state) => source.restoreEnumerator(ctx, state),
    ...(source.describeState === undefined
      ? {}
      : { describeState: (state, splits) => source.describeState?.(state, splits) ?? '' }),
    ...(source.preflight === undefined ? {} : { preflight: (ctx) => source.preflight!(ctx) }),
    createReader(ctx: SourceReaderContext): SourceReader<T, Split> {
      const inner = source.createReader(ctx);
      let closed = false;
      let opening: Promise<void> | undefined;
      const whenOpen = (): Promise<void> =>
        (opening ??= (async () => {
          while (!closed && shut() !== undefined) {
            await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          }
        })().finally(() => (opening = undefined)));
      return {
        start: () => inner.start(),
        pollNext(): PollResult<T> {
          if (shut() !== undefined) return 'nothing-available';
          const result = inner.pollNext();
          if (typeof result === 'object') read += result.records.length;
          return result;
        },
        async isAvailable(): Promise<void> {
          await whenOpen();
          if (!closed) await inner.isAvailable();
        },
        snapshotState: (id) => inner.snapshotState(id),
        addSplits: (splits) => inner.addSplits(splits),
        notifyNoMoreSplits: () => inner.notifyNoMoreSplits(),
        notifyCheckpointComplete: (id) => inner.notifyCheckpointComplete?.(id),
        notifyCheckpointAborted: (id) => inner.notifyCheckpointAborted?.(id),
        close: (reason) => {
          closed = true;
          return inner.close(reason);
        },
      };
    },
  };
}
