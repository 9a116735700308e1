import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { jsonSerializer } from '../../../src/pravega/client/serializer.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { WatermarkStrategy } from '../../../src/runtime/watermark-strategy.js';
import { TumblingEventTimeWindows } from '../../../src/runtime/windows.js';
import { PravegaSource } from '../../../src/source/pravega/pravega-source.js';
import { BACKENDS } from '../../support/backends.js';
import { randomScope } from '../../support/endpoints.js';
import { CollectSink } from '../../unit/helpers/collect-sink.js';

interface Tick {
  readonly key: string;
  readonly ts: number;
}

/** Waits for a condition (the deadline is only against hangs, not a timing assumption). */
async function until(condition: () => boolean, what: string, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.each(BACKENDS.map((b) => [b().name, b] as const))(
  'watermark idleness through the Pravega source on %s',
  (name, makeBackend) => {
    const backend = makeBackend();
    let client: PravegaClient;
    const scope = randomScope('idle');

    beforeAll(async () => {
      client = await backend.connect();
      await client.createScope(scope);
    });
    afterAll(async () => {
      await backend.cleanup();
    });

    it('a source subtask whose segment gets no events goes idle: windows still fire', async () => {
      const stream = `${scope}/ticks`;
      await client.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
      const writer = await client.createWriter(stream, jsonSerializer<Tick>());
      // one routing key: every event lands in the same one of the two segments
      const ticks: Tick[] = Array.from({ length: 200 }, (_, i) => ({
        key: `k${i % 2}`,
        ts: i * 10,
      }));
      await Promise.all(ticks.map((t) => writer.write(t, 'one-key')));
      await writer.close();

      const env = StreamEnvironment.create({ parallelism: 2, pravega: backend.uri() });
      const sink = new CollectSink<{ key: string; start: number; count: number }>();
      env
        .fromSource(
          PravegaSource.forStream(stream)
            .json<Tick>()
            .timestamps((t) => t.ts),
          {
            name: 'ticks',
            parallelism: 2,
            watermarkStrategy: WatermarkStrategy.forMonotonousTimestamps<Tick>().withIdleness(300),
          },
        )
        .keyBy((t) => t.key)
        .window(TumblingEventTimeWindows.of(1_000))
        .process<{ key: string; start: number; count: number }>((key, window, elements, out) =>
          out.collect({ key, start: window.start, count: elements.length }),
        )
        .sinkTo(sink);
      // unbounded: the second window never closes (no later event), the first one must
      const handle = env.execute(`idle-${name}`);
      try {
        await until(() => sink.records.length >= 2, 'the first window of both keys');
      } finally {
        await handle.cancel();
      }
      expect([...sink.records].sort((a, b) => (a.key < b.key ? -1 : 1))).toEqual([
        { key: 'k0', start: 0, count: 50 },
        { key: 'k1', start: 0, count: 50 },
      ]);
    });
  },
);
