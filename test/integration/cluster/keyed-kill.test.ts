import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ClusterWorker } from '../../../src/cluster/cluster-worker.js';
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { jsonSerializer } from '../../../src/pravega/client/serializer.js';
import { streamCutToText, tailCut } from '../../../src/pravega/client/stream-cut.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { readerGroupName } from '../../../src/source/pravega/names.js';
import { createFixedStreams, produce } from '../../support/e2e.js';
import { randomScope } from '../../support/endpoints.js';
import { readCommitted } from '../../support/read-stream.js';
import { keysOf } from '../../support/sequences.js';
import { WINDOW_MS, windowCountJob, type WindowCount } from './keyed-window-job.js';
import { describeCounts, expectInOrderPerKey, expectedWindows } from './window-counts.js';
import { WorkerProcess, type WorkerArgs } from './worker-processes.js';

const KEYS = 8;
/** windows of these sequence numbers are compared (60 per key); the rest moves the watermark */
const COUNTED = 3_000;
const PER_KEY = COUNTED + 2 * WINDOW_MS;
const KILLS = 4;
const START_MS = 60_000;
const SCRIPT = fileURLToPath(new URL('./keyed-worker.ts', import.meta.url));

const windows = jsonSerializer<WindowCount>();

/**
 * A keyed job (Pravega source → keyBy → event-time windows → exactly-once Pravega sink) as one
 * worker of a scaled-out job, its keyed state in the shared checkpoint.dir or (without one) in the
 * job's state stream in Pravega (docs/scale-out.md §6 item 1, §8): the worker process is SIGKILLed at random moments and the job restarted with a
 * new worker process each time, which restores the keyed state of the last completed cluster
 * checkpoint. The output must be every window of every key exactly once, in order per key, and
 * equal to the same job run as one plain process. A second worker joining is refused.
 */
