import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobEvent, OperatorMetrics } from '../../../src/runtime/job-events.js';
import { startExactlyOnceJob } from '../helpers/exactly-once-job.js';
import { tempDir } from '../helpers/files.js';

function op(metrics: readonly OperatorMetrics[], uid: string): OperatorMetrics {
  const found = metrics.find((m) => m.uid === uid);
  if (found === undefined) throw new Error(`no metrics for ${uid}`);
  return found;
}

describe('job metrics', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('metrics');
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('count records once: what a restart replays is counted apart', async () => {
    const total = 12_000;
    const job = startExactlyOnceJob({
      records: total,
      outDir: dir.path,
      failures: [{ atRead: 5_000, afterCheckpoints: 2 }],
      options: {
        parallelism: 2,
        checkpoint: { intervalMs: 40 },
        restart: { type: 'fixed-delay', maxAttempts: 3, delayMs: 10 },
      },
      ratePerSecond: 8_000,
    });
    const result = await job.handle;
    expect(result.restarts).toBe(1);
    const source = op(result.metrics, 'numbers');
    expect(source.recordsOut).toBe(total);
    expect(source.recordsOutReplayed).toBeGreaterThan(0);
    expect(source.subtasks.map((s) => s.subtask)).toEqual([0, 1]);
    expect(source.subtasks.reduce((a, s) => a + s.recordsOut, 0)).toBe(total);
    for (const uid of ['count', 'files']) {
      const m = op(result.metrics, uid);
      expect(m.recordsIn, uid).toBe(total);
      expect(m.recordsInReplayed, uid).toBeGreaterThanOrEqual(0);
    }
    expect(op(result.metrics, 'count').recordsOut).toBe(total);
    expect(op(result.metrics, 'failing-map').recordsOut).toBe(total);
  });

  it('count everything processed before a restart from the beginning as replayed', async () => {
    const total = 6_000;
    const job = startExactlyOnceJob({
      records: total,
      outDir: dir.path,
      failures: [{ atRead: 3_000, afterCheckpoints: 0 }],
      options: {
        parallelism: 1,
        restart: { type: 'fixed-delay', maxAttempts: 3, delayMs: 10 },
      },
    });
    const result = await job.handle;
    expect(result.restarts).toBe(1);
    const source = op(result.metrics, 'numbers');
    expect(source.recordsOut).toBe(total);
    // the first attempt read at least up to the failure point, all of it replayed
    expect(source.recordsOutReplayed).toBeGreaterThanOrEqual(3_000);
  });

  it('report whole milliseconds, resume points and transactions', async () => {
    const total = 3_000;
    const job = startExactlyOnceJob({
      records: total,
      outDir: dir.path,
      failures: [{ atRead: 1_000, afterCheckpoints: 1 }],
      options: {
        checkpoint: { intervalMs: 30 },
        restart: { type: 'fixed-delay', maxAttempts: 3, delayMs: 10 },
        metricsIntervalMs: 20,
      },
      ratePerSecond: 8_000,
    });
    await job.handle;
    const events: JobEvent[] = job.events;
    const completed = events.filter((e) => e.type === 'checkpoint-completed');
    expect(completed.length).toBeGreaterThan(0);
    for (const e of completed) expect(Number.isInteger(e.durationMs)).toBe(true);
    for (const e of events) {
      if (e.type !== 'metrics') continue;
      for (const t of e.tasks) expect(Number.isInteger(t.backpressuredMs)).toBe(true);
    }
    const restart = events.find((e) => e.type === 'restart');
    const resumed = events.filter((e) => e.type === 'status' && e.status === 'running');
    expect(resumed).toHaveLength(2);
    expect(resumed[1]?.type === 'status' && resumed[1].fromCheckpoint).toBe(
      restart?.type === 'restart' ? restart.fromCheckpoint : -1,
    );
    const txns = events.filter((e) => e.type === 'transaction');
    expect(txns.some((e) => e.action === 'begun' && e.operator === 'files')).toBe(true);
    expect(txns.some((e) => e.action === 'committed' && e.checkpointId !== undefined)).toBe(true);
    expect(txns.some((e) => e.action === 'aborted')).toBe(true); // the open one at the failure
  });
});
