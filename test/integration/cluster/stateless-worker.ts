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
import { exitWhenEnded, logWorkerEvent } from './worker-log.js';
import type { WorkerArgs } from './worker-processes.js';

const args = JSON.parse(process.argv[2] ?? '{}') as WorkerArgs & { workerId?: string };
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

const worker = await ClusterWorker.start(env, args.job, {
  pravega: args.pravega,
  scope: args.scope,
  checkpointIntervalMs: args.checkpointIntervalMs,
  heartbeatMs: args.heartbeatMs,
  deadAfterMs: args.deadAfterMs,
  ...(args.workerId !== undefined ? { workerId: args.workerId } : {}),
  onEvent: logWorkerEvent,
});
exitWhenEnded(worker.handle);
