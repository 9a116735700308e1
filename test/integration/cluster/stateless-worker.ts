/**
 * Child process of the scale-out tests and bench: one worker of the stateless job (Pravega source
 * → map → exactly-once Pravega sink) in a cluster of several (src/cluster/cluster-worker.ts). It
 * prints one line per thing the parent waits on: `started <id> <epoch> <start>`, `leader <id>`,
 * `checkpoint <id>`, `handled <dead worker> <readers> <committed> <completed id> <t>` (leader only).
 * Runs until killed.
 */
import { ClusterWorker } from '../../../src/cluster/cluster-worker.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { PravegaSink } from '../../../src/sink/pravega/pravega-sink.js';
import { PravegaSource } from '../../../src/source/pravega/pravega-source.js';
import type { Seq } from '../../support/sequences.js';

interface Args {
  pravega: string;
  scope: string;
  job: string;
  input: string;
  output: string;
  parallelism: number;
  checkpointIntervalMs: number;
  heartbeatMs: number;
  deadAfterMs: number;
  workerId?: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const env = StreamEnvironment.create({
  parallelism: args.parallelism,
  pravega: args.pravega,
  checkpoint: { timeoutMs: 30_000 },
  metricsIntervalMs: 0,
});
env
  .fromSource(PravegaSource.forStream(args.input).json<Seq>(), { name: 'input', uid: 'input' })
  .map((s) => s, { name: 'pass', uid: 'pass' })
  .sinkTo(
    PravegaSink.forStream(args.output)
      .json<Seq>()
      .routingKey((s) => s.key)
      .exactlyOnce({ leaseMs: 120_000 }),
    { name: 'output', uid: 'output' },
  );

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const worker = await ClusterWorker.start(env, args.job, {
  pravega: args.pravega,
  scope: args.scope,
  checkpointIntervalMs: args.checkpointIntervalMs,
  heartbeatMs: args.heartbeatMs,
  deadAfterMs: args.deadAfterMs,
  ...(args.workerId !== undefined ? { workerId: args.workerId } : {}),
  onEvent: (e) => {
    switch (e.type) {
      case 'worker-started':
        log(`started ${e.workerId} ${e.epoch} ${e.start}`);
        break;
      case 'leader-elected':
        log(`leader ${e.workerId} ${e.term}`);
        break;
      case 'checkpoint-completed':
        log(`checkpoint ${e.record.id}`);
        break;
      case 'checkpoint-aborted':
        log(`aborted ${e.id} ${e.reason}`);
        break;
      case 'member-dead':
        log(`dead ${e.workerId} ${Date.now()}`);
        break;
      case 'dead-worker-handled':
        log(
          `handled ${e.workerId} readers=${e.readers.join(',')} committed=${e.committed} aborted=${e.aborted} completed=${e.completedId} ${Date.now()}`,
        );
        break;
      case 'error':
        log(`error ${String(e.error)}`);
        break;
      case 'fenced':
        log(`fenced ${e.error.message}`);
        break;
      default:
        break;
    }
  },
});
worker.handle.result.then(
  (r) => {
    log(`ended ${r.status}`);
    process.exit(1);
  },
  (err: unknown) => {
    log(`failed ${String(err)}`);
    process.exit(1);
  },
);
