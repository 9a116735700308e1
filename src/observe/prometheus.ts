import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import type { JobEvent, JobStatus, OperatorMetrics, TaskMetrics } from '../runtime/index.js';
import type { JobState } from './job-state.js';

const STATUSES: readonly JobStatus[] = [
  'created',
  'running',
  'restarting',
  'finished',
  'cancelled',
  'failed',
];

/** Operator counters with their own metric; the others go to `tributary_operator_counter_total`. */
const NAMED_COUNTERS: Readonly<Record<string, { name: string; help: string }>> = {
  bytesRead: {
    name: 'tributary_source_read_bytes_total',
    help: 'Payload bytes read by a source (replays included).',
  },
};

/** What the metrics read from the job at scrape time. */
export interface MetricsInput {
  metrics(): { operators: OperatorMetrics[]; tasks: TaskMetrics[] };
}

/**
 * The job's Prometheus metrics (`tributary_` prefix; counters end in `_total`, times are in
 * `_seconds`, sizes in `_bytes`), plus Node's default process metrics. Counters that the job keeps
 * cumulatively are read at scrape time; checkpoint and transaction counters follow the events.
 * Every series carries the `job_name` label.
 */
export class PrometheusMetrics {
  private readonly last = new Map<string, number>();
  private readonly checkpointsCompleted: Counter;
  private readonly checkpointsFailed: Counter;
  private readonly checkpointDuration: Histogram;
  private readonly restarts: Counter;
  private readonly txnCommitted: Counter<'sink' | 'subtask'>;
  private readonly txnAborted: Counter<'sink' | 'subtask'>;

