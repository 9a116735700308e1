import { encodeState, type EncodedState } from '../checkpoint/state-codec.js';
import type { OperatorSubtaskState } from '../checkpoint/checkpoint-data.js';
import { errorMessage } from '../errors.js';
import type { CheckpointSettings, ConnectorSettings, CloseReason } from '../source/source.js';
import type { JobEvent } from './job-events.js';
import { SeenControls, type KeyGroupControl } from './key-group-control.js';
import { Mailbox } from './mailbox.js';
import type { OperatorCounts } from './metrics-registry.js';
import type { TaskOutput } from './network-output.js';
import { sideOutputKey } from './transformation.js';
import {
  ChainingOutput,
  type OperatorContext,
  type OperatorSnapshot,
  type Output,
  type RestoredOperatorState,
  type StreamOperator,
} from './operator.js';
import { MIN_WATERMARK } from './stream-element.js';

const YIELD_EVERY_MS = 10;
const MAX_BARRIER_COUNTS = 16;

/** What a task reports to its execution (the checkpoint coordinator and the job). */
export interface TaskServices {
  acknowledgeCheckpoint(
    checkpointId: number,
    taskIndex: number,
    states: Record<string, OperatorSubtaskState>,
  ): void;
  /** The task consumed all its input (a source: its reader ended). */
  inputEnded(taskIndex: number): void;
  /** The task cannot complete its part of the checkpoint (e.g. writing state failed). */
  declineCheckpoint(checkpointId: number, taskIndex: number, reason: string): void;
  warn(message: string, details?: Record<string, unknown>): void;
  count(operatorUid: string, metric: string, delta: number): void;
  report(event: JobEvent): void;
}

export interface ChainedOperatorSpec {
  readonly uid: string;
  readonly name: string;
  readonly operator: StreamOperator;
}

export interface TaskSetup {
  readonly index: number;
  readonly name: string;
  readonly jobName: string;
  readonly runId: string;
  readonly attempt: number;
  readonly checkpointing: CheckpointSettings;
  readonly connectors: ConnectorSettings;
  readonly subtask: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly operators: readonly ChainedOperatorSpec[];
  readonly output: TaskOutput;
  readonly restore: (uid: string) => RestoredOperatorState | undefined;
  readonly allowDuplicates: boolean;
  readonly services: TaskServices;
}

/**
 * A parallel subtask: a chain of operators run by one async loop. Input is handled a batch at a
 * time; the loop awaits only when an output channel is full (backpressure), when a sink has work
 * in flight, or when there is nothing to do. Control (barrier triggers, checkpoint
 * notifications, timers, split assignments) arrives through the mailbox and runs between batches.
 */
export abstract class Task {
  readonly mailbox = new Mailbox();
  protected readonly chainInput: Output;
  protected stopped = false;
  protected finishRequested = false;
  protected lastBarrier = 0;
  /** Records that entered the chain (for metrics). */
  recordsIn = 0;
  backpressuredMs = 0;
  /** Records in/out per operator uid at each recent barrier (metrics: where a restart rolls back to). */
  private readonly barrierCounts = new Map<number, Map<string, OperatorCounts>>();
  private lastYield = performance.now();
  private readonly chainOutputs: ChainingOutput[] = [];
  private opened: StreamOperator[] = [];
  private readonly seenControls = new SeenControls();

  constructor(protected readonly setup: TaskSetup) {
    const ops = setup.operators;
    ops.forEach((spec, i) => {
      const next = ops[i + 1];
      const out = next === undefined ? setup.output : new ChainingOutput(next.operator);
      if (out instanceof ChainingOutput) this.chainOutputs.push(out);
      spec.operator.setup(this.operatorContext(spec), out);
    });
    const head = ops[0];
    this.chainInput = head === undefined ? setup.output : new ChainingOutput(head.operator);
  }

  get index(): number {
    return this.setup.index;
  }

  /**
   * The task's event time (Flink's `currentInputWatermark`): for a task fed by channels the
   * combined watermark of its inputs, for a source task the watermark its source emitted;
   * MIN_WATERMARK before the first one.
   */
  get watermark(): number {
    return MIN_WATERMARK;
  }

  /** Whether the task's input is idle (a source without data past its idleness timeout, or every input idle). */
  get inputIdle(): boolean {
    return false;
  }

  get name(): string {
    return this.setup.name;
  }

  get subtask(): number {
    return this.setup.subtask;
  }

  get parallelism(): number {
    return this.setup.parallelism;
  }

