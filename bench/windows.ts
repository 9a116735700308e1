/**
 * Event-time window throughput: sequence source → assignTimestampsAndWatermarks (timestamp =
 * n / 100 ms, i.e. 100 records per ms, bounded out-of-orderness 100 ms) → keyBy(n % 1024) →
 * window → count → counting sink, for tumbling, sliding, session (the records of a key merge into
 * one long session) and session (every record its own session: one firing and cleanup per
 * record). Prints records/s per variant.
 *
 *   npx tsx bench/windows.ts [records] [rounds]
 */
import type { AggregateFunction } from '../src/runtime/functions.js';
import { StreamEnvironment } from '../src/runtime/stream-environment.js';
import { WatermarkStrategy } from '../src/runtime/watermark-strategy.js';
import {
  EventTimeSessionWindows,
  SlidingEventTimeWindows,
  TumblingEventTimeWindows,
  type WindowAssigner,
} from '../src/runtime/windows.js';
import type { Sink } from '../src/sink/sink.js';
import { SequenceSource } from '../src/source/sequence/sequence-source.js';

const RECORDS = Number(process.argv[2] ?? 2_000_000);
const ROUNDS = Number(process.argv[3] ?? 1);
const KEYS = 1024;

const count: AggregateFunction<number, number, number> = {
  createAccumulator: () => 0,
  add: (_n, acc) => acc + 1,
  getResult: (acc) => acc,
  merge: (a, b) => a + b,
};

async function run(assigner: WindowAssigner): Promise<{ rate: number; windows: number }> {
  const env = StreamEnvironment.create({
    parallelism: 2,
    restart: { type: 'none' },
    metricsIntervalMs: 0,
  });
  let windows = 0;
  let counted = 0;
  const sink: Sink<number> = {
    createWriter: () => ({
      initialize: async () => {},
      writeBatch: (records) => {
        windows += records.length;
        for (const c of records) counted += c;
      },
      snapshotState: async () => [],
      notifyCheckpointComplete: async () => {},
      close: async () => {},
    }),
  };
  env
    .fromSource(SequenceSource.bounded(0, RECORDS), { uid: 'numbers' })
    .assignTimestampsAndWatermarks(
      WatermarkStrategy.forBoundedOutOfOrderness<number>(100).withTimestampAssigner((n) =>
        Math.floor(n / 100),
      ),
    )
    .keyBy((n) => n % KEYS)
    .window(assigner)
    .aggregate(count, { uid: 'count' })
    .sinkTo(sink);
  const started = performance.now();
  await env.execute('bench-windows');
  const seconds = (performance.now() - started) / 1000;
  const perRecord = assigner === sliding ? 4 : 1;
  if (counted !== RECORDS * perRecord)
    throw new Error(`windows counted ${counted} records, expected ${RECORDS * perRecord}`);
  return { rate: RECORDS / seconds, windows };
}

const sliding = SlidingEventTimeWindows.of(4_000, 1_000);
const variants: [string, WindowAssigner][] = [
  ['tumbling 1 s', TumblingEventTimeWindows.of(1_000)],
  ['sliding 4 s / 1 s', sliding],
  ['session, one per key (gap 1 s)', EventTimeSessionWindows.withGap(1_000)],
  // a key's records are 1024 / 100 ≈ 10 ms apart
  ['session, one per record (gap 5 ms)', EventTimeSessionWindows.withGap(5)],
];

console.log(`${RECORDS} records, ${KEYS} keys, parallelism 2, ${ROUNDS} round(s)`);
for (const [name, assigner] of variants) {
  const rates: number[] = [];
  let windows = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const result = await run(assigner);
    rates.push(result.rate);
    windows = result.windows;
  }
  const best = Math.max(...rates);
  console.log(
    `${name.padEnd(38)} ${Math.round(best).toLocaleString('en-US').padStart(12)} records/s  ${windows} windows`,
  );
}
