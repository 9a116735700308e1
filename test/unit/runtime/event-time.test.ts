import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import type { TaskMetrics } from '../../../src/runtime/job-events.js';
import type { JobHandle } from '../../../src/runtime/job-handle.js';
import { SequenceSource } from '../../../src/source/sequence/sequence-source.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { WatermarkStrategy } from '../../../src/runtime/watermark-strategy.js';
import {
  EventTimeSessionWindows,
  OutputTag,
  SlidingEventTimeWindows,
  TumblingEventTimeWindows,
} from '../../../src/runtime/windows.js';
import type { AggregateFunction, WindowFunction } from '../../../src/runtime/functions.js';
import { CollectSink } from '../helpers/collect-sink.js';
import { tempDir } from '../helpers/files.js';

interface Event {
  readonly key: string;
  readonly ts: number;
  readonly v: number;
}

interface Result {
  readonly key: string;
  readonly start: number;
  readonly end: number;
  readonly sum: number;
}

const ev = (key: string, ts: number, v = 0): Event => ({ key, ts, v });

/** Waits for a condition (no timing assumption: the deadline is only against hangs). */
async function until(condition: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const SYNC = 'sync';

/**
 * An input whose `SYNC` marks hold the next records back until every record before them passed
 * the chained `mark` map: the source emits a batch and its watermark in one synchronous step, so
 * the records after a mark come in a later batch, behind that watermark, however slow the machine.
 */
function paced(items: readonly (Event | typeof SYNC)[]): {
  input: () => AsyncGenerator<Event>;
  mark: (e: Event) => Event;
} {
  let seen = 0;
  return {
    mark: (e) => {
      seen++;
      return e;
    },
    input: async function* () {
      let yielded = 0;
      for (const item of items) {
        if (item === SYNC) {
          await until(() => seen >= yielded, 'the records before a sync mark');
          continue;
        }
        yielded++;
        yield item;
      }
    },
  };
}

const sum: AggregateFunction<Event, number, number> = {
  createAccumulator: () => 0,
  add: (e, acc) => acc + e.v,
  getResult: (acc) => acc,
  merge: (a, b) => a + b,
};

const toResult = (key: string, w: { start: number; end: number }, s: number): Result => ({
  key,
  start: w.start,
  end: w.end,
  sum: s,
});

const emitResult: WindowFunction<string, number, Result> = (key, w, s, out) =>
  out.collect(toResult(key, w, s));

const byKeyAndStart = (a: Result, b: Result): number =>
  a.key === b.key ? a.start - b.start : a.key < b.key ? -1 : 1;

const monotonous = WatermarkStrategy.forMonotonousTimestamps<Event>().withTimestampAssigner(
  (e) => e.ts,
);

describe('allowed lateness and late data', () => {
  // window [0, 1000): fires at watermark 1199, a record within lateness re-fires it, cleaned at
  // watermark 1599 (> 999 + 500), then a record for it is late
  const items = [
    ev('a', 100, 1),
    ev('a', 1200, 2),
    SYNC,
    ev('a', 300, 10),
    SYNC,
    ev('a', 1600, 20),
    SYNC,
    ev('a', 400, 100),
    ev('a', 1700, 40),
  ] as const;

  // the paced input needs the marking map chained to the source (parallelism 1); the windows run
  // with parallelism 2
  it('a record within the lateness re-fires its window; a later one goes to the side output', async () => {
    const env = StreamEnvironment.create({ parallelism: 1 });
    const main = new CollectSink<Result>();
    const late = new CollectSink<Event>();
    const lateTag = new OutputTag<Event>('late');
    const { input, mark } = paced(items);
    const windowed = env
      .fromAsyncIterable(input, { watermarkStrategy: monotonous })
      .map(mark)
      .keyBy((e) => e.key)
      .window(TumblingEventTimeWindows.of(1000))
      .allowedLateness(500)
      .sideOutputLateData(lateTag)
      .aggregate(sum, emitResult, { uid: 'sum', parallelism: 2 });
    windowed.sinkTo(main, { uid: 'main', parallelism: 2 });
    windowed.getSideOutput(lateTag).sinkTo(late);
    const handle = env.execute('lateness');
    // the main output stays chained (window → sink); the side output is an edge of its own
    const graph = handle.describe();
    const windowVertex = graph.vertices.find((v) => v.operators.some((o) => o.uid === 'sum'));
    expect(windowVertex?.operators.map((o) => o.uid)).toEqual(['sum', 'main']);
    expect(graph.edges.filter((e) => e.sideOutput !== undefined)).toEqual([
      {
        from: windowVertex?.id,
        to: expect.any(Number) as number,
        partitioning: 'rebalance',
        sideOutput: 'sum#late',
      },
    ]);
    // a bounded job ends with a final checkpoint: its barrier must reach the side output's sink
    const result = await handle;
    expect(result.status).toBe('finished');
    expect(main.records).toEqual([
      { key: 'a', start: 0, end: 1000, sum: 1 },
      { key: 'a', start: 0, end: 1000, sum: 11 },
      { key: 'a', start: 1000, end: 2000, sum: 62 },
    ]);
    expect(main.timestamps).toEqual([999, 999, 1999]);
    expect(late.records).toEqual([ev('a', 400, 100)]);
    expect(late.timestamps).toEqual([400]);
    const counters = result.metrics.find((m) => m.uid === 'sum')?.counters ?? {};
    expect(counters['lateRecordsToSideOutput']).toBe(1);
    expect(counters['lateRecordsDropped']).toBeUndefined();
  });

  it('without lateness and side output, late records are dropped and counted', async () => {
    const env = StreamEnvironment.create({ parallelism: 1 });
    const main = new CollectSink<Result>();
    const { input, mark } = paced(items);
    env
      .fromAsyncIterable(input, { watermarkStrategy: monotonous })
      .map(mark)
      .keyBy((e) => e.key)
      .window(TumblingEventTimeWindows.of(1000))
      .aggregate(sum, emitResult, { uid: 'sum', parallelism: 2 })
      .sinkTo(main);
    const result = await env.execute('late-dropped');
    expect(main.records).toEqual([
      { key: 'a', start: 0, end: 1000, sum: 1 },
      { key: 'a', start: 1000, end: 2000, sum: 62 },
    ]);
    expect(result.metrics.find((m) => m.uid === 'sum')?.counters['lateRecordsDropped']).toBe(2);
  });

  it('sliding windows: a record too late for one of its windows still updates the other', async () => {
    const env = StreamEnvironment.create({ parallelism: 1 });
    const sink = new CollectSink<Result>();
    const { input, mark } = paced([ev('a', 100, 1), ev('a', 1200, 2), SYNC, ev('a', 400, 4)]);
    env
      .fromAsyncIterable(input, { watermarkStrategy: monotonous })
      .map(mark)
      .keyBy((e) => e.key)
      .window(SlidingEventTimeWindows.of(1000, 500))
      .allowedLateness(500)
      .aggregate(sum, emitResult, { uid: 'sum' })
      .sinkTo(sink);
    const result = await env.execute('sliding-lateness');
    // watermark 1199: [-500, 500) and [0, 1000) fire; a@400 is too late for [-500, 500) (cleaned
    // at 999) but within the lateness of [0, 1000), which fires again
    expect(sink.records).toEqual([
      { key: 'a', start: -500, end: 500, sum: 1 },
      { key: 'a', start: 0, end: 1000, sum: 1 },
      { key: 'a', start: 0, end: 1000, sum: 5 },
      { key: 'a', start: 500, end: 1500, sum: 2 },
      { key: 'a', start: 1000, end: 2000, sum: 2 },
    ]);
    expect(result.metrics.find((m) => m.uid === 'sum')?.counters['lateRecordsDropped']).toBe(
      undefined,
    );
  });

  it('getSideOutput on a stream without that side output is refused', () => {
    const env = StreamEnvironment.create();
    const stream = env.fromAsyncIterable([ev('a', 1)]).map((e) => e);
    expect(() => stream.getSideOutput(new OutputTag<Event>('late'))).toThrow(
      /has no side output "late"/,
    );
    expect(() => new OutputTag('')).toThrow(TributaryError);
  });

  it('records out of order within the bound are not late', async () => {
    const env = StreamEnvironment.create({ parallelism: 1 });
    const sink = new CollectSink<Result>();
    // each group of 10 reversed: at most 90 ms out of order
    const input: Event[] = [];
    for (let g = 0; g < 50; g++)
      for (let i = 9; i >= 0; i--) input.push(ev('k', (g * 10 + i) * 10, 1));
    env
      .fromAsyncIterable(input, {
        watermarkStrategy: WatermarkStrategy.forBoundedOutOfOrderness<Event>(
          90,
        ).withTimestampAssigner((e) => e.ts),
      })
      .keyBy((e) => e.key)
      .window(TumblingEventTimeWindows.of(1000))
      .aggregate(sum, emitResult, { uid: 'sum' })
      .sinkTo(sink);
    const result = await env.execute('in-bound');
    expect(sink.records.map((r) => r.sum)).toEqual([100, 100, 100, 100, 100]);
    expect(result.metrics.find((m) => m.uid === 'sum')?.counters['lateRecordsDropped']).toBe(
      undefined,
    );
  });
});

describe('session windows', () => {
  // key a: out-of-order records merge three sessions into [0, 3600); key b: two sessions, the
  // first fires while the stream goes on
  const input = [
    ev('a', 0, 1),
    ev('b', 100, 1),
    ev('a', 500, 2),
    ev('b', 200, 2),
    ev('a', 2600, 3),
    ev('a', 1550, 4),
    ev('a', 2000, 5),
    ev('a', 1200, 6),
    ev('b', 20000, 3),
    ev('b', 21000, 4),
  ];
  const strategy = WatermarkStrategy.forBoundedOutOfOrderness<Event>(5000).withTimestampAssigner(
    (e) => e.ts,
  );
  const expected: Result[] = [
    { key: 'a', start: 0, end: 3600, sum: 21 },
    { key: 'b', start: 100, end: 1200, sum: 3 },
    { key: 'b', start: 20000, end: 22000, sum: 7 },
  ];

  it('merge per key across out-of-order records (aggregate with merge, reduce, process)', async () => {
    const env = StreamEnvironment.create({ parallelism: 2 });
    const aggregated = new CollectSink<Result>();
    const reduced = new CollectSink<Event>();
    const processed = new CollectSink<Result & { count: number }>();
    const keyed = env.fromAsyncIterable(input, { watermarkStrategy: strategy }).keyBy((e) => e.key);
    const sessions = keyed.window(EventTimeSessionWindows.withGap(1000));
    sessions.aggregate(sum, emitResult).sinkTo(aggregated);
    sessions
      .reduce((x, y) => ({ key: x.key, ts: Math.max(x.ts, y.ts), v: x.v + y.v }))
      .sinkTo(reduced);
    sessions
      .process<Result & { count: number }>((key, w, elements, out) =>
        out.collect({
          ...toResult(
            key,
            w,
            elements.reduce((s, e) => s + e.v, 0),
          ),
          count: elements.length,
        }),
      )
      .sinkTo(processed);
    await env.execute('sessions');
    expect([...aggregated.records].sort(byKeyAndStart)).toEqual(expected);
    // results are stamped end - 1
    for (const [i, r] of aggregated.records.entries())
      expect(aggregated.timestamps[i]).toBe(r.end - 1);
    expect(reduced.records.map((e) => `${e.key}:${e.v}`).sort()).toEqual(['a:21', 'b:3', 'b:7']);
    expect([...processed.records].sort(byKeyAndStart)).toEqual(
      expected.map((r, i) => ({ ...r, count: [6, 2, 2][i] })),
    );
  });

  it('a late record within the lateness merges into a fired session and re-fires it', async () => {
    const env = StreamEnvironment.create({ parallelism: 1 });
    const sink = new CollectSink<Result>();
    const { input: paced_, mark } = paced([
      ev('s', 0, 1),
      ev('s', 500, 2),
      ev('s', 3000, 4), // watermark 2999: [0, 1500) fires
      SYNC,
      ev('s', 1400, 8), // within lateness 2000: merges with [0, 1500) → [0, 2400), fires at once
      SYNC,
      ev('s', 9000, 16), // watermark 8999: everything before is cleaned
      SYNC,
      ev('s', 1000, 32), // late for good: dropped
    ]);
    env
      .fromAsyncIterable(paced_, { watermarkStrategy: monotonous })
      .map(mark)
      .keyBy((e) => e.key)
      .window(EventTimeSessionWindows.withGap(1000))
      .allowedLateness(2000)
      .aggregate(sum, emitResult, { uid: 'sessions' })
      .sinkTo(sink);
    const result = await env.execute('session-lateness');
    expect(sink.records).toEqual([
      { key: 's', start: 0, end: 1500, sum: 3 },
      { key: 's', start: 0, end: 2400, sum: 11 },
      { key: 's', start: 3000, end: 4000, sum: 4 },
      { key: 's', start: 9000, end: 10000, sum: 16 },
    ]);
    expect(result.metrics.find((m) => m.uid === 'sessions')?.counters['lateRecordsDropped']).toBe(
      1,
    );
  });

  it('aggregate on session windows without merge is refused', () => {
    const env = StreamEnvironment.create();
    const windowed = env
      .fromAsyncIterable([ev('a', 1)], { watermarkStrategy: monotonous })
      .keyBy((e) => e.key)
      .window(EventTimeSessionWindows.withGap(10));
    expect(() =>
      windowed.aggregate({
        createAccumulator: () => 0,
        add: (_e, acc: number) => acc + 1,
        getResult: (acc) => acc,
      }),
    ).toThrow(/need AggregateFunction.merge/);
    expect(() => EventTimeSessionWindows.withGap(0)).toThrow(TributaryError);
  });
});

describe('assignTimestampsAndWatermarks in the middle of a pipeline', () => {
  it('assigns timestamps after a map and replaces the upstream watermarks', async () => {
    const env = StreamEnvironment.create({ parallelism: 2 });
    const sink = new CollectSink<Result>();
    const lines: string[] = [];
    for (let i = 0; i < 600; i++) lines.push(`k${i % 2},${i * 10},1`);
    env
      // upstream timestamps far in the future: if their watermarks passed, every window were late
      .fromAsyncIterable(lines, {
        watermarkStrategy:
          WatermarkStrategy.forMonotonousTimestamps<string>().withTimestampAssigner(
            (_line) => 1e12,
          ),
      })
      .map((line): Event => {
        const [key, ts, v] = line.split(',');
        return { key: key as string, ts: Number(ts), v: Number(v) };
      })
      .filter((e) => e.v > 0)
      .assignTimestampsAndWatermarks(
        WatermarkStrategy.forBoundedOutOfOrderness<Event>(50).withTimestampAssigner(
          (e, previous) => {
            if (previous !== 1e12)
              throw new Error(`the assigner sees the upstream timestamp, got ${previous}`);
            return e.ts;
          },
        ),
      )
      .keyBy((e) => e.key)
      .window(TumblingEventTimeWindows.of(1000))
      .aggregate(sum, emitResult, { uid: 'sum' })
      .sinkTo(sink);
    const result = await env.execute('mid-pipeline');
    expect([...sink.records].sort(byKeyAndStart)).toEqual(
      ['k0', 'k1'].flatMap((key) =>
        [0, 1000, 2000, 3000, 4000, 5000].map((start) => ({
          key,
          start,
          end: start + 1000,
          sum: 50,
        })),
      ),
    );
    expect(result.metrics.find((m) => m.uid === 'sum')?.counters['lateRecordsDropped']).toBe(
      undefined,
    );
  });

  /**
   * A parallel source whose records of one subtask are all filtered out before the assigner:
   * that assigner subtask produces nothing.
   */
  function idlePartitionJob(idleTimeoutMs: number | undefined): {
    handle: JobHandle;
    sink: CollectSink<Result>;
    windowIn: () => number;
    /** the window task's subtasks as the latest metrics event showed them */
    windowTasks: () => readonly TaskMetrics[];
  } {
    const env = StreamEnvironment.create({ parallelism: 2, metricsIntervalMs: 50 });
    const sink = new CollectSink<Result>();
    let strategy = WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner(
      (n) => n,
    );
    if (idleTimeoutMs !== undefined) strategy = strategy.withIdleness(idleTimeoutMs);
    env
      // 2 splits: one reader gets the even numbers, the other the odd ones
      .fromSource(SequenceSource.unbounded(0, { ratePerSecond: 4000, batchSize: 100 }), {
        parallelism: 2,
      })
      .filter((n) => n % 2 === 0)
      .assignTimestampsAndWatermarks(strategy)
      .keyBy(() => 'all')
      .window(TumblingEventTimeWindows.of(1000))
      .aggregate<number, number, Result>(
        {
          createAccumulator: () => 0,
          add: (_n, acc) => acc + 1,
          getResult: (acc) => acc,
        },
        (key, w, count, out) => out.collect(toResult(key, w, count)),
        { uid: 'count' },
      )
      .sinkTo(sink);
    const handle = env.execute('idle-partition');
    let windowIn = 0;
    let windowTasks: readonly TaskMetrics[] = [];
    handle.events$.subscribe((e) => {
      if (e.type !== 'metrics') return;
      windowIn = e.operators.find((m) => m.uid === 'count')?.recordsIn ?? windowIn;
      // (the last metrics, after the end, list no task)
      const found = e.tasks.filter((t) => t.name.startsWith('window'));
      if (found.length > 0) windowTasks = found;
    });
    return { handle, sink, windowIn: () => windowIn, windowTasks: () => windowTasks };
  }

  it('an assigner subtask that gets no records goes idle: windows still fire', async () => {
    const { handle, sink, windowTasks } = idlePartitionJob(100);
    try {
      await until(() => sink.records.length >= 2, 'two windows');
      // the window task's event time, as metrics show it (Flink's currentInputWatermark)
      await until(
        () => windowTasks().length === 2 && windowTasks().every((t) => (t.watermark ?? 0) >= 1999),
        'the window tasks report their watermark',
      );
    } finally {
      await handle.cancel();
    }
    expect(sink.records.slice(0, 2)).toEqual([
      { key: 'all', start: 0, end: 1000, sum: 500 },
      { key: 'all', start: 1000, end: 2000, sum: 500 },
    ]);
  });

  it('without idleness the silent assigner subtask holds the watermark back', async () => {
    const { handle, sink, windowIn, windowTasks } = idlePartitionJob(undefined);
    try {
      await until(() => windowIn() >= 1500, 'records in the window operator');
      await until(() => windowTasks().length === 2, 'metrics of the window tasks');
    } finally {
      await handle.cancel();
    }
    expect(sink.records).toEqual([]);
    // the metrics show where event time stands: no watermark has reached the window tasks
    expect(windowTasks().map((t) => t.watermark)).toEqual([undefined, undefined]);
  });
});

describe('restore from a checkpoint mid-window (another parallelism)', () => {
  let ckpt: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    ckpt = await tempDir('windows-restore');
  });
  afterEach(async () => {
    await ckpt.remove();
  });

  const part1 = [ev('a', 100, 1), ev('s', 0, 1), ev('s', 500, 2), ev('a', 1200, 2)];
  const part2 = [ev('a', 300, 10), ev('s', 1200, 3), ev('a', 5000, 0)];

  function job(
    parallelism: number,
    input: () => AsyncGenerator<Event>,
    mark: (e: Event) => Event,
  ): { handle: JobHandle; tumbling: CollectSink<Result>; sessions: CollectSink<Result> } {
    const env = StreamEnvironment.create({ parallelism, checkpoint: { dir: ckpt.path } });
    const tumbling = new CollectSink<Result>();
    const sessions = new CollectSink<Result>();
    const events = env
      .fromAsyncIterable(input, { uid: 'events', watermarkStrategy: monotonous })
      .map(mark, { uid: 'mark' });
    events
      .filter((e) => e.key === 'a', { uid: 'only-a' })
      .keyBy((e) => e.key)
      .window(TumblingEventTimeWindows.of(1000))
      .allowedLateness(1000)
      .aggregate(sum, emitResult, { uid: 'tumbling' })
      .sinkTo(tumbling, { uid: 'tumbling-sink' });
    events
      .filter((e) => e.key === 's', { uid: 'only-s' })
      .keyBy((e) => e.key)
      .window(EventTimeSessionWindows.withGap(1000))
      .aggregate(sum, emitResult, { uid: 'sessions' })
      .sinkTo(sessions, { uid: 'sessions-sink' });
    return { handle: env.execute('windows-restore'), tumbling, sessions };
  }

  it('keeps open sessions and fired windows within lateness', async () => {
    let seen = 0;
    const mark = (e: Event): Event => {
      seen++;
      return e;
    };
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const first = job(
      2,
      async function* () {
        yield* part1;
        await released;
      },
      mark,
    );
    await until(() => seen >= part1.length, 'the first part through the chain');
    // the stop checkpoint's barrier comes after every record the chained map has seen
    await first.handle.stop();
    release();
    // window [0, 1000) of a fired (watermark 1199) but is within lateness; session s is open
    expect(first.tumbling.records).toEqual([{ key: 'a', start: 0, end: 1000, sum: 1 }]);
    expect(first.sessions.records).toEqual([]);

    const second = job(
      3,
      async function* () {
        yield* part1; // skipped: the restored source position
        yield* part2;
      },
      (e) => e,
    );
    const result = await second.handle;
    expect(result.status).toBe('finished');
    expect(second.tumbling.records).toEqual([
      { key: 'a', start: 0, end: 1000, sum: 11 },
      { key: 'a', start: 1000, end: 2000, sum: 2 },
      { key: 'a', start: 5000, end: 6000, sum: 0 },
    ]);
    expect(second.sessions.records).toEqual([{ key: 's', start: 0, end: 2200, sum: 6 }]);
  });
});
