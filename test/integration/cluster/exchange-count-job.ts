/**
 * The keyed jobs of the scale-out tests whose state moves between workers:
 * - {@link exchangeCountJob}: Pravega source → keyByExchange (8 segments, no event time) → running
 *   count per key in value state → exactly-once Pravega sink. Each key's output is its running
 *   count as `{ key, seq: count - 1 }`: one worker or many, the output is every `seq` 0..N-1 of
 *   every key once and in order — a count that moved without its state starts again at 0
 *   (duplicates), one counted twice passes N (missing ones);
 * - {@link exchangeWindowJob}: the same with event time across the edge and tumbling event-time
 *   windows counted per key (keyed-window-job.ts), fired as the watermarks of the senders of every
 *   worker pass them.
 */
import { keyByExchange } from '../../../src/cluster/exchange/index.js';
import type { KeyedProcessFunction } from '../../../src/runtime/functions.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { PravegaSink } from '../../../src/sink/pravega/pravega-sink.js';
import { PravegaSource } from '../../../src/source/pravega/pravega-source.js';
import { WatermarkStrategy } from '../../../src/runtime/watermark-strategy.js';
import type { Seq } from '../../support/sequences.js';
import { WINDOW_MS, countWindows } from './keyed-window-job.js';

/**
 * The environment of a worker of these tests: 16 key groups, checkpoints from the leader; no
 * metrics events unless `metricsIntervalMs` asks for them.
 */
export function countEnv(
  pravega: string,
  parallelism = 2,
  metricsIntervalMs = 0,
): StreamEnvironment {
  return StreamEnvironment.create({
    parallelism,
    maxParallelism: 16,
    pravega,
    checkpoint: { timeoutMs: 30_000 },
    metricsIntervalMs,
  });
}

/** Each key's running count in value state, out as `{ key, seq: count - 1 }`. */
export const runningCount: KeyedProcessFunction<string, Seq, Seq> = {
  processElement(s, ctx, out) {
    const count = ctx.valueState<number>('count');
    const n = (count.value() ?? 0) + 1;
    count.update(n);
    out.collect({ key: s.key, seq: n - 1 });
  },
};

export function exchangeCountJob(
  env: StreamEnvironment,
  args: { readonly scope: string; readonly input: string; readonly output: string },
): void {
  const input = env.fromSource(PravegaSource.forStream(args.input).json<Seq>(), {
    name: 'input',
    uid: 'input',
    parallelism: 1,
  });
  keyByExchange(env, input, (s) => s.key, {
    scope: args.scope,
    uid: 'by-key',
    // 8 segments for 2 receivers per worker: up to 4 workers get a share
    segments: 8,
    eventTime: false,
  })
    .process<Seq>(runningCount, { name: 'count', uid: 'count' })
    .sinkTo(
      PravegaSink.forStream(args.output)
        .json<Seq>()
        .routingKey((s) => s.key)
        .exactlyOnce({ leaseMs: 120_000 }),
      { name: 'out', uid: 'out' },
    );
}

/**
 * Event time = the sequence number (ms), watermarks `WINDOW_MS` behind the largest seen. The input
 * has one segment, read by one reader in the whole cluster at a time (each worker runs one input
 * reader): a reader that takes it over from a dead worker starts at the checkpoint's position with
 * no watermark of its own, so event time never goes back at the source and no record is late by
 * construction — a late one (`count: -1`) would be the edge's fault. The other workers' input
 * readers read nothing: `withIdleness` marks them idle, or the edge would wait for their senders.
 */
export function exchangeWindowJob(
  env: StreamEnvironment,
  args: { readonly scope: string; readonly input: string; readonly output: string },
): void {
  const input = env.fromSource(
    PravegaSource.forStream(args.input)
      .json<Seq>()
      .timestamps((s) => s.seq),
    {
      name: 'input',
      uid: 'input',
      parallelism: 1,
      watermarkStrategy:
        WatermarkStrategy.forBoundedOutOfOrderness<Seq>(WINDOW_MS).withIdleness(1_000),
    },
  );
  countWindows(
    keyByExchange(env, input, (s) => s.key, { scope: args.scope, uid: 'by-key', segments: 8 }),
    args.output,
  );
}