  /** Records that left each chained operator, by uid. */
  recordsOutByOperator(): Map<string, number> {
    const out = new Map<string, number>();
    this.setup.operators.forEach((spec, i) => {
      out.set(
        spec.uid,
        i < this.chainOutputs.length
          ? (this.chainOutputs[i]?.records ?? 0)
          : this.setup.output.recordsOut,
      );
    });
    return out;
  }

  /** Records that entered each chained operator, by uid. */
  recordsInByOperator(): Map<string, number> {
    const input = new Map<string, number>();
    this.setup.operators.forEach((spec, i) => {
      input.set(spec.uid, i === 0 ? this.recordsIn : (this.chainOutputs[i - 1]?.records ?? 0));
    });
    return input;
  }

  /** Records in/out of every operator of this subtask (a source task includes its source), by uid. */
  operatorCounts(): Map<string, OperatorCounts> {
    const outs = this.recordsOutByOperator();
    const counts = new Map<string, OperatorCounts>();
    for (const [uid, recordsIn] of this.recordsInByOperator())
      counts.set(uid, { recordsIn, recordsOut: outs.get(uid) ?? 0 });
    return counts;
  }

  /** {@link operatorCounts} as they were when this subtask took its snapshot for checkpoint N. */
  countsAtCheckpoint(checkpointId: number): Map<string, OperatorCounts> | undefined {
    return this.barrierCounts.get(checkpointId);
  }

  /** Opens the operators (restoring their state), then runs the loop until finished or stopped. */
  async run(): Promise<void> {
    for (const spec of this.setup.operators) {
      this.opened.push(spec.operator);
      await spec.operator.open();
    }
    await this.openSource();
    await this.loop();
  }

  /** Stops the loop as soon as possible (failure elsewhere, cancel). Channels are closed by the caller. */
  stop(): void {
    this.stopped = true;
    this.mailbox.wake();
    this.wakeInput();
  }

  /** Runs on the task loop once all of the task's data is done and the final checkpoint completed. */
  requestFinish(): void {
    this.mailbox.post(() => {
      this.finishRequested = true;
    });
  }

  /**
   * Checkpoint N completed (sinks commit). The promise settles once the task has handled it
   * (resolves even if handling failed: that failure fails the task itself); it stays pending if
   * the task stops first.
   */
  notifyCheckpointComplete(checkpointId: number): Promise<void> {
    return new Promise<void>((resolve) =>
      this.mailbox.post(async () => {
        try {
          await this.notifySourceComplete(checkpointId);
          for (const spec of this.setup.operators)
            await spec.operator.notifyCheckpointComplete(checkpointId);
        } finally {
          resolve();
        }
      }),
    );
  }

  notifyCheckpointAborted(checkpointId: number): void {
    this.mailbox.post(async () => {
      await this.onCheckpointAborted(checkpointId);
      for (const spec of this.setup.operators)
        await spec.operator.notifyCheckpointAborted(checkpointId);
    });
  }

  /** Closes every opened operator; errors become warnings (the job outcome is already decided). */
  async close(reason: CloseReason): Promise<void> {
    try {
      await this.closeSource(reason);
    } catch (err) {
      this.setup.services.warn(
        `closing the source reader of ${this.setup.name} failed: ${errorMessage(err)}`,
      );
    }
    for (const operator of this.opened) {
      try {
        await operator.close(reason);
      } catch (err) {
        this.setup.services.warn(
          `closing an operator of ${this.setup.name} failed: ${errorMessage(err)}`,
        );
      }
    }
    this.opened = [];
  }

  protected abstract loop(): Promise<void>;
  protected abstract wakeInput(): void;
  protected async openSource(): Promise<void> {}
  protected async closeSource(_reason: CloseReason): Promise<void> {}
  protected async notifySourceComplete(_checkpointId: number): Promise<void> {}
  protected async onCheckpointAborted(_checkpointId: number): Promise<void> {}
  /** Extra state of the task head (a source reader's splits), by uid. */
  protected snapshotSource(_checkpointId: number): Record<string, OperatorSubtaskState> {
    return {};
  }

  protected async runMailbox(): Promise<void> {
    for (const action of this.mailbox.drain()) {
      if (this.stopped) return;
      await action();
      await this.drainOperators();
    }
  }

