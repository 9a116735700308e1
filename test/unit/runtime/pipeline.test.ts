import { describe, expect, it } from 'vitest';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { SequenceSource } from '../../../src/source/sequence/sequence-source.js';
import { CollectSink } from '../helpers/collect-sink.js';

describe('pipeline', () => {
  it('runs source → map → filter → flatMap → keyBy/process → sink and ends with a final checkpoint', async () => {
    const env = StreamEnvironment.create({ parallelism: 2, restart: { type: 'none' } });
    const sink = new CollectSink<{ key: number; count: number }>();
    env
      .fromSource(SequenceSource.bounded(0, 1000), { name: 'numbers' })
      .map((n) => n * 2, { name: 'double' })
      .filter((n) => n % 4 === 0)
      .flatMap((n) => [n, n + 1])
      .keyBy((n) => n % 10)
      .process<{ key: number; count: number }>((_value, ctx, out) => {
        const count = ctx.valueState<number>('count');
        const next = (count.value() ?? 0) + 1;
        count.update(next);
        out.collect({ key: ctx.key, count: next });
      })
      .sinkTo(sink);
    const result = await env.execute('smoke');
    expect(result.status).toBe('finished');
    // 0..999 doubled, multiples of 4 → 500 values, each twice via flatMap → 1000 records
    expect(sink.records).toHaveLength(1000);
    const maxByKey = new Map<number, number>();
    for (const r of sink.records) maxByKey.set(r.key, Math.max(maxByKey.get(r.key) ?? 0, r.count));
    // values n (mult. of 4, < 2000) and n+1: keys 0,4,8,2,6 from n and 1,5,9,3,7 from n+1 → 100 each
    expect([...maxByKey.entries()].sort((a, b) => a[0] - b[0])).toEqual(
      Array.from({ length: 10 }, (_, k) => [k, 100]),
    );
    expect(result.lastCheckpointId).toBeGreaterThanOrEqual(1);
    expect(sink.completedCheckpoints.length).toBeGreaterThan(0);
  });
});

describe('scheduling', () => {
  it('a busy unbounded pipeline with a synchronous sink still lets timers (checkpoints) run', async () => {
    const env = StreamEnvironment.create({ checkpoint: { intervalMs: 20 } });
    let written = 0;
    env.fromSource(SequenceSource.unbounded()).sinkTo({
      createWriter: () => ({
        initialize: async () => {},
        writeBatch: (records) => void (written += records.length),
        snapshotState: async () => [],
        notifyCheckpointComplete: async () => {},
        close: async () => {},
      }),
    });
    const handle = env.execute('busy');
    const completed: number[] = [];
    handle.events$.subscribe((e) => {
      if (e.type === 'checkpoint-completed') completed.push(e.checkpointId);
    });
    while (completed.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    await handle.cancel();
    expect(written).toBeGreaterThan(0);
    expect(completed.slice(0, 3)).toEqual([1, 2, 3]);
  });
});
