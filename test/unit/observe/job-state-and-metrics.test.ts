import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { JobState } from '../../../src/observe/job-state.js';
import { PrometheusMetrics } from '../../../src/observe/prometheus.js';
import type { JobEvent, OperatorMetrics, TaskMetrics } from '../../../src/runtime/job-events.js';

const graph = {
  vertices: [
    {
      id: 0,
      name: 'src → sink',
      parallelism: 2,
      source: { uid: 'src', name: 'src' },
      operators: [{ uid: 'sink', name: 'sink' }],
    },
  ],
  edges: [],
};

function operator(uid: string, out: number, replayed = 0): OperatorMetrics {
  return {
    uid,
    name: uid,
    parallelism: 1,
    recordsIn: out,
    recordsOut: out,
    recordsInReplayed: replayed,
    recordsOutReplayed: replayed,
    subtasks: [
      {
        subtask: 0,
        recordsIn: out,
        recordsOut: out,
        recordsInReplayed: replayed,
        recordsOutReplayed: replayed,
      },
    ],
    counters: { bytesRead: out * 10 },
  };
}

const txn = (
  action: 'begun' | 'committed' | 'aborted',
  subtask: number,
  time: number,
  recovery = false,
): JobEvent => ({
  type: 'transaction',
  action,
  operator: 'sink',
  operatorName: 'sink',
  subtask,
  recovery,
  time,
});

describe('job state', () => {
  it('folds events into what the page shows', () => {
    const state = new JobState('j', graph, 1_000, (t) => t.replace('pw', '[redacted]'));
    const events: JobEvent[] = [
      { type: 'status', status: 'running', attempt: 0, time: 1_001 },
      txn('begun', 0, 1_002),
      txn('begun', 1, 1_002),
      {
        type: 'metrics',
        operators: [operator('src', 0)],
        tasks: [{ name: 't', subtask: 0, backpressuredMs: 0 }],
        time: 2_000,
      },
      { type: 'checkpoint-triggered', checkpointId: 1, final: false, time: 2_100 },
      {
        type: 'checkpoint-completed',
        checkpointId: 1,
        final: false,
        durationMs: 40,
        stateBytes: 512,
        path: undefined,
        time: 2_140,
      },
      txn('committed', 0, 2_150),
      txn('begun', 0, 2_150),
      {
        type: 'metrics',
        operators: [operator('src', 1_000)],
        tasks: [{ name: 't', subtask: 0, backpressuredMs: 250 }],
        time: 3_000,
      },
      { type: 'checkpoint-triggered', checkpointId: 2, final: false, time: 3_100 },
      {
        type: 'restart',
        attempt: 1,
        delayMs: 10,
        error: new Error('boom pw'),
        fromCheckpoint: 1,
        time: 3_200,
      },
      { type: 'status', status: 'running', attempt: 1, fromCheckpoint: 1, time: 3_300 },
      txn('committed', 0, 3_310, true), // the pre-committed one, recovered
      txn('begun', 0, 3_320),
      { type: 'warning', message: 'slow pw', time: 3_400 },
    ];
    for (const e of events) state.apply(e);
    const s = state.snapshot();
    expect(s.job).toMatchObject({
      status: 'running',
      attempt: 1,
      restarts: 1,
      resumedFrom: 1,
      lastError: 'boom [redacted]',
    });
    expect(s.checkpoints.completed).toBe(1);
    expect(s.checkpoints.recent.map((c) => [c.id, c.state])).toEqual([
      [2, 'aborted'],
      [1, 'completed'],
    ]);
    expect(s.checkpoints.lastCompleted).toMatchObject({ id: 1, durationMs: 40, bytes: 512 });
    expect(s.operators[0]).toMatchObject({ outPerSecond: 1_000 });
    expect(s.tasks[0]).toMatchObject({ backpressureRatio: 0.25 });
    // the restart closed the old writers; the new attempt has one open transaction
    expect(s.transactions).toEqual({ open: 1, committed: 2, aborted: 0 });
    expect(s.warnings).toEqual([{ message: 'slow [redacted]', time: 3_400 }]);
  });
});

