import type { CheckpointHook } from '../checkpoint/checkpoint-coordinator.js';
import { decodeState, encodeState, type EncodedState } from '../checkpoint/state-codec.js';
import { TributaryError } from '../errors.js';
import type {
  AnySource,
  CheckpointSettings,
  ConnectorSettings,
  CloseReason,
  EnumeratorStart,
  SourceSplit,
  SplitEnumerator,
  SplitEnumeratorContext,
} from '../source/source.js';
import type { SourceLag } from './job-events.js';
import type { SourceTask, SourceTaskCoordinator } from './source-task.js';

export interface SourceCoordinatorSetup {
  readonly uid: string;
  readonly name: string;
  readonly source: AnySource<unknown>;
  readonly parallelism: number;
  readonly jobName: string;
  readonly attempt: number;
  readonly checkpointing: CheckpointSettings;
  readonly connectors: ConnectorSettings;
  readonly restored: { readonly checkpointId: number; readonly state: EncodedState } | undefined;
  readonly failJob: (error: unknown) => void;
}

/**
 * Runs a source's enumerator for one execution attempt and connects it to the source tasks.
 * As a checkpoint hook it provides the enumerator's part of N: for ordinary sources it closes
 * the assignment valve, takes the enumerator snapshot, injects barrier N into every source task
 * and reopens the valve (assignments made meanwhile reach readers after their barrier); for
 * externally induced sources it only tells the tasks (finished readers place the barrier
 * themselves) and waits for the enumerator, whose promise may resolve late.
 */
export class SourceCoordinator implements SourceTaskCoordinator, CheckpointHook {
  private enumerator: SplitEnumerator<SourceSplit, unknown> | undefined;
  private tasks: readonly SourceTask[] = [];
  private readonly registered = new Set<number>();
  private readonly finished = new Set<number>();
  private valveClosed = 0;
  private held: (() => void)[] = [];
  private readonly abort = new AbortController();

  constructor(private readonly setup: SourceCoordinatorSetup) {}

  get uid(): string {
    return this.setup.uid;
  }

  get externallyInduced(): boolean {
    return this.setup.source.externallyInducedCheckpoints === true;
  }

  /** The enumerator's lag report ([] when it has none or is not started). */
  async lag(): Promise<SourceLag[]> {
    const enumerator = this.enumerator;
    if (enumerator?.lag === undefined) return [];
    const lags = await enumerator.lag();
    return lags.map((l) => ({
      source: this.setup.uid,
      sourceName: this.setup.name,
      stream: l.stream,
      bytes: l.bytes,
      events: l.events,
    }));
  }

  attachTasks(tasks: readonly SourceTask[]): void {
    this.tasks = tasks;
  }

  /** Creates (fresh or restored) and starts the enumerator. */
  async start(): Promise<void> {
    const s = this.setup;
    const start: EnumeratorStart =
      s.restored === undefined
        ? { kind: 'fresh' }
        : { kind: 'restored', checkpointId: s.restored.checkpointId };
    const ctx: SplitEnumeratorContext<SourceSplit> = {
      jobName: s.jobName,
      sourceUid: s.uid,
      attempt: s.attempt,
      checkpointing: s.checkpointing,
      connectors: s.connectors,
      parallelism: s.parallelism,
      start,
      registeredReaders: () => this.registered,
      finishedReaders: () => this.finished,
      assignSplits: (subtask, splits) => this.deliver(subtask, (task) => task.assignSplits(splits)),
      signalNoMoreSplits: (subtask) => this.deliver(subtask, (task) => task.signalNoMoreSplits()),
      failJob: (error) => s.failJob(error),
      signal: this.abort.signal,
    };
    this.enumerator =
      s.restored === undefined
        ? s.source.createEnumerator(ctx)
        : s.source.restoreEnumerator(
            ctx,
            s.source.enumeratorStateSerializer.fromState(decodeState(s.restored.state)),
          );
    await this.enumerator.start();
  }

  registerReader(subtask: number): void {
    this.registered.add(subtask);
    this.call((e) => e.addReader(subtask));
  }

  requestSplit(subtask: number): void {
    this.call((e) => e.handleSplitRequest(subtask));
  }

  readerFinished(subtask: number): void {
    this.finished.add(subtask);
  }

  returnSplits(splits: readonly SourceSplit[], subtask: number): void {
    this.call((e) => e.addSplitsBack(splits, subtask));
  }

  async triggerCheckpoint(checkpointId: number): Promise<EncodedState> {
    const enumerator = this.requireEnumerator();
    if (this.externallyInduced) {
      for (const task of this.tasks) task.triggerCheckpoint(checkpointId);
      return this.encode(checkpointId, await enumerator.snapshotState(checkpointId));
    }
    this.valveClosed++;
    try {
      const state = this.encode(checkpointId, await enumerator.snapshotState(checkpointId));
      for (const task of this.tasks) task.triggerCheckpoint(checkpointId);
      return state;
    } finally {
      this.valveClosed--;
      if (this.valveClosed === 0) {
        const held = this.held;
        this.held = [];
        for (const deliver of held) deliver();
      }
    }
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    await this.enumerator?.notifyCheckpointComplete?.(checkpointId);
  }

  async notifyCheckpointAborted(checkpointId: number): Promise<void> {
    await this.enumerator?.notifyCheckpointAborted?.(checkpointId);
  }

  async close(reason: CloseReason): Promise<void> {
    this.abort.abort();
    const enumerator = this.enumerator;
    this.enumerator = undefined;
    await enumerator?.close(reason);
  }

  private encode(checkpointId: number, state: unknown): EncodedState {
    if (state === undefined) {
      throw new TributaryError(
        'CHECKPOINT_FAILED',
        `enumerator of ${this.uid} declined checkpoint ${checkpointId}`,
      );
    }
    return encodeState(this.setup.source.enumeratorStateSerializer.toState(state));
  }

  private deliver(subtask: number, action: (task: SourceTask) => void): void {
    const task = this.tasks[subtask];
    if (task === undefined) {
      this.setup.failJob(
        new TributaryError(
          'ILLEGAL_ARGUMENT',
          `enumerator of ${this.uid} addressed reader ${subtask}, which does not exist`,
        ),
      );
      return;
    }
    if (this.valveClosed > 0) this.held.push(() => action(task));
    else action(task);
  }

  private call(action: (enumerator: SplitEnumerator<SourceSplit, unknown>) => void): void {
    try {
      action(this.requireEnumerator());
    } catch (err) {
      this.setup.failJob(err);
    }
  }

  private requireEnumerator(): SplitEnumerator<SourceSplit, unknown> {
    if (this.enumerator === undefined) {
      throw new TributaryError('ILLEGAL_STATE', `enumerator of ${this.uid} is not running`);
    }
    return this.enumerator;
  }
}
