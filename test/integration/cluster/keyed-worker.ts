/**
 * Child process of the cluster keyed-state test: the keyed windowed count (keyed-window-job.ts)
 * as the one worker of a scaled-out job (src/cluster/cluster-worker.ts), its keyed state in the
 * shared `checkpoint.dir` when `checkpointDir` is given, else in the job's state stream. Prints the lines WorkerProcess waits on (`started <id> <epoch>
 * <start>`, `checkpoint <id>`, ...) and `refused <message>` when it may not start. Runs until
 * killed.
 */
import { ClusterWorker } from '../../../src/cluster/cluster-worker.js';
import { TributaryError } from '../../../src/errors.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { windowCountJob } from './keyed-window-job.js';
import { exitWhenEnded, log, logWorkerEvent } from './worker-log.js';
import type { WorkerArgs } from './worker-processes.js';

const args = JSON.parse(process.argv[2] ?? '{}') as WorkerArgs & { checkpointDir?: string };
const env = StreamEnvironment.create({
  parallelism: args.parallelism,
  maxParallelism: 16,
  pravega: args.pravega,
  checkpoint: {
    timeoutMs: 30_000,
    ...(args.checkpointDir !== undefined ? { dir: args.checkpointDir } : {}),
  },
  state: { snapshots: 'incremental', consolidateEvery: 2 },
  metricsIntervalMs: 0,
});
windowCountJob(env, { input: args.input, output: args.output });

let worker: ClusterWorker;
try {
  worker = await ClusterWorker.start(env, args.job, {
    pravega: args.pravega,
    scope: args.scope,
    checkpointIntervalMs: args.checkpointIntervalMs,
    heartbeatMs: args.heartbeatMs,
    deadAfterMs: args.deadAfterMs,
    onEvent: logWorkerEvent,
  });
} catch (err) {
  log(`refused ${TributaryError.is(err) ? err.code : ''} ${String(err)}`);
  process.exit(2);
}
exitWhenEnded(worker.handle);
