import { dirname } from 'node:path';
import { TributaryError, errorMessage } from '../errors.js';
import type { CheckpointData, OperatorSubtaskState } from './checkpoint-data.js';
import type { CheckpointEvent } from './checkpoint-events.js';
import type { CheckpointStore } from './checkpoint-storage.js';
import type { EncodedState } from './state-codec.js';

export interface CheckpointingOptions {
  /** Periodic trigger; undefined = only on request (and the final checkpoint). */
  readonly intervalMs?: number | undefined;
  /** Least time between the end of one checkpoint and the trigger of the next periodic one. */
  readonly minPauseMs: number;
  /** A checkpoint not complete after this long is aborted (nothing is torn down). */
  readonly timeoutMs: number;
  readonly maxConcurrent: number;
  /**
   * Checkpoints that may fail in a row (time out, be declined, fail to store) before the job
   * fails and restarts from the last completed one (Flink's tolerable-failed-checkpoints).
   * Undefined: unlimited.
   */
  readonly tolerableFailures?: number | undefined;
}

/**
 * A coordinator-side participant (a source's enumerator). `triggerCheckpoint` returns its part
 * of N and arranges for its tasks' barriers (injecting them, or, for externally induced
 * sources, leaving it to the readers). A rejection declines N.
 */
export interface CheckpointHook {
  readonly uid: string;
  triggerCheckpoint(checkpointId: number): Promise<EncodedState>;
  notifyCheckpointComplete(checkpointId: number): Promise<void>;
  notifyCheckpointAborted(checkpointId: number): Promise<void>;
}

/** A task as the coordinator sees it. */
export interface CheckpointTask {
  /** what a timed-out checkpoint names when this task has not acknowledged it */
  readonly name?: string;
  readonly subtask: number;
  readonly parallelism: number;
  notifyCheckpointComplete(checkpointId: number): void | Promise<void>;
  notifyCheckpointAborted(checkpointId: number): void;
}

export interface CheckpointCoordinatorSetup {
  readonly jobName: string;
  readonly options: CheckpointingOptions;
  readonly store: CheckpointStore;
  readonly firstCheckpointId: number;
  /** Recorded in every checkpoint (see CheckpointData.lineageStart). */
  readonly lineageStart: number;
  readonly tasks: readonly CheckpointTask[];
  readonly hooks: readonly CheckpointHook[];
  readonly onEvent: (event: CheckpointEvent) => void;
  readonly onWarning: (message: string) => void;
  /** A participant failed while being notified: the job must fail. */
  readonly onFailure: (error: unknown) => void;
  readonly onCompleted: (data: CheckpointData) => void;
  /** The final checkpoint completed and every participant has been notified. */
  readonly onFinalCompleted: () => void;
  /**
   * Completion decided outside this process (see runtime/external-checkpoints.ts): called when
   * every task acknowledged, before the checkpoint is stored; a rejection aborts it. With it,
   * checkpoints are started only by {@link CheckpointCoordinator.triggerExternal}.
   */
  readonly externalCompletion?: ((id: number, piece: CheckpointData) => Promise<void>) | undefined;
}

interface PendingCheckpoint {
  readonly id: number;
  readonly final: boolean;
  readonly triggeredAt: number;
  readonly started: number;
  readonly taskStates: (Record<string, OperatorSubtaskState> | undefined)[];
  acks: number;
  readonly hookStates: Map<string, EncodedState>;
  timer: NodeJS.Timeout | undefined;
  readonly waiters: { resolve: (id: number) => void; reject: (err: unknown) => void }[];
}

/**
 * Triggers checkpoints (interval with min pause, on request, and the final one), collects the
 * acknowledgements of every task and the parts of every hook, stores the completed checkpoint
 * durably, and only then notifies everyone. Late or unknown acks are ignored. A timed-out or
 * declined checkpoint is aborted: participants are told, nothing is torn down, and the next one
 * is scheduled as usual — unless more than `tolerableFailures` failed in a row: then the job
 * fails (and restarts from the last completed checkpoint). A completion subsumes every older
 * pending checkpoint.
 */
export class CheckpointCoordinator {
  private nextId: number;
  private readonly pending = new Map<number, PendingCheckpoint>();
  private periodicTimer: NodeJS.Timeout | undefined;
  private lastTriggerAt = 0;
  private lastDoneAt = 0;
  private latestCompleted = 0;
  private stopped = true;
  private periodicPaused = false;
  private finalWanted = false;
  private finalTriggered = false;
  private finalDone = false;
  /** Checkpoints acknowledged by all, being stored: they still count as in flight. */
  private completing = 0;
  /** failed checkpoints since the last completed one */
  private consecutiveFailures = 0;
  private completion: Promise<void> = Promise.resolve();
  private readonly manualWaiters: PendingCheckpoint['waiters'] = [];
  /** external checkpoints: acknowledgements that came before their trigger, by id and task */
  private readonly early = new Map<number, Map<number, Record<string, OperatorSubtaskState>>>();

