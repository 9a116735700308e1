/**
 * Child process of the scale-out kill test whose keyed state moves between workers: one worker of
 * the exchange count job, or with `windows` its windowed form (exchange-count-job.ts). Prints the lines WorkerProcess waits on
 * (`started <id> <epoch> <start>`, `checkpoint <id>`, `handled …`, `state …`). Runs until killed.
 */
import { ClusterWorker } from '../../../src/cluster/cluster-worker.js';
import { countEnv, exchangeCountJob, exchangeWindowJob } from './exchange-count-job.js';
import { exitWhenEnded, logLocalAborts, logTaskWatermarks, logWorkerEvent } from './worker-log.js';
import type { WorkerArgs } from './worker-processes.js';

const args = JSON.parse(process.argv[2] ?? '{}') as WorkerArgs;
// windows: metrics every second, for the event time of every task (logTaskWatermarks)
const env = countEnv(args.pravega, args.parallelism, args.windows === true ? 1_000 : 0);
(args.windows === true ? exchangeWindowJob : exchangeCountJob)(env, {
  scope: args.scope,
  input: args.input,
  output: args.output,
});
const worker = await ClusterWorker.start(env, args.job, {
  pravega: args.pravega,
  scope: args.scope,
  checkpointIntervalMs: args.checkpointIntervalMs,
  heartbeatMs: args.heartbeatMs,
  deadAfterMs: args.deadAfterMs,
  onEvent: logWorkerEvent,
});
logLocalAborts(worker.handle);
if (args.windows === true) logTaskWatermarks(worker.handle);
exitWhenEnded(worker.handle);
