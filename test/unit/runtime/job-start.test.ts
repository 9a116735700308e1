import { readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TributaryError, hasErrorCode } from '../../../src/errors.js';
import type { JobEvent } from '../../../src/runtime/job-events.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { SequenceSource } from '../../../src/source/sequence/sequence-source.js';
import { CollectSink } from '../helpers/collect-sink.js';
import {
  startExactlyOnceJob,
  verifyExactlyOnce,
  type Output,
} from '../helpers/exactly-once-job.js';
import { readCommitted, tempDir } from '../helpers/files.js';
import { rejection } from '../helpers/rejection.js';

type Dir = { path: string; remove: () => Promise<void> };

async function until(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The code of the error that kept a job from starting (it rejects with JOB_FAILED around it). */
function notStarted(err: TributaryError): string | undefined {
  expect(err.code).toBe('JOB_FAILED');
  expect(err.details).toMatchObject({ restarts: 0, started: false });
  return TributaryError.is(err.cause) ? err.cause.code : undefined;
}

const checkpointFiles = async (dir: string) =>
  (await readdir(dir)).filter((f) => f.endsWith('.ckpt')).sort();

describe('starting a job again', () => {
  let out: Dir;
  let ckpt: Dir;
  beforeEach(async () => {
    out = await tempDir('start-out');
    ckpt = await tempDir('start-ckpt');
  });
  afterEach(async () => {
    await out.remove();
    await ckpt.remove();
  });

  const options = () => ({
    parallelism: 2,
    checkpoint: { intervalMs: 30, dir: ckpt.path, retained: 2 },
    restart: { type: 'none' as const },
  });

  /** Runs the job until it is stopped with a final checkpoint after ≥ 2 checkpoints. */
  async function runAndStop(total: number): Promise<number> {
    let release = false;
    const first = startExactlyOnceJob({
      records: total,
      outDir: out.path,
      failures: [],
      options: options(),
      gates: [{ afterRecords: 1_500, until: () => release }],
      execute: { stopOnSignals: false },
    });
    await until('two checkpoints', () => first.checkpoints() >= 2);
    const stoppedAt = await first.handle.stop();
    const result = await first.handle;
    expect(result.status).toBe('stopped');
    expect(result.lastCheckpointId).toBe(stoppedAt);
    release = true;
    return stoppedAt;
  }

  it('resumes from the latest checkpoint with no option, says so, and writes every record once', async () => {
    const total = 6_000;
    const stoppedAt = await runAndStop(total);
    expect(verifyExactlyOnce(await readCommitted<Output>(out.path), total)).not.toEqual([]);

    const second = startExactlyOnceJob({
      records: total,
      outDir: out.path,
      failures: [],
      options: options(),
      execute: { stopOnSignals: false },
    });
    const result = await second.handle;
    expect(result.status).toBe('finished');
    const restored = second.events.find((e) => e.type === 'restored');
    expect(restored).toMatchObject({ checkpointId: stoppedAt, from: 'latest', path: ckpt.path });
    expect(restored?.type === 'restored' && restored.message).toMatch(
      new RegExp(`resumes from checkpoint ${stoppedAt} of \\d{4}-\\d\\d-\\d\\dT.*latest in`),
    );
    expect(verifyExactlyOnce(await readCommitted<Output>(out.path), total)).toEqual([]);
  });

  it("startFrom 'scratch' over existing checkpoints is refused before any task starts; allowDuplicates keeps the old checkpoints", async () => {
    const stoppedAt = await runAndStop(6_000);
    const before = await checkpointFiles(ckpt.path);
    const sink = new CollectSink<number>();
    const env = StreamEnvironment.create(options());
    env
      .fromSource(SequenceSource.bounded(0, 100), { uid: 'numbers' })
      .sinkTo(sink, { uid: 'files' });
    const refused = await rejection(
      env.execute('exactly-once', { startFrom: 'scratch', stopOnSignals: false }),
    );
    expect(notStarted(refused)).toBe('CONFIG_INVALID');
    expect(refused.message).toContain(`startFrom 'scratch'`);
    expect(refused.message).toContain(`completed checkpoint ${stoppedAt}`);
    expect(refused.message).toContain('allowDuplicates: true');
    expect(sink.records).toEqual([]);

    const again = StreamEnvironment.create(options());
    again
      .fromSource(SequenceSource.bounded(0, 100), { uid: 'numbers' })
      .sinkTo(sink, { uid: 'files' });
    const events: JobEvent[] = [];
    const handle = again.execute('exactly-once', {
      startFrom: 'scratch',
      allowDuplicates: true,
      stopOnSignals: false,
    });
    handle.events$.subscribe((e) => events.push(e));
    expect((await handle).status).toBe('finished');
    expect(sink.records).toHaveLength(100);
    expect(events.some((e) => e.type === 'warning' && /from scratch over/.test(e.message))).toBe(
      true,
    );
    // the new run kept its own latest `retained`, and deleted none of the earlier run's
    const after = await checkpointFiles(ckpt.path);
    for (const file of before) expect(after).toContain(file);
  });

  it('refuses a checkpoint directory that belongs to another job', async () => {
    await runAndStop(6_000);
    const env = StreamEnvironment.create(options());
    env.fromSource(SequenceSource.bounded(0, 10), { uid: 'numbers' }).sinkTo(new CollectSink());
    const err = await rejection(env.execute('another-job', { stopOnSignals: false }));
    expect(notStarted(err)).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(/holds the checkpoints of job "exactly-once"/);
  });

  it('restoreFrom a directory without a completed checkpoint names the directory', async () => {
    const env = StreamEnvironment.create();
    env.fromSource(SequenceSource.bounded(0, 10)).sinkTo(new CollectSink());
    const err = await rejection(env.execute('x', { restoreFrom: ckpt.path, stopOnSignals: false }));
    expect(notStarted(err)).toBe('CONFIG_INVALID');
    expect(err.message).toContain(`restoreFrom: ${ckpt.path} holds no completed checkpoint`);
  });

  it('rejects bad execute options naming the key', async () => {
    const env = StreamEnvironment.create();
    env.fromSource(SequenceSource.bounded(0, 10)).sinkTo(new CollectSink());
    expect(() => env.execute('x', { startFrom: 'middle' as never })).toThrow(/startFrom/);
    expect(() => env.execute('x', { restoreFrom: ckpt.path, startFrom: 'scratch' })).toThrow(
      /exclude each other/,
    );
  });
});

describe('failing fast', () => {
  it('a non-retryable error fails the job at once, with 0 restarts; a plain error is restarted', async () => {
    const env = StreamEnvironment.create({
      restart: { type: 'fixed-delay', maxAttempts: 5, delayMs: 10 },
    });
    let calls = 0;
    env
      .fromSource(SequenceSource.bounded(0, 100))
      .map(() => {
        calls++;
        throw new TributaryError('SCOPE_NOT_FOUND', 'scope "nowhere" does not exist');
      })
      .sinkTo(new CollectSink());
    const handle = env.execute('permanent', { stopOnSignals: false });
    const events: JobEvent[] = [];
    handle.events$.subscribe((e) => events.push(e));
    const started = Date.now();
    const err = await rejection(handle);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(err.code).toBe('JOB_FAILED');
    expect(err.details).toMatchObject({ restarts: 0, permanent: true });
    expect(err.message).toMatch(/not restarted \(SCOPE_NOT_FOUND is not retryable/);
    expect(hasErrorCode(err, 'SCOPE_NOT_FOUND')).toBe(true);
    expect(events.filter((e) => e.type === 'restart')).toEqual([]);
    expect(calls).toBe(1);

    const retried = StreamEnvironment.create({
      restart: { type: 'fixed-delay', maxAttempts: 2, delayMs: 10 },
    });
    retried
      .fromSource(SequenceSource.bounded(0, 100))
      .map(() => {
        throw new Error('user code');
      })
      .sinkTo(new CollectSink());
    const plain = await rejection(retried.execute('transient', { stopOnSignals: false }));
    expect(plain.details).toMatchObject({ restarts: 2, permanent: false });
  });

  it('a source or sink whose check fails stops the job before any task starts', async () => {
    const env = StreamEnvironment.create({ restart: { type: 'fixed-delay', maxAttempts: 5 } });
    const sink = new CollectSink<number>();
    env.fromSource(SequenceSource.bounded(0, 100)).sinkTo({
      createWriter: () => sink.createWriter(),
      preflight: async () => {
        throw new TributaryError('STREAM_NOT_FOUND', 'stream "a/b" does not exist');
      },
    });
    const handle = env.execute('checked', { stopOnSignals: false });
    const statuses: string[] = [];
    handle.events$.subscribe((e) => e.type === 'status' && statuses.push(e.status));
    const err = await rejection(handle);
    expect(notStarted(err)).toBe('STREAM_NOT_FOUND');
    expect(statuses).toEqual(['created', 'failed']);
    expect(sink.records).toEqual([]);
  });
});

describe('one running copy per job', () => {
  let ckpt: Dir;
  beforeEach(async () => {
    ckpt = await tempDir('lock-ckpt');
  });
  afterEach(async () => {
    await ckpt.remove();
  });

  const job = () => {
    const env = StreamEnvironment.create({ checkpoint: { intervalMs: 50, dir: ckpt.path } });
    const sink = new CollectSink<number>();
    env.fromSource(SequenceSource.unbounded(0, { ratePerSecond: 1000 }), { uid: 'n' }).sinkTo(sink);
    return { env, sink };
  };

  it('refuses a second copy naming the first (host, pid, since); frees the lease when the first ends', async () => {
    const first = job();
    const running = first.env.execute('single', { stopOnSignals: false });
    await until('the first copy to write', () => first.sink.records.length > 0);
    const second = job();
    const err = await rejection(second.env.execute('single', { stopOnSignals: false }));
    expect(notStarted(err)).toBe('JOB_ALREADY_RUNNING');
    expect(err.message).toContain(
      `job "single" is already running (host ${hostname()}, pid ${process.pid}, since `,
    );
    expect(err.message).toContain(join(ckpt.path, 'job.lock'));
    expect(second.sink.records).toEqual([]);
    await running.cancel();

    const third = job();
    const handle = third.env.execute('single', { stopOnSignals: false });
    await until('the third copy to write', () => third.sink.records.length > 0);
    await handle.cancel();
  });

  it('takes over the lease of a copy that died on this host', async () => {
    await writeFile(
      join(ckpt.path, 'job.lock'),
      JSON.stringify({
        token: 'dead',
        // pid 2^22+1 is above Linux's pid_max default: no such process
        record: {
          host: hostname(),
          pid: 4_194_305,
          since: Date.now(),
          runId: 'old',
          renewedAt: Date.now(),
          leaseMs: 600_000,
        },
      }),
    );
    const { env, sink } = job();
    const handle = env.execute('single', { stopOnSignals: false });
    await until('the job to write', () => sink.records.length > 0);
    await handle.cancel();
  });

  it('refuses while a copy on another host renews its lease, and takes it once that lease expired', async () => {
    const record = (renewedAt: number) => ({
      token: 'other',
      record: { host: 'elsewhere', pid: 1, since: 0, runId: 'old', renewedAt, leaseMs: 5_000 },
    });
    await writeFile(join(ckpt.path, 'job.lock'), JSON.stringify(record(Date.now())));
    const refused = await rejection(job().env.execute('single', { stopOnSignals: false }));
    expect(refused.message).toContain('host elsewhere, pid 1');
    await writeFile(join(ckpt.path, 'job.lock'), JSON.stringify(record(Date.now() - 6_000)));
    const { env, sink } = job();
    const handle = env.execute('single', { stopOnSignals: false });
    await until('the job to write', () => sink.records.length > 0);
    await handle.cancel();
  });

  it('a copy whose lease was taken over fails at once, without restarts', async () => {
    const env = StreamEnvironment.create({
      checkpoint: { intervalMs: 50, dir: ckpt.path },
      jobLock: { leaseMs: 1_000 },
      restart: { type: 'fixed-delay', maxAttempts: 5, delayMs: 10 },
    });
    const sink = new CollectSink<number>();
    env.fromSource(SequenceSource.unbounded(0, { ratePerSecond: 1000 }), { uid: 'n' }).sinkTo(sink);
    const handle = env.execute('single', { stopOnSignals: false });
    await until('the job to write', () => sink.records.length > 0);
    // another copy (on another host) took the lease over
    await writeFile(
      join(ckpt.path, 'job.lock'),
      JSON.stringify({
        token: 'theirs',
        record: {
          host: 'elsewhere',
          pid: 7,
          since: 0,
          runId: 'x',
          renewedAt: Date.now(),
          leaseMs: 60_000,
        },
      }),
    );
    const err = await rejection(handle);
    expect(err.details).toMatchObject({ restarts: 0, permanent: true });
    expect(err.message).toMatch(
      /lost its lease: its lease in .* was taken over by host elsewhere, pid 7/,
    );
  });
});

describe('stop', () => {
  it('of a job that already finished resolves with its final checkpoint', async () => {
    const env = StreamEnvironment.create();
    env.fromSource(SequenceSource.bounded(0, 100)).sinkTo(new CollectSink());
    const handle = env.execute('done', { stopOnSignals: false });
    const result = await handle;
    expect(result.status).toBe('finished');
    expect(await handle.stop()).toBe(result.lastCheckpointId);
  });

  it('rejects when the job is cancelled before its stop checkpoint completes', async () => {
    const env = StreamEnvironment.create();
    const sink = new CollectSink<number>();
    env.fromSource(SequenceSource.unbounded(0, { ratePerSecond: 1000 })).sinkTo(sink);
    const handle = env.execute('cancelled', { stopOnSignals: false });
    await until('the job to write', () => sink.records.length > 0);
    await handle.cancel();
    await expect(handle.stop()).rejects.toThrow(/cancelled before it could stop/);
  });
});
