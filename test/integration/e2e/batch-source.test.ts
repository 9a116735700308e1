import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { PravegaSink } from '../../../src/sink/pravega/pravega-sink.js';
import { PravegaSource } from '../../../src/source/pravega/pravega-source.js';
import { BACKENDS } from '../../support/backends.js';
import { produce, readOutput } from '../../support/e2e.js';
import { gatedSource } from '../../support/gated-source.js';
import { randomScope } from '../../support/endpoints.js';
import type { Seq } from '../../support/sequences.js';

describe.each(BACKENDS.map((b) => [b().name, b] as const))(
  'Pravega batch source on %s',
  (name, makeBackend) => {
    const backend = makeBackend();
    let client: PravegaClient;
    const scope = randomScope('batch-src');

    beforeAll(async () => {
      client = await backend.connect();
      await client.createScope(scope);
    });
    afterAll(async () => {
      await backend.cleanup();
    });

    it('reads every segment range (across a scale) in parallel, exactly once through a failure', async () => {
      const input = `${scope}/in`;
      const output = `${scope}/out`;
      await client.createStream(input, { scalingPolicy: { type: 'fixed', minSegments: 3 } });
      await client.createStream(output, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
      await produce(client, input, {
        keys: 32,
        perKey: 500,
        ratePerSecond: 200_000,
        scaleAfter: 8_000,
      });
      const total = 32 * 500;

      const env = StreamEnvironment.create({
        parallelism: 3,
        pravega: backend.uri(),
        checkpoint: { intervalMs: 100, timeoutMs: 20_000 },
        restart: { type: 'fixed-delay', maxAttempts: 3, delayMs: 50 },
      });
      let failed = false;
      let checkpoints = 0;
      // the source pauses half-way until a checkpoint completed; the map fails on the first
      // record after that, so the failure comes after a checkpoint and mid-input, however fast
      // or slow the machine is
      let armed = false;
      const ranges = gatedSource(PravegaSource.forStream(input).json<Seq>().batch(), [
        { afterRecords: total / 2, until: () => (armed ||= checkpoints > 0) },
      ]);
      env
        .fromSource(ranges, { name: 'ranges', uid: 'ranges' })
        .map(
          (s) => {
            if (armed && !failed) {
              failed = true;
              throw new Error('intentional failure');
            }
            return s;
          },
          { uid: 'fail-once' },
        )
        .sinkTo(PravegaSink.forStream(output).json<Seq>().exactlyOnce({ leaseMs: 60_000 }), {
          uid: 'out',
        });
      const handle = env.execute(`batch-${name}`);
      handle.events$.subscribe((e) => {
        if (e.type === 'checkpoint-completed') checkpoints++;
      });
      const result = await handle.result;
      expect(result.status).toBe('finished');
      expect(failed).toBe(true);
      const events = await readOutput(client, output);
      const distinct = new Set(events.map((e) => `${e.key}#${e.seq}`));
      expect({ events: events.length, distinct: distinct.size }).toEqual({
        events: total,
        distinct: total,
      });
    });
  },
);
