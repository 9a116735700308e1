/**
 * A SQL tumbling-window aggregation vs the same job written with the DataStream API, same input
 * (a sequence of ids, value = id % 100, key = id % 64, event time = id ms), same sink (blackhole),
 * parallelism 2. Prints records/s side by side (time from execute to the job's end; the SQL
 * planning time is printed apart).
 *
 *   npm run bench:sql -- [records] [rounds]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamEnvironment } from '../src/runtime/stream-environment.js';
import { WatermarkStrategy } from '../src/runtime/watermark-strategy.js';
import { TumblingEventTimeWindows } from '../src/runtime/windows.js';
import type { Sink } from '../src/sink/sink.js';
import { SequenceSource } from '../src/source/sequence/sequence-source.js';
import { TableEnvironment } from '../src/table/index.js';

const RECORDS = Number(process.argv[2] ?? 2_000_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const KEYS = 64;
const WINDOW_MS = 10_000;

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-bench-sql-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const jobOptions = (dir: string) => ({
  parallelism: 2,
  checkpoint: { dir },
  restart: { type: 'none' as const },
  metricsIntervalMs: 0,
});

async function dataStream(): Promise<number> {
  return withDir(async (dir) => {
    const env = StreamEnvironment.create(jobOptions(dir));
    const discard: Sink<unknown> = {
      createWriter: () => ({
        initialize: async () => {},
        writeBatch: () => undefined,
        snapshotState: async () => [],
        notifyCheckpointComplete: async () => {},
        close: async () => {},
      }),
    };
    type Acc = { c: number; s: number };
    env
      .fromSource(SequenceSource.bounded(0, RECORDS), {
        name: 'numbers',
        uid: 'numbers',
        watermarkStrategy:
          WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((n) => n),
      })
      .map((n) => ({ id: n, k: n % KEYS, v: n % 100 }), { uid: 'rows' })
      .filter((r) => r.v > 0, { uid: 'where' })
      .keyBy((r) => r.k)
      .window(TumblingEventTimeWindows.of(WINDOW_MS))
      .aggregate<Acc, Acc, { k: number; start: number; c: number; s: number }>(
        {
          createAccumulator: () => ({ c: 0, s: 0 }),
          add: (r, acc) => ({ c: acc.c + 1, s: acc.s + r.v }),
          getResult: (acc) => acc,
        },
        (k, w, acc, out) => out.collect({ k, start: w.start, c: acc.c, s: acc.s }),
        { uid: 'window' },
      )
      .sinkTo(discard, { uid: 'sink' });
    const started = performance.now();
    await env.execute('bench-datastream').result;
    return RECORDS / ((performance.now() - started) / 1000);
  });
}

async function sql(): Promise<{ rate: number; planMs: number }> {
  return withDir(async (dir) => {
    const t = TableEnvironment.create({ job: jobOptions(dir), execute: { stopOnSignals: false } });
    const planStarted = performance.now();
    await t.executeSql(`
      CREATE TABLE numbers (id BIGINT, ts AS TO_TIMESTAMP_LTZ(id, 3), WATERMARK FOR ts AS ts)
        WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '0',
              'fields.id.end' = '${RECORDS - 1}');
      CREATE TABLE out1 (k BIGINT, ws TIMESTAMP(3), c BIGINT, s BIGINT) WITH ('connector' = 'blackhole');
      CREATE TEMPORARY VIEW rows_ AS SELECT id % ${KEYS} AS k, id % 100 AS v, ts FROM numbers`);
    const r = await t.executeSql(`INSERT INTO out1
      SELECT k, window_start, COUNT(*), SUM(v)
      FROM TABLE(TUMBLE(TABLE rows_, DESCRIPTOR(ts), INTERVAL '${WINDOW_MS / 1000}' SECOND))
      WHERE v > 0 GROUP BY window_start, window_end, k`);
    const planMs = performance.now() - planStarted;
    const started = performance.now();
    await r.job!.result;
    return { rate: RECORDS / ((performance.now() - started) / 1000), planMs };
  });
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
console.log(
  `SQL tumbling window vs DataStream, ${fmt(RECORDS)} records, ${KEYS} keys, parallelism 2`,
);
for (let round = 1; round <= ROUNDS; round++) {
  const ds = await dataStream();
  const q = await sql();
  console.log(
    `round ${round}: DataStream ${fmt(ds)} records/s | SQL ${fmt(q.rate)} records/s (${((q.rate / ds) * 100).toFixed(0)}%; planning ${fmt(q.planMs)} ms)`,
  );
}
