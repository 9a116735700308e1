import type {
  ExternallyInducedSourceReader,
  PollResult,
  Source,
  SourceReaderContext,
  SourceSplit,
  SplitEnumerator,
  SplitEnumeratorContext,
  StateSerializer,
} from '../../../src/source/source.js';
import type { CloseReason } from '../../../src/source/source.js';

/**
 * A test source shaped like the Pravega source: a "group" shared by enumerator and readers
 * places checkpoint markers into every reader's input; readers report them through
 * shouldTriggerCheckpoint(); the enumerator's part of N resolves (late) only after every
 * unfinished reader passed marker N, and holds all reader positions. Readers keep no state.
 */
export interface InducedSplit extends SourceSplit {
  readonly next: number;
  readonly step: number;
  readonly end: number;
}

export interface InducedState {
  readonly positions: Record<string, number>;
}

class MarkerGroup {
  requested: number[] = [];
  readonly passed = new Map<number, Map<number, number>>();
  readonly finished = new Map<number, number>();
  private waiters: (() => void)[] = [];

  pass(id: number, subtask: number, position: number): void {
    let m = this.passed.get(id);
    if (m === undefined) this.passed.set(id, (m = new Map<number, number>()));
    m.set(subtask, position);
    this.notify();
  }

  finish(subtask: number, position: number): void {
    this.finished.set(subtask, position);
    this.notify();
  }

