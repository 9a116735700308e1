import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { FileSink } from '../../../src/sink/file/file-sink.js';
import { SequenceSource } from '../../../src/source/sequence/sequence-source.js';
import { gatedSource } from '../../support/gated-source.js';
import {
  KEYS,
  startExactlyOnceJob,
  verifyExactlyOnce,
  type Output,
} from '../helpers/exactly-once-job.js';
import { inProgressFiles, readCommitted, tempDir } from '../helpers/files.js';

describe('exactly-once under failures (sequence → failing map → keyed count → file sink)', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('eo');
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('restarts from the latest checkpoint after a failure and commits every record once', async () => {
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
    expect(result.status).toBe('finished');
    expect(result.restarts).toBe(1);
    expect(job.remainingFailures()).toBe(0);
    const restart = job.events.find((e) => e.type === 'restart');
    expect(restart?.type === 'restart' && restart.fromCheckpoint).toBeGreaterThanOrEqual(2);
    expect(verifyExactlyOnce(await readCommitted<Output>(dir.path), total)).toEqual([]);
    expect(await inProgressFiles(dir.path)).toEqual([]);
  });

  it('restarts from the beginning when the failure comes before the first checkpoint', async () => {
    const total = 6_000;
    const job = startExactlyOnceJob({
      records: total,
      outDir: dir.path,
      failures: [{ atRead: 3_000, afterCheckpoints: 0 }],
      options: {
        parallelism: 2,
        checkpoint: { intervalMs: 60_000 },
        restart: { type: 'fixed-delay', maxAttempts: 1, delayMs: 0 },
      },
    });
    const result = await job.handle;
    expect(result.restarts).toBe(1);
    const restart = job.events.find((e) => e.type === 'restart');
    expect(restart?.type === 'restart' ? restart.fromCheckpoint : 'none').toBeUndefined();
    expect(verifyExactlyOnce(await readCommitted<Output>(dir.path), total)).toEqual([]);
    expect(await inProgressFiles(dir.path)).toEqual([]);
  });

  it('survives several failures between checkpoints (exponential restart delay)', async () => {
    const total = 16_000;
    const job = startExactlyOnceJob({
      records: total,
      outDir: dir.path,
      failures: [
        // the source pauses at each point until the checkpoints are done, so every failure
        // comes after them and before the input runs out, however loaded the machine is
        { atRead: 2_000, afterCheckpoints: 1 },
        { atRead: 6_000, afterCheckpoints: 2 },
        { atRead: 10_000, afterCheckpoints: 3 },
      ],
      options: {
        parallelism: 3,
        checkpoint: { intervalMs: 30 },
        restart: { type: 'exponential-delay', maxAttempts: 5, initialDelayMs: 5, maxDelayMs: 50 },
      },
      ratePerSecond: 6_000,
    });
    const result = await job.handle;
    expect(result.restarts).toBe(3);
    expect(job.remainingFailures()).toBe(0);
    expect(verifyExactlyOnce(await readCommitted<Output>(dir.path), total)).toEqual([]);
    expect(await inProgressFiles(dir.path)).toEqual([]);
  });

  it('fails for good with JOB_FAILED once the restart strategy is exhausted', async () => {
    const job = startExactlyOnceJob({
      records: 5_000,
      outDir: dir.path,
      failures: [
        { atRead: 100, afterCheckpoints: 0 },
        { atRead: 200, afterCheckpoints: 0 },
      ],
      options: { parallelism: 1, restart: { type: 'fixed-delay', maxAttempts: 1, delayMs: 0 } },
    });
    const error = await job.handle.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(TributaryError.is(error, 'JOB_FAILED')).toBe(true);
    expect((error as Error).message).toContain('intentional failure');
    expect(job.events.some((e) => e.type === 'status' && e.status === 'failed')).toBe(true);
    // nothing was committed: the only checkpoint would have been the final one
    expect(await readCommitted<Output>(dir.path)).toEqual([]);
  });

  it('aligns barriers across a union of sources with different parallelism, rebalance and hash partitioning', async () => {
    const half = 5_000;
    const env = StreamEnvironment.create({
      checkpoint: { intervalMs: 25 },
      restart: { type: 'fixed-delay', maxAttempts: 2, delayMs: 0 },
    });
    let completed = 0;
    let seen = 0;
    let failed = false;
    const low = env.fromSource(
      SequenceSource.bounded(0, half, { ratePerSecond: 4_000, batchSize: 50 }),
      {
        parallelism: 1,
        uid: 'low',
      },
    );
    // `high` pauses after 1 000 records until two checkpoints completed: the failure then comes
    // after them, before the input runs out, however loaded the machine is
    const high = env.fromSource(
      gatedSource(SequenceSource.bounded(half, 2 * half, { ratePerSecond: 2_000, batchSize: 50 }), [
        { afterRecords: 1_000, until: () => completed >= 2 },
      ]),
      {
        parallelism: 2,
        uid: 'high',
      },
    );
    env
      .fromSource(SequenceSource.bounded(0, 0), { uid: 'empty' })
      .union(low, high)
      .map(
        (v) => {
          if (!failed && ++seen > 4_000 && completed >= 2) {
            failed = true;
            throw new Error('intentional failure');
          }
          return v;
        },
        { parallelism: 3, uid: 'map' },
      )
      .keyBy((v) => v % KEYS)
      .process<Output>(
        (v, ctx, out) => {
          const count = ctx.valueState<number>('count');
          const next = (count.value() ?? 0) + 1;
          count.update(next);
          out.collect({ v, key: ctx.key, count: next });
        },
        { parallelism: 2, uid: 'count' },
      )
      .sinkTo(FileSink.jsonLines<Output>(dir.path), { parallelism: 2, uid: 'files' });
    const handle = env.execute('union');
    handle.events$.subscribe((e) => {
      if (e.type === 'checkpoint-completed') completed++;
    });
    const result = await handle;
    expect(result.restarts).toBe(1);
    expect(verifyExactlyOnce(await readCommitted<Output>(dir.path), 2 * half)).toEqual([]);
    expect(await inProgressFiles(dir.path)).toEqual([]);
  });
});
