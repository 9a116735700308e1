/**
 * Child process of the keyed-state crash test: Pravega source → keyBy(key) → keyed value and map
 * state (a running count, and the last 200 sequence numbers of the key with a payload each) →
 * Pravega exactly-once sink. Keyed state is checkpointed incrementally with short chains
 * (consolidated every 2 pieces), on the heap or LMDB backend. It resumes from its checkpoint directory by itself, with the
 * parallelism it is given. Exits 0 once the bounded job finished.
 */
import { parseStreamCut } from '../../../src/pravega/client/stream-cut.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { PravegaSink } from '../../../src/sink/pravega/pravega-sink.js';
import { PravegaSource } from '../../../src/source/pravega/pravega-source.js';
import type { Seq } from '../../support/sequences.js';

interface Args {
  pravega: string;
  input: string;
  output: string;
  end: string;
  checkpointDir: string;
  ratePerSecond: number;
  parallelism: number;
  /** keyed state backend (default heap) */
  backend?: 'heap' | 'lmdb';
}

/** What the job writes: the event, its count in the key's state, and the kept window's size. */
export interface Counted extends Seq {
  count: number;
  window: number;
}

const WINDOW = 200;

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const env = StreamEnvironment.create({
  parallelism: args.parallelism,
  pravega: args.pravega,
  checkpoint: { intervalMs: 100, timeoutMs: 30_000, dir: args.checkpointDir, retained: 3 },
  state: {
    backend: args.backend ?? 'heap',
    snapshots: 'incremental',
    consolidateEvery: 2,
    // LMDB: tiny write batches and caches, so that state is read back from LMDB all the time
    writeBatchEntries: 4,
    writeCacheEntries: 4,
    cacheEntries: 4,
  },
  restart: { type: 'fixed-delay', maxAttempts: 3, delayMs: 100 },
});
const payload = 'p'.repeat(64);
env
  .fromSource(
    PravegaSource.forStream(args.input, { end: parseStreamCut(args.end) })
      .json<Seq>()
      .rateLimit(args.ratePerSecond / args.parallelism),
    { name: 'input', uid: 'input' },
  )
  .keyBy((s) => s.key)
  .process<Counted>(
    (s, ctx, out) => {
      const count = ctx.valueState<number>('count');
      const next = (count.value() ?? 0) + 1;
      count.update(next);
      const window = ctx.mapState<number, string>('window');
      window.put(s.seq, payload);
      window.remove(s.seq - WINDOW);
      out.collect({ key: s.key, seq: s.seq, count: next, window: window.size() });
    },
    { name: 'count', uid: 'count' },
  )
  .sinkTo(
    PravegaSink.forStream(args.output)
      .json<Counted>()
      .routingKey((s) => s.key)
      .exactlyOnce({ leaseMs: 120_000 }),
    { name: 'output', uid: 'output' },
  );

const handle = env.execute('keyed-state-crash');
handle.events$.subscribe((e) => {
  if (e.type === 'status') console.log(`status ${e.status}`);
  if (e.type === 'checkpoint-completed')
    console.log(`checkpoint ${e.checkpointId} ${Math.round(e.durationMs)}ms ${e.stateBytes}B`);
});
handle.result.then(
  (result) => {
    console.log(`done ${result.status}`);
    process.exit(0);
  },
  (err: unknown) => {
    console.error(`failed: ${String(err)}`);
    process.exit(1);
  },
);
