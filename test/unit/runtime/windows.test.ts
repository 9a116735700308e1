import { NEVER } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { WatermarkStrategy } from '../../../src/runtime/watermark-strategy.js';
import { SlidingEventTimeWindows, TumblingEventTimeWindows } from '../../../src/runtime/windows.js';
import { CollectSink } from '../helpers/collect-sink.js';

interface Event {
  readonly key: string;
  readonly ts: number;
  readonly v: number;
}

/** 3 keys, timestamps 0..9990 step 10, locally shuffled by up to 50 ms. */
function events(): Event[] {
  const out: Event[] = [];
  for (let i = 0; i < 1000; i++) out.push({ key: `k${i % 3}`, ts: i * 10, v: i });
  for (let i = 0; i + 5 < out.length; i += 5) {
    const a = out[i] as Event;
    out[i] = out[i + 4] as Event;
    out[i + 4] = a;
  }
  return out;
}

const strategy = WatermarkStrategy.forBoundedOutOfOrderness<Event>(100).withTimestampAssigner(
  (e) => e.ts,
);

describe('event-time windows and watermarks', () => {
  it('tumbling windows sum per key and window, results stamped end - 1', async () => {
    const env = StreamEnvironment.create({ parallelism: 2 });
    const sink = new CollectSink<{ key: string; start: number; sum: number; count: number }>();
    env
      .fromAsyncIterable(events(), { watermarkStrategy: strategy })
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
    await env.execute('tumbling');
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
    sink.records.forEach((r, i) => expect(sink.timestamps[i]).toBe(r.start + 999));
  });

  it('sliding windows put each event into size/slide windows (reduce)', async () => {
    const env = StreamEnvironment.create({ parallelism: 1 });
    const sink = new CollectSink<Event>();
    env
      .fromAsyncIterable(events(), { watermarkStrategy: strategy })
      .map((e) => ({ ...e, key: 'all' }))
      .keyBy((e) => e.key)
      .window(SlidingEventTimeWindows.of(1000, 500))
      .reduce((a, b) => ({ key: a.key, ts: Math.max(a.ts, b.ts), v: a.v + b.v }))
      .sinkTo(sink);
    await env.execute('sliding');
    // windows start at -500, 0, 500, …, 9500: 21 windows
    expect(sink.records).toHaveLength(21);
    const total = sink.records.reduce((s, r) => s + r.v, 0);
    expect(total).toBe(2 * events().reduce((s, e) => s + e.v, 0));
  });

  it('drops records behind the watermark and counts them', async () => {
    const env = StreamEnvironment.create({ parallelism: 1 });
    const sink = new CollectSink<number>();
    const input: Event[] = [
      { key: 'a', ts: 100, v: 1 },
      { key: 'a', ts: 5000, v: 2 },
      { key: 'a', ts: 200, v: 100 }, // late: the watermark is already 4899
      { key: 'a', ts: 5100, v: 3 },
    ];
    // Watermarks are generated after each polled batch. The late record is yielded only once the
    // chained map has seen the record that moves the watermark to 4899: that batch and its
    // watermark are emitted in one synchronous step, so the late record comes in a later batch,
    // behind the watermark, however slow the machine.
    let sawAdvance!: () => void;
    const advanced = new Promise<void>((resolve) => (sawAdvance = resolve));
    async function* gated(): AsyncGenerator<Event> {
      for (const e of input) {
        if (e.v === 100) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            advanced,
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error('the watermark never advanced')), 60_000);
            }),
          ]).finally(() => clearTimeout(timer));
        }
        yield e;
      }
    }
    env
      .fromAsyncIterable(gated, {
        watermarkStrategy: WatermarkStrategy.forBoundedOutOfOrderness<Event>(
          100,
        ).withTimestampAssigner((e) => e.ts),
      })
      .map((e) => {
        if (e.ts === 5000) sawAdvance();
        return e;
      })
      .keyBy((e) => e.key)
      .window(TumblingEventTimeWindows.of(1000))
      .aggregate<number, number>(
        { createAccumulator: () => 0, add: (e, acc) => acc + e.v, getResult: (acc) => acc },
        { name: 'sum', uid: 'sum' },
      )
      .sinkTo(sink);
    const result = await env.execute('late');
    expect(sink.records).toEqual([1, 5]);
    expect(result.metrics.find((m) => m.uid === 'sum')?.counters['lateRecordsDropped']).toBe(1);
  });

  it('an idle input does not hold back the watermark of a union (withIdleness)', async () => {
    const env = StreamEnvironment.create({ parallelism: 1 });
    const sink = new CollectSink<{ start: number; count: number }>();
    const active = env.fromAsyncIterable(
      async function* () {
        for (let i = 0; ; i++) {
          yield { key: 'x', ts: i * 100, v: i };
          if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
        }
      },
      { watermarkStrategy: strategy.withIdleness(50) },
    );
    const idle = env.fromObservable<Event>(NEVER, { watermarkStrategy: strategy.withIdleness(50) });
    active
      .union(idle)
      .keyBy((e) => e.key)
      .window(TumblingEventTimeWindows.of(1000))
      .process<{ start: number; count: number }>((_k, w, elements, out) =>
        out.collect({ start: w.start, count: elements.length }),
      )
      .sinkTo(sink);
    const handle = env.execute('idle');
    const deadline = Date.now() + 60_000;
    while (sink.records.length < 3 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    await handle.cancel();
    expect(sink.records.length).toBeGreaterThanOrEqual(3);
    expect(sink.records.slice(0, 3)).toEqual([
      { start: 0, count: 10 },
      { start: 1000, count: 10 },
      { start: 2000, count: 10 },
    ]);
  });

  it('without idleness the silent input holds the union watermark back (nothing fires)', async () => {
    const env = StreamEnvironment.create({ parallelism: 1 });
    const sink = new CollectSink<number>();
    const active = env.fromAsyncIterable(
      Array.from({ length: 500 }, (_, i) => ({ key: 'x', ts: i * 100, v: i })),
      { watermarkStrategy: strategy },
    );
    const silent = env.fromObservable<Event>(NEVER, { watermarkStrategy: strategy });
    active
      .union(silent)
      .keyBy((e) => e.key)
      .window(TumblingEventTimeWindows.of(1000))
      .process<number>((_k, _w, elements, out) => out.collect(elements.length), { uid: 'win' })
      .sinkTo(sink);
    const handle = env.execute('held-back');
    const deadline = Date.now() + 60_000;
    let seen = 0;
    handle.events$.subscribe((e) => {
      if (e.type === 'metrics') seen = e.operators.find((m) => m.uid === 'win')?.recordsIn ?? 0;
    });
    while (seen < 500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await handle.cancel();
    expect(seen).toBe(500);
    expect(sink.records).toEqual([]);
  });
});
