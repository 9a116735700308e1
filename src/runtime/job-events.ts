import type { CheckpointEvent } from '../checkpoint/checkpoint-events.js';

export type { CheckpointEvent } from '../checkpoint/checkpoint-events.js';

export type JobStatus =
  'created' | 'running' | 'restarting' | 'finished' | 'stopped' | 'cancelled' | 'failed';

/** Counters of one operator, summed over its subtasks (cumulative over the whole execution). */
export interface OperatorMetrics {
  readonly uid: string;
  readonly name: string;
  readonly parallelism: number;
  readonly recordsIn: number;
  readonly recordsOut: number;
  /** Other counters, e.g. `lateRecordsDropped`. */
  readonly counters: Readonly<Record<string, number>>;
}

export interface TaskMetrics {
  readonly name: string;
  readonly subtask: number;
  /** Time spent waiting for full output channels. */
  readonly backpressuredMs: number;
}

/** Everything observable about a running job. */
export type JobEvent =
  | CheckpointEvent
  | {
      readonly type: 'status';
      readonly status: JobStatus;
      readonly attempt: number;
      readonly time: number;
      readonly error?: Error;
    }
  | {
      readonly type: 'restart';
      /** The attempt about to start (1 for the first restart). */
      readonly attempt: number;
      readonly delayMs: number;
      readonly error: Error;
      /** Checkpoint the restart resumes from; undefined = sources start from the beginning. */
      readonly fromCheckpoint: number | undefined;
      readonly time: number;
    }
  | {
      /**
       * The job resumes from a completed checkpoint (the latest in its checkpoint directory, or
       * `restoreFrom`); `message` says so in one line: which checkpoint, when, positions.
       */
      readonly type: 'restored';
      readonly checkpointId: number;
      /** when the checkpoint completed, ms since epoch */
      readonly completedAt: number;
      readonly path: string | undefined;
      readonly from: 'latest' | 'restoreFrom';
      /** per source uid, where it resumes (when the source can say) */
      readonly positions: Readonly<Record<string, string>>;
      readonly message: string;
      readonly time: number;
    }
  | {
      readonly type: 'metrics';
      readonly operators: readonly OperatorMetrics[];
      readonly tasks: readonly TaskMetrics[];
      readonly time: number;
    }
  | {
      readonly type: 'warning';
      readonly message: string;
      readonly details?: Readonly<Record<string, unknown>>;
      readonly time: number;
    };

/** How `execute` ends when it does not fail. */
export interface JobResult {
  readonly jobName: string;
  /** `stopped`: by `stop()` (or a signal), with a final checkpoint to resume from */
  readonly status: 'finished' | 'stopped' | 'cancelled';
  /** Restarts that happened. */
  readonly restarts: number;
  /** Latest completed checkpoint, if any. */
  readonly lastCheckpointId: number | undefined;
  readonly metrics: readonly OperatorMetrics[];
}
