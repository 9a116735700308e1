import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { ClusterWorker } from '../../../src/cluster/cluster-worker.js';
import { keyByExchange } from '../../../src/cluster/exchange/index.js';
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { PravegaSource } from '../../../src/source/pravega/pravega-source.js';
import { createFixedStreams, produce, readOutput } from '../../support/e2e.js';
import { randomScope } from '../../support/endpoints.js';
import { expectExactlyOnceInOrder, keysOf, type Seq } from '../../support/sequences.js';
import { TIMINGS } from './cluster-support.js';
import { countEnv, exchangeCountJob, runningCount } from './exchange-count-job.js';
import { CollectSink } from '../../unit/helpers/collect-sink.js';

const KEYS = 5;
const PER_KEY = 40;

/**
 * A job with two Pravega sources — its input and the receiving side of an exchange edge, each
 * with its own reader group — as one cluster worker. Both sources' readers have the same reader
 * ids (`<worker>-<subtask>`), one per group: the worker must count them per group, or it waits
 * for readers that already joined and fails after 60 s ("its 3 source readers did not join").
 * The edge's sender also checks its transaction lease against the leader's checkpoint interval
 * (the job itself has no `checkpoint.intervalMs`). Every record reaches the count once.
 */
describe('cluster worker: a job over an exchange edge (real server)', () => {
  it('starts, and counts every record once per key', async () => {
    const uri = inject('pravega').controllerUri;
    const scope = randomScope('xworker');
    const client = await PravegaClient.connect(uri);
    let worker: ClusterWorker | undefined;
    try {
      await createFixedStreams(client, scope, { in: 2 });
      await produce(client, `${scope}/in`, { keys: KEYS, perKey: PER_KEY });
      const env = countEnv(uri);
      const sink = new CollectSink<string>();
      const input = env.fromSource(PravegaSource.forStream(`${scope}/in`).json<Seq>(), {
        name: 'input',
        uid: 'input',
      });
      keyByExchange(env, input, (s) => s.key, {
        scope,
        uid: 'by-key',
        segments: 4,
        eventTime: false,
      })
        .process<Seq>(runningCount, { name: 'count', uid: 'count' })
        .map((s) => `${s.key}:${s.seq + 1}`, { name: 'text', uid: 'text' })
        .sinkTo(sink, { name: 'out', uid: 'out' });
      const started = Date.now();
      worker = await ClusterWorker.start(env, 'xworker', {
        pravega: uri,
        scope,
        checkpointIntervalMs: 300,
        checkpointTimeoutMs: 10_000,
      });
      const joinedMs = Date.now() - started;
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && sink.records.length < KEYS * PER_KEY) await sleep(50);
      await sleep(500); // nothing more may come
      const expected = Array.from({ length: KEYS }, (_, k) =>
        Array.from({ length: PER_KEY }, (_, i) => `key-${k}:${i + 1}`),
      ).flat();
      expect([...sink.records].sort()).toEqual(expected.sort());
      expect(joinedMs).toBeLessThan(30_000);
    } finally {
      await worker?.close();
      await client.close();
    }
  }, 120_000);

  /**
   * The count per key (exchange-count-job.ts) as two workers: B joins while A runs (the edge's
   * reader group gives B a share of the segments at a completed checkpoint: B adopts their
   * counts), then A stops (the leader takes A's readers offline at the last completed checkpoint:
   * B adopts the rest). Every running count of every key comes out once and in order.
   */
  it('moves the keyed state with the edge segments as a worker joins and another leaves', async () => {
    const uri = inject('pravega').controllerUri;
    const scope = randomScope('xmove');
    const job = 'xmove';
    const keys = 8;
    const perKey = 250;
    const client = await PravegaClient.connect(uri);
    const workers: ClusterWorker[] = [];
    const log: string[] = [];
    const written = new Map<string, number>();
    const job$ = (name: string) => {
      const env = countEnv(uri);
      exchangeCountJob(env, { scope, input: `${scope}/in`, output: `${scope}/out` });
      return ClusterWorker.start(env, job, {
        pravega: uri,
        scope,
        checkpointIntervalMs: 300,
        checkpointTimeoutMs: 10_000,
        heartbeatMs: TIMINGS.heartbeatMs,
        deadAfterMs: TIMINGS.deadAfterMs,
        onEvent: (e) => {
          if (e.type === 'state-written') written.set(name, (written.get(name) ?? 0) + 1);
          if (e.type === 'dead-worker-handled' || e.type === 'worker-started')
            log.push(`${name}: ${e.type}`);
        },
      });
    };
    try {
      await createFixedStreams(client, scope, { in: 2, out: 2 });
      const producing = produce(client, `${scope}/in`, { keys, perKey, ratePerSecond: 250 });
      workers.push(await job$('A'));
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline && (await readOutput(client, `${scope}/out`)).length < 200)
        await sleep(200);
      workers.push(await job$('B'));
      // B owns key groups once a checkpoint names its state
      while (Date.now() < deadline && (written.get('B') ?? 0) < 3) await sleep(100);
      expect(written.get('B') ?? 0).toBeGreaterThanOrEqual(3);
      await workers[0]!.close();
      await producing;
      let out: Seq[] = [];
      while (Date.now() < deadline) {
        out = await readOutput(client, `${scope}/out`);
        if (out.length >= keys * perKey) break;
        await sleep(300);
      }
      await sleep(1_000); // nothing more may come
      out = await readOutput(client, `${scope}/out`);
      console.log(
        `[exchange state moves] ${out.length} outputs; ${log.join(', ')}; state written: A ${written.get('A') ?? 0}, B ${written.get('B') ?? 0}`,
      );
      expectExactlyOnceInOrder(out, keysOf(keys), perKey);
    } finally {
      for (const w of workers) await w.close();
      await client.close();
    }
  }, 180_000);
});
