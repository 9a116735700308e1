import { CheckpointCoordinator } from '../checkpoint/checkpoint-coordinator.js';
import type { CheckpointData } from '../checkpoint/checkpoint-data.js';
import type { CheckpointEvent } from '../checkpoint/checkpoint-events.js';
import type { CheckpointStore } from '../checkpoint/checkpoint-storage.js';
import { restoreSubtask } from '../checkpoint/restore.js';
import { TributaryError, errorMessage } from '../errors.js';
import type { CloseReason } from '../source/source.js';
import { Channel } from './channel.js';
import { InputGate } from './input-gate.js';
import type { JobEvent, SourceLag, TaskMetrics } from './job-events.js';
import type { JobGraph, JobVertex } from './job-graph.js';
import type { JobOptions } from './job-options.js';
import { keyGroupRange, type Key } from './key-groups.js';
import {
  subtaskKey,
  type MetricsSource,
  type OperatorCounts,
  type SubtaskCounts,
} from './metrics-registry.js';
import { EdgeOutput, TaskOutput, type Partitioning } from './network-output.js';
import type { ExternalCheckpointing } from './external-checkpoints.js';
import { SourceCoordinator } from './source-coordinator.js';
import { MIN_WATERMARK } from './stream-element.js';
import { SourceTask } from './source-task.js';
import { StreamTask } from './stream-task.js';
import type { Task, TaskServices, TaskSetup } from './task.js';

export type AttemptOutcome =
  | { readonly kind: 'finished' }
  | { readonly kind: 'cancelled' }
  /** stopped with a final checkpoint, committed */
  | { readonly kind: 'stopped'; readonly checkpointId: number }
  | { readonly kind: 'failed'; readonly error: Error };

export interface AttemptSetup {
  readonly jobName: string;
  readonly runId: string;
  readonly attempt: number;
  readonly graph: JobGraph;
  readonly options: JobOptions;
  readonly store: CheckpointStore;
  readonly restored: CheckpointData | undefined;
  readonly firstCheckpointId: number;
  readonly lineageStart: number;
  readonly allowDuplicates: boolean;
  readonly onCheckpointEvent: (event: CheckpointEvent) => void;
  readonly onCheckpointCompleted: (data: CheckpointData) => void;
  readonly warn: (message: string, details?: Record<string, unknown>) => void;
  readonly count: (uid: string, metric: string, delta: number) => void;
  readonly report: (event: JobEvent) => void;
  /** Checkpoints decided outside this process (one worker of several). */
  readonly external?: ExternalCheckpointing | undefined;
}

/**
 * One run of the job graph: channels, enumerators, tasks and a checkpoint coordinator. Ends
 * when the final checkpoint completed and every task finished, when any part fails (then
 * every task is stopped), or when cancelled. `close` then releases everything with a reason.
 */
export class ExecutionAttempt implements MetricsSource {
  private readonly channels: Channel[] = [];
  private readonly tasks: Task[] = [];
  private readonly sourceTaskIndexes = new Set<number>();
  private readonly endedSources = new Set<number>();
  private readonly coordinators: SourceCoordinator[] = [];
  private checkpoints: CheckpointCoordinator | undefined;
  private outcome: AttemptOutcome | undefined;
  private settle!: (outcome: AttemptOutcome) => void;
  private readonly settled = new Promise<AttemptOutcome>((resolve) => (this.settle = resolve));
  private taskRuns: Promise<void>[] = [];
  /** While stopping: per checkpoint id, the tasks' handling of its completion (commits). */
  private readonly notified = new Map<number, Promise<void>[]>();
  private stopping = false;
  private markRunning!: () => void;
  /** resolves once every task has been started */
  private readonly running = new Promise<void>((resolve) => (this.markRunning = resolve));

  constructor(private readonly setup: AttemptSetup) {}

