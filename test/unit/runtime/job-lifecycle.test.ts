import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StateValue } from '../../../src/checkpoint/state-codec.js';
import { TributaryError } from '../../../src/errors.js';
import type { JobEvent } from '../../../src/runtime/job-events.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import type { Sink } from '../../../src/sink/sink.js';
import { SequenceSource } from '../../../src/source/sequence/sequence-source.js';
import { CollectSink } from '../helpers/collect-sink.js';
import { tempDir } from '../helpers/files.js';
import { InducedSource } from '../helpers/induced-source.js';

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (TributaryError.is(err, 'CONFIG_INVALID')) return err.message;
    throw err;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('job options', () => {
  it('reject bad values naming the key and the reason', () => {
    expect(configError(() => StreamEnvironment.create({ parallelism: 0 }))).toMatch(
      /job options: parallelism: Too small/,
    );
    expect(configError(() => StreamEnvironment.create({ checkpoint: { intervalMs: -5 } }))).toMatch(
      /checkpoint\.intervalMs: Too small/,
    );
    expect(
      configError(() => StreamEnvironment.create({ restart: { type: 'sometimes' } as never })),
    ).toMatch(/restart\.type/);
    expect(configError(() => StreamEnvironment.create({ paralelism: 2 } as never))).toMatch(
      /paralelism/,
    );
    expect(
      configError(() => StreamEnvironment.create({ parallelism: 300, maxParallelism: 128 })),
    ).toMatch(/parallelism: must not exceed maxParallelism/);
    const env = StreamEnvironment.create();
    expect(configError(() => env.execute(''))).toMatch(/jobName/);
    expect(
      configError(() =>
        env.fromSource(SequenceSource.bounded(0, 1)).map((n) => n, { parallelism: 1.5 }),
      ),
    ).toMatch(/parallelism must be a positive integer/);
  });

  it('fill in defaults', () => {
    const env = StreamEnvironment.create();
    expect(env.options.parallelism).toBe(1);
    expect(env.options.checkpoint).toMatchObject({
      timeoutMs: 60_000,
      maxConcurrent: 1,
      retained: 3,
      minPauseMs: 0,
    });
    expect(env.options.restart).toEqual({ type: 'fixed-delay', maxAttempts: 3, delayMs: 1000 });
  });

  it('require a sink', () => {
    const env = StreamEnvironment.create();
    env.fromSource(SequenceSource.bounded(0, 1)).map((n) => n);
    expect(() => env.execute('no-sink')).toThrow(/no sink/);
  });
});

