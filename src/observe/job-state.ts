import type {
  JobEvent,
  JobGraphDescription,
  JobStatus,
  OperatorMetrics,
  SourceLag,
  TaskMetrics,
} from '../runtime/index.js';

const RECENT_CHECKPOINTS = 10;
const RECENT_WARNINGS = 10;

export interface CheckpointRow {
  readonly id: number;
  readonly state: 'in-progress' | 'completed' | 'aborted';
  readonly final: boolean;
  readonly triggeredAt: number;
  readonly durationMs?: number;
  readonly bytes?: number;
  readonly reason?: string;
}

export interface OperatorRow extends OperatorMetrics {
  /** Records per second over the last metrics interval (replays included: work done). */
  readonly inPerSecond: number;
  readonly outPerSecond: number;
}

export interface TaskRow extends TaskMetrics {
  /** Share of the last metrics interval spent blocked on full output channels (0..1). */
  readonly backpressureRatio: number;
}

/**
 * The workers of a job run in several processes (docs/scale-out.md), as its coordination table
 * said at `measuredAt`; `workerId` is the worker this observer runs in.
 */
export interface ClusterStatus {
  readonly workerId: string;
  readonly measuredAt: number | undefined;
  /** why the last read failed (the previous view stays on show) */
  readonly error: string | undefined;
  readonly members: readonly {
    readonly workerId: string;
    readonly state: 'alive' | 'left' | 'dead';
    readonly epoch: number;
    readonly host: string;
    readonly pid: number;
    readonly joinedAt: number;
    readonly beat: number;
    readonly leader: boolean;
    readonly deadBy?: string;
  }[];
  readonly leader: { readonly workerId: string; readonly term: number } | undefined;
  readonly completedCheckpoint: number | undefined;
  readonly pendingCheckpoint: number | undefined;
}

/** What a cluster read gives the observer (a `ClusterView` from src/cluster is one). */
export type ClusterReading = Pick<
  ClusterStatus,
  'members' | 'leader' | 'completedCheckpoint' | 'pendingCheckpoint'
>;

/** Everything the status page and `/api/status` show. JSON-safe. */
export interface StatusSnapshot {
  readonly job: {
    readonly name: string;
    readonly status: JobStatus;
    readonly attempt: number;
    readonly restarts: number;
    readonly startedAt: number;
    readonly updatedAt: number;
    /** The checkpoint the current attempt resumed from. */
    readonly resumedFrom: number | undefined;
    readonly lastError: string | undefined;
  };
  readonly graph: JobGraphDescription;
  readonly operators: readonly OperatorRow[];
  readonly tasks: readonly TaskRow[];
  readonly checkpoints: {
    readonly completed: number;
    readonly failed: number;
    readonly lastCompleted: CheckpointRow | undefined;
    /** Newest first. */
    readonly recent: readonly CheckpointRow[];
  };
  readonly lag: { readonly measuredAt: number | undefined; readonly sources: readonly SourceLag[] };
  readonly transactions: {
    readonly open: number;
    readonly committed: number;
    readonly aborted: number;
  };
  /** Newest first. */
  readonly warnings: readonly { readonly message: string; readonly time: number }[];
  /** Only for a worker of a job in several processes. */
  readonly cluster: ClusterStatus | undefined;
}

/**
 * The job as the observer sees it, folded from its events (pure: no timers, no I/O).
 * `format` redacts text that came from the job (error messages, warnings).
 */
export class JobState {
  private status: JobStatus = 'created';
  private attempt = 0;
  private restarts = 0;
  private resumedFrom: number | undefined;
  private lastError: string | undefined;
  private updatedAt: number;
  private operators: OperatorRow[] = [];
  private tasks: TaskRow[] = [];
  private previousMetrics:
    { time: number; operators: OperatorMetrics[]; tasks: TaskMetrics[] } | undefined;
  private readonly checkpoints = new Map<number, CheckpointRow>();
  private completed = 0;
  private failed = 0;
  private lastCompleted: CheckpointRow | undefined;
  private lag: { measuredAt: number | undefined; sources: SourceLag[] } = {
    measuredAt: undefined,
    sources: [],
  };
  private readonly openTxns = new Map<string, number>();
  private committed = 0;
  private aborted = 0;
  private warnings: { message: string; time: number }[] = [];
  private cluster: ClusterStatus | undefined;

  constructor(
    private readonly name: string,
    private readonly graph: JobGraphDescription,
    private readonly startedAt: number,
    private readonly format: (text: string) => string = (t) => t,
  ) {
    this.updatedAt = startedAt;
  }