  constructor(private readonly setup: CheckpointCoordinatorSetup) {
    this.nextId = setup.firstCheckpointId;
  }

  /** Starts periodic triggering (call once every task runs). */
  start(): void {
    this.stopped = false;
    this.lastTriggerAt = Date.now();
    this.lastDoneAt = 0;
    this.schedule();
    if (this.finalWanted || this.manualWaiters.length > 0) this.tryTrigger();
  }

  /** No more periodic checkpoints (requested ones still run): a stop's checkpoint is the last. */
  pausePeriodic(): void {
    this.periodicPaused = true;
    if (this.periodicTimer !== undefined) clearTimeout(this.periodicTimer);
    this.periodicTimer = undefined;
  }

  /** Stops triggering; pending checkpoints are dropped (the tasks are going away). */
  stop(reason: string): void {
    this.stopped = true;
    if (this.periodicTimer !== undefined) clearTimeout(this.periodicTimer);
    this.periodicTimer = undefined;
    for (const pending of this.pending.values()) {
      if (pending.timer !== undefined) clearTimeout(pending.timer);
      for (const w of pending.waiters)
        w.reject(new TributaryError('CHECKPOINT_FAILED', `checkpoint ${pending.id}: ${reason}`));
    }
    this.pending.clear();
    for (const w of this.manualWaiters.splice(0)) {
      w.reject(new TributaryError('CHECKPOINT_FAILED', `checkpoint not taken: ${reason}`));
    }
  }

  get latestCompletedId(): number {
    return this.latestCompleted;
  }

  /** Next id to use (so a restarted attempt continues the sequence). */
  get nextCheckpointId(): number {
    return this.nextId;
  }

