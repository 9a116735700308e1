import { randomUUID } from 'node:crypto';
import { Subject } from 'rxjs';
import type { CheckpointData } from '../checkpoint/checkpoint-data.js';
import {
  FileCheckpointStore,
  InMemoryCheckpointStore,
  resolveRestorePoint,
  type CheckpointStore,
} from '../checkpoint/checkpoint-storage.js';
import { decodeState } from '../checkpoint/state-codec.js';
import { TributaryError, errorMessage, isPermanentFailure } from '../errors.js';
import type { Preflight, PreflightResult } from '../source/source.js';
import { ExecutionAttempt, type AttemptOutcome } from './execution-attempt.js';
import type { ExternalCheckpointing } from './external-checkpoints.js';
import { fileJobLock } from './file-lease-store.js';
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
import { currentOwner, type HeldJobLock, type JobLockProvider } from './job-lock.js';
import { restartDelay, type JobOptions } from './job-options.js';
import { MetricsRegistry } from './metrics-registry.js';

/** How a job starts, from `execute(name, options)`. */
export interface StartOptions {
  readonly restoreFrom: string | undefined;
  readonly startFrom: 'latest' | 'scratch';
  readonly allowDuplicates: boolean;
  readonly stopOnSignals: boolean;
  /** One worker of several: checkpoints decided outside, no job lease, no restarts here. */
  readonly external?: ExternalCheckpointing | undefined;
}

/** A source or sink of the job, for the checks before the first task starts. */
export interface JobConnector {
  readonly uid: string;
  readonly kind: 'source' | 'sink';
  readonly subject: Preflight;
}

interface StopWaiter {
  readonly resolve: (checkpointId: number) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Runs a job graph to its end. Before any task starts: the connectors' checks (scopes, streams,
 * leases), the job's lease (one running copy), and where to start — the latest checkpoint of the
 * checkpoint directory (resume by default), `restoreFrom`, or scratch (refused over completed
 * checkpoints unless duplicates are allowed). Then attempts, restarted from the latest completed
 * checkpoint under the restart strategy for failures that a restart may cure; a permanent one
 * fails the job at once. `stop()` ends it with a final checkpoint; SIGINT/SIGTERM too.
 */
export class JobExecution {
  readonly events = new Subject<JobEvent>();
  private readonly runId = randomUUID();
  private readonly metrics: MetricsRegistry;
  private attempt: ExecutionAttempt | undefined;
  private cancelled = false;
  private latest: CheckpointData | undefined;
  private restartTimer: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  private lockLost: TributaryError | undefined;
  private stopRequested = false;
  private stopKicked: ExecutionAttempt | undefined;
  private readonly stopWaiters: StopWaiter[] = [];
  private ended:
    | {
        outcome: { status: JobResult['status']; checkpointId: number | undefined } | undefined;
        failure: unknown;
      }
    | undefined;
  private currentStatus: JobStatus = 'created';

  constructor(
    readonly jobName: string,
    private readonly graph: JobGraph,
    readonly options: JobOptions,
    private readonly start: StartOptions,
    private readonly connectors: readonly JobConnector[] = [],
  ) {
    this.metrics = new MetricsRegistry(graph.names, graph.parallelismByUid);
  }

  /**
   * Stop with a final checkpoint: resolves with its id once it is stored and committed and the
   * job has ended (status `stopped`; a job that finished meanwhile resolves with its final one).
   * Rejects if that checkpoint fails (the job keeps running) or the job fails or is cancelled.
   */
  stop(): Promise<number> {
    const result = new Promise<number>((resolve, reject) =>
      this.stopWaiters.push({ resolve, reject }),
    );
    if (this.ended !== undefined) {
      // the job is over already: answer as it ended
      this.settleStop(this.ended.outcome, this.ended.failure);
      return result;
    }
    this.stopRequested = true;
    if (this.attempt !== undefined) this.kickStop(this.attempt);
    return result;
  }

