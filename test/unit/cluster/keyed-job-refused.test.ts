import { describe, expect, it } from 'vitest';
import { ClusterWorker } from '../../../src/cluster/index.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { SequenceSource } from '../../../src/source/sequence/sequence-source.js';
import { CollectSink } from '../helpers/collect-sink.js';

// nothing listens here: a refusal must come before any connection is tried
const NOWHERE = { pravega: 'tcp://127.0.0.1:1', scope: 'nowhere' };

describe('ClusterWorker and keyed jobs', () => {
  it('refuses a job with a keyBy before connecting, naming the keyed vertex', async () => {
    const env = StreamEnvironment.create({ parallelism: 2 });
    env
      .fromSource(SequenceSource.bounded(0, 10), { name: 'numbers' })
      .keyBy((n) => n % 3)
      .process<number>((n, _ctx, out) => out.collect(n), { name: 'sums' })
      .sinkTo(new CollectSink<number>());
    await expect(ClusterWorker.start(env, 'keyed', NOWHERE)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/job "keyed" keys its records \(keyBy into .*sums/) as unknown,
    });
  });
});