  /** Runs until finished, failed or cancelled. Never rejects. */
  async run(): Promise<AttemptOutcome> {
    try {
      await this.build();
      this.checkpoints?.start();
      const checkpoints = this.checkpoints;
      if (this.setup.external !== undefined && checkpoints !== undefined) {
        this.setup.external.attach({
          trigger: (id) => checkpoints.triggerExternal(id),
          abort: (id, reason) => checkpoints.abortExternal(id, reason),
          fail: (error) => this.fail(error),
        });
      }
      this.markRunning();
      let remaining = this.tasks.length;
      this.taskRuns = this.tasks.map((task) =>
        task.run().then(
          () => {
            if (--remaining === 0) this.finish({ kind: 'finished' });
          },
          (err: unknown) => this.fail(err),
        ),
      );
    } catch (err) {
      this.fail(err);
    }
    const outcome = await this.settled;
    this.setup.external?.attach(undefined);
    await Promise.allSettled(this.taskRuns);
    return outcome;
  }

  /** Latest checkpoint id used, so the next attempt continues the sequence. */
  /** The attempt has an outcome (it is ending or ended). */
  get ended(): boolean {
    return this.outcome !== undefined;
  }

  get nextCheckpointId(): number {
    return this.checkpoints?.nextCheckpointId ?? this.setup.firstCheckpointId;
  }

  cancel(): void {
    this.finish({ kind: 'cancelled' });
  }

  fail(error: unknown): void {
    this.finish({
      kind: 'failed',
      error: error instanceof Error ? error : new Error(errorMessage(error)),
    });
  }

  triggerCheckpoint(): Promise<number> {
    if (this.checkpoints === undefined) return Promise.reject(new Error('job is not running'));
    return this.checkpoints.triggerCheckpoint();
  }

  /**
   * Stop with a final checkpoint (Flink's stop-with-savepoint): no more periodic checkpoints, one
   * checkpoint now; once it is stored and every task has handled its completion (the sinks
   * committed up to it), the attempt ends `stopped`. What the tasks did after its barrier is
   * discarded on close (open transactions are aborted), so a resume continues exactly there.
   * Rejects if the checkpoint fails (the job keeps running) or the attempt ends first.
   */
  async stopWithCheckpoint(): Promise<number> {
    const ended = this.settled.then((outcome) => {
      throw new TributaryError(
        'ILLEGAL_STATE',
        `the job ended (${outcome.kind}) before its stop checkpoint completed`,
      );
    });
    await Promise.race([this.running, ended]);
    const checkpoints = this.checkpoints;
    if (checkpoints === undefined || this.outcome !== undefined) {
      throw new TributaryError('ILLEGAL_STATE', 'the job is not running');
    }
    this.stopping = true;
    checkpoints.pausePeriodic();
    const id = await Promise.race([checkpoints.triggerCheckpoint(), ended]);
    await Promise.race([Promise.all(this.notified.get(id) ?? []), ended]);
    this.finish({ kind: 'stopped', checkpointId: id });
    return id;
  }

  /** Releases tasks (operators, readers, writers) and enumerators. */
  async close(reason: CloseReason): Promise<void> {
    await Promise.all(this.tasks.map((task) => task.close(reason)));
    for (const coordinator of this.coordinators) {
      try {
        await coordinator.close(reason);
      } catch (err) {
        this.setup.warn(
          `closing the enumerator of ${coordinator.uid} failed: ${errorMessage(err)}`,
        );
      }
    }
  }

  subtaskCounts(): SubtaskCounts {
    const counts = new Map<string, OperatorCounts>();
    for (const task of this.tasks) {
      for (const [uid, c] of task.operatorCounts()) counts.set(subtaskKey(uid, task.subtask), c);
    }
    return counts;
  }

  countsAtCheckpoint(checkpointId: number): SubtaskCounts | undefined {
    const counts = new Map<string, OperatorCounts>();
    for (const task of this.tasks) {
      const atBarrier = task.countsAtCheckpoint(checkpointId);
      if (atBarrier === undefined) return undefined;
      for (const [uid, c] of atBarrier) counts.set(subtaskKey(uid, task.subtask), c);
    }
    return counts;
  }

