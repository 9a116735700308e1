import type { Observable } from 'rxjs';
import type { JobEvent, JobResult } from './job-events.js';
import type { JobExecution } from './job-execution.js';

/**
 * A running job. Await it (it is a PromiseLike) or `result` for the outcome: resolves with
 * `finished` (bounded input done, final checkpoint committed), `stopped` (`stop()` or a signal,
 * final checkpoint committed) or `cancelled`; rejects with JOB_FAILED, its `cause` the error —
 * when the checks before the start fail (`details.started: false`), at once on a permanent failure
 * (`details.permanent`, see `isPermanentFailure`), or once the restart strategy gives up. `events$` emits lifecycle, checkpoint,
 * restart, metrics and warning events and completes when the job ends.
 *
 * Being a thenable, a handle returned from an async function is awaited by it: return
 * `{ handle }` or `handle.result` there if the caller needs the handle itself.
 */
export class JobHandle implements PromiseLike<JobResult> {
  readonly result: Promise<JobResult>;
  readonly events$: Observable<JobEvent>;

  /** @internal */
  constructor(private readonly execution: JobExecution) {
    this.events$ = execution.events.asObservable();
    // start on the next microtask so that subscribers attached right after execute() see everything
    this.result = Promise.resolve().then(() => execution.run());
    this.result.catch(() => {});
  }

  then<R1 = JobResult, R2 = never>(
    onfulfilled?: ((value: JobResult) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.result.then(onfulfilled, onrejected);
  }

  /**
   * Stops the job with a final checkpoint (Flink's stop-with-savepoint): one more checkpoint,
   * stored and committed, then every task stops; what was processed after it is discarded, so a
   * later run resumes exactly there (it is the latest checkpoint of the checkpoint directory).
   * Resolves with its id once the job has ended (`result` resolves with status `stopped`).
   * Rejects if that checkpoint fails (the job keeps running) or the job fails or is cancelled.
   * SIGINT/SIGTERM do the same unless `execute(…, { stopOnSignals: false })`.
   */
  stop(): Promise<number> {
    return this.execution.stop();
  }

  /** Stops the job for good (sources and sinks are closed with reason `cancelled`). */
  cancel(): Promise<JobResult> {
    this.execution.cancel();
    return this.result;
  }

  /** Takes a checkpoint now; resolves with its id once completed, rejects if it is aborted. */
  triggerCheckpoint(): Promise<number> {
    return this.execution.triggerCheckpoint();
  }
}
