import { NEVER } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import type { KeyedProcessFunction } from '../../../src/runtime/functions.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { WatermarkStrategy } from '../../../src/runtime/watermark-strategy.js';
import { FileSink } from '../../../src/sink/file/file-sink.js';
import { SequenceSource } from '../../../src/source/sequence/sequence-source.js';
import { gatedSource } from '../../support/gated-source.js';
import { CollectSink } from '../helpers/collect-sink.js';
import { inProgressFiles, readCommitted, tempDir } from '../helpers/files.js';

interface Bucket {
  readonly key: number;
  readonly bucket: number;
  readonly sum: number;
  readonly items: number;
  readonly distinct: number;
}

/**
 * A hand-made window: per key, sums values of each 1000-ms bucket in map state, lists them in
 * list state, and emits when an event-time timer two buckets after the bucket's end fires.
 */
const bucketing: KeyedProcessFunction<number, number, Bucket> = {
  processElement(value, ctx) {
    const ts = ctx.timestamp as number;
    const bucket = Math.floor(ts / 1000);
    const sums = ctx.mapState<number, number>('sums');
    sums.put(bucket, (sums.get(bucket) ?? 0) + value);
    ctx.listState<number>(`items`).add(value);
    // fire two buckets late, so that checkpoints always hold timers of finished buckets
    ctx.timers.registerEventTimeTimer(bucket * 1000 + 2999);
  },
  onTimer(timestamp, ctx, out) {
    const bucket = Math.floor((timestamp - 2000) / 1000);
    const sums = ctx.mapState<number, number>('sums');
    const items = ctx.listState<number>('items');
    const inBucket = items.get().filter((v) => Math.floor(v / 1000) === bucket);
    out.collect({
      key: ctx.key,
      bucket,
      sum: sums.get(bucket) ?? -1,
      items: inBucket.length,
      distinct: new Set(inBucket).size,
    });
    sums.remove(bucket);
    items.update(items.get().filter((v) => Math.floor(v / 1000) !== bucket));
  },
};