  private kickStop(attempt: ExecutionAttempt): void {
    if (this.stopKicked === attempt) return;
    this.stopKicked = attempt;
    attempt.stopWithCheckpoint().catch((err: unknown) => {
      // the attempt ended otherwise: the loop decides (a restarted attempt is stopped in turn)
      if (attempt.ended) return;
      // the stop checkpoint failed: the job goes on running
      this.stopRequested = false;
      this.stopKicked = undefined;
      for (const w of this.stopWaiters.splice(0)) w.reject(err);
    });
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
    const holds: (() => Promise<void>)[] = [];
    let lock: HeldJobLock | undefined;
    const removeSignals = this.start.stopOnSignals ? this.handleSignals() : () => undefined;
    let outcome: { status: JobResult['status']; checkpointId: number | undefined } | undefined;
    let failure: unknown;
    let store: CheckpointStore | undefined;
    try {
      let lineageStart: number;
      let nextCheckpointId: number;
      try {
        await this.start.external?.prepare?.();
        const locks = await this.preflight(holds);
        // the workers of one job run at once on purpose: their membership replaces the lease
        if (this.start.external === undefined) lock = await this.acquireLock(locks);
        store = await this.openStore();
        nextCheckpointId = Math.max(await store.highestId(), this.latest?.checkpointId ?? 0) + 1;
        lineageStart =
          this.latest === undefined ? nextCheckpointId : (this.latest.lineageStart ?? 0);
      } catch (err) {
        // nothing ran: the same checks would fail again, so no restart
        const error = new TributaryError(
          'JOB_FAILED',
          `job "${this.jobName}" did not start: ${errorMessage(err)}`,
          { cause: err, details: { restarts: 0, permanent: true, started: false } },
        );
        this.status('failed', 0, error);
        throw error;
      }
      if (this.options.metricsIntervalMs > 0) {
        metricsTimer = setInterval(() => this.emitMetrics(), this.options.metricsIntervalMs);
      }
      for (let attemptNumber = 0; ; attemptNumber++) {
        if (this.cancelled) {
          this.status('cancelled', attemptNumber);
          outcome = { status: 'cancelled', checkpointId: undefined };
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
          lineageStart,
          allowDuplicates: this.start.allowDuplicates,
          onCheckpointEvent: (event) => this.events.next(event),
          onCheckpointCompleted: (data) => {
            this.latest = data;
            this.metrics.checkpointCompleted(data.checkpointId);
          },
          warn: (message, details) => this.warn(message, details),
          count: (uid, metric, delta) => this.metrics.count(uid, metric, delta),
          report: (event) => this.events.next(event),
          external: this.start.external,
        });
        this.attempt = attempt;
        this.metrics.attach(attempt);
        this.status('running', attemptNumber, undefined, this.latest?.checkpointId);
        if (this.cancelled) attempt.cancel();
        if (this.lockLost !== undefined) attempt.fail(this.lockLost);
        if (this.stopRequested) this.kickStop(attempt);
        const ended: AttemptOutcome = await attempt.run();
        nextCheckpointId = attempt.nextCheckpointId;
        if (ended.kind !== 'failed') {
          await attempt.close(ended.kind);
          this.metrics.detach();
          this.attempt = undefined;
          this.status(ended.kind, attemptNumber);
          outcome = {
            status: ended.kind,
            checkpointId: ended.kind === 'stopped' ? ended.checkpointId : this.latest?.checkpointId,
          };
          return this.result(ended.kind, attemptNumber);
        }
        const permanent = isPermanentFailure(ended.error);
        const delay =
          this.cancelled || permanent || this.start.external !== undefined
            ? undefined
            : restartDelay(this.options.restart, attemptNumber + 1);
        await attempt.close(
          delay === undefined ? (this.cancelled ? 'cancelled' : 'failed') : 'restarting',
        );
        this.metrics.detach(this.latest?.checkpointId);
        this.attempt = undefined;
        if (this.cancelled) {
          this.status('cancelled', attemptNumber);
          outcome = { status: 'cancelled', checkpointId: undefined };
          return this.result('cancelled', attemptNumber);
        }
        if (delay === undefined) {
          const message = permanent
            ? `job "${this.jobName}" failed and was not restarted (${TributaryError.is(ended.error) ? ended.error.code : 'the error'} is not retryable; ${attemptNumber} restart(s) before): ${errorMessage(ended.error)}`
            : `job "${this.jobName}" failed after ${attemptNumber} restart(s): ${errorMessage(ended.error)}`;
          const error = new TributaryError('JOB_FAILED', message, {
            cause: ended.error,
            details: {
              restarts: attemptNumber,
              permanent,
              lastCheckpointId: this.latest?.checkpointId,
            },
          });
          this.status('failed', attemptNumber, error);
          throw error;
        }
        this.status('restarting', attemptNumber, ended.error);
        this.events.next({
          type: 'restart',
          attempt: attemptNumber + 1,
          delayMs: delay,
          error: ended.error,
          fromCheckpoint: this.latest?.checkpointId,
          time: Date.now(),
        });
        await this.sleep(delay);
      }
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      removeSignals();
      if (metricsTimer !== undefined) clearInterval(metricsTimer);
      // state pieces no checkpoint needs are removed in the background: done before the lease goes
      await store?.settled?.().catch((err: unknown) => this.warn(errorMessage(err)));
      if (lock !== undefined) {
        await lock.release().catch((err: unknown) => {
          this.warn(`releasing the job's lease in ${lock?.where} failed: ${errorMessage(err)}`);
        });
      }
      for (const hold of holds) await hold().catch(() => undefined);
      this.ended = { outcome, failure };
      this.settleStop(outcome, failure);
      this.emitMetrics();
      this.events.complete();
    }
  }

  private settleStop(
    outcome: { status: JobResult['status']; checkpointId: number | undefined } | undefined,
    failure: unknown,
  ): void {
    for (const w of this.stopWaiters.splice(0)) {
      if (
        outcome !== undefined &&
        outcome.status !== 'cancelled' &&
        outcome.checkpointId !== undefined
      )
        w.resolve(outcome.checkpointId);
      else
        w.reject(
          failure ??
            new TributaryError(
              'CANCELLED',
              `job "${this.jobName}" was ${outcome?.status ?? 'ended'} before it could stop with a checkpoint`,
            ),
        );
    }
  }

  /** First SIGINT/SIGTERM: stop with a final checkpoint; the next one: cancel. */
  private handleSignals(): () => void {
    let received = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      received++;
      if (received === 1) {
        this.warn(
          `${signal}: stopping job "${this.jobName}" with a final checkpoint (send ${signal} again to cancel it at once)`,
        );
        this.stop().catch((err: unknown) =>
          this.warn(`stopping on ${signal} failed: ${errorMessage(err)}`),
        );
      } else {
        this.warn(`${signal} again: cancelling job "${this.jobName}"`);
        this.cancel();
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    return () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
  }

  /** The connectors' checks, in graph order; returns the job-lease providers they offer. */
  private async preflight(holds: (() => Promise<void>)[]): Promise<JobLockProvider[]> {
    const locks: JobLockProvider[] = [];
    const bounded = this.graph.vertices.every(
      (v) => v.source === undefined || v.source.source.boundedness === 'bounded',
    );
    const { intervalMs, timeoutMs, minPauseMs, tolerableFailures } = this.options.checkpoint;
    for (const connector of this.connectors) {
      const result: PreflightResult | void = await connector.subject.preflight?.({
        jobName: this.jobName,
        uid: connector.uid,
        checkpointing: {
          intervalMs,
          timeoutMs,
          minPauseMs,
          tolerableFailures,
          ...this.start.external?.checkpointing,
        },
        connectors: { pravega: this.options.pravega, ...this.start.external?.connectors },
        bounded,
        warn: (message, details) => this.warn(`${connector.uid}: ${message}`, details),
      });
      if (result?.hold !== undefined) holds.push(result.hold);
      if (result?.lock !== undefined) locks.push(result.lock);
    }
    return locks;
  }

  /** The job's lease: from the first connector that offers one, else a file in the checkpoint dir. */
  private async acquireLock(offered: readonly JobLockProvider[]): Promise<HeldJobLock | undefined> {
    const dir = this.options.checkpoint.dir;
    const provider = offered[0] ?? (dir === undefined ? undefined : fileJobLock(dir));
    if (provider === undefined) return undefined;
    return provider.acquire(
      this.jobName,
      currentOwner(this.runId),
      this.options.jobLock.leaseMs,
      (error) => {
        this.lockLost = error;
        this.attempt?.fail(error);
      },
    );
  }

  /**
   * Opens the checkpoint store and decides where the job starts: `restoreFrom`; else the latest
   * completed checkpoint of the directory (resume); else scratch — which is refused while the
   * directory holds checkpoints, unless duplicates are allowed.
   */
  private async openStore(): Promise<CheckpointStore> {
    const { dir, retained } = this.options.checkpoint;
    // a worker of several keeps its checkpoints in the cluster's record, never restores its own
    const store =
      dir === undefined || this.start.external !== undefined
        ? new InMemoryCheckpointStore(retained)
        : await FileCheckpointStore.open(dir, retained);
    const { restoreFrom, startFrom, allowDuplicates } = this.start;
    if (restoreFrom !== undefined) {
      const { data, skipped } = await resolveRestorePoint(restoreFrom);
      for (const s of skipped)
        this.warn(`skipped corrupt checkpoint: ${s.error.message}`, { path: s.path });
      this.checkCompatible(data);
      this.latest = data;
      this.announceRestore(data, 'restoreFrom', restoreFrom);
      return store;
    }
    if (this.start.external !== undefined) {
      // the outside says what this worker starts from
      const data = await this.start.external.restore?.();
      if (data !== undefined) {
        this.checkCompatible(data);
        this.latest = data;
        this.announceRestore(data, 'latest', data.location ?? '(outside)');
      }
      return store;
    }
    if (dir === undefined) return store;
    const { data, skipped } = await store.latest();
    if (startFrom === 'scratch') {
      if ((data !== undefined || skipped.length > 0) && !allowDuplicates) {
        const what =
          data === undefined
            ? `${skipped.length} checkpoint file(s)`
            : `completed checkpoint ${data.checkpointId} of job "${data.jobName}" (${new Date(data.completedAt).toISOString()})`;
        throw new TributaryError(
          'CONFIG_INVALID',
          `job "${this.jobName}": startFrom 'scratch', but checkpoint.dir ${dir} holds ${what}: the output of that run is already written, and reading the input again would write it twice. Leave startFrom out to resume, use an empty checkpoint.dir, or pass allowDuplicates: true to start over anyway`,
          { details: { dir, checkpointId: data?.checkpointId } },
        );
      }
      if (data !== undefined) {
        this.warn(
          `starting from scratch over ${dir} (allowDuplicates): the output may hold events of the earlier run twice; its checkpoints are kept`,
          { dir, checkpointId: data.checkpointId },
        );
      }
      return store;
    }
    for (const s of skipped)
      this.warn(`skipped corrupt checkpoint: ${s.error.message}`, { path: s.path });
    if (data === undefined) {
      if (skipped.length > 0 && !allowDuplicates) {
        throw new TributaryError(
          'STATE_CORRUPT',
          `job "${this.jobName}": checkpoint.dir ${dir} holds only corrupt checkpoints (${skipped.map((s) => s.error.message).join('; ')}); starting from scratch could duplicate output: pass allowDuplicates: true with startFrom: 'scratch' to do it anyway`,
          { details: { dir } },
        );
      }
      return store;
    }
    if (data.jobName !== this.jobName) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `job "${this.jobName}": checkpoint.dir ${dir} holds the checkpoints of job "${data.jobName}"; a job is its name plus its checkpoint directory: use another directory, or restoreFrom to continue that job's state under a new name`,
        { details: { dir, jobName: data.jobName } },
      );
    }
    this.checkCompatible(data);
    this.latest = data;
    this.announceRestore(data, 'latest', dir);
    return store;
  }

  /** One line: which checkpoint, when, where each source resumes. */
  private announceRestore(
    data: CheckpointData,
    from: 'latest' | 'restoreFrom',
    path: string,
  ): void {
    const positions: Record<string, string> = {};
    for (const vertex of this.graph.vertices) {
      const source = vertex.source;
      const state = source === undefined ? undefined : data.enumerators[source.uid];
      if (source === undefined || state === undefined || source.source.describeState === undefined)
        continue;
      try {
        const splits: unknown[] = (data.operators[source.uid]?.subtasks ?? []).flatMap((subtask) =>
          (subtask?.items ?? []).map(
            (item) => source.source.splitSerializer.fromState(decodeState(item)) as unknown,
          ),
        );
        positions[source.uid] = source.source.describeState(
          source.source.enumeratorStateSerializer.fromState(decodeState(state)),
          splits,
        );
      } catch (err) {
        positions[source.uid] = `(unreadable: ${errorMessage(err)})`;
      }
    }
    const where = Object.entries(positions)
      .map(([uid, text]) => `${uid}: ${text}`)
      .join('; ');
    const message = `job "${this.jobName}" resumes from checkpoint ${data.checkpointId} of ${new Date(data.completedAt).toISOString()} (${from === 'latest' ? `latest in ${path}` : `restoreFrom ${path}`})${where === '' ? '' : `; positions: ${where}`}`;
    this.events.next({
      type: 'restored',
      checkpointId: data.checkpointId,
      completedAt: data.completedAt,
      path,
      from,
      positions,
      message,
      time: Date.now(),
    });
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

  private result(status: JobResult['status'], restarts: number): JobResult {
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
