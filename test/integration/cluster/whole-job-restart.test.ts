import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ClusterWorker } from '../../../src/cluster/cluster-worker.js';
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { readerGroupName } from '../../../src/source/pravega/names.js';
import { createFixedStreams, produce, readOutput } from '../../support/e2e.js';
import { randomScope } from '../../support/endpoints.js';
import { expectExactlyOnceInOrder, keysOf } from '../../support/sequences.js';
import { WorkerProcess, ownership, timeUntil, type WorkerArgs } from './worker-processes.js';

const KEYS = 8;
const PER_KEY = 3_000; // 24 000 events, produced at ~1 200/s while the whole job is killed
const ROUNDS = 3;
const WORKERS = 2;
const START_MS = 60_000;

/**
 * Every worker of a scaled-out job SIGKILLed at once, then the job started again with new
 * worker processes (docs/scale-out.md §10, "restarting every worker is fine"): the new workers
 * find the old members still `alive` in the table, join, one of them leads, declares the old ones
 * dead and takes their readers offline at the last completed checkpoint. The output must be every
 * input event exactly once, in order per routing key.
 */
describe('whole scaled-out job killed and restarted (real server)', () => {
  const workers: WorkerProcess[] = [];

  afterAll(() => {
    for (const w of workers) w.kill();
  });

  it(`${WORKERS} workers, all SIGKILLed at once ${ROUNDS} times and restarted: exactly once`, async () => {
    const uri = inject('pravega').controllerUri;
    const scope = randomScope('restart');
    const job = 'restarted';
    const client = await PravegaClient.connect(uri);
    const log: string[] = [];
    try {
      await createFixedStreams(client, scope, { in: 4, out: 2 });
      const args: WorkerArgs = {
        pravega: uri,
        scope,
        job,
        input: `${scope}/in`,
        output: `${scope}/out`,
        parallelism: 1,
        checkpointIntervalMs: 500,
        heartbeatMs: 250,
        deadAfterMs: 2_500,
      };
      const group = `${scope}/${readerGroupName(job, 'input')}`;
      const startWorkers = async (): Promise<WorkerProcess[]> => {
        const first = WorkerProcess.spawn(args);
        workers.push(first);
        await first.whenStarted(START_MS);
        const rest = Array.from({ length: WORKERS - 1 }, () => WorkerProcess.spawn(args));
        workers.push(...rest);
        await Promise.all(rest.map((w) => w.whenStarted(START_MS)));
        return [first, ...rest];
      };
      /** Resolves once one of `live` logged a completed checkpoint after `since` chars of output. */
      const aCheckpointCompleted = async (live: readonly WorkerProcess[]): Promise<void> => {
        const marks = live.map((w) => w.output.length);
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
          if (live.some((w, i) => /^checkpoint \d+/m.test(w.output.slice(marks[i])))) return;
          await sleep(50);
        }
        throw new Error(
          `no checkpoint completed within 60 s:\n${live.map((w) => w.output).join('\n')}`,
        );
      };

      let live = await startWorkers();
      const producing = produce(client, `${scope}/in`, {
        keys: KEYS,
        perKey: PER_KEY,
        ratePerSecond: 1_200,
      });
      for (let round = 0; round < ROUNDS; round++) {
        // at least one checkpoint of this incarnation completed, then a random moment
        await aCheckpointCompleted(live);
        await sleep(Math.floor(Math.random() * 1_500));
        const seen = (await readOutput(client, `${scope}/out`)).length;
        for (const w of live) w.kill();
        await Promise.all(live.map((w) => w.gone()));
        const ids = live.map((w) => w.workerId!);
        const restartedAt = Date.now();
        live = await startWorkers();
        // the old workers' segments are taken over by the new ones
        const takenOver = await timeUntil(
          async () => {
            const o = await ownership(client, group);
            return ids.every((id) => !o.byWorker.has(id)) && o.unassigned === 0;
          },
          restartedAt,
          90_000,
        );
        expect(takenOver, `segments of ${ids.join(', ')} were not taken over`).toBeDefined();
        log.push(
          `round ${round}: killed ${ids.join(', ')} with ${seen} events out → restarted, old segments taken over in ${takenOver} ms`,
        );
      }
      await producing;
      const total = KEYS * PER_KEY;
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        if ((await readOutput(client, `${scope}/out`)).length >= total) break;
        await sleep(500);
      }
      // a few more checkpoints: a late duplicate would show now
      await sleep(3_000);
      const events = await readOutput(client, `${scope}/out`);
      console.log(`[whole-job restart test] ${log.join(' | ')}`);
      for (const w of live) w.kill();
      expectExactlyOnceInOrder(events, keysOf(KEYS), PER_KEY);
      await ClusterWorker.purge(uri, scope, job, [group]);
    } finally {
      await client.close();
    }
  }, 600_000);
});