  constructor(
    registry: Registry,
    jobName: string,
    job: MetricsInput,
    state: JobState,
    options: { processMetrics: boolean; workerId?: string },
  ) {
    registry.setDefaultLabels({
      job_name: jobName,
      ...(options.workerId !== undefined ? { worker_id: options.workerId } : {}),
    });
    if (options.processMetrics) collectDefaultMetrics({ register: registry });
    const registers = [registry];
    const advance = this.advance.bind(this);

    new Gauge({
      name: 'tributary_job_status',
      help: 'The job status: 1 for the current one, 0 for the others.',
      labelNames: ['status'],
      registers,
      collect() {
        const now = state.snapshot().job.status;
        for (const s of STATUSES) this.set({ status: s }, s === now ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tributary_job_uptime_seconds',
      help: 'Seconds since the job was started.',
      registers,
      collect() {
        this.set((Date.now() - state.snapshot().job.startedAt) / 1000);
      },
    });
    if (options.workerId !== undefined) this.clusterGauges(registers, state);
    this.restarts = new Counter({
      name: 'tributary_job_restarts_total',
      help: 'Restarts of the job (after a failure, from the latest completed checkpoint).',
      registers,
    });

    const opLabels = ['operator', 'uid', 'subtask'] as const;
    const records = (name: string, help: string, pick: (s: SubtaskCounts) => number): void => {
      new Counter({
        name,
        help,
        labelNames: opLabels,
        registers,
        collect() {
          for (const op of job.metrics().operators) {
            for (const s of op.subtasks) {
              const labels = { operator: op.name, uid: op.uid, subtask: String(s.subtask) };
              advance(this, `${name}|${op.uid}|${s.subtask}`, labels, pick(s));
            }
          }
        },
      });
    };
    records(
      'tributary_records_in_total',
      'Records into an operator subtask; replays after a restart are not counted here (see _replayed_).',
      (s) => s.recordsIn,
    );
    records(
      'tributary_records_out_total',
      'Records out of an operator subtask (a source: records read); replays not counted here.',
      (s) => s.recordsOut,
    );
    records(
      'tributary_records_in_replayed_total',
      'Records into an operator subtask again after a restart rolled the job back to a checkpoint.',
      (s) => s.recordsInReplayed,
    );
    records(
      'tributary_records_out_replayed_total',
      'Records out of an operator subtask again after a restart rolled the job back.',
      (s) => s.recordsOutReplayed,
    );
    const rate = (
      name: string,
      help: string,
      pick: (op: { inPerSecond: number; outPerSecond: number }) => number,
    ): void => {
      new Gauge({
        name,
        help,
        labelNames: ['operator', 'uid'],
        registers,
        collect() {
          for (const op of state.snapshot().operators)
            this.set({ operator: op.name, uid: op.uid }, pick(op));
        },
      });
    };
    rate(
      'tributary_records_in_per_second',
      'Records per second into an operator (all subtasks, replays included) over the last metrics interval.',
      (op) => op.inPerSecond,
    );
    rate(
      'tributary_records_out_per_second',
      'Records per second out of an operator over the last metrics interval.',
      (op) => op.outPerSecond,
    );

    const named = new Map<string, Counter>();
    for (const [counter, spec] of Object.entries(NAMED_COUNTERS)) {
      named.set(
        counter,
        new Counter({
          name: spec.name,
          help: spec.help,
          labelNames: ['operator', 'uid'],
          registers,
        }),
      );
    }
    new Counter({
      name: 'tributary_operator_counter_total',
      help: 'Other counters of operators, by name (e.g. lateRecordsDropped, deserializationErrorsSkipped).',
      labelNames: ['operator', 'uid', 'counter'],
      registers,
      collect() {
        for (const op of job.metrics().operators) {
          for (const [counter, value] of Object.entries(op.counters)) {
            const own = named.get(counter);
            const labels = { operator: op.name, uid: op.uid };
            if (own !== undefined) advance(own, `${counter}|${op.uid}`, labels, value);
            else advance(this, `c|${counter}|${op.uid}`, { ...labels, counter }, value);
          }
        }
      },
    });

    new Counter({
      name: 'tributary_backpressure_seconds_total',
      help: 'Time a task spent blocked on full output channels (back-pressure from downstream).',
      labelNames: ['task', 'subtask'],
      registers,
      collect() {
        for (const t of job.metrics().tasks) {
          const labels = { task: t.name, subtask: String(t.subtask) };
          // per attempt in the runtime: a smaller value means a new attempt started from 0
          advance(this, `bp|${t.name}|${t.subtask}`, labels, t.backpressuredMs / 1000, true);
        }
      },
    });

    new Gauge({
      name: 'tributary_task_watermark_timestamp_seconds',
      help: "A task's event time in seconds since the epoch (Flink's currentInputWatermark): the combined watermark of its inputs, or the one a source task emitted; absent before its first watermark.",
      labelNames: ['task', 'subtask'],
      registers,
      collect() {
        // a task of a finished attempt or one without a watermark yet has no series
        this.reset();
        for (const t of job.metrics().tasks) {
          if (t.watermark !== undefined)
            this.set({ task: t.name, subtask: String(t.subtask) }, t.watermark / 1000);
        }
      },
    });
    new Gauge({
      name: 'tributary_task_idle',
      help: "Whether a task's input is idle (1): a source past its idleness timeout, or every input of the task idle; its event time then waits for none of them.",
      labelNames: ['task', 'subtask'],
      registers,
      collect() {
        this.reset();
        for (const t of job.metrics().tasks)
          this.set({ task: t.name, subtask: String(t.subtask) }, t.idle === true ? 1 : 0);
      },
    });

    this.checkpointsCompleted = new Counter({
      name: 'tributary_checkpoints_completed_total',
      help: 'Checkpoints completed (durably stored).',
      registers,
    });
    this.checkpointsFailed = new Counter({
      name: 'tributary_checkpoints_failed_total',
      help: 'Checkpoints aborted (timed out, declined, failed to store, or cut short by a restart).',
      registers,
    });
    this.checkpointDuration = new Histogram({
      name: 'tributary_checkpoint_duration_seconds',
      help: 'Time from triggering a checkpoint to its completion.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    const lastCompleted = (
      name: string,
      help: string,
      pick: (row: {
        id: number;
        durationMs?: number;
        bytes?: number;
        triggeredAt: number;
      }) => number | undefined,
    ): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const row = state.snapshot().checkpoints.lastCompleted;
          const value = row === undefined ? undefined : pick(row);
          if (value === undefined) this.reset();
          else this.set(value);
        },
      });
    };
    lastCompleted(
      'tributary_checkpoint_last_id',
      'Id of the latest completed checkpoint.',
      (r) => r.id,
    );
    lastCompleted(
      'tributary_checkpoint_last_size_bytes',
      'State size of the latest completed checkpoint.',
      (r) => r.bytes,
    );
    lastCompleted(
      'tributary_checkpoint_last_duration_seconds',
      'Duration of the latest completed checkpoint.',
      (r) => (r.durationMs === undefined ? undefined : r.durationMs / 1000),
    );
    lastCompleted(
      'tributary_checkpoint_last_completed_age_seconds',
      'Seconds since the latest completed checkpoint completed.',
      (r) => (Date.now() - r.triggeredAt - (r.durationMs ?? 0)) / 1000,
    );

