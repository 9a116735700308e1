import type { EncodedState } from './state-codec.js';

/** State of one parallel subtask of one operator, already encoded (see state-codec). */
export interface OperatorSubtaskState {
  /** Redistributable list state (e.g. source splits, sink transactions). */
  readonly items: readonly EncodedState[];
  /** Keyed state by key group: `[keyGroup, encoded state of that key group]`. */
  readonly keyGroups: readonly (readonly [number, EncodedState])[];
}

/** All state of one operator, one entry per parallel subtask at snapshot time. */
export interface OperatorState {
  readonly parallelism: number;
  readonly subtasks: readonly OperatorSubtaskState[];
}

/** What a completed checkpoint holds: the unit of durable storage and of restore. */
export interface CheckpointData {
  readonly checkpointId: number;
  readonly jobName: string;
  /** Wall-clock time the checkpoint was triggered (ms since epoch). */
  readonly triggeredAt: number;
  readonly completedAt: number;
  /** Operator state by operator uid. */
  readonly operators: Readonly<Record<string, OperatorState>>;
  /** Source enumerator state (the coordinator-side part) by source uid. */
  readonly enumerators: Readonly<Record<string, EncodedState>>;
  /**
   * Id of the first checkpoint of the run that started this job from scratch; resumed runs carry
   * it on. Retention only ever deletes checkpoints of the same lineage (absent in older files:
   * every checkpoint counts as the same lineage).
   */
  readonly lineageStart?: number;
  /**
   * The directory the checkpoint was read from or stored in (never written into the file): keyed
   * state pieces it references live in `<location>/state/`.
   */
  readonly location?: string;
}

/** A handle to a stored checkpoint. */
export interface CheckpointRef {
  readonly checkpointId: number;
  /** File path for durable checkpoints; undefined for in-memory ones. */
  readonly path: string | undefined;
  /** Size of the serialised checkpoint. */
  readonly bytes: number;
}
