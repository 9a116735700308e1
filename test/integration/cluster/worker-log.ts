/**
 * What a cluster worker child process (stateless-worker.ts, keyed-worker.ts) prints for its
 * parent (WorkerProcess, bench/cluster.ts): one line per event the parent waits on.
 */
import type { ClusterWorkerEvent } from '../../../src/cluster/cluster-worker.js';
import type { JobHandle } from '../../../src/runtime/job-handle.js';

export function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * `started <id> <epoch> <start>`, `leader`, `checkpoint <id>`, `dead`, `handled` (leader),
 * `state <checkpoint> <bytes> <ms>` (a keyed job's state stored), …
 */
export function logWorkerEvent(e: ClusterWorkerEvent): void {
  switch (e.type) {
    case 'worker-started':
      log(`started ${e.workerId} ${e.epoch} ${e.start}`);
      break;
    case 'worker-acquiring':
      log(`acquiring ${e.workerId} ${e.checkpointId}`);
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
    case 'state-written':
      log(`state ${e.checkpointId} ${e.bytes} ${e.ms.toFixed(1)}`);
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
}

/**
 * `local-aborted <id> <reason>`: a checkpoint aborted in this worker's own job, with the tasks
 * here that had not acknowledged it (what a cluster checkpoint that timed out waited for).
 */
export function logLocalAborts(handle: JobHandle): void {
  handle.events$.subscribe((e) => {
    if (e.type === 'checkpoint-aborted') log(`local-aborted ${e.checkpointId} ${e.reason}`);
  });
}

/**
 * `watermarks <task>#<subtask>=<watermark>[ idle] …`: each task's event time from the job's
 * metrics, printed when it changed (at most once per metrics interval). The last such line of a
 * worker says where event time stood in it — what a windowed test that misses windows shows.
 */
export function logTaskWatermarks(handle: JobHandle): void {
  let last = '';
  handle.events$.subscribe((e) => {
    if (e.type !== 'metrics' || e.tasks.length === 0) return;
    const line = e.tasks
      .map((t) => `${t.name}#${t.subtask}=${t.watermark ?? '-'}${t.idle === true ? ' idle' : ''}`)
      .join(' | ');
    if (line === last) return;
    last = line;
    log(`watermarks ${line}`);
  });
}

/** The job never ends while the worker runs: its end is printed and the process exits. */
export function exitWhenEnded(handle: JobHandle): void {
  handle.result.then(
    (r) => {
      log(`ended ${r.status}`);
      process.exit(1);
    },
    (err: unknown) => {
      log(`failed ${String(err)}`);
      process.exit(1);
    },
  );
}