describe.each([
  { mode: 'shared directory', shared: true },
  { mode: 'state stream', shared: false },
])(
  'keyed job on a cluster worker, state in the $mode, SIGKILLed and restarted (real server)',
  ({ mode, shared }) => {
    const workers: WorkerProcess[] = [];
    const dirs: string[] = [];
    const tempDir = (prefix: string): string => {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    };

    afterAll(() => {
      for (const w of workers) w.kill();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    it(`is SIGKILLed ${KILLS} times and restarted: its windowed counts are exactly once, in order per key, equal to the plain job's`, async () => {
      const uri = inject('pravega').controllerUri;
      const scope = randomScope('keyedcl');
      const job = 'keyed-cluster';
      const client = await PravegaClient.connect(uri);
      const log: string[] = [];
      try {
        await createFixedStreams(client, scope, { in: 1, out: 2, 'out-plain': 2 });
        const checkpointDir = shared ? tempDir('tributary-keyed-cluster-') : undefined;
        const args: WorkerArgs & { checkpointDir?: string } = {
          pravega: uri,
          scope,
          job,
          input: `${scope}/in`,
          output: `${scope}/out`,
          parallelism: 2,
          checkpointIntervalMs: 500,
          heartbeatMs: 250,
          deadAfterMs: 2_500,
          ...(checkpointDir !== undefined ? { checkpointDir } : {}),
        };
        const start = async (): Promise<WorkerProcess> => {
          const w = WorkerProcess.spawn(args, SCRIPT);
          workers.push(w);
          incarnations.push(w);
          await w.whenStarted(START_MS);
          return w;
        };
        const incarnations: WorkerProcess[] = [];
        /** Resolves once `w` logged a completed checkpoint in output after `mark`. */
        const aCheckpointCompleted = async (w: WorkerProcess, mark: number): Promise<void> => {
          const deadline = Date.now() + 90_000;
          while (Date.now() < deadline) {
            if (/^checkpoint \d+/m.test(w.output.slice(mark))) return;
            await sleep(50);
          }
          throw new Error(`no checkpoint completed within 90 s:\n${w.output}`);
        };

        let live = await start();
        expect(live.output).toMatch(/^started \S+ 1 fresh/m);
        const producing = produce(client, `${scope}/in`, {
          keys: KEYS,
          perKey: PER_KEY,
          ratePerSecond: 500,
        });
        let before = 0;
        for (let round = 0; round < KILLS; round++) {
          // a checkpoint of this incarnation completed and its windows came out (each restore
          // starts from further on), then a random moment
          await aCheckpointCompleted(live, 0);
          const progress = Date.now() + 60_000;
          while (Date.now() < progress) {
            if ((await readCommitted(client, `${scope}/out`, windows)).length > before) break;
            await sleep(200);
          }
          await sleep(Math.floor(Math.random() * 1_500));
          const out = (await readCommitted(client, `${scope}/out`, windows)).length;
          before = out;
          const checkpoints = (live.output.match(/^checkpoint \d+/gm) ?? []).length;
          live.kill();
          await live.gone();
          const restartedAt = Date.now();
          live = await start();
          // the whole job starts over from its last completed checkpoint, keyed state included
          expect(live.output).toMatch(/^started \S+ 1 restore/m);
          log.push(
            `kill ${round + 1}: after ${checkpoints} checkpoint(s), ${out} windows out; restarted as a member in ${Date.now() - restartedAt} ms`,
          );
        }
        // a second worker of a keyed job is refused, naming the running one
        const second = WorkerProcess.spawn(args, SCRIPT);
        workers.push(second);
        await second.gone();
        expect(second.output).toMatch(
          new RegExp(
            `^refused .*CONFIG_INVALID.*keys its records and runs on one worker only for now, and worker\\(s\\) ${live.workerId} `,
            'm',
          ),
        );
        await producing;

        // the plain single-process job over the same input
        const end = await tailCut(client.controller, client.segmentStore, { scope, stream: 'in' });
        const env = StreamEnvironment.create({
          parallelism: 2,
          maxParallelism: 16,
          pravega: uri,
          checkpoint: {
            intervalMs: 200,
            timeoutMs: 30_000,
            dir: tempDir('tributary-keyed-plain-'),
          },
          metricsIntervalMs: 0,
        });
        windowCountJob(env, {
          input: `${scope}/in`,
          output: `${scope}/out-plain`,
          end: streamCutToText(end),
        });
        await env.execute(`${job}-plain`).result;
        const plain = await readCommitted(client, `${scope}/out-plain`, windows);

        const expected = expectedWindows(keysOf(KEYS), COUNTED);
        expect(describeCounts(plain, COUNTED)).toEqual(expected);
        const deadline = Date.now() + 120_000;
        let counts: WindowCount[] = [];
        while (Date.now() < deadline) {
          counts = await readCommitted(client, `${scope}/out`, windows);
          if (describeCounts(counts, COUNTED).length >= expected.length) break;
          await sleep(500);
        }
        // a few more checkpoints: a late duplicate would show now
        await sleep(3_000);
        counts = await readCommitted(client, `${scope}/out`, windows);
        console.log(`[keyed cluster kill test, ${mode}] ${log.join(' | ')}`);
        // what the keyed state adds per checkpoint (every incarnation's `state <id> <bytes> <ms>`)
        const written = incarnations.flatMap((w) =>
          [...w.output.matchAll(/^state (\d+) (\d+) ([\d.]+)$/gm)].map((m) => ({
            bytes: Number(m[2]),
            ms: Number(m[3]),
          })),
        );
        expect(written.length).toBeGreaterThan(0);
        const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
        const sorted = written.map((w) => w.ms).sort((a, b) => a - b);
        console.log(
          `[keyed cluster kill test, ${mode}] keyed state per checkpoint: ${written.length} written, mean ${Math.round(mean(written.map((w) => w.bytes)))} bytes (max ${Math.max(...written.map((w) => w.bytes))}), write ms mean ${mean(sorted).toFixed(1)} median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} max ${sorted.at(-1)!.toFixed(1)}`,
        );
        expect(describeCounts(counts, COUNTED)).toEqual(expected);
        expectInOrderPerKey(counts);
        const stateSegment = `${scope}/_tributary-state-${job}/0.#epoch.0`;
        if (checkpointDir !== undefined) {
          // retention: only the live worker's folder is left, with few checkpoint files
          const folders = readdirSync(join(checkpointDir, 'workers'));
          expect(folders).toHaveLength(1);
          const files = readdirSync(join(checkpointDir, 'workers', folders[0]!)).filter((n) =>
            n.endsWith('.ckpt'),
          );
          expect(files.length).toBeGreaterThan(0);
          expect(files.length).toBeLessThanOrEqual(3);
        } else {
          // retention: the state stream is truncated below the latest completed checkpoint's
          // state, and keeps only a few checkpoints' worth
          const info = await client.segmentStore.getInfo(stateSegment);
          expect(info.startOffset).toBeGreaterThan(0n);
          const kept = Number(info.length - info.startOffset);
          const largest = Math.max(...written.map((w) => w.bytes)) + 64;
          expect(kept).toBeGreaterThan(0);
          expect(kept).toBeLessThanOrEqual(4 * largest);
        }
        live.kill();
        await live.gone();
        // the job ends for good: its reader group, table and workers' keyed state are gone
        const ended = await ClusterWorker.endJob(uri, scope, job, {
          ...(checkpointDir !== undefined ? { stateDir: checkpointDir } : {}),
        });
        expect(ended.readerGroups).toEqual([`${scope}/${readerGroupName(job, 'input')}`]);
        if (checkpointDir !== undefined) {
          expect(ended.stateRemoved).toBe(join(checkpointDir, 'workers'));
          expect(existsSync(join(checkpointDir, 'workers'))).toBe(false);
          expect(ended.stateStreamRemoved).toBeUndefined();
        } else {
          expect(ended.stateStreamRemoved).toBe(`${scope}/_tributary-state-${job}`);
          await expect(client.segmentStore.getInfo(stateSegment)).rejects.toMatchObject({
            code: 'NO_SUCH_SEGMENT',
          });
        }
      } finally {
        await client.close();
      }
    }, 600_000);
  },
);
