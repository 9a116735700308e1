import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError, hasErrorCode } from '../../../src/errors.js';
import type { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { parseStreamName } from '../../../src/pravega/client/stream-name.js';
import { tailCut } from '../../../src/pravega/client/stream-cut.js';
import type { JobHandle } from '../../../src/runtime/job-handle.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { PravegaSink } from '../../../src/sink/pravega/pravega-sink.js';
import { PravegaSource } from '../../../src/source/pravega/pravega-source.js';
import { BACKENDS } from '../../support/backends.js';
import { produce, readOutput, startPipeline } from '../../support/e2e.js';
import { randomScope } from '../../support/endpoints.js';
import { expectExactlyOnceInOrder, keysOf, type Seq } from '../../support/sequences.js';

const KEYS = 8;

async function failure(handle: JobHandle): Promise<TributaryError> {
  try {
    await handle;
  } catch (err) {
    if (TributaryError.is(err)) return err;
    throw err;
  }
  throw new Error('expected the job to fail');
}

/** The code of the error that kept a job from starting (it rejects with JOB_FAILED around it). */
function notStarted(err: TributaryError): string | undefined {
  expect(err.code).toBe('JOB_FAILED');
  expect(err.details).toMatchObject({ restarts: 0, started: false });
  return TributaryError.is(err.cause) ? err.cause.code : undefined;
}

async function until(what: string, condition: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Statuses and restarts of a job that must fail before any task ran. */
async function failsBeforeStart(
  handle: JobHandle,
): Promise<{ error: TributaryError; statuses: string[]; ms: number }> {
  const statuses: string[] = [];
  let restarts = 0;
  handle.events$.subscribe((e) => {
    if (e.type === 'status') statuses.push(e.status);
    if (e.type === 'restart') restarts++;
  });
  const started = Date.now();
  const error = await failure(handle);
  expect(restarts).toBe(0);
  return { error, statuses, ms: Date.now() - started };
}

describe.each(BACKENDS.map((b) => [b().name, b] as const))(
  'job lifecycle on %s',
  (name, makeBackend) => {
    const backend = makeBackend();
    let client: PravegaClient;
    const scope = randomScope('life');
    const dirs: string[] = [];
    let n = 0;
    const checkpointDir = () => {
      const dir = mkdtempSync(join(tmpdir(), 'tributary-life-ckpt-'));
      dirs.push(dir);
      return dir;
    };

    beforeAll(async () => {
      client = await backend.connect();
      await client.createScope(scope);
    });
    afterAll(async () => {
      await backend.cleanup();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    async function streams(perKey: number): Promise<{ input: string; output: string }> {
      n++;
      const input = `${scope}/in${n}`;
      const output = `${scope}/out${n}`;
      await client.createStream(input, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
      await client.createStream(output, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
      if (perKey > 0) await produce(client, input, { keys: KEYS, perKey, ratePerSecond: 100_000 });
      return { input, output };
    }

    it('a missing scope or stream, or an invalid lease, fails the job before any task starts, with 0 restarts', async () => {
      const { input, output } = await streams(0);
      const job = (source: string, sink: PravegaSink<Seq>) => {
        const env = StreamEnvironment.create({
          pravega: backend.uri(),
          checkpoint: { intervalMs: 5_000 },
          restart: { type: 'fixed-delay', maxAttempts: 5, delayMs: 100 },
        });
        env.fromSource(PravegaSource.forStream(source).json<Seq>()).sinkTo(sink);
        return env.execute(`checks-${n}`, { stopOnSignals: false });
      };
      const sink = (stream: string) => PravegaSink.forStream(stream).json<Seq>().exactlyOnce();

      const noScope = await failsBeforeStart(job(`nowhere-${scope}/in`, sink(output)));
      expect(notStarted(noScope.error)).toBe('SCOPE_NOT_FOUND');
      expect(noScope.error.message).toContain(`scope "nowhere-${scope}" does not exist`);
      expect(noScope.statuses).toEqual(['created', 'failed']);

      const noStream = await failsBeforeStart(job(input, sink(`${scope}/missing`)));
      expect(notStarted(noStream.error)).toBe('STREAM_NOT_FOUND');
      expect(noStream.error.message).toContain(`stream "${scope}/missing" does not exist`);

      // 10 s cannot outlast a 5 s interval plus the 60 s checkpoint timeout
      const shortLease = PravegaSink.forStream(output).json<Seq>().exactlyOnce({ leaseMs: 10_000 });
      const lease = await failsBeforeStart(job(input, shortLease));
      expect(notStarted(lease.error)).toBe('TXN_LEASE_INVALID');
      expect(lease.statuses).toEqual(['created', 'failed']);
      console.log(
        `[${name}] failed before start in ${noScope.ms} / ${noStream.ms} / ${lease.ms} ms (scope / stream / lease)`,
      );
    });

    it('the default exactly-once job emits no warning', async () => {
      const { input, output } = await streams(10);
      const end = await tailCut(client.controller, client.segmentStore, parseStreamName(input));
      const env = StreamEnvironment.create({
        pravega: backend.uri(),
        checkpoint: { intervalMs: 1_000 },
      });
      env
        .fromSource(PravegaSource.forStream(input, { end }).json<Seq>())
        .sinkTo(PravegaSink.forStream(output).json<Seq>().exactlyOnce());
      const handle = env.execute(`quiet-${n}`, { stopOnSignals: false });
      const warnings: string[] = [];
      handle.events$.subscribe((e) => e.type === 'warning' && warnings.push(e.message));
      expect((await handle).status).toBe('finished');
      expect(warnings).toEqual([]);
      expect(await readOutput(client, output)).toHaveLength(KEYS * 10);
    });

    it('a second copy of a running job is refused naming the first; the lease is free once it ends', async () => {
      const { input, output } = await streams(100);
      const jobName = `single-${n}`;
      const start = () =>
        startPipeline({
          pravega: backend.uri(),
          input,
          output,
          guarantee: 'exactly-once',
          failures: [],
          jobName,
          // each copy its own directory: as on two machines, only the server is shared
          options: { checkpoint: { intervalMs: 200, timeoutMs: 30_000, dir: checkpointDir() } },
          execute: { stopOnSignals: false },
        });
      const first = start();
      await until('a checkpoint of the first copy', () => first.checkpoints() >= 1);
      const second = start();
      const refused = await failsBeforeStart(second.handle);
      expect(notStarted(refused.error)).toBe('JOB_ALREADY_RUNNING');
      expect(refused.error.message).toContain(
        `job "${jobName}" is already running (host ${hostname()}, pid ${process.pid}, since `,
      );
      expect(refused.error.message).toContain(`${scope}/_tributary-jobs`);
      expect(first.checkpoints()).toBeGreaterThanOrEqual(1);
      await first.handle.cancel();

      const third = start();
      await until('a checkpoint of the third copy', () => third.checkpoints() >= 1);
      await third.handle.cancel();
    });

    it('a restore from a checkpoint that is not the latest fails at once, names allowDuplicates, and goes on with it', async () => {
      const { input, output } = await streams(300);
      const dir = checkpointDir();
      const jobName = `older-${n}`;
      const start = (execute: { allowDuplicates?: boolean } = {}) =>
        startPipeline({
          pravega: backend.uri(),
          input,
          output,
          guarantee: 'exactly-once',
          failures: [],
          jobName,
          options: {
            checkpoint: { intervalMs: 200, timeoutMs: 30_000, dir, retained: 5 },
            restart: { type: 'fixed-delay', maxAttempts: 5, delayMs: 100 },
          },
          execute: { stopOnSignals: false, ...execute },
        });
      const first = start();
      await until('three checkpoints', () => first.checkpoints() >= 3);
      const stoppedAt = await first.handle.stop();
      expect((await first.handle).status).toBe('stopped');
      const files = (await readdir(dir)).filter((f) => f.endsWith('.ckpt')).sort();
      expect(files.at(-1)).toBe(`chk-${String(stoppedAt).padStart(12, '0')}.ckpt`);
      // the latest checkpoint is lost: the one before it is now the latest in the directory
      await rm(join(dir, files.at(-1)!));

      const second = start();
      const refused = await failsBeforeStart(second.handle);
      expect(refused.error.code).toBe('JOB_FAILED');
      expect(refused.error.details).toMatchObject({ restarts: 0, permanent: true });
      expect(hasErrorCode(refused.error, 'TXN_STATE')).toBe(true);
      expect(refused.error.message).toMatch(
        /already holds events written after the restored checkpoint/,
      );
      expect(refused.error.message).toContain('allowDuplicates: true');
      expect(refused.statuses).toEqual(['created', 'running', 'failed']);

      const third = start({ allowDuplicates: true });
      const warnings: string[] = [];
      third.handle.events$.subscribe((e) => e.type === 'warning' && warnings.push(e.message));
      await until('a checkpoint with duplicates allowed', () => third.checkpoints() >= 1);
      await third.handle.cancel();
      expect(warnings.some((w) => /already committed by a later checkpoint/.test(w))).toBe(true);
    });

    it('stop() then the same job again: it resumes where it stopped and every event is written once, in key order', async () => {
      const perKey = 400;
      const { input, output } = await streams(0);
      const dir = checkpointDir();
      const start = () =>
        startPipeline({
          pravega: backend.uri(),
          input,
          output,
          guarantee: 'exactly-once',
          failures: [],
          jobName: `stop-${n}`,
          options: { checkpoint: { intervalMs: 200, timeoutMs: 30_000, dir } },
          execute: { stopOnSignals: false },
        });
      // the first half of the input is written while the first run runs, the rest once it stopped
      let stopped = false;
      const first = start();
      const producing = produce(client, input, {
        keys: KEYS,
        perKey,
        ratePerSecond: 20_000,
        gates: [{ atSeq: perKey / 2, until: () => stopped, name: 'the first run stopped' }],
      });
      await until('the first half in the output', () => first.checkpoints() >= 2);
      const deadline = Date.now() + 150_000;
      while (
        (await readOutput(client, output)).length < (KEYS * perKey) / 2 &&
        Date.now() < deadline
      )
        await new Promise((r) => setTimeout(r, 300));
      const stoppedAt = await first.handle.stop();
      expect((await first.handle).status).toBe('stopped');
      const committed = (await readOutput(client, output)).length;
      expect(committed).toBe((KEYS * perKey) / 2);
      stopped = true;

      const second = start();
      await producing;
      while ((await readOutput(client, output)).length < KEYS * perKey && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 300));
      await second.handle.cancel();
      const restored = second.events.find((e) => e.type === 'restored');
      expect(restored).toMatchObject({ checkpointId: stoppedAt, from: 'latest' });
      expect(restored?.type === 'restored' && restored.message).toContain(
        `positions: input: ${input} `,
      );
      console.log(
        `[${name}] stopped at checkpoint ${stoppedAt} with ${committed} events committed`,
      );
      expectExactlyOnceInOrder(await readOutput(client, output), keysOf(KEYS), perKey);
    });

    if (name === 'embedded') {
      it('a locked embedded store fails the job before any task starts', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'tributary-locked-'));
        dirs.push(dir);
        // held by a live process on this host: the test runner that started this worker
        await writeFile(
          join(dir, 'LOCK'),
          JSON.stringify({ pid: process.ppid, host: hostname(), since: new Date().toISOString() }),
        );
        const env = StreamEnvironment.create({
          pravega: `embedded:${dir}`,
          restart: { type: 'fixed-delay', maxAttempts: 5, delayMs: 100 },
        });
        env
          .fromSource(PravegaSource.forStream('a/b').json<Seq>())
          .sinkTo(PravegaSink.forStream('a/c').json<Seq>());
        const locked = await failsBeforeStart(env.execute('locked', { stopOnSignals: false }));
        expect(notStarted(locked.error)).toBe('STORE_LOCKED');
        expect(locked.error.message).toContain(`${process.ppid}`);
        expect(locked.statuses).toEqual(['created', 'failed']);
      });
    }
  },
);