  apply(event: JobEvent): void {
    this.updatedAt = event.time;
    switch (event.type) {
      case 'status':
        this.status = event.status;
        this.attempt = event.attempt;
        if (event.status === 'running') this.resumedFrom = event.fromCheckpoint;
        if (event.error !== undefined) this.lastError = this.format(event.error.message);
        break;
      case 'restart':
        this.restarts = Math.max(this.restarts, event.attempt);
        this.lastError = this.format(event.error.message);
        // the writers of the old attempt are gone; the new one begins its own transactions
        this.openTxns.clear();
        for (const [id, row] of this.checkpoints) {
          if (row.state === 'in-progress')
            this.checkpoints.set(id, { ...row, state: 'aborted', reason: 'job restarted' });
        }
        break;
      case 'checkpoint-triggered':
        this.checkpoints.set(event.checkpointId, {
          id: event.checkpointId,
          state: 'in-progress',
          final: event.final,
          triggeredAt: event.time,
        });
        this.trimCheckpoints();
        break;
      case 'checkpoint-completed': {
        const row: CheckpointRow = {
          id: event.checkpointId,
          state: 'completed',
          final: event.final,
          triggeredAt: this.checkpoints.get(event.checkpointId)?.triggeredAt ?? event.time,
          durationMs: event.durationMs,
          bytes: event.stateBytes,
        };
        this.checkpoints.set(event.checkpointId, row);
        this.completed++;
        this.lastCompleted = row;
        this.trimCheckpoints();
        break;
      }
      case 'checkpoint-aborted':
        this.checkpoints.set(event.checkpointId, {
          id: event.checkpointId,
          state: 'aborted',
          final: event.final,
          triggeredAt: this.checkpoints.get(event.checkpointId)?.triggeredAt ?? event.time,
          durationMs: event.durationMs,
          reason: this.format(event.reason),
        });
        this.failed++;
        this.trimCheckpoints();
        break;
      case 'transaction': {
        const key = `${event.operatorName}#${event.subtask}`;
        const open = this.openTxns.get(key) ?? 0;
        if (event.action === 'begun') this.openTxns.set(key, open + 1);
        else if (!event.recovery) this.openTxns.set(key, Math.max(0, open - 1));
        if (event.action === 'committed') this.committed++;
        if (event.action === 'aborted') this.aborted++;
        break;
      }
      case 'metrics':
        this.applyMetrics(event.time, event.operators, event.tasks);
        break;
      case 'warning':
        this.warnings = [
          { message: this.format(event.message), time: event.time },
          ...this.warnings,
        ].slice(0, RECENT_WARNINGS);
        break;
    }
  }

  setLag(sources: SourceLag[], measuredAt: number): void {
    this.lag = { measuredAt, sources };
  }

  /** This observer runs in worker `workerId` of a job in several processes. */
  setWorker(workerId: string): void {
    this.cluster ??= {
      workerId,
      measuredAt: undefined,
      error: undefined,
      members: [],
      leader: undefined,
      completedCheckpoint: undefined,
      pendingCheckpoint: undefined,
    };
  }

  setCluster(reading: ClusterReading, measuredAt: number): void {
    if (this.cluster === undefined) return;
    this.cluster = {
      workerId: this.cluster.workerId,
      measuredAt,
      error: undefined,
      members: reading.members,
      leader: reading.leader,
      completedCheckpoint: reading.completedCheckpoint,
      pendingCheckpoint: reading.pendingCheckpoint,
    };
  }

  setClusterError(message: string): void {
    if (this.cluster === undefined) return;
    this.cluster = { ...this.cluster, error: this.format(message) };
  }

  snapshot(): StatusSnapshot {
    return {
      job: {
        name: this.name,
        status: this.status,
        attempt: this.attempt,
        restarts: this.restarts,
        startedAt: this.startedAt,
        updatedAt: this.updatedAt,
        resumedFrom: this.resumedFrom,
        lastError: this.lastError,
      },
      graph: this.graph,
      operators: this.operators,
      tasks: this.tasks,
      checkpoints: {
        completed: this.completed,
        failed: this.failed,
        lastCompleted: this.lastCompleted,
        recent: [...this.checkpoints.values()].sort((a, b) => b.id - a.id),
      },
      lag: this.lag,
      transactions: {
        open: [...this.openTxns.values()].reduce((a, b) => a + b, 0),
        committed: this.committed,
        aborted: this.aborted,
      },
      warnings: this.warnings,
      cluster: this.cluster,
    };
  }

  /** Open transactions per sink subtask (`sinkName#subtask`). */
  openTransactions(): ReadonlyMap<string, number> {
    return this.openTxns;
  }

  private applyMetrics(
    time: number,
    operators: readonly OperatorMetrics[],
    tasks: readonly TaskMetrics[],
  ): void {
    const prev = this.previousMetrics;
    const seconds = prev === undefined ? 0 : (time - prev.time) / 1000;
    const rate = (now: number, before: number | undefined): number =>
      seconds > 0 && before !== undefined ? round2(Math.max(0, now - before) / seconds) : 0;
    this.operators = operators.map((op) => {
      const before = prev?.operators.find((p) => p.uid === op.uid);
      return {
        ...op,
        inPerSecond: rate(
          op.recordsIn + op.recordsInReplayed,
          before && before.recordsIn + before.recordsInReplayed,
        ),
        outPerSecond: rate(
          op.recordsOut + op.recordsOutReplayed,
          before && before.recordsOut + before.recordsOutReplayed,
        ),
      };
    });
    this.tasks = tasks.map((task) => {
      const before = prev?.tasks.find((t) => t.name === task.name && t.subtask === task.subtask);
      const blocked =
        before === undefined || task.backpressuredMs < before.backpressuredMs
          ? 0
          : task.backpressuredMs - before.backpressuredMs;
      return {
        ...task,
        backpressureRatio: seconds > 0 ? round2(Math.min(1, blocked / 1000 / seconds)) : 0,
      };
    });
    this.previousMetrics = { time, operators: [...operators], tasks: [...tasks] };
  }

  private trimCheckpoints(): void {
    const ids = [...this.checkpoints.keys()].sort((a, b) => b - a);
    for (const id of ids.slice(RECENT_CHECKPOINTS)) this.checkpoints.delete(id);
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
