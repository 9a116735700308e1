import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ClusterWorker } from '../../../src/cluster/cluster-worker.js';
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { readerGroupName } from '../../../src/source/pravega/names.js';
import { createFixedStreams, produce, readOutput } from '../../support/e2e.js';
import { randomScope } from '../../support/endpoints.js';
import { expectExactlyOnceInOrder, keysOf, type Seq } from '../../support/sequences.js';
import { WorkerProcess, ownership, timeUntil, type WorkerArgs } from './worker-processes.js';

const KEYS = 16;
const PER_KEY = 4_000; // 64 000 events, produced at ~1 500/s while the workers are killed
const KILLS = 10;
const START_MS = 60_000;

/** Per key, the sequence numbers in the order they appear. */
function orderPerKey(events: readonly Seq[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const e of events) {
    const list = out.get(e.key) ?? [];
    list.push(e.seq);
    out.set(e.key, list);
  }
  return out;
}

/**
 * The stateless slice of scale-out (docs/scale-out.md §10) against the real server: worker
 * processes share one reader group; SIGKILLs of random workers at random moments, restarts, and
 * a worker added mid-run; the output must be every input event exactly once, in order per
 * routing key — what one worker writes for the same input.
 */
describe('stateless job in several worker processes (real server)', () => {
  const workers: WorkerProcess[] = [];

  afterAll(() => {
    for (const w of workers) w.kill();
  });

  it(`3 workers, ${KILLS} SIGKILLs, restarts and one added: exactly once, equal to one worker's output`, async () => {
    const uri = inject('pravega').controllerUri;
    const scope = randomScope('scaleout');
    const job = 'stateless';
    const client = await PravegaClient.connect(uri);
    const log: string[] = [];
    try {
      await createFixedStreams(client, scope, { in: 8, out: 4 });
      const args: WorkerArgs = {
        pravega: uri,
        scope,
        job,
        input: `${scope}/in`,
        output: `${scope}/out`,
        parallelism: 2,
        checkpointIntervalMs: 500,
        heartbeatMs: 250,
        deadAfterMs: 2_500,
      };
      const group = `${scope}/${readerGroupName(job, 'input')}`;
      const live: WorkerProcess[] = [];
      const startWorker = async (): Promise<WorkerProcess> => {
        const w = WorkerProcess.spawn(args);
        workers.push(w);
        await w.whenStarted(START_MS);
        live.push(w);
        return w;
      };
      await startWorker(); // the first one sets the group up
      const producing = produce(client, `${scope}/in`, {
        keys: KEYS,
        perKey: PER_KEY,
        ratePerSecond: 1_500,
      });
      await Promise.all([startWorker(), startWorker()]);

      const killedToReadAgain: number[] = [];
      const addedToOwning: number[] = [];
      for (let kill = 0; kill < KILLS; kill++) {
        await sleep(500 + Math.floor(Math.random() * 2_000));
        const victim = live.splice(Math.floor(Math.random() * live.length), 1)[0]!;
        const id = victim.workerId!;
        const killedAt = Date.now();
        victim.kill();
        await victim.gone();
        // hand-off: the killed worker owns nothing, and nothing is left unowned
        const handOff = await timeUntil(
          async () => {
            const o = await ownership(client, group);
            return !o.byWorker.has(id) && o.unassigned === 0;
          },
          killedAt,
          60_000,
        );
        expect(handOff, `segments of ${id} were not taken over`).toBeDefined();
        killedToReadAgain.push(handOff!);
        log.push(`kill ${kill}: ${id} (${live.length} left) → taken over in ${handOff} ms`);
        if (kill === 4) {
          // one more worker than before, mid-run: time until it owns segments
          const addedAt = Date.now();
          const added = await startWorker();
          const owning = await timeUntil(
            async () => ((await ownership(client, group)).byWorker.get(added.workerId!) ?? 0) > 0,
            addedAt,
            60_000,
          );
          expect(owning, 'the added worker never got a segment').toBeDefined();
          addedToOwning.push(owning!);
          log.push(`added ${added.workerId} → owns segments ${owning} ms after its start`);
        }
        // restart it (as a new worker) or not; never fewer than 2 running
        if (live.length < 2 || Math.random() < 0.6) {
          const restarted = await startWorker();
          log.push(`restarted as ${restarted.workerId}`);
        }
      }
      await producing;
      const total = KEYS * PER_KEY;
      let seen = 0;
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        seen = (await readOutput(client, `${scope}/out`)).length;
        if (seen >= total) break;
        await sleep(500);
      }
      // a few more checkpoints: a late duplicate would show now
      await sleep(3_000);
      const events = await readOutput(client, `${scope}/out`);
      console.log(
        `[scale-out kill test] ${log.join(' | ')}\nhand-off (killed → segments owned by others) ms: ${killedToReadAgain.join(', ')}; added → owning ms: ${addedToOwning.join(', ')}`,
      );
      for (const w of live) w.kill();
      // every event once, in order per key: the output of one worker over the same input
      expectExactlyOnceInOrder(events, keysOf(KEYS), PER_KEY);
      const single = orderPerKey(
        keysOf(KEYS).flatMap((key) =>
          Array.from({ length: PER_KEY }, (_, seq): Seq => ({ key, seq })),
        ),
      );
      expect(orderPerKey(events)).toEqual(single);
      await ClusterWorker.purge(uri, scope, job, [group]);
    } finally {
      await client.close();
    }
  }, 600_000);
});