  taskMetrics(): TaskMetrics[] {
    return this.tasks.map((task) => ({
      name: task.name,
      subtask: task.subtask,
      backpressuredMs: Math.round(task.backpressuredMs),
      ...(task.watermark === MIN_WATERMARK ? {} : { watermark: task.watermark }),
      ...(task.inputIdle ? { idle: true } : {}),
    }));
  }

  /** Unread data per stream of every source whose enumerator can tell. */
  async sourceLag(): Promise<SourceLag[]> {
    const all = await Promise.all(this.coordinators.map((c) => c.lag()));
    return all.flat();
  }

  private finish(outcome: AttemptOutcome): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    this.checkpoints?.stop(outcome.kind === 'finished' ? 'job finished' : `job ${outcome.kind}`);
    if (outcome.kind !== 'finished') {
      for (const task of this.tasks) task.stop();
      for (const channel of this.channels) channel.close();
    }
    this.settle(outcome);
  }

  private async build(): Promise<void> {
    const { graph, options, restored } = this.setup;
    const capacity = { records: options.channel.capacity, bytes: options.channel.maxBytes };
    const checkpointing = {
      intervalMs: options.checkpoint.intervalMs,
      timeoutMs: options.checkpoint.timeoutMs,
      ...this.setup.external?.checkpointing,
      minPauseMs: options.checkpoint.minPauseMs,
      tolerableFailures: options.checkpoint.tolerableFailures,
      dir: this.setup.external?.stateDir ?? options.checkpoint.dir,
      keyedState: options.state,
    };
    const connectors = { pravega: options.pravega, ...this.setup.external?.connectors };
    // channels[edge][producer][consumer]
    const outgoing = new Map<JobVertex, EdgeOutput[][]>(); // vertex → per subtask edge outputs
    const incoming = new Map<JobVertex, Channel[][]>(); // vertex → per subtask input channels
    for (const vertex of graph.vertices) {
      outgoing.set(
        vertex,
        Array.from({ length: vertex.parallelism }, () => []),
      );
      incoming.set(
        vertex,
        Array.from({ length: vertex.parallelism }, () => []),
      );
    }
    for (const vertex of graph.vertices) {
      for (const edge of vertex.outputs) {
        const producers = edge.from.parallelism;
        const consumers = edge.to.parallelism;
        const partitioning: Partitioning =
          edge.partitioning === 'hash'
            ? {
                kind: 'hash',
                key: edge.keySelector as (value: unknown) => Key,
                maxParallelism: options.maxParallelism,
              }
            : { kind: edge.partitioning };
        for (let p = 0; p < producers; p++) {
          const targets: Channel[] = [];
          const consumerRange =
            edge.partitioning === 'forward' ? [p] : Array.from({ length: consumers }, (_, c) => c);
          for (const c of consumerRange) {
            const channel = new Channel(capacity);
            this.channels.push(channel);
            targets.push(channel);
            incoming.get(edge.to)?.[c]?.push(channel);
          }
          outgoing
            .get(vertex)
            ?.[p]?.push(new EdgeOutput(targets, partitioning, p, edge.sideOutput));
        }
      }
    }

    for (const vertex of graph.vertices) {
      const source = vertex.source;
      let coordinator: SourceCoordinator | undefined;
      if (source !== undefined) {
        const state = restored?.enumerators[source.uid];
        coordinator = new SourceCoordinator({
          uid: source.uid,
          name: source.name,
          source: source.source,
          parallelism: vertex.parallelism,
          jobName: this.setup.jobName,
          attempt: this.setup.attempt,
          checkpointing,
          connectors,
          restored:
            restored !== undefined && state !== undefined
              ? { checkpointId: restored.checkpointId, state }
              : undefined,
          failJob: (err) => this.fail(err),
        });
        this.coordinators.push(coordinator);
      }
      const sourceTasks: SourceTask[] = [];
      for (let subtask = 0; subtask < vertex.parallelism; subtask++) {
        const range = keyGroupRange(subtask, options.maxParallelism, vertex.parallelism);
        const base: TaskSetup = {
          index: this.tasks.length,
          name: [source?.name, ...vertex.operators.map((o) => o.name)].filter(Boolean).join(' → '),
          jobName: this.setup.jobName,
          runId: this.setup.runId,
          attempt: this.setup.attempt,
          checkpointing,
          connectors,
          subtask,
          parallelism: vertex.parallelism,
          maxParallelism: options.maxParallelism,
          operators: vertex.operators.map((op) => ({
            uid: op.uid,
            name: op.name,
            operator: op.create(),
          })),
          output: new TaskOutput(outgoing.get(vertex)?.[subtask] ?? []),
          restore: (uid) =>
            restored === undefined
              ? undefined
              : restoreSubtask(restored, uid, subtask, vertex.parallelism, range),
          allowDuplicates: this.setup.allowDuplicates,
          services: this.taskServices(),
        };
        let task: Task;
        if (source !== undefined && coordinator !== undefined) {
          const sourceTask = new SourceTask({
            ...base,
            sourceUid: source.uid,
            source: source.source,
            watermarkStrategy: source.watermarkStrategy,
            restoredSplits: base.restore(source.uid)?.items,
            coordinator,
          });
          sourceTasks.push(sourceTask);
          this.sourceTaskIndexes.add(base.index);
          task = sourceTask;
        } else {
          task = new StreamTask(base, new InputGate(incoming.get(vertex)?.[subtask] ?? []));
        }
        this.tasks.push(task);
      }
      coordinator?.attachTasks(sourceTasks);
    }

    const external = this.setup.external;
    this.checkpoints = new CheckpointCoordinator({
      jobName: this.setup.jobName,
      // decided outside: no periodic trigger here
      options:
        external === undefined
          ? options.checkpoint
          : { ...options.checkpoint, intervalMs: undefined },
      externalCompletion: external && ((id, piece) => external.externalCompletion(id, piece)),
      store: this.setup.store,
      firstCheckpointId: this.setup.firstCheckpointId,
      lineageStart: this.setup.lineageStart,
      tasks: this.tasks.map((task) => ({
        name: task.name,
        subtask: task.subtask,
        parallelism: task.parallelism,
        notifyCheckpointComplete: (id) => {
          const handled = task.notifyCheckpointComplete(id);
          if (this.stopping) {
            const list = this.notified.get(id) ?? [];
            list.push(handled);
            this.notified.set(id, list);
          }
        },
        notifyCheckpointAborted: (id) => task.notifyCheckpointAborted(id),
      })),
      hooks: this.coordinators,
      onEvent: this.setup.onCheckpointEvent,
      onWarning: (message) => this.setup.warn(message),
      onFailure: (err) => this.fail(err),
      onCompleted: this.setup.onCheckpointCompleted,
      onFinalCompleted: () => {
        for (const task of this.tasks) task.requestFinish();
      },
    });
    for (const coordinator of this.coordinators) await coordinator.start();
  }

  private taskServices(): TaskServices {
    return {
      acknowledgeCheckpoint: (id, index, states) =>
        this.checkpoints?.acknowledge(id, index, states),
      declineCheckpoint: (id, index, reason) =>
        this.checkpoints?.decline(id, `task ${this.tasks[index]?.name ?? index}: ${reason}`),
      inputEnded: (index) => {
        if (!this.sourceTaskIndexes.has(index)) return;
        this.endedSources.add(index);
        if (this.endedSources.size === this.sourceTaskIndexes.size)
          this.checkpoints?.requestFinalCheckpoint();
      },
      warn: this.setup.warn,
      count: this.setup.count,
      report: this.setup.report,
    };
  }
}
