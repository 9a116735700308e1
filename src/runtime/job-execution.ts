import { randomUUID } from 'node:crypto';
import { Subject } from 'rxjs';
import type { CheckpointData } from '../checkpoint/checkpoint-data.js';
import {
  FileCheckpointStore,
  InMemoryCheckpointStore,
  resolveRestorePoint,
  type CheckpointStore,
} from '../checkpoint/checkpoint-storage.js';
import { TributaryError, errorMessage } from '../errors.js';
import { ExecutionAttempt, type AttemptOutcome } from './execution-attempt.js';
import type {
  JobEvent,
  JobGraphDescription,
  JobResult,
  JobStatus,
  OperatorMetrics,
  SourceLag,
  TaskMetrics,
} from './job-events.js';
import { describeGraph, type JobGraph } from './job-graph.js';
import { restartDelay, type JobOptions } from './job-options.js';
import { MetricsRegistry } from './metrics-registry.js';

/**
 * Runs a job graph to its end: attempts, restarts from the latest completed checkpoint (or from
 * the beginning when there is none) under the restart strategy, events and metrics.
 */
export class JobExecution {
  readonly events = new Subject<JobEvent>();
  private readonly runId = randomUUID();
  private readonly metrics: MetricsRegistry;
  private attempt: ExecutionAttempt | undefined;
  private cancelled = false;
  private latest: CheckpointData | undefined;
  private restartTimer: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  private currentStatus: JobStatus = 'created';

  constructor(
    readonly jobName: string,
    private readonly graph: JobGraph,
    readonly options: JobOptions,
    private readonly restoreFrom: string | undefined,
  ) {
    this.metrics = new MetricsRegistry(graph.names, graph.parallelismByUid);
  }

  cancel(): void {
    this.cancelled = true;
    this.attempt?.cancel();
    if (this.restartTimer !== undefined) {
      clearTimeout(this.restartTimer.timer);
      this.restartTimer.resolve();
    }
  }

  get jobStatus(): JobStatus {
    return this.currentStatus;
  }

  /** Counters now (the same as the latest `metrics` event would carry). */
  metricsSnapshot(): { operators: OperatorMetrics[]; tasks: TaskMetrics[] } {
    return this.metrics.snapshot();
  }

  /** Unread data per source stream, asked of the running attempt's sources; [] when none runs. */
  sourceLag(): Promise<SourceLag[]> {
    return this.attempt?.sourceLag() ?? Promise.resolve([]);
  }

  describe(): JobGraphDescription {
    return describeGraph(this.graph);
  }

  triggerCheckpoint(): Promise<number> {
    if (this.attempt === undefined)
      return Promise.reject(new TributaryError('ILLEGAL_STATE', 'the job is not running'));
    return this.attempt.triggerCheckpoint();
  }

