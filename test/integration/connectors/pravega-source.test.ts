import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { bytesSerializer, jsonSerializer } from '../../../src/pravega/client/serializer.js';
import { headCut, tailCut } from '../../../src/pravega/client/stream-cut.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { WatermarkStrategy } from '../../../src/runtime/watermark-strategy.js';
import { TumblingEventTimeWindows } from '../../../src/runtime/windows.js';
import { PravegaSource } from '../../../src/source/pravega/pravega-source.js';
import { BACKENDS } from '../../support/backends.js';
import { randomScope } from '../../support/endpoints.js';
import { truncateAndWait } from '../../support/truncation.js';
import { CollectSink } from '../../unit/helpers/collect-sink.js';

interface Tick {
  key: string;
  ts: number;
}

describe.each(BACKENDS.map((b) => [b().name, b] as const))(
  'Pravega source on %s',
  (_name, makeBackend) => {
    const backend = makeBackend();
    let client: PravegaClient;
    const scopeA = randomScope('srca');
    const scopeB = randomScope('srcb');

    beforeAll(async () => {
      client = await backend.connect();
      await client.createScope(scopeA);
      await client.createScope(scopeB);
    });
    afterAll(async () => {
      await backend.cleanup();
    });

    async function fill(
      stream: string,
      values: readonly unknown[],
      raw: readonly Buffer[] = [],
    ): Promise<void> {
      await client.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
      const json = await client.createWriter(stream, jsonSerializer<unknown>());
      await Promise.all(values.map((v, i) => json.write(v, `k${i % 4}`)));
      await json.close();
      if (raw.length > 0) {
        const bytes = await client.createWriter(stream, bytesSerializer);
        await Promise.all(raw.map((b) => bytes.write(b, 'k0')));
        await bytes.close();
      }
    }

    async function end(stream: string) {
      const [scope = '', name = ''] = stream.split('/');
      return tailCut(client.controller, client.segmentStore, { scope, stream: name });
    }

    it('reads several streams in two scopes, bounded by their end cuts', async () => {
      const a = `${scopeA}/left`;
      const b = `${scopeB}/right`;
      await fill(
        a,
        Array.from({ length: 300 }, (_, i) => ({ from: 'a', i })),
      );
      await fill(
        b,
        Array.from({ length: 200 }, (_, i) => ({ from: 'b', i })),
      );
      const env = StreamEnvironment.create({
        parallelism: 2,
        pravega: backend.uri(),
        checkpoint: { intervalMs: 200 },
      });
      const sink = new CollectSink<{ from: string; i: number }>();
      env
        .fromSource(
          PravegaSource.forStream(a, { end: await end(a) })
            .forStream(b, { end: await end(b) })
            .json<{ from: string; i: number }>(),
          { name: 'two-streams' },
        )
        .sinkTo(sink);
      const result = await env.execute(`two-streams-${_name}`).result;
      expect(result.status).toBe('finished');
      const ids = sink.records.map((r) => `${r.from}${r.i}`);
      expect(new Set(ids).size).toBe(500);
      expect(ids.length).toBe(500);
    });

    it('fails the job on an undecodable event, naming its segment and offset — or skips it when told to', async () => {
      const s = `${scopeA}/bad`;
      await fill(
        s,
        Array.from({ length: 50 }, (_, i) => ({ i })),
        [Buffer.from('{not json')],
      );
      const cut = await end(s);
      const failing = StreamEnvironment.create({
        pravega: backend.uri(),
        restart: { type: 'none' },
      });
      failing
        .fromSource(PravegaSource.forStream(s, { end: cut }).json<{ i: number }>(), {
          name: 'strict',
        })
        .sinkTo(new CollectSink());
      const err = await failing.execute(`strict-${_name}`).result.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({
        cause: {
          code: 'DESERIALIZATION_FAILED',
          message: expect.stringMatching(
            new RegExp(`${s}/\\d+\\.#epoch\\.0 offset \\d+`),
          ) as string,
        },
      });

      const lenient = StreamEnvironment.create({
        pravega: backend.uri(),
        restart: { type: 'none' },
      });
      const sink = new CollectSink<{ i: number }>();
      lenient
        .fromSource(
          PravegaSource.forStream(s, { end: cut })
            .json<{ i: number }>()
            .onDeserializationError('skip'),
          { name: 'lenient' },
        )
        .sinkTo(sink);
      const lenientResult = await lenient.execute(`lenient-${_name}`).result;
      const counters = lenientResult.metrics.find((m) => m.name === 'lenient')?.counters;
      expect(counters?.['deserializationErrorsSkipped']).toBe(1);
      expect(sink.records.map((r) => r.i).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 50 }, (_, i) => i),
      );
    });

    it('skips data truncated away before it was read, with a warning and counters — or fails when told to', async () => {
      const s = `${scopeA}/truncated`;
      await fill(
        s,
        Array.from({ length: 100 }, (_, i) => ({ i })),
      );
      const [scope = '', stream = ''] = s.split('/');
      const id = { scope, stream };
      const before = await headCut(client.controller, id);
      const mid = await end(s);
      const more = await client.createWriter(s, jsonSerializer<unknown>());
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => more.write({ i: 100 + i }, `k${i % 4}`)),
      );
      await more.close();
      const last = await end(s);
      await truncateAndWait(client, id, mid.positions);

      // a reader group that starts before the truncation point, as a restore of an old checkpoint
      const env = StreamEnvironment.create({ pravega: backend.uri(), restart: { type: 'none' } });
      const sink = new CollectSink<{ i: number }>();
      env
        .fromSource(
          PravegaSource.forStream(s, { start: before, end: last }).json<{ i: number }>(),
          { name: 'behind' },
        )
        .sinkTo(sink);
      const handle = env.execute(`behind-${_name}`);
      const warnings: string[] = [];
      handle.events$.subscribe((e) => {
        if (e.type === 'warning') warnings.push(e.message);
      });
      const result = await handle.result;
      expect(sink.records.map((r) => r.i).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 100 }, (_, i) => 100 + i),
      );
      const skippedBytes = [...mid.positions.values()].reduce((a, o) => a + Number(o), 0);
      const counters = result.metrics.find((m) => m.name === 'behind')?.counters;
      expect(counters).toMatchObject({ truncations: 2, truncatedBytesSkipped: skippedBytes });
      expect(warnings.filter((w) => w.includes('truncated away'))).toHaveLength(2);

      // batch mode reads the same ranges split by split, and skips the same way
      const batchEnv = StreamEnvironment.create({
        parallelism: 2,
        pravega: backend.uri(),
        restart: { type: 'none' },
      });
      const batchSink = new CollectSink<{ i: number }>();
      batchEnv
        .fromSource(
          PravegaSource.forStream(s, { start: before, end: last }).json<{ i: number }>().batch(),
          { name: 'behind-batch' },
        )
        .sinkTo(batchSink);
      const batchResult = await batchEnv.execute(`behind-batch-${_name}`).result;
      expect(batchSink.records.map((r) => r.i).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 100 }, (_, i) => 100 + i),
      );
      expect(batchResult.metrics.find((m) => m.name === 'behind-batch')?.counters).toMatchObject({
        truncations: 2,
        truncatedBytesSkipped: skippedBytes,
      });

      const strict = StreamEnvironment.create({
        pravega: backend.uri(),
        restart: { type: 'none' },
      });
      strict
        .fromSource(
          PravegaSource.forStream(s, { start: before, end: last })
            .json<{ i: number }>()
            .onTruncatedData('fail'),
          { name: 'strict-truncated' },
        )
        .sinkTo(new CollectSink());
      const err = await strict.execute(`strict-truncated-${_name}`).result.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({
        cause: {
          code: 'SEGMENT_TRUNCATED',
          message: expect.stringMatching(
            /were truncated away before this source read them/,
          ) as string,
        },
      });
    });

    it('takes event time from the events: tumbling windows count per key', async () => {
      const s = `${scopeA}/ticks`;
      const ticks: Tick[] = Array.from({ length: 400 }, (_, i) => ({
        key: `k${i % 4}`,
        ts: i * 25,
      }));
      await fill(s, ticks);
      const env = StreamEnvironment.create({ parallelism: 2, pravega: backend.uri() });
      const sink = new CollectSink<{ key: string; start: number; count: number }>();
      env
        .fromSource(
          PravegaSource.forStream(s, { end: await end(s) })
            .json<Tick>()
            .timestamps((t) => t.ts),
          {
            name: 'ticks',
            watermarkStrategy: WatermarkStrategy.forBoundedOutOfOrderness<Tick>(10_000),
          },
        )
        .keyBy((t) => t.key)
        .window(TumblingEventTimeWindows.of(1_000))
        .process<{ key: string; start: number; count: number }>((key, window, elements, out) =>
          out.collect({ key, start: window.start, count: elements.length }),
        )
        .sinkTo(sink);
      await env.execute(`ticks-${_name}`).result;
      // 10 windows of 1 s × 4 keys, 10 ticks of each key in each
      expect(sink.records).toHaveLength(40);
      expect(sink.records.every((r) => r.count === 10)).toBe(true);
    });
  },
);