describe('Prometheus metrics', () => {
  it('follow the naming rules and never go down', async () => {
    const state = new JobState('j', graph, Date.now());
    let current = [operator('src', 100)];
    let tasks: TaskMetrics[] = [
      { name: 't', subtask: 0, backpressuredMs: 1_500 },
      { name: 'w', subtask: 1, backpressuredMs: 0, watermark: 1_700_000_000_250, idle: true },
    ];
    const registry = new Registry();
    const metrics = new PrometheusMetrics(
      registry,
      'j',
      { metrics: () => ({ operators: current, tasks }) },
      state,
      { processMetrics: true },
    );
    const feed = (e: JobEvent): void => {
      state.apply(e);
      metrics.onEvent(e);
    };
    feed({
      type: 'checkpoint-completed',
      checkpointId: 1,
      final: false,
      durationMs: 20,
      stateBytes: 64,
      path: undefined,
      time: Date.now(),
    });
    feed(txn('begun', 0, Date.now()));
    state.setLag(
      [{ source: 'src', sourceName: 'src', stream: 's/a', bytes: 4096, events: 40 }],
      Date.now(),
    );
    const first = await registry.getMetricsAsJSON();
    const ours = first.filter((m) => m.name.startsWith('tributary_'));
    expect(ours.length).toBeGreaterThan(15);
    for (const m of ours) {
      if (String(m.type) === 'counter') expect(m.name, m.name).toMatch(/_total$/);
      else expect(m.name, m.name).not.toMatch(/_total$/);
      expect(m.name, m.name).not.toMatch(/_(ms|milliseconds|kb)$/);
      expect(m.help.length, m.name).toBeGreaterThan(10);
    }
    // Node's default process metrics are there too
    expect(first.some((m) => m.name === 'process_cpu_seconds_total')).toBe(true);
    const text1 = await registry.metrics();
    expect(text1).toContain(
      'tributary_records_out_total{operator="src",uid="src",subtask="0",job_name="j"} 100',
    );
    expect(text1).toContain(
      'tributary_source_read_bytes_total{operator="src",uid="src",job_name="j"} 1000',
    );
    expect(text1).toContain(
      'tributary_backpressure_seconds_total{task="t",subtask="0",job_name="j"} 1.5',
    );
    expect(text1).toContain(
      'tributary_source_lag_bytes{source="src",stream="s/a",job_name="j"} 4096',
    );
    expect(text1).toContain(
      'tributary_source_lag_events{source="src",stream="s/a",job_name="j"} 40',
    );
    expect(text1).toContain('tributary_transactions_open{sink="sink",subtask="0",job_name="j"} 1');
    expect(text1).toContain('tributary_checkpoint_last_size_bytes{job_name="j"} 64');
    // event time per task: only tasks that have a watermark; idleness for every task
    expect(text1).toContain(
      'tributary_task_watermark_timestamp_seconds{task="w",subtask="1",job_name="j"} 1700000000.25',
    );
    expect(text1).not.toMatch(/tributary_task_watermark_timestamp_seconds\{task="t"/);
    expect(text1).toContain('tributary_task_idle{task="w",subtask="1",job_name="j"} 1');
    expect(text1).toContain('tributary_task_idle{task="t",subtask="0",job_name="j"} 0');

    // a new attempt: the runtime's back-pressure time starts again from 0; counters go on
    current = [operator('src', 150, 30)];
    tasks = [{ name: 't', subtask: 0, backpressuredMs: 500 }];
    const text2 = await registry.metrics();
    expect(text2).toContain(
      'tributary_records_out_total{operator="src",uid="src",subtask="0",job_name="j"} 150',
    );
    expect(text2).toContain(
      'tributary_records_out_replayed_total{operator="src",uid="src",subtask="0",job_name="j"} 30',
    );
    expect(text2).toContain(
      'tributary_backpressure_seconds_total{task="t",subtask="0",job_name="j"} 2',
    );
  });
});