  async waitAll(id: number, readers: number): Promise<Map<number, number>> {
    for (;;) {
      const passed = this.passed.get(id) ?? new Map<number, number>();
      const all = new Map<number, number>([...this.finished.entries(), ...passed.entries()]);
      if (all.size >= readers) return all;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

export interface InducedSourceOptions {
  readonly total: number;
  /** Delay after every reader passed the marker before the enumerator's part resolves. */
  readonly lateMs?: (checkpointId: number) => number;
  /** Declines (returns undefined) for these checkpoints, e.g. "too many outstanding". */
  readonly decline?: (checkpointId: number) => boolean;
  readonly ratePerSecond?: number;
  /**
   * Once `afterRecords` records were emitted (by all readers, over all attempts), emit no more
   * until `until()` holds; markers are still passed, so checkpoints go on. Makes "the input is not
   * over before N checkpoints" true by construction rather than by timing.
   */
  readonly hold?: { readonly afterRecords: number; readonly until: () => boolean };
}

export class InducedSource implements Source<number, InducedSplit, InducedState> {
  readonly boundedness = 'bounded' as const;
  readonly externallyInducedCheckpoints = true;
  readonly splitSerializer: StateSerializer<InducedSplit> = {
    toState: (s) => ({ ...s }),
    fromState: (s) => s as unknown as InducedSplit,
  };
  readonly enumeratorStateSerializer: StateSerializer<InducedState> = {
    toState: (s) => ({ positions: { ...s.positions } }),
    fromState: (s) => s as unknown as InducedState,
  };
  group = new MarkerGroup();
  readonly lifecycle: string[] = [];
  /** records emitted by all readers, over all attempts */
  emitted = 0;
  private released = false;

  /** Whether the `hold` option keeps records back now. */
  holding(): boolean {
    const hold = this.options.hold;
    if (hold === undefined || this.released || this.emitted < hold.afterRecords) return false;
    this.released = hold.until();
    return !this.released;
  }

  constructor(readonly options: InducedSourceOptions) {}

  createReader(ctx: SourceReaderContext): InducedReader {
    return new InducedReader(ctx, this);
  }

  createEnumerator(
    ctx: SplitEnumeratorContext<InducedSplit>,
  ): SplitEnumerator<InducedSplit, InducedState> {
    return new InducedEnumerator(ctx, this, undefined);
  }

  restoreEnumerator(
    ctx: SplitEnumeratorContext<InducedSplit>,
    state: InducedState,
  ): SplitEnumerator<InducedSplit, InducedState> {
    return new InducedEnumerator(ctx, this, state);
  }
}

class InducedEnumerator implements SplitEnumerator<InducedSplit, InducedState> {
  constructor(
    private readonly ctx: SplitEnumeratorContext<InducedSplit>,
    private readonly source: InducedSource,
    private readonly restored: InducedState | undefined,
  ) {}

  start(): void {
    // like resetting a reader group: to the checkpoint, or to the configured start
    this.source.group = new MarkerGroup();
    this.source.lifecycle.push(`start:${this.ctx.start.kind}:${this.ctx.attempt}`);
  }

  addReader(subtask: number): void {
    const p = this.ctx.parallelism;
    const next = this.restored?.positions[String(subtask)] ?? subtask;
    this.ctx.assignSplits(subtask, [
      { splitId: `r${subtask}`, next, step: p, end: this.source.options.total },
    ]);
    this.ctx.signalNoMoreSplits(subtask);
  }

  handleSplitRequest(): void {}

  addSplitsBack(): void {
    throw new Error('global failover only');
  }

  async snapshotState(checkpointId: number): Promise<InducedState | undefined> {
    if (this.source.options.decline?.(checkpointId) === true) return undefined;
    const group = this.source.group;
    group.requested.push(checkpointId);
    const positions = await group.waitAll(checkpointId, this.ctx.parallelism);
    const late = this.source.options.lateMs?.(checkpointId) ?? 0;
    if (late > 0) await new Promise((resolve) => setTimeout(resolve, late));
    return { positions: Object.fromEntries([...positions].map(([k, v]) => [String(k), v])) };
  }

  close(reason: CloseReason): void {
    this.source.lifecycle.push(`close:${reason}`);
  }
}

class InducedReader implements ExternallyInducedSourceReader<number, InducedSplit> {
  private split: { next: number; step: number; end: number } | undefined;
  private noMore = false;
  private lastMarker = 0;
  private seenMarker = 0;
  private due: number | undefined;
  private waiter: (() => void) | undefined;
  private readonly startedAt = Date.now();
  private emitted = 0;

  constructor(
    private readonly ctx: SourceReaderContext,
    private readonly source: InducedSource,
  ) {}

  start(): void {}

  addSplits(splits: readonly InducedSplit[]): void {
    const s = splits[0];
    if (s !== undefined) this.split = { next: s.next, step: s.step, end: s.end };
    this.waiter?.();
  }

  notifyNoMoreSplits(): void {
    this.noMore = true;
    this.waiter?.();
  }

  pollNext(): PollResult<number> {
    const split = this.split;
    if (split === undefined) return this.noMore ? 'end-of-input' : 'nothing-available';
    const marker = this.source.group.requested.find((id) => id > this.lastMarker);
    // like a marker in a segment: it sits behind the data already in flight (one more batch)
    if (marker !== undefined && marker !== this.seenMarker && split.next < split.end) {
      this.seenMarker = marker;
    } else if (marker !== undefined && split.next < split.end) {
      this.lastMarker = marker;
      this.due = marker;
      this.source.group.pass(marker, this.ctx.subtask, split.next);
      return 'nothing-available';
    }
    if (split.next >= split.end) {
      this.source.group.finish(this.ctx.subtask, split.next);
      return 'end-of-input';
    }
    if (this.source.holding()) return 'nothing-available';
    let budget = 50;
    const rate = this.source.options.ratePerSecond;
    if (rate !== undefined) {
      budget = Math.min(
        budget,
        Math.floor(((Date.now() - this.startedAt) * rate) / 1000) - this.emitted,
      );
      if (budget <= 0) return 'nothing-available';
    }
    const records: number[] = [];
    while (records.length < budget && split.next < split.end) {
      records.push(split.next);
      split.next += split.step;
    }
    this.emitted += records.length;
    this.source.emitted += records.length;
    return { records };
  }

  shouldTriggerCheckpoint(): number | undefined {
    const due = this.due;
    this.due = undefined;
    return due;
  }

  isAvailable(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.waiter = resolve;
      setTimeout(resolve, 2);
    });
  }

  snapshotState(): readonly InducedSplit[] {
    return [];
  }

  close(): void {}
}
