import type { CheckpointEvent } from '../checkpoint/checkpoint-events.js';

export type { CheckpointEvent } from '../checkpoint/checkpoint-events.js';

export type JobStatus =
  'created' | 'running' | 'restarting' | 'finished' | 'stopped' | 'cancelled' | 'failed';

/**
 * Records of one operator subtask, cumulative over the whole execution. Replays are counted
 * apart: after a restart from checkpoint N the job processes again what it had processed after
 * N; those records go to `recordsInReplayed`/`recordsOutReplayed`, and `recordsIn`/`recordsOut`
 * count only records beyond the furthest point reached before (their high-water mark).
 */
export interface SubtaskMetrics {
  readonly subtask: number;
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly recordsInReplayed: number;
  readonly recordsOutReplayed: number;
}

/** Counters of one operator, summed over its subtasks (cumulative over the whole execution). */
export interface OperatorMetrics {
  readonly uid: string;
  readonly name: string;
  readonly parallelism: number;
  /** Records in, replays excluded (see {@link SubtaskMetrics}). */
  readonly recordsIn: number;
  /** Records out, replays excluded. */
  readonly recordsOut: number;
  /** Records processed again after restarts. */
  readonly recordsInReplayed: number;
  readonly recordsOutReplayed: number;
  readonly subtasks: readonly SubtaskMetrics[];
  /** Other counters, e.g. `lateRecordsDropped`. */
  readonly counters: Readonly<Record<string, number>>;
}

export interface TaskMetrics {
  readonly name: string;
  readonly subtask: number;
  /** Time spent waiting for full output channels (whole milliseconds), in the current attempt. */
  readonly backpressuredMs: number;
  /**
   * The task's event time in ms (Flink's `currentInputWatermark`): the combined watermark of its
   * inputs, or for a source task the one it emitted; absent before the first watermark. A window
   * that does not fire shows here as the watermark of the task that holds it.
   * `Number.MAX_SAFE_INTEGER` after the end of input.
   */
  readonly watermark?: number;
  /** Its input is idle: a source past its idleness timeout, or every input of the task idle. */
  readonly idle?: true;
}

/** Unread data of one stream of a source: the stream's tail minus the source's position. */
export interface SourceLag {
  /** The source's uid and name. */
  readonly source: string;
  readonly sourceName: string;
  /** `scope/stream` (or another name the source gives its input). */
  readonly stream: string;
  readonly bytes: number;
  /**
   * Events not read yet, when the source can tell; undefined otherwise. (The Pravega source
   * estimates them from the mean size of the events it has read: segments do not count events.)
   */
  readonly events: number | undefined;
}

/** The job graph as shown to people: vertices (chains of operators run by parallel tasks), edges. */
export interface JobGraphDescription {
  readonly vertices: readonly {
    readonly id: number;
    readonly name: string;
    readonly parallelism: number;
    /** The source heading the vertex, if any. */
    readonly source: { readonly uid: string; readonly name: string } | undefined;
    readonly operators: readonly { readonly uid: string; readonly name: string }[];
  }[];
  readonly edges: readonly {
    readonly from: number;
    readonly to: number;
    readonly partitioning: 'forward' | 'rebalance' | 'hash';
    /** Set on edges that carry a side output: `<operator uid>#<tag id>`. */
    readonly sideOutput?: string;
  }[];
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
      /** With `running`: the checkpoint the attempt resumes from (undefined = a fresh start). */
      readonly fromCheckpoint?: number;
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
      /** A sink's transaction changed state (two-phase sinks). */
      readonly type: 'transaction';
      readonly action: 'begun' | 'committed' | 'aborted';
      /** The sink's uid and name. */
      readonly operator: string;
      readonly operatorName: string;
      readonly subtask: number;
      /** The checkpoint whose completion committed it (commits), or that it was pre-committed for. */
      readonly checkpointId?: number;
      /** Committed or aborted while recovering from a checkpoint. */
      readonly recovery: boolean;
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
