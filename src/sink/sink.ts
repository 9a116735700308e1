import type { StateValue } from '../checkpoint/state-codec.js';
import type {
  CheckpointSettings,
  CloseReason,
  ConnectorSettings,
  Preflight,
} from '../source/source.js';

/** What the runtime offers a sink writer. */
export interface SinkWriterContext {
  readonly jobName: string;
  /** Stable per sink within the job (the operator uid). */
  readonly sinkUid: string;
  readonly subtask: number;
  readonly parallelism: number;
  /** 0 for the first run of this execution, +1 per restart. */
  readonly attempt: number;
  /** The job's checkpoint settings (e.g. to check a transaction lease or a timeout against them). */
  readonly checkpointing: CheckpointSettings;
  /** Connection settings for connectors, from the job options. */
  readonly connectors: ConnectorSettings;
  /** Unique per execution (process run); distinguishes resources of different runs. */
  readonly runId: string;
  /**
   * Writer state restored from the checkpoint (the items that `snapshotState` returned, possibly
   * from several old subtasks after a change of parallelism); undefined on a fresh start.
   */
  readonly restoredState: readonly StateValue[] | undefined;
  /**
   * The job was told to accept duplicates on restore (`execute(name, { allowDuplicates: true })`):
   * e.g. a transaction that a later checkpoint already committed is skipped with a warning
   * instead of failing the restore.
   */
  readonly allowDuplicates: boolean;
  /** Reports a warning (shown as a `warning` job event). */
  warn(message: string, details?: Record<string, unknown>): void;
}

/** One per parallel sink subtask. Calls are sequential, never concurrent. */
export interface SinkWriter<T> {
  /** Called once before any write; recover here from `ctx.restoredState`. */
  initialize(): Promise<void>;
  /** Writes a batch. A returned promise is awaited before the next call (backpressure). */
  writeBatch(
    records: readonly T[],
    timestamps: readonly number[] | undefined,
  ): void | Promise<void>;
  /** Barrier N reached this writer: phase 1 (e.g. flush/pre-commit) and return the writer state. */
  snapshotState(checkpointId: number): Promise<readonly StateValue[]>;
  /** Checkpoint N is durable: phase 2 (e.g. commit). A rejection fails the job. */
  notifyCheckpointComplete(checkpointId: number): Promise<void>;
  /** Checkpoint N was aborted: keep everything pending for a later completion. */
  notifyCheckpointAborted?(checkpointId: number): void | Promise<void>;
  /** The input ended (bounded job); a final checkpoint follows. */
  endOfInput?(): void | Promise<void>;
  close(reason: CloseReason): Promise<void>;
}

/** A sink: a factory of one writer per parallel subtask. */
export interface Sink<T> extends Preflight {
  createWriter(ctx: SinkWriterContext): SinkWriter<T>;
}