    new Gauge({
      name: 'tributary_transactions_open',
      help: 'Transactions begun and not yet committed or aborted, per sink subtask (current attempt).',
      labelNames: ['sink', 'subtask'],
      registers,
      collect() {
        this.reset();
        for (const [key, open] of state.openTransactions()) {
          const [sink, subtask] = splitKey(key);
          this.set({ sink, subtask }, open);
        }
      },
    });
    this.txnCommitted = new Counter({
      name: 'tributary_transactions_committed_total',
      help: 'Sink transactions committed (recovery commits included).',
      labelNames: ['sink', 'subtask'],
      registers,
    });
    this.txnAborted = new Counter({
      name: 'tributary_transactions_aborted_total',
      help: 'Sink transactions aborted (recovery aborts included).',
      labelNames: ['sink', 'subtask'],
      registers,
    });

    const lag = (
      name: string,
      help: string,
      pick: (l: { bytes: number; events: number | undefined }) => number | undefined,
    ): void => {
      new Gauge({
        name,
        help,
        labelNames: ['source', 'stream'],
        registers,
        collect() {
          this.reset();
          for (const l of state.snapshot().lag.sources) {
            const value = pick(l);
            if (value !== undefined) this.set({ source: l.sourceName, stream: l.stream }, value);
          }
        },
      });
    };
    lag(
      'tributary_source_lag_bytes',
      'Bytes of a source stream not read yet: the tail of the stream minus the reader group position (refreshed every few seconds).',
      (l) => l.bytes,
    );
    lag(
      'tributary_source_lag_events',
      'Events of a source stream not read yet, where the source can tell (Pravega: lag bytes over the mean size of the events read so far, an estimate).',
      (l) => l.events,
    );
  }

  onEvent(event: JobEvent): void {
    switch (event.type) {
      case 'restart':
        this.restarts.inc();
        break;
      case 'checkpoint-completed':
        this.checkpointsCompleted.inc();
        this.checkpointDuration.observe(event.durationMs / 1000);
        break;
      case 'checkpoint-aborted':
        this.checkpointsFailed.inc();
        break;
      case 'transaction': {
        const labels = { sink: event.operatorName, subtask: String(event.subtask) };
        if (event.action === 'committed') this.txnCommitted.inc(labels);
        if (event.action === 'aborted') this.txnAborted.inc(labels);
        break;
      }
      default:
        break;
    }
  }

  /** Brings a counter up to a cumulative value (never down; `resets`: a drop means it restarted at 0). */
  /** A worker of a job in several processes: the workers as its last read of the table saw them. */
  private clusterGauges(registers: Registry[], state: JobState): void {
    new Gauge({
      name: 'tributary_cluster_workers',
      help: "The job's workers by state (alive, left, dead), as the coordination table last said.",
      labelNames: ['state'],
      registers,
      collect() {
        const members = state.snapshot().cluster?.members ?? [];
        for (const s of ['alive', 'left', 'dead'] as const)
          this.set({ state: s }, members.filter((m) => m.state === s).length);
      },
    });
    new Gauge({
      name: 'tributary_cluster_leader',
      help: 'Whether this worker leads the job (triggers and completes its checkpoints): 1 or 0.',
      registers,
      collect() {
        const c = state.snapshot().cluster;
        this.set(c !== undefined && c.leader?.workerId === c.workerId ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tributary_cluster_completed_checkpoint',
      help: 'Id of the latest checkpoint completed across all workers (0 before the first).',
      registers,
      collect() {
        this.set(state.snapshot().cluster?.completedCheckpoint ?? 0);
      },
    });
  }

  private advance<L extends string>(
    counter: Counter<L>,
    key: string,
    labels: Partial<Record<L, string>>,
    value: number,
    resets = false,
  ): void {
    const before = this.last.get(key);
    let delta: number;
    if (before === undefined) delta = value;
    else if (value >= before) delta = value - before;
    else delta = resets ? value : 0;
    this.last.set(key, resets || before === undefined ? value : Math.max(before, value));
    counter.inc(labels, delta);
  }
}

type SubtaskCounts = OperatorMetrics['subtasks'][number];

function splitKey(key: string): [string, string] {
  const at = key.lastIndexOf('#');
  return [key.slice(0, at), key.slice(at + 1)];
}