  /**
   * Lets timers and I/O run when the loop has been busy for a while: a task whose input never
   * runs dry and whose output never fills would otherwise only ever yield to microtasks.
   */
  protected yieldIfBusy(): Promise<void> | undefined {
    const now = performance.now();
    if (now - this.lastYield < YIELD_EVERY_MS) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        this.lastYield = performance.now();
        resolve();
      }),
    );
  }

  /** Awaits async work of chained operators (sink writes). */
  protected async drainOperators(): Promise<void> {
    for (const spec of this.setup.operators) {
      const pending = spec.operator.pendingWork();
      if (pending !== undefined) await pending;
    }
  }

  /** Waits while an output channel is full; returns false if the mailbox needs attention first. */
  protected async waitForOutput(): Promise<void> {
    const bp = this.setup.output.backpressure();
    if (bp === undefined) return;
    const started = performance.now();
    await Promise.race([bp, this.mailbox.whenNotEmpty()]);
    this.backpressuredMs += performance.now() - started;
  }

  protected isBackpressured(): boolean {
    return this.setup.output.backpressure() !== undefined;
  }

  /** Snapshot of every operator at barrier N, then the barrier downstream, then the ack. */
  protected async performCheckpoint(checkpointId: number): Promise<void> {
    if (checkpointId <= this.lastBarrier) return;
    this.lastBarrier = checkpointId;
    await this.drainOperators();
    this.barrierCounts.set(checkpointId, this.operatorCounts());
    // a few recent ones are enough: the coordinator asks when N completes (bounded in flight)
    for (const id of this.barrierCounts.keys()) {
      if (this.barrierCounts.size <= MAX_BARRIER_COUNTS) break;
      this.barrierCounts.delete(id);
    }
    const states: Record<string, OperatorSubtaskState> = this.snapshotSource(checkpointId);
    const pending: Promise<void>[] = [];
    for (const spec of this.setup.operators) {
      const snapshot = await spec.operator.snapshotState(checkpointId);
      states[spec.uid] = encodeSnapshot(snapshot);
      if (snapshot.pending !== undefined) {
        pending.push(
          snapshot.pending.then((keyGroups) => {
            states[spec.uid] = encodeSnapshot({ items: snapshot.items ?? [], keyGroups });
          }),
        );
      }
    }
    this.setup.output.broadcast({ kind: 'barrier', checkpointId });
    const { services, index } = this.setup;
    if (pending.length === 0) {
      services.acknowledgeCheckpoint(checkpointId, index, states);
      return;
    }
    // state is written off the hot path: processing goes on, the ack follows the durable write
    Promise.all(pending).then(
      () => services.acknowledgeCheckpoint(checkpointId, index, states),
      (err: unknown) => services.declineCheckpoint(checkpointId, index, errorMessage(err)),
    );
  }

  /**
   * Hands a key group control to the chain, once per id (a copy that comes again through another
   * input is dropped), then waits for the chain's writes it caused (a disk backend loading state).
   */
  protected async applyKeyGroupControl(control: KeyGroupControl): Promise<void> {
    if (!this.seenControls.firstTime(control.id)) return;
    this.chainInput.emitKeyGroupControl(control);
    await this.drainOperators();
  }

  /** End of all input: flush the chain in order, then tell downstream and the job. */
  protected async endOfInput(): Promise<void> {
    for (const spec of this.setup.operators) {
      await spec.operator.endInput();
      await this.drainOperators();
    }
    this.setup.output.broadcast({ kind: 'end' });
    this.setup.services.inputEnded(this.setup.index);
  }

  private operatorContext(spec: ChainedOperatorSpec): OperatorContext {
    const s = this.setup;
    return {
      uid: spec.uid,
      name: spec.name,
      jobName: s.jobName,
      runId: s.runId,
      attempt: s.attempt,
      checkpointing: s.checkpointing,
      connectors: s.connectors,
      subtask: s.subtask,
      parallelism: s.parallelism,
      maxParallelism: s.maxParallelism,
      restored: s.restore(spec.uid),
      allowDuplicates: s.allowDuplicates,
      post: (action) => this.mailbox.post(action),
      emitSideOutput: (tagId, values, timestamps) =>
        s.output.emitSideOutput(sideOutputKey(spec.uid, tagId), values, timestamps),
      warn: (message, details) =>
        s.services.warn(`${spec.name}[${s.subtask}]: ${message}`, details),
      count: (metric, delta) => s.services.count(spec.uid, metric, delta),
      reportTransaction: (report) =>
        s.services.report({
          type: 'transaction',
          action: report.action,
          operator: spec.uid,
          operatorName: spec.name,
          subtask: s.subtask,
          ...(report.checkpointId === undefined ? {} : { checkpointId: report.checkpointId }),
          recovery: report.recovery ?? false,
          time: Date.now(),
        }),
    };
  }
}

export function encodeSnapshot(snapshot: OperatorSnapshot): OperatorSubtaskState {
  const keyGroups: [number, EncodedState][] = [];
  for (const [group, value] of snapshot.keyGroups ?? [])
    keyGroups.push([group, encodeState(value)]);
  return { items: (snapshot.items ?? []).map((item) => encodeState(item)), keyGroups };
}
