import type { PollResult, SourceReader, SourceReaderContext } from '../source.js';
import type { SequenceSplit } from './sequence-split.js';

export interface SequenceReaderOptions {
  readonly batchSize: number;
  /** Per reader; undefined = as fast as downstream takes them. */
  readonly ratePerSecond: number | undefined;
}

/** Emits its splits' numbers in batches; asks for a new split when it has none. */
export class SequenceReader implements SourceReader<number, SequenceSplit> {
  private readonly splits: { splitId: string; next: number; step: number; end: number | null }[] =
    [];
  private noMoreSplits = false;
  private requested = false;
  private waiter: (() => void) | undefined;
  private readonly startedAt = Date.now();
  private emitted = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: SourceReaderContext,
    private readonly options: SequenceReaderOptions,
  ) {}

  start(): void {
    this.requestIfIdle();
  }

  addSplits(splits: readonly SequenceSplit[]): void {
    for (const split of splits) this.splits.push({ ...split });
    this.requested = false;
    this.wake();
  }

  notifyNoMoreSplits(): void {
    this.noMoreSplits = true;
    this.wake();
  }

  pollNext(): PollResult<number> {
    const split = this.splits[0];
    if (split === undefined) {
      if (this.noMoreSplits) return 'end-of-input';
      this.requestIfIdle();
      return 'nothing-available';
    }
    let budget = this.options.batchSize;
    const rate = this.options.ratePerSecond;
    if (rate !== undefined) {
      const allowed = Math.floor(((Date.now() - this.startedAt) * rate) / 1000) - this.emitted;
      budget = Math.min(budget, allowed);
      if (budget <= 0) return 'nothing-available';
    }
    const records: number[] = [];
    let next = split.next;
    const { step, end } = split;
    while (records.length < budget && (end === null || next < end)) {
      records.push(next);
      next += step;
    }
    split.next = next;
    this.emitted += records.length;
    if (end !== null && next >= end) {
      this.splits.shift();
      if (this.splits.length === 0) this.requestIfIdle();
    }
    return { records };
  }

  isAvailable(): Promise<void> {
    if (this.splits.length === 0 && !this.noMoreSplits) {
      return new Promise<void>((resolve) => (this.waiter = resolve));
    }
    const rate = this.options.ratePerSecond;
    if (rate !== undefined && this.splits.length > 0) {
      const due = this.startedAt + ((this.emitted + 1) * 1000) / rate - Date.now();
      if (due > 0) {
        return new Promise<void>((resolve) => {
          this.waiter = resolve;
          this.timer = setTimeout(() => this.wake(), Math.ceil(due));
        });
      }
    }
    return Promise.resolve();
  }

  snapshotState(): readonly SequenceSplit[] {
    return this.splits.map((s) => ({ splitId: s.splitId, next: s.next, step: s.step, end: s.end }));
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.wake();
  }

  private requestIfIdle(): void {
    if (this.requested || this.noMoreSplits || this.splits.length > 0) return;
    this.requested = true;
    this.ctx.sendSplitRequest();
  }

  private wake(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
