import { TributaryError, errorMessage } from '../../errors.js';
import type {
  CloseReason,
  PollResult,
  SourceReader,
  SourceReaderContext,
  SourceSplit,
  SplitEnumerator,
  SplitEnumeratorContext,
  StateSerializer,
} from '../source.js';

/** The one split of an interop source: how many records were consumed so far. */
export interface ConsumedSplit extends SourceSplit {
  readonly consumed: number;
}

export interface SingleSplitEnumeratorState {
  readonly assigned: boolean;
}

export const consumedSplitSerializer: StateSerializer<ConsumedSplit> = {
  toState: (split) => ({ splitId: split.splitId, consumed: split.consumed }),
  fromState: (state) => {
    const s = state as { splitId?: unknown; consumed?: unknown };
    if (typeof s.splitId !== 'string' || typeof s.consumed !== 'number') {
      throw new TributaryError(
        'STATE_CORRUPT',
        `bad interop split state: ${JSON.stringify(state)}`,
      );
    }
    return { splitId: s.splitId, consumed: s.consumed };
  },
};

export const singleSplitStateSerializer: StateSerializer<SingleSplitEnumeratorState> = {
  toState: (s) => ({ assigned: s.assigned }),
  fromState: (state) => ({ assigned: (state as { assigned?: unknown }).assigned === true }),
};

/** Hands the single split to reader 0 once, then tells every reader there is nothing more. */
export class SingleSplitEnumerator implements SplitEnumerator<
  ConsumedSplit,
  SingleSplitEnumeratorState
> {
  constructor(
    private readonly ctx: SplitEnumeratorContext<ConsumedSplit>,
    private assigned: boolean,
  ) {}

  start(): void {}

  addReader(subtask: number): void {
    if (subtask === 0 && !this.assigned) {
      this.assigned = true;
      this.ctx.assignSplits(0, [{ splitId: 'single', consumed: 0 }]);
    }
    this.ctx.signalNoMoreSplits(subtask);
  }

  handleSplitRequest(): void {}

  addSplitsBack(): void {
    this.assigned = false;
    if (this.ctx.registeredReaders().has(0)) this.addReader(0);
  }

  snapshotState(): SingleSplitEnumeratorState {
    return { assigned: this.assigned };
  }

  close(): void {}
}

/**
 * A reader that buffers values produced by some push or pull mechanism (`begin`) and hands
 * them out in batches. Counts consumed records as its split position.
 */
export abstract class BufferedSplitReader<T> implements SourceReader<T, ConsumedSplit> {
  protected buffer: T[] = [];
  private split: ConsumedSplit | undefined;
  private consumed = 0;
  private noMoreSplits = false;
  private done = false;
  private failure: unknown;
  private waiter: (() => void) | undefined;

  constructor(protected readonly ctx: SourceReaderContext) {}

  /** Start producing, skipping the first `skip` values. */
  protected abstract begin(skip: number): void;
  /** Called after values were taken from the buffer (a pull producer may resume). */
  protected onDrained(): void {}
  protected abstract stop(): void;

  start(): void {}

  addSplits(splits: readonly ConsumedSplit[]): void {
    for (const split of splits) {
      if (this.split !== undefined)
        throw new TributaryError('ILLEGAL_STATE', 'interop source got a second split');
      this.split = split;
      this.consumed = split.consumed;
      this.begin(split.consumed);
    }
  }

  notifyNoMoreSplits(): void {
    this.noMoreSplits = true;
    this.signal();
  }

  pollNext(): PollResult<T> {
    if (this.failure !== undefined)
      throw this.failure instanceof Error ? this.failure : new Error(errorMessage(this.failure));
    if (this.buffer.length > 0) {
      const records = this.buffer;
      this.buffer = [];
      this.consumed += records.length;
      this.onDrained();
      return { records };
    }
    if (this.noMoreSplits && (this.split === undefined || this.done)) return 'end-of-input';
    return 'nothing-available';
  }

  isAvailable(): Promise<void> {
    if (
      this.buffer.length > 0 ||
      this.failure !== undefined ||
      (this.noMoreSplits && (this.split === undefined || this.done))
    ) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => (this.waiter = resolve));
  }

  snapshotState(): readonly ConsumedSplit[] {
    if (this.split === undefined || (this.done && this.buffer.length === 0)) return [];
    return [{ splitId: this.split.splitId, consumed: this.consumed }];
  }

  close(_reason: CloseReason): void {
    this.stop();
    this.signal();
  }

  protected push(value: T): void {
    this.buffer.push(value);
    this.signal();
  }

  protected end(): void {
    this.done = true;
    this.signal();
  }

  protected fail(error: unknown): void {
    this.failure ??= error;
    this.signal();
  }

  private signal(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
