/**
 * Child process of the crash test: the exactly-once pipeline (rate-limited Pravega source → map →
 * Pravega sink), started the same way every time: it resumes from its checkpoint directory by
 * itself. The parent kills it with SIGKILL at random moments and starts it again. Exits 0 once
 * the bounded job finished.
 */
import { readdirSync } from 'node:fs';
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
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const env = StreamEnvironment.create({
  parallelism: 2,
  pravega: args.pravega,
  checkpoint: { intervalMs: 150, timeoutMs: 30_000, dir: args.checkpointDir, retained: 3 },
  restart: { type: 'fixed-delay', maxAttempts: 3, delayMs: 100 },
});
env
  .fromSource(
    PravegaSource.forStream(args.input, { end: parseStreamCut(args.end) })
      .json<Seq>()
      .rateLimit(args.ratePerSecond / 2),
    {
      name: 'input',
      uid: 'input',
    },
  )
  .map((s) => s, { name: 'pass', uid: 'pass' })
  .sinkTo(
    PravegaSink.forStream(args.output)
      .json<Seq>()
      .routingKey((s) => s.key)
      .exactlyOnce({ leaseMs: 120_000 }),
    { name: 'output', uid: 'output' },
  );

// no restore option: a run resumes from the latest checkpoint of its directory by itself
const hasCheckpoint = readdirSync(args.checkpointDir).some((f) => f.endsWith('.ckpt'));
const handle = env.execute('crash-test');
handle.events$.subscribe((e) => {
  if (e.type === 'status') console.log(`status ${e.status}`);
  if (e.type === 'checkpoint-completed')
    console.log(`checkpoint ${e.checkpointId} ${Math.round(e.durationMs)}ms`);
});
handle.result.then(
  (result) => {
    console.log(`done ${result.status} restored=${hasCheckpoint}`);
    process.exit(0);
  },
  (err: unknown) => {
    console.error(`failed: ${String(err)}`);
    process.exit(1);
  },
);