describe('keyed process: state and timers', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('keyed');
  });
  afterEach(async () => {
    await dir.remove();
  });

  it.each(['inline, in memory', 'incremental, in pieces on disk'])(
    'fires event-time timers from the watermark, with map and list state, exactly once across a restart (checkpoints %s)',
    async (how) => {
      const total = 8_000; // value = timestamp (ms)
      const ckpt = how.startsWith('incremental') ? await tempDir('keyed-ckpt') : undefined;
      onTestFinished(() => ckpt?.remove());
      const env = StreamEnvironment.create({
        parallelism: 2,
        checkpoint: { intervalMs: 25, ...(ckpt === undefined ? {} : { dir: ckpt.path }) },
        restart: { type: 'fixed-delay', maxAttempts: 1, delayMs: 0 },
      });
      let completed = 0;
      let armed = false;
      let failed = false;
      // the source pauses after 3 000 records until two checkpoints completed; the map fails on the
      // next record: after those checkpoints and mid-input, however fast or slow the machine is
      const numbers = gatedSource(
        SequenceSource.bounded(0, total, { ratePerSecond: 3_000, batchSize: 50 }),
        [{ afterRecords: 3_000, until: () => (armed ||= completed >= 2) }],
      );
      env
        .fromSource(numbers, {
          uid: 'numbers',
          watermarkStrategy: WatermarkStrategy.forBoundedOutOfOrderness<number>(
            0,
          ).withTimestampAssigner((v) => v),
        })
        .map((v) => {
          if (armed && !failed) {
            failed = true;
            throw new Error('intentional failure');
          }
          return v;
        })
        .keyBy((v) => v % 5)
        .process(bucketing, { uid: 'buckets' })
        .sinkTo(FileSink.jsonLines<Bucket>(dir.path), { uid: 'files' });
      const handle = env.execute('timers');
      handle.events$.subscribe((e) => {
        if (e.type === 'checkpoint-completed') completed++;
      });
      const result = await handle;
      expect(result.restarts).toBe(1);
      const out = await readCommitted<Bucket>(dir.path);
      out.sort((a, b) => a.key - b.key || a.bucket - b.bucket);
      const expected: Bucket[] = [];
      for (let key = 0; key < 5; key++) {
        for (let bucket = 0; bucket < 8; bucket++) {
          let sum = 0;
          for (let v = bucket * 1000; v < bucket * 1000 + 1000; v++) if (v % 5 === key) sum += v;
          expected.push({ key, bucket, sum, items: 200, distinct: 200 });
        }
      }
      expect(out).toEqual(expected);
      expect(await inProgressFiles(dir.path)).toEqual([]);
    },
  );

  it('fires processing-time timers and can delete timers', async () => {
    const env = StreamEnvironment.create();
    const sink = new CollectSink<string>();
    env
      .fromAsyncIterable(['a', 'b', 'c'])
      .union(env.fromObservable<string>(NEVER))
      .keyBy((s) => s)
      .process<string>({
        processElement(value, ctx) {
          const now = ctx.timers.currentProcessingTime();
          ctx.timers.registerProcessingTimeTimer(now + 20);
          if (value === 'b') ctx.timers.deleteProcessingTimeTimer(now + 20);
          ctx.valueState<number>('registered').update(now);
        },
        onTimer(timestamp, ctx, out) {
          expect(ctx.timeDomain).toBe('processing-time');
          out.collect(
            `${ctx.key}@${timestamp - (ctx.valueState<number>('registered').value() ?? 0)}`,
          );
        },
      })
      .sinkTo(sink);
    const handle = env.execute('processing-time');
    const deadline = Date.now() + 60_000;
    while (sink.records.length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    await handle.cancel();
    expect([...sink.records].sort()).toEqual(['a@20', 'c@20']);
  });

  it('keeps bigint and Buffer keyed state across a restart (encoded like the checkpoint files)', async () => {
    const ckpt = await tempDir('keyed-ckpt');
    try {
      const total = 6_000;
      const env = StreamEnvironment.create({
        parallelism: 2,
        checkpoint: { intervalMs: 20, dir: ckpt.path },
        restart: { type: 'fixed-delay', maxAttempts: 1, delayMs: 0 },
      });
      let completed = 0;
      let armed = false;
      let failed = false;
      interface Row {
        readonly key: number;
        readonly count: number;
        readonly sum: bigint;
        readonly last: Buffer;
      }
      env
        .fromSource(
          gatedSource(SequenceSource.bounded(0, total, { ratePerSecond: 3_000, batchSize: 50 }), [
            { afterRecords: 2_500, until: () => (armed ||= completed >= 2) },
          ]),
          { uid: 'n' },
        )
        .map((v) => {
          if (armed && !failed) {
            failed = true;
            throw new Error('intentional failure');
          }
          return v;
        })
        .keyBy((v) => v % 3)
        .process<Row>(
          (v, ctx, out) => {
            const sum = ctx.valueState<bigint>('sum');
            const count = ctx.valueState<number>('count');
            const last = ctx.valueState<Buffer>('last');
            const previous = last.value();
            if (previous !== undefined && !Buffer.isBuffer(previous))
              throw new Error('Buffer state came back as something else');
            const next = (sum.value() ?? 0n) + BigInt(v) * 10n ** 20n;
            sum.update(next);
            count.update((count.value() ?? 0) + 1);
            last.update(Buffer.from(String(v)));
            out.collect({
              key: ctx.key,
              count: count.value() ?? 0,
              sum: next,
              last: last.value() ?? Buffer.alloc(0),
            });
          },
          { uid: 'sums' },
        )
        .sinkTo(
          FileSink.lines<Row>(dir.path, (r) =>
            JSON.stringify({
              key: r.key,
              count: r.count,
              sum: r.sum.toString(),
              last: r.last.toString(),
            }),
          ),
          { uid: 'files' },
        );
      const handle = env.execute('bigint');
      handle.events$.subscribe((e) => {
        if (e.type === 'checkpoint-completed') completed++;
      });
      expect((await handle).restarts).toBe(1);
      const rows = await readCommitted<{ key: number; count: number; sum: string; last: string }>(
        dir.path,
      );
      expect(rows).toHaveLength(total);
      for (let key = 0; key < 3; key++) {
        const finalRow = rows.filter((r) => r.key === key).sort((a, b) => b.count - a.count)[0];
        let expected = 0n;
        for (let v = key; v < total; v += 3) expected += BigInt(v) * 10n ** 20n;
        expect(finalRow?.sum).toBe(expected.toString());
        expect(finalRow?.count).toBe(total / 3);
      }
    } finally {
      await ckpt.remove();
    }
  });
});
