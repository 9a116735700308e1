/**
 * Runtime throughput: sequence source → map → keyBy → keyed count → counting sink, with
 * checkpoints off (only the final one) and every 1 s (file storage in a temp dir).
 * Prints records/s, checkpoint duration p50/p99 and the overhead ratio.
 *
 *   npx tsx bench/runtime.ts [records] [rounds]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamEnvironment } from '../src/runtime/stream-environment.js';
import type { Sink } from '../src/sink/sink.js';
import { SequenceSource } from '../src/source/sequence/sequence-source.js';

const RECORDS = Number(process.argv[2] ?? 30_000_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const KEYS = 1024;

interface RunResult {
  readonly recordsPerSecond: number;
  readonly checkpointMs: number[];
}

async function run(intervalMs: number | undefined, records = RECORDS): Promise<RunResult> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-bench-'));
  try {
    const env = StreamEnvironment.create({
      parallelism: 2,
      checkpoint: { ...(intervalMs === undefined ? {} : { intervalMs }), dir },
      restart: { type: 'none' },
      metricsIntervalMs: 0,
    });
    let sunk = 0;
    const sink: Sink<{ key: number; count: number }> = {
      createWriter: () => ({
        initialize: async () => {},
        writeBatch: (records) => void (sunk += records.length),
        snapshotState: async () => [],
        notifyCheckpointComplete: async () => {},
        close: async () => {},
      }),
    };
    env
      .fromSource(SequenceSource.bounded(0, records), { name: 'numbers', uid: 'numbers' })
      .map((n) => ({ id: n, value: n * 2 }), { name: 'enrich', uid: 'enrich' })
      .keyBy((r) => r.id % KEYS)
      .process<{ key: number; count: number }>(
        (_record, ctx, out) => {
          const count = ctx.valueState<number>('count');
          const next = (count.value() ?? 0) + 1;
          count.update(next);
          out.collect({ key: ctx.key, count: next });
        },
        { name: 'count', uid: 'count' },
      )
      .sinkTo(sink, { name: 'sink', uid: 'sink' });
    const checkpointMs: number[] = [];
    const handle = env.execute('bench');
    handle.events$.subscribe((e) => {
      if (e.type === 'checkpoint-completed' && !e.final) checkpointMs.push(e.durationMs);
    });
    const started = performance.now();
    await handle;
    const seconds = (performance.now() - started) / 1000;
    if (sunk !== records) throw new Error(`sink saw ${sunk} records, expected ${records}`);
    return { recordsPerSecond: records / seconds, checkpointMs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function median(values: number[]): number {
  return percentile(values, 50);
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

console.log(
  `runtime bench: ${fmt(RECORDS)} records, source → map → keyBy(${KEYS} keys) → count → sink, parallelism 2, ${ROUNDS} rounds`,
);
await run(undefined, Math.ceil(RECORDS / 5)); // warm-up
const off: number[] = [];
const on: number[] = [];
const durations: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const a = await run(undefined);
  const b = await run(1000);
  off.push(a.recordsPerSecond);
  on.push(b.recordsPerSecond);
  durations.push(...b.checkpointMs);
  console.log(
    `  round ${round + 1}: checkpoints off ${fmt(a.recordsPerSecond)} rec/s; every 1 s ${fmt(b.recordsPerSecond)} rec/s (${b.checkpointMs.length} checkpoints)`,
  );
}
const offRate = median(off);
const onRate = median(on);
console.log(`records/s, checkpoints off:      ${fmt(offRate)} (median)`);
console.log(`records/s, checkpoint every 1 s: ${fmt(onRate)} (median)`);
console.log(
  `checkpoint duration: p50 ${percentile(durations, 50).toFixed(1)} ms, p99 ${percentile(durations, 99).toFixed(1)} ms (${durations.length} checkpoints)`,
);
console.log(`overhead: ${((1 - onRate / offRate) * 100).toFixed(1)} % (aim ≤ 10 %)`);
