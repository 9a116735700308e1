import { describe, expect, it } from 'vitest';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { SequenceSource } from '../../../src/source/sequence/sequence-source.js';
import { CollectSink } from '../helpers/collect-sink.js';
import { tempDir } from '../helpers/files.js';

describe("KeyedStream's map, filter, flatMap and rolling reduce (as Flink's keyBy(…).map(…))", () => {
  it('map, filter and flatMap run after the partitioning by key', async () => {
    const env = StreamEnvironment.create({ parallelism: 2 });
    const sink = new CollectSink<string>();
    env
      .fromSource(SequenceSource.bounded(0, 300))
      .keyBy((n) => n % 3)
      .map((n) => n * 2, { uid: 'double' })
      .keyBy((n) => n % 4)
      .filter((n) => n % 4 === 0, { uid: 'quarter' })
      .keyBy((n) => n)
      .flatMap((n) => [`${n}a`, `${n}b`], { uid: 'twice' })
      .sinkTo(sink);
    await env.execute('keyed-ops');
    const expected = Array.from({ length: 300 }, (_, n) => n * 2)
      .filter((n) => n % 4 === 0)
      .flatMap((n) => [`${n}a`, `${n}b`]);
    expect([...sink.records].sort()).toEqual([...expected].sort());
  });

  it('reduce keeps each key’s value in keyed state: restored after a failure, nothing counted twice', async () => {
    const dir = await tempDir('keyed-reduce');
    try {
      let failed = false;
      const env = StreamEnvironment.create({
        parallelism: 2,
        checkpoint: { intervalMs: 20, dir: dir.path },
        restart: { type: 'fixed-delay', maxAttempts: 2, delayMs: 10 },
      });
      const sink = new CollectSink<{ key: number; sum: number }>();
      env
        // one source subtask (and map): each key's records reach its reduce in one order, replays too
        .fromSource(SequenceSource.bounded(0, 2_000, { ratePerSecond: 8_000, batchSize: 50 }), {
          parallelism: 1,
        })
        .map((n) => ({ key: n % 5, sum: n }), { parallelism: 1 })
        .keyBy((r) => r.key)
        .reduce((a, b) => ({ key: a.key, sum: a.sum + b.sum }), { uid: 'sums' })
        .map((r) => {
          // once, after checkpoints have completed: the job restarts from the latest one
          if (!failed && r.sum > 200_000) {
            failed = true;
            throw new Error('injected failure');
          }
          return r;
        })
        .sinkTo(sink);
      const result = await env.execute('keyed-reduce');
      expect(result.restarts).toBe(1);
      // the last value of each key is its whole sum: state lost would give less, a record
      // counted twice more (the output is at-least-once: replays show values again, never others)
      const last = new Map<number, number>();
      for (const r of sink.records) last.set(r.key, Math.max(last.get(r.key) ?? 0, r.sum));
      for (let key = 0; key < 5; key++) {
        const total = Array.from({ length: 400 }, (_, i) => i * 5 + key).reduce((a, b) => a + b, 0);
        expect(last.get(key), `key ${key}`).toBe(total);
      }
      // a replay repeats the same running sums: one per record, whatever was shown twice
      const sums = new Set(sink.records.map((r) => `${r.key}:${r.sum}`));
      expect(sums.size).toBe(2_000);
      expect(sink.records.length).toBeGreaterThan(2_000);
    } finally {
      await dir.remove();
    }
  });
});
