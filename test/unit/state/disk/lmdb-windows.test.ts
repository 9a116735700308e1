import { describe, expect, it } from 'vitest';
import { StreamEnvironment } from '../../../../src/runtime/stream-environment.js';
import { WatermarkStrategy } from '../../../../src/runtime/watermark-strategy.js';
import { TumblingEventTimeWindows } from '../../../../src/runtime/windows.js';
import { CollectSink } from '../../helpers/collect-sink.js';
import { tempDir } from '../../helpers/files.js';

interface Event {
  readonly key: string;
  readonly ts: number;
  readonly v: number;
}

/** 7 keys, timestamps 0..19 990 step 10, locally shuffled by up to 40 ms. */
function events(): Event[] {
  const out: Event[] = [];
  for (let i = 0; i < 2000; i++) out.push({ key: `k${i % 7}`, ts: i * 10, v: i });
  for (let i = 0; i + 5 < out.length; i += 5) {
    const a = out[i] as Event;
    out[i] = out[i + 4] as Event;
    out[i + 4] = a;
  }
  return out;
}

describe('event-time windows on the LMDB state backend', () => {
  it('window contents live in LMDB (map state), timers fire them: every window once, exact sums', async () => {
    const ckpt = await tempDir('lmdb-windows-ckpt');
    const work = await tempDir('lmdb-windows-work');
    try {
      const env = StreamEnvironment.create({
        parallelism: 2,
        checkpoint: { intervalMs: 20, dir: ckpt.path },
        // tiny write batches and cache: window contents are read back from LMDB
        state: {
          backend: 'lmdb',
          dir: work.path,
          writeBatchEntries: 2,
          writeCacheEntries: 1,
          cacheEntries: 1,
        },
      });
      const sink = new CollectSink<{ key: string; start: number; sum: number; count: number }>();
      env
        .fromAsyncIterable(events(), {
          watermarkStrategy: WatermarkStrategy.forBoundedOutOfOrderness<Event>(
            100,
          ).withTimestampAssigner((e) => e.ts),
        })
        .keyBy((e) => e.key)
        .window(TumblingEventTimeWindows.of(1000))
        .process<{ key: string; start: number; sum: number; count: number }>(
          (key, window, elements, out) =>
            out.collect({
              key,
              start: window.start,
              sum: elements.reduce((s, e) => s + e.v, 0),
              count: elements.length,
            }),
        )
        .sinkTo(sink);
      await env.execute('lmdb-tumbling');
      const expected = new Map<string, { sum: number; count: number }>();
      for (const e of events()) {
        const id = `${e.key}@${Math.floor(e.ts / 1000) * 1000}`;
        const acc = expected.get(id) ?? { sum: 0, count: 0 };
        acc.sum += e.v;
        acc.count++;
        expected.set(id, acc);
      }
      const actual = new Map(
        sink.records.map((r) => [`${r.key}@${r.start}`, { sum: r.sum, count: r.count }]),
      );
      expect(sink.records).toHaveLength(expected.size);
      expect(actual).toEqual(expected);
    } finally {
      await ckpt.remove();
      await work.remove();
    }
  });
});