  async run(): Promise<JobResult> {
    this.status('created', 0);
    let metricsTimer: NodeJS.Timeout | undefined;
    try {
      let store: CheckpointStore;
      try {
        store = await this.openStore();
      } catch (err) {
        this.status('failed', 0, err instanceof Error ? err : new Error(errorMessage(err)));
        throw err;
      }
      let nextCheckpointId = Math.max(await store.highestId(), this.latest?.checkpointId ?? 0) + 1;
      if (this.options.metricsIntervalMs > 0) {
        metricsTimer = setInterval(() => this.emitMetrics(), this.options.metricsIntervalMs);
      }
      for (let attemptNumber = 0; ; attemptNumber++) {
        if (this.cancelled) {
          this.status('cancelled', attemptNumber);
          return this.result('cancelled', attemptNumber);
        }
        const attempt = new ExecutionAttempt({
          jobName: this.jobName,
          runId: this.runId,
          attempt: attemptNumber,
          graph: this.graph,
          options: this.options,
          store,
          restored: this.latest,
          firstCheckpointId: nextCheckpointId,
          onCheckpointEvent: (event) => this.events.next(event),
          onCheckpointCompleted: (data) => {
            this.latest = data;
            this.metrics.checkpointCompleted(data.checkpointId);
          },
          warn: (message, details) => this.warn(message, details),
          count: (uid, metric, delta) => this.metrics.count(uid, metric, delta),
          report: (event) => this.events.next(event),
        });
        this.attempt = attempt;
        this.metrics.attach(attempt);
        this.status('running', attemptNumber, undefined, this.latest?.checkpointId);
        if (this.cancelled) attempt.cancel();
        const outcome: AttemptOutcome = await attempt.run();
        nextCheckpointId = attempt.nextCheckpointId;
        if (outcome.kind === 'finished' || outcome.kind === 'cancelled') {
          await attempt.close(outcome.kind);
          this.metrics.detach();
          this.attempt = undefined;
          const status = outcome.kind === 'finished' ? 'finished' : 'cancelled';
          this.status(status, attemptNumber);
          return this.result(status, attemptNumber);
        }
        const delay = this.cancelled
          ? undefined
          : restartDelay(this.options.restart, attemptNumber + 1);
        await attempt.close(
          delay === undefined ? (this.cancelled ? 'cancelled' : 'failed') : 'restarting',
        );
        this.metrics.detach(this.latest?.checkpointId);
        this.attempt = undefined;
        if (this.cancelled) {
          this.status('cancelled', attemptNumber);
          return this.result('cancelled', attemptNumber);
        }
        if (delay === undefined) {
          const error = new TributaryError(
            'JOB_FAILED',
            `job "${this.jobName}" failed after ${attemptNumber} restart(s): ${errorMessage(outcome.error)}`,
            {
              cause: outcome.error,
              details: { restarts: attemptNumber, lastCheckpointId: this.latest?.checkpointId },
            },
          );
          this.status('failed', attemptNumber, error);
          throw error;
        }
        this.status('restarting', attemptNumber, outcome.error);
        this.events.next({
          type: 'restart',
          attempt: attemptNumber + 1,
          delayMs: delay,
          error: outcome.error,
          fromCheckpoint: this.latest?.checkpointId,
          time: Date.now(),
        });
        await this.sleep(delay);
      }
    } finally {
      if (metricsTimer !== undefined) clearInterval(metricsTimer);
      this.emitMetrics();
      this.events.complete();
    }
  }

  private async openStore(): Promise<CheckpointStore> {
    const { dir, retained } = this.options.checkpoint;
    const store =
      dir === undefined
        ? new InMemoryCheckpointStore(retained)
        : await FileCheckpointStore.open(dir, retained);
    if (this.restoreFrom !== undefined) {
      const { data, skipped } = await resolveRestorePoint(this.restoreFrom);
      for (const s of skipped)
        this.warn(`skipped corrupt checkpoint: ${s.error.message}`, { path: s.path });
      this.checkCompatible(data);
      this.latest = data;
    }
    return store;
  }

  private checkCompatible(data: CheckpointData): void {
    // state of operators this job no longer has would be lost silently: refuse (stateless ones may go)
    const stateful = Object.entries(data.operators)
      .filter(([, op]) =>
        op.subtasks.some((s) => s !== null && (s.items.length > 0 || s.keyGroups.length > 0)),
      )
      .map(([uid]) => uid);
    const unknown = [...stateful, ...Object.keys(data.enumerators)].filter(
      (uid) => !this.graph.names.has(uid),
    );
    if (unknown.length > 0) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `restoreFrom: checkpoint ${data.checkpointId} has state for operator(s) ${unknown.join(', ')} that this job does not have (known uids: ${[...this.graph.names.keys()].join(', ')})`,
      );
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.restartTimer = undefined;
        resolve();
      }, ms);
      this.restartTimer = { timer, resolve };
    });
  }

  private result(status: 'finished' | 'cancelled', restarts: number): JobResult {
    return {
      jobName: this.jobName,
      status,
      restarts,
      lastCheckpointId: this.latest?.checkpointId,
      metrics: this.metrics.snapshot().operators,
    };
  }

  private status(status: JobStatus, attempt: number, error?: Error, fromCheckpoint?: number): void {
    this.currentStatus = status;
    this.events.next({
      type: 'status',
      status,
      attempt,
      time: Date.now(),
      ...(error === undefined ? {} : { error }),
      ...(fromCheckpoint === undefined ? {} : { fromCheckpoint }),
    });
  }

  private warn(message: string, details?: Record<string, unknown>): void {
    this.events.next({
      type: 'warning',
      message,
      time: Date.now(),
      ...(details === undefined ? {} : { details }),
    });
  }

  private emitMetrics(): void {
    const { operators, tasks } = this.metrics.snapshot();
    this.events.next({ type: 'metrics', operators, tasks, time: Date.now() });
  }
}
