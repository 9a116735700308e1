import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { ClusterWorker } from '../../../src/cluster/cluster-worker.js';
import { keyByExchange } from '../../../src/cluster/exchange/index.js';
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { PravegaSource } from '../../../src/source/pravega/pravega-source.js';
import { createFixedStreams, produce } from '../../support/e2e.js';
import { randomScope } from '../../support/endpoints.js';
import type { Seq } from '../../support/sequences.js';
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
      const env = StreamEnvironment.create({
        parallelism: 2,
        maxParallelism: 16,
        pravega: uri,
        checkpoint: { timeoutMs: 30_000 },
        metricsIntervalMs: 0,
      });
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
        .process<string>(
          (s, ctx, out) => {
            const count = ctx.valueState<number>('count');
            const n = (count.value() ?? 0) + 1;
            count.update(n);
            out.collect(`${s.key}:${n}`);
          },
          { name: 'count', uid: 'count' },
        )
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
});