describe('job lifecycle', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('lifecycle');
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('cancel stops the job for good and tells the enumerator so', async () => {
    const source = new InducedSource({ total: 1e12, ratePerSecond: 1000 });
    const env = StreamEnvironment.create({ checkpoint: { intervalMs: 20 } });
    env.fromSource(source).sinkTo(new CollectSink<number>());
    const handle = env.execute('cancel-me');
    const events: JobEvent[] = [];
    handle.events$.subscribe((e) => events.push(e));
    while (!events.some((e) => e.type === 'checkpoint-completed'))
      await new Promise((r) => setTimeout(r, 5));
    const result = await handle.cancel();
    expect(result.status).toBe('cancelled');
    expect(source.lifecycle).toEqual(['start:fresh:0', 'close:cancelled']);
    expect(
      events.filter((e) => e.type === 'status').map((e) => (e.type === 'status' ? e.status : '')),
    ).toEqual(['created', 'running', 'cancelled']);
  });

  it('a job that fails for good closes its enumerator with reason "failed"', async () => {
    const source = new InducedSource({ total: 1000 });
    const env = StreamEnvironment.create({ restart: { type: 'none' } });
    env
      .fromSource(source)
      .map(() => {
        throw new Error('always');
      })
      .sinkTo(new CollectSink<never>());
    await expect(env.execute('fails').result).rejects.toThrow(
      /failed after 0 restart\(s\): always/,
    );
    expect(source.lifecycle).toEqual(['start:fresh:0', 'close:failed']);
  });

  it('takes a checkpoint on request and stores it in the checkpoint directory', async () => {
    const env = StreamEnvironment.create({ checkpoint: { dir: dir.path } });
    const sink = new CollectSink<number>();
    env.fromSource(SequenceSource.unbounded(0, { ratePerSecond: 1000 }), { uid: 'n' }).sinkTo(sink);
    const handle = env.execute('on-request');
    // records reach the sink once the job's tasks (and its checkpoint coordinator) run
    const deadline = Date.now() + 60_000;
    while (sink.records.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    const id = await handle.triggerCheckpoint();
    expect(id).toBe(1);
    // the checkpoint, and the job's lease while it runs
    expect((await readdir(dir.path)).sort()).toEqual(['chk-000000000001.ckpt', 'job.lock']);
    await handle.cancel();
  });

  it('abandons a checkpoint whose task snapshot is too slow (timeout) without a restart; the next succeeds', async () => {
    let slowOnce = true;
    const received: number[] = [];
    const sink: Sink<number> = {
      createWriter: () => ({
        initialize: async () => {},
        writeBatch: (records) => void received.push(...records),
        snapshotState: async (): Promise<readonly StateValue[]> => {
          if (slowOnce) {
            slowOnce = false;
            await new Promise((r) => setTimeout(r, 900));
          }
          return [];
        },
        notifyCheckpointComplete: async () => {},
        close: async () => {},
      }),
    };
    const env = StreamEnvironment.create({
      // a loaded machine may time out more checkpoints than the slow one: none fails the job
      checkpoint: { intervalMs: 20, timeoutMs: 300, tolerableFailures: 1_000 },
      restart: { type: 'none' },
    });
    env
      .fromSource(SequenceSource.bounded(0, 3000, { ratePerSecond: 3000, batchSize: 50 }))
      .sinkTo(sink);
    const handle = env.execute('slow-snapshot');
    const events: JobEvent[] = [];
    handle.events$.subscribe((e) => events.push(e));
    const result = await handle;
    expect(result.restarts).toBe(0);
    const first = events.find(
      (e) => e.type !== 'checkpoint-triggered' && 'checkpointId' in e && e.checkpointId === 1,
    );
    expect(first?.type).toBe('checkpoint-aborted');
    expect(first?.type === 'checkpoint-aborted' && first.reason).toBe(
      // the task still snapshotting is named, as Flink's checkpoint view lists pending subtasks
      'timed out after 300 ms; not acknowledged by source-1 → sink-2 (1/1)',
    );
    expect(events.some((e) => e.type === 'checkpoint-completed' && e.checkpointId > 1)).toBe(true);
    expect(received).toHaveLength(3000);
  });

  it('reports records in/out per operator', async () => {
    const env = StreamEnvironment.create({ parallelism: 2 });
    env
      .fromSource(SequenceSource.bounded(0, 1000), { uid: 'src' })
      .filter((n) => n % 2 === 0, { uid: 'evens' })
      .sinkTo(new CollectSink<number>(), { uid: 'sink', parallelism: 1 });
    const result = await env.execute('metrics');
    const m = new Map(result.metrics.map((o) => [o.uid, o]));
    expect(m.get('src')?.recordsOut).toBe(1000);
    expect(m.get('evens')?.recordsIn).toBe(1000);
    expect(m.get('evens')?.recordsOut).toBe(500);
    expect(m.get('sink')?.recordsIn).toBe(500);
  });

  it('refuses to restore a checkpoint whose operators this job does not have', async () => {
    const first = StreamEnvironment.create({ checkpoint: { dir: dir.path } });
    first
      .fromSource(SequenceSource.bounded(0, 10), { uid: 'old-source' })
      .sinkTo(new CollectSink<number>(), { uid: 's' });
    await first.execute('v1');
    const second = StreamEnvironment.create();
    second
      .fromSource(SequenceSource.bounded(0, 10), { uid: 'new-source' })
      .sinkTo(new CollectSink<number>(), { uid: 's' });
    await expect(second.execute('v2', { restoreFrom: dir.path }).result).rejects.toThrow(
      /old-source/,
    );
  });

  it('tells sources and sinks the checkpoint settings (e.g. to check a transaction lease)', async () => {
    const seen: unknown[] = [];
    const env = StreamEnvironment.create({ checkpoint: { intervalMs: 1234, timeoutMs: 5678 } });
    env.fromSource(SequenceSource.bounded(0, 10)).sinkTo({
      createWriter: (ctx) => {
        seen.push(ctx.checkpointing);
        return new CollectSink<number>().createWriter();
      },
    });
    await env.execute('settings');
    expect(seen).toEqual([
      {
        intervalMs: 1234,
        timeoutMs: 5678,
        minPauseMs: 0,
        tolerableFailures: 3,
        keyedState: {
          backend: 'heap',
          snapshots: 'incremental',
          consolidateEvery: 8,
          writeBatchEntries: 65_536,
          writeCacheEntries: 262_144,
          cacheEntries: 262_144,
        },
      },
    ]);
  });
});