  /** Triggers a checkpoint now (or as soon as allowed); resolves with its id once completed. */
  triggerCheckpoint(): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.manualWaiters.push({ resolve, reject });
      this.tryTrigger();
    });
  }

  /** Every source ended: take the final checkpoint (retried until it completes). */
  requestFinalCheckpoint(): void {
    if (this.finalWanted) return;
    this.finalWanted = true;
    this.tryTrigger();
  }

  /**
   * External checkpoints: starts checkpoint `id` (see ExternalCheckpointControl.trigger). Older
   * ones still pending here are aborted: the outside has given up on them.
   */
  triggerExternal(id: number): void {
    if (this.stopped || id < this.nextId) return;
    for (const older of [...this.pending.values()]) {
      this.abort(older, `superseded by checkpoint ${id}${this.stillAwaited(older, 'here')}`, false);
    }
    this.nextId = id;
    this.trigger(false);
    const early = this.early.get(id);
    for (const key of [...this.early.keys()]) if (key <= id) this.early.delete(key);
    for (const [taskIndex, states] of early ?? []) this.acknowledge(id, taskIndex, states);
  }

  /** External checkpoints: aborts `id` if it is still collecting acknowledgements here. */
  abortExternal(id: number, reason: string): void {
    const pending = this.pending.get(id);
    if (pending !== undefined)
      this.abort(pending, `${reason}${this.stillAwaited(pending, 'here')}`);
    this.early.delete(id);
  }

  acknowledge(
    checkpointId: number,
    taskIndex: number,
    states: Record<string, OperatorSubtaskState>,
  ): void {
    const pending = this.pending.get(checkpointId);
    if (
      pending === undefined &&
      this.setup.externalCompletion !== undefined &&
      checkpointId >= this.nextId
    ) {
      // a marker reached a reader before the outside told this process of the checkpoint
      const acks =
        this.early.get(checkpointId) ?? new Map<number, Record<string, OperatorSubtaskState>>();
      acks.set(taskIndex, states);
      this.early.set(checkpointId, acks);
      return;
    }
    if (pending === undefined || pending.taskStates[taskIndex] !== undefined) return;
    pending.taskStates[taskIndex] = states;
    pending.acks++;
    this.maybeComplete(pending);
  }

  /** A task cannot complete its part of `checkpointId`: the checkpoint is aborted. */
  decline(checkpointId: number, reason: string): void {
    const pending = this.pending.get(checkpointId);
    if (pending !== undefined) this.abort(pending, `declined by ${reason}`);
  }

  private schedule(): void {
    if (this.periodicTimer !== undefined) clearTimeout(this.periodicTimer);
    this.periodicTimer = undefined;
    const { intervalMs, minPauseMs } = this.setup.options;
    if (this.stopped || this.periodicPaused || intervalMs === undefined) return;
    const at = Math.max(this.lastTriggerAt + intervalMs, this.lastDoneAt + minPauseMs);
    this.periodicTimer = setTimeout(
      () => {
        this.periodicTimer = undefined;
        this.tryTrigger(true);
      },
      Math.max(0, at - Date.now()),
    );
  }

  private tryTrigger(periodic = false): void {
    if (this.stopped || this.finalDone) return;
    if (this.setup.externalCompletion !== undefined) return; // only triggerExternal starts one
    if (this.pending.size + this.completing >= this.setup.options.maxConcurrent) return; // retried when one ends
    if (this.finalWanted) {
      // once every source ended, only the final checkpoint is taken (no minimum pause)
      if (!this.finalTriggered) this.trigger(true);
      return;
    }
    if (!periodic && this.manualWaiters.length === 0) return;
    if (periodic && this.periodicPaused) return;
    if (periodic && Date.now() < this.lastDoneAt + this.setup.options.minPauseMs) {
      this.schedule();
      return;
    }
    this.trigger(false);
  }

  private trigger(final: boolean): void {
    if (final) this.finalTriggered = true;
    const id = this.nextId++;
    const now = Date.now();
    this.lastTriggerAt = now;
    const pending: PendingCheckpoint = {
      id,
      final,
      triggeredAt: now,
      started: performance.now(),
      taskStates: new Array<Record<string, OperatorSubtaskState> | undefined>(
        this.setup.tasks.length,
      ).fill(undefined),
      acks: 0,
      hookStates: new Map(),
      timer: undefined,
      waiters: this.manualWaiters.splice(0),
    };
    pending.timer = setTimeout(
      () =>
        this.abort(
          pending,
          `timed out after ${this.setup.options.timeoutMs} ms${this.stillAwaited(pending)}`,
        ),
      this.setup.options.timeoutMs,
    );
    this.pending.set(id, pending);
    this.setup.onEvent({ type: 'checkpoint-triggered', checkpointId: id, final, time: now });
    for (const hook of this.setup.hooks) {
      hook.triggerCheckpoint(id).then(
        (state) => {
          if (this.pending.get(id) !== pending) return;
          pending.hookStates.set(hook.uid, state);
          this.maybeComplete(pending);
        },
        (err: unknown) => this.abort(pending, `declined by ${hook.uid}: ${errorMessage(err)}`),
      );
    }
    this.schedule();
  }

  private maybeComplete(pending: PendingCheckpoint): void {
    if (pending.acks < this.setup.tasks.length || pending.hookStates.size < this.setup.hooks.length)
      return;
    if (pending.timer !== undefined) clearTimeout(pending.timer);
    pending.timer = undefined;
    this.pending.delete(pending.id);
    this.completing++;
    this.completion = this.completion
      .then(async () => {
        try {
          await this.complete(pending);
        } finally {
          this.completing--;
        }
        if (!this.stopped && !this.finalDone) {
          this.schedule();
          this.tryTrigger();
        }
      })
      .catch((err: unknown) => this.setup.onFailure(err));
  }

  private async complete(pending: PendingCheckpoint): Promise<void> {
    if (this.stopped || pending.id <= this.latestCompleted) return;
    const data = this.assemble(pending);
    if (this.setup.externalCompletion !== undefined) {
      try {
        await this.setup.externalCompletion(pending.id, data);
      } catch (err) {
        this.finishAborted(pending, errorMessage(err));
        return;
      }
      if (this.stopped || pending.id <= this.latestCompleted) return;
    }
    let path: string | undefined;
    let stateBytes: number;
    try {
      const ref = await this.setup.store.store(data);
      path = ref.path;
      stateBytes = ref.bytes;
    } catch (err) {
      this.setup.onWarning(`storing checkpoint ${pending.id} failed: ${errorMessage(err)}`);
      this.finishAborted(pending, `storing failed: ${errorMessage(err)}`);
      return;
    }
    // stored means completed, even if the job is stopping: a restart restores from it
    this.latestCompleted = pending.id;
    this.consecutiveFailures = 0;
    this.lastDoneAt = Date.now();
    this.setup.onCompleted(path === undefined ? data : { ...data, location: dirname(path) });
    this.setup.onEvent({
      type: 'checkpoint-completed',
      checkpointId: pending.id,
      final: pending.final,
      durationMs: Math.round(performance.now() - pending.started),
      stateBytes,
      path,
      time: Date.now(),
    });
    if (this.stopped) return;
    for (const older of [...this.pending.values()].filter((p) => p.id < pending.id)) {
      this.abort(older, `subsumed by checkpoint ${pending.id}`, false);
    }
    for (const task of this.setup.tasks) void task.notifyCheckpointComplete(pending.id);
    for (const hook of this.setup.hooks) {
      hook.notifyCheckpointComplete(pending.id).catch((err: unknown) => this.setup.onFailure(err));
    }
    for (const w of pending.waiters) w.resolve(pending.id);
    if (pending.final) {
      this.finalDone = true;
      this.setup.onFinalCompleted();
    }
  }

  /** @param failed false when it is merely subsumed by a newer completed checkpoint */
  private abort(pending: PendingCheckpoint, reason: string, failed = true): void {
    if (this.pending.get(pending.id) !== pending) return;
    if (pending.timer !== undefined) clearTimeout(pending.timer);
    this.pending.delete(pending.id);
    this.finishAborted(pending, reason, failed);
  }

  private finishAborted(pending: PendingCheckpoint, reason: string, failed = true): void {
    this.lastDoneAt = Date.now();
    this.setup.onEvent({
      type: 'checkpoint-aborted',
      checkpointId: pending.id,
      final: pending.final,
      durationMs: Math.round(performance.now() - pending.started),
      reason,
      time: Date.now(),
    });
    for (const task of this.setup.tasks) task.notifyCheckpointAborted(pending.id);
    for (const hook of this.setup.hooks) {
      hook.notifyCheckpointAborted(pending.id).catch((err: unknown) => this.setup.onFailure(err));
    }
    const error = new TributaryError(
      'CHECKPOINT_FAILED',
      `checkpoint ${pending.id} aborted: ${reason}`,
    );
    for (const w of pending.waiters) w.reject(error);
    if (this.stopped) return;
    const tolerable = this.setup.options.tolerableFailures;
    // externally decided checkpoints fail for the outside's reasons (a worker died): not this job's
    const counted = failed && this.setup.externalCompletion === undefined;
    if (counted && tolerable !== undefined && ++this.consecutiveFailures > tolerable) {
      this.setup.onFailure(
        new TributaryError(
          'CHECKPOINT_FAILED',
          `${this.consecutiveFailures} checkpoints failed in a row (checkpoint.tolerableFailures is ${tolerable}); the last one: checkpoint ${pending.id} ${reason}`,
          { details: { checkpointId: pending.id, consecutiveFailures: this.consecutiveFailures } },
        ),
      );
      return;
    }
    this.schedule();
    if (pending.final) {
      // the final checkpoint must happen: retry after the min pause
      this.finalTriggered = false;
      setTimeout(() => this.tryTrigger(), Math.max(10, this.setup.options.minPauseMs));
    } else {
      this.tryTrigger();
    }
  }

  /**
   * The tasks and hooks that have not acknowledged `pending` (as Flink's checkpoint view shows
   * the subtasks still pending): `; not acknowledged by <task> (2/3), …`, the first few named.
   */
  private stillAwaited(pending: PendingCheckpoint, where = ''): string {
    const names: string[] = [];
    pending.taskStates.forEach((states, index) => {
      if (states !== undefined) return;
      const task = this.setup.tasks[index] as CheckpointTask;
      names.push(`${task.name ?? 'task'} (${task.subtask + 1}/${task.parallelism})`);
    });
    for (const hook of this.setup.hooks)
      if (!pending.hookStates.has(hook.uid)) names.push(`the enumerator of ${hook.uid}`);
    if (names.length === 0) return '';
    const shown = names.slice(0, 6).join(', ');
    return `; not acknowledged${where === '' ? '' : ` ${where}`} by ${shown}${names.length > 6 ? ` and ${names.length - 6} more` : ''}`;
  }

  private assemble(pending: PendingCheckpoint): CheckpointData {
    const operators: Record<string, { parallelism: number; subtasks: OperatorSubtaskState[] }> = {};
    pending.taskStates.forEach((states, index) => {
      const task = this.setup.tasks[index] as CheckpointTask;
      for (const [uid, state] of Object.entries(states ?? {})) {
        const op = (operators[uid] ??= { parallelism: task.parallelism, subtasks: [] });
        op.subtasks[task.subtask] = state;
      }
    });
    return {
      checkpointId: pending.id,
      jobName: this.setup.jobName,
      triggeredAt: pending.triggeredAt,
      completedAt: Date.now(),
      operators: operators,
      enumerators: Object.fromEntries(pending.hookStates),
      lineageStart: this.setup.lineageStart,
    };
  }
}
