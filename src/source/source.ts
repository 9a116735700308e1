import type { EncodedState, StateValue } from '../checkpoint/state-codec.js';
import type { JobLockProvider } from '../runtime/job-lock.js';
import type { KeyGroupControl } from '../runtime/key-group-control.js';

/** Whether a source ends on its own (`bounded`) or runs until cancelled. */
export type Boundedness = 'bounded' | 'unbounded';

/** The unit of work a reader is assigned; also the carrier of its progress in reader state. */
export interface SourceSplit {
  readonly splitId: string;
}

/** Converts a split or an enumerator state to checkpointable state and back. */
export interface StateSerializer<T> {
  toState(value: T): StateValue;
  fromState(state: StateValue): T;
}

/**
 * Why a reader, enumerator or sink is being closed.
 * - `finished`: the job ended for good after its final checkpoint (delete external resources).
 * - `cancelled`: the user cancelled the job for good (delete external resources).
 * - `restarting`: a failure; the job restarts from its latest checkpoint (keep resources).
 * - `stopped`: the job stopped with a final checkpoint (`handle.stop()`) to be resumed later;
 *   keep resources.
 * - `failed`: the job failed for good (restarts exhausted); keep resources so that a new
 *   process can resume from a retained checkpoint.
 */
export type CloseReason = 'finished' | 'cancelled' | 'stopped' | 'restarting' | 'failed';

/** How an enumerator came to be: fresh (configured start) or restored from a checkpoint. */
export type EnumeratorStart =
  { readonly kind: 'fresh' } | { readonly kind: 'restored'; readonly checkpointId: number };

/** Facts about the running job that a source may need (e.g. to name external resources). */
export interface SourceJobInfo {
  readonly jobName: string;
  /** Stable per source within the job (the operator uid); stable across restarts. */
  readonly sourceUid: string;
  /** 0 for the first run of this execution, +1 for each restart. */
  readonly attempt: number;
  /** The job's checkpoint settings (e.g. to check a transaction lease or a timeout against them). */
  readonly checkpointing: CheckpointSettings;
  /** Connection settings for connectors, from the job options (opaque to the runtime). */
  readonly connectors: ConnectorSettings;
}

/**
 * Settings the job hands to its connectors. The runtime does not interpret them: e.g. `pravega`
 * is the Pravega client config (`'embedded:./data'`, `'tcp://host:9090'`, or an object) that the
 * Pravega source and sink use unless they were given their own.
 */
export interface ConnectorSettings {
  readonly pravega?: unknown;
  /** Set when the job runs as one worker of several (docs/scale-out.md §10). */
  readonly cluster?: ClusterConnectorContext;
}

/**
 * What a connector needs to know when its job runs in several worker processes that share its
 * reader groups: who this worker is, whether it triggers the groups' checkpoints, which
 * checkpoints are complete for good, and where a group starts.
 */
export interface ClusterConnectorContext {
  /** This worker's id: reader ids are `<workerId>-<subtask>`. */
  readonly workerId: string;
  /** This worker leads the job now: it initiates the reader groups' checkpoints. */
  isLeader(): boolean;
  /** The highest checkpoint id complete across the workers whose output this worker commits. */
  completedThrough(): number;
  /**
   * Whether checkpoint `id` itself completed (`completed`), never will (`void`: aborted, or a
   * later one completed without it), or is not decided yet (`pending`) — for a reader that froze
   * segments at its marker and may give them back only at a checkpoint that counts.
   */
  checkpointOutcome?(id: number): 'completed' | 'void' | 'pending';
  /**
   * How a shared reader group starts: `join` (other workers run: leave it as it is), `fresh`
   * (first worker of a new run: reset to the configured start), or a reader-group checkpoint
   * (`Checkpoint.toText()`) of the job's last completed checkpoint (the whole job restarts).
   */
  groupStart(scopedGroup: string): 'join' | 'fresh' | { readonly checkpoint: string };
  /**
   * A reader joined its group `scopedGroup` as `readerId` (readers of different sources share
   * ids: the pair is the reader). It must take no segment until {@link mayAcquire}: the others
   * must know this worker before it reads anything they would have to act for.
   */
  readerJoined(scopedGroup: string, readerId: string): void;
  mayAcquire(): boolean;
  /** A transactional sink names the stream its transactions are on (`scope/stream`). */
  transactionStream(sinkUid: string, stream: string): void;
  /**
   * Set when the job's keyed state is owned per key group across workers (after an exchange
   * edge): the state of key groups `[start, end)` as of the latest completed cluster checkpoint,
   * per operator uid as a full checkpoint's `keyGroups` — for a reader that has just taken over
   * the segment carrying them. Undefined before the first completed checkpoint.
   */
  keyGroupStates?(
    groups: { readonly start: number; readonly end: number },
    timeoutMs: number,
  ): Promise<KeyGroupStatesOf | undefined>;
  /**
   * Set with {@link keyGroupStates}: receiving reader `reader` owns key groups `ranges` at the
   * marker of checkpoint `checkpointId` (told before its barrier): this worker's state of that
   * checkpoint names them, and only them, for that reader.
   */
  keyGroupsOwned?(
    reader: string,
    checkpointId: number,
    ranges: readonly (readonly [number, number])[],
  ): void;
  /**
   * Who sends on an exchange edge in checkpoint `checkpointId` (for the watermarks the senders
   * write into its transactions): this worker (id and epoch) and the checkpoint's participants.
   * Waits up to `timeoutMs` for this worker to see the proposal; undefined if it did not.
   */
  checkpointSenders(
    checkpointId: number,
    timeoutMs: number,
  ): Promise<
    | {
        readonly self: { readonly workerId: string; readonly epoch: number };
        readonly participants: readonly { readonly workerId: string; readonly epoch: number }[];
      }
    | undefined
  >;
}

/** See {@link ClusterConnectorContext.keyGroupStates}. */
export interface KeyGroupStatesOf {
  /** the completed checkpoint the state is of */
  readonly checkpointId: number;
  /** operator uid → `[key group, encoded state]` */
  readonly operators: ReadonlyMap<string, readonly (readonly [number, EncodedState])[]>;
}

/** What a source or sink may check before any task of the job starts (see `preflight`). */
export interface PreflightContext {
  readonly jobName: string;
  /** the source's or sink's operator uid */
  readonly uid: string;
  readonly checkpointing: CheckpointSettings;
  readonly connectors: ConnectorSettings;
  /** every source of the job is bounded: the job ends on its own with a final checkpoint */
  readonly bounded: boolean;
  /** a `warning` job event */
  warn(message: string, details?: Record<string, unknown>): void;
}

/** What a preflight hands to the job. */
export interface PreflightResult {
  /** Where the job's lease can live (one running copy per job); the first one offered is used. */
  readonly lock?: JobLockProvider;
  /** Called when the job ends: releases what the preflight kept open for the tasks. */
  readonly hold?: () => Promise<void>;
}

/** Checked by `execute()` before any task starts; a failure fails the job at once (no restart). */
export interface Preflight {
  preflight?(ctx: PreflightContext): Promise<PreflightResult | void>;
}

/** Checkpoint settings of the running job. */
export interface CheckpointSettings {
  /** Periodic interval; undefined when checkpoints are only taken on request and at the end. */
  readonly intervalMs: number | undefined;
  readonly timeoutMs: number;
  readonly minPauseMs: number;
  /** checkpoints that may fail in a row before the job fails over */
  readonly tolerableFailures: number;
  /** The durable checkpoint directory (`checkpoint.dir`); undefined when kept in memory. */
  readonly dir?: string | undefined;
  /** How keyed state is checkpointed (the job's `state` options). */
  readonly keyedState?: KeyedStateSettings;
}

/** The job's `state` options as keyed operators see them. */
export interface KeyedStateSettings {
  /** `heap`, or `lmdb` (on local disk under `dir`) */
  readonly backend: 'heap' | 'lmdb';
  /** Local working directory of a disk backend. */
  readonly dir?: string | undefined;
  /** Disk backend: changed entries written to the store in one batch. */
  readonly writeBatchEntries?: number;
  /** Disk backend: the most recently written entries kept in memory (a write-back cache). */
  readonly writeCacheEntries?: number;
  /** Disk backend: written entries kept in memory as a read cache. */
  readonly cacheEntries?: number;
  /** `incremental` (needs `checkpoint.dir`): only changed keys, in pieces; `full`: all state inline. */
  readonly snapshots: 'full' | 'incremental';
  /** A key group's chain of pieces is consolidated into one full piece after this many. */
  readonly consolidateEvery: number;
}

/** What the runtime offers an enumerator. All methods may be called from any callback. */
export interface SplitEnumeratorContext<Split extends SourceSplit> extends SourceJobInfo {
  /** Parallelism of the source (number of readers). */
  readonly parallelism: number;
  readonly start: EnumeratorStart;
  /** Subtasks whose reader has registered. */
  registeredReaders(): ReadonlySet<number>;
  /** Subtasks whose reader reached end of input. */
  finishedReaders(): ReadonlySet<number>;
  /**
   * Hands splits to a reader. Assignments made after `snapshotState(N)` was called reach the
   * reader after its barrier N, so the enumerator state captured at that call stays consistent.
   */
  assignSplits(subtask: number, splits: readonly Split[]): void;
  /** Tells a reader it will get no more splits (it ends once its splits are done). */
  signalNoMoreSplits(subtask: number): void;
  /** Fails the job (e.g. from a background callback of the enumerator). */
  failJob(error: unknown): void;
  /** Aborted when the enumerator is being closed. */
  readonly signal: AbortSignal;
}

/**
 * The single coordinator-side part of a source (FLIP-27 `SplitEnumerator`). Runs in the job's
 * process; one per source per execution attempt.
 */
export interface SplitEnumerator<Split extends SourceSplit, EnumState> {
  start(): void | Promise<void>;
  /** A reader registered (push model hook). */
  addReader(subtask: number): void;
  /** A reader asks for work (pull model). */
  handleSplitRequest(subtask: number): void;
  /**
   * Splits handed to a reader after the last completed checkpoint come back for reassignment.
   * The runtime restarts globally (all tasks and the enumerator are restored together), so it
   * only calls this for splits that were assigned to a reader that never took them.
   */
  addSplitsBack(splits: readonly Split[], subtask: number): void;
  /**
   * The enumerator's part of checkpoint N. Capture the state as of the call (see assignSplits).
   * For externally induced sources this is where the external checkpoint is initiated, and the
   * promise may resolve late (after every reader passed the marker). Resolve `undefined`, or
   * reject, to decline N: the checkpoint is aborted, nothing is torn down, the next one runs.
   */
  snapshotState(checkpointId: number): Promise<EnumState | undefined> | EnumState | undefined;
  /** Checkpoint N is durable and complete. */
  notifyCheckpointComplete?(checkpointId: number): void | Promise<void>;
  /**
   * How far the source is behind its input, per stream: the input's tail minus the source's
   * position (for metrics and status pages; called every few seconds while the job runs).
   */
  lag?(): Promise<readonly StreamLag[]>;
  /** Checkpoint N was aborted (timed out, declined or subsumed). */
  notifyCheckpointAborted?(checkpointId: number): void | Promise<void>;
  close(reason: CloseReason): void | Promise<void>;
}

/** Unread input of one stream (see {@link SplitEnumerator.lag}). */
export interface StreamLag {
  /** e.g. `scope/stream` */
  readonly stream: string;
  readonly bytes: number;
  /** Events not read yet, when the source can tell. */
  readonly events?: number;
}

/** What the runtime offers a reader. */
export interface SourceReaderContext extends SourceJobInfo {
  readonly subtask: number;
  readonly parallelism: number;
  /** Ask the enumerator for a split (answered through `addSplits` or `notifyNoMoreSplits`). */
  sendSplitRequest(): void;
  /** Adds to a named counter of this source, shown in the job's metrics events. */
  count(metric: string, delta: number): void;
  /** A `warning` job event: something the user must hear of that does not fail the job. */
  warn(message: string, details?: Record<string, unknown>): void;
  /**
   * Key groups join or leave the keyed operators downstream (see `KeyGroupControl`): the control
   * goes out ahead of the records of the current poll (called inside `pollNext`) or of the next
   * one (called between polls), in order with everything the reader emitted before. Its state is
   * already loaded: the runtime does no I/O for it. A malformed control throws `ILLEGAL_ARGUMENT`.
   */
  emitKeyGroupControl(control: KeyGroupControl): void;
}

/** A batch of records from one poll, optionally with event timestamps (ms) per record. */
export interface SourceBatch<T> {
  readonly records: readonly T[];
  readonly timestamps?: readonly number[];
}

/**
 * Result of a non-blocking poll:
 * - a batch (possibly empty): the runtime will poll again soon;
 * - `'nothing-available'`: the runtime awaits `isAvailable()` before polling again;
 * - `'end-of-input'`: the reader has no more splits and will never produce again.
 */
export type PollResult<T> = SourceBatch<T> | 'nothing-available' | 'end-of-input';

/** One per parallel source task (FLIP-27 `SourceReader`). Never blocks inside `pollNext`. */
export interface SourceReader<T, Split extends SourceSplit> {
  start(): void | Promise<void>;
  pollNext(): PollResult<T>;
  /** Resolves when `pollNext` may return data (or end of input). Must not stay pending forever. */
  isAvailable(): Promise<void>;
  /** Current progress: the assigned, unfinished splits with their positions. */
  snapshotState(checkpointId: number): readonly Split[];
  addSplits(splits: readonly Split[]): void;
  notifyNoMoreSplits(): void;
  notifyCheckpointComplete?(checkpointId: number): void | Promise<void>;
  notifyCheckpointAborted?(checkpointId: number): void | Promise<void>;
  close(reason: CloseReason): void | Promise<void>;
}

/**
 * A reader of an externally induced source: the runtime does not inject barriers into its task;
 * after every poll it asks `shouldTriggerCheckpoint()`, and when that returns N the task
 * snapshots and emits barrier N right after everything it emitted before. Once the reader
 * returned end of input, the runtime places the barriers of later checkpoints itself.
 */
export interface ExternallyInducedSourceReader<T, Split extends SourceSplit> extends SourceReader<
  T,
  Split
> {
  shouldTriggerCheckpoint(): number | undefined;
}

/** A FLIP-27 source: a factory of its enumerator and readers plus their serialisation. */
export interface Source<T, Split extends SourceSplit, EnumState> extends Preflight {
  readonly boundedness: Boundedness;
  /**
   * `true` when the readers place checkpoint barriers themselves (readers must implement
   * {@link ExternallyInducedSourceReader}; the enumerator's `snapshotState` initiates N).
   */
  readonly externallyInducedCheckpoints?: boolean;
  createReader(ctx: SourceReaderContext): SourceReader<T, Split>;
  createEnumerator(ctx: SplitEnumeratorContext<Split>): SplitEnumerator<Split, EnumState>;
  restoreEnumerator(
    ctx: SplitEnumeratorContext<Split>,
    state: EnumState,
  ): SplitEnumerator<Split, EnumState>;
  readonly splitSerializer: StateSerializer<Split>;
  readonly enumeratorStateSerializer: StateSerializer<EnumState>;
  /**
   * One line on where a checkpointed source resumes (shown when a job resumes), from its
   * enumerator state and its readers' splits.
   */
  describeState?(state: EnumState, splits: readonly Split[]): string;
}

/** Any source, for places that do not care about its split and state types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySource<T> = Source<T, any, any>;

export function isExternallyInducedReader<T, S extends SourceSplit>(
  reader: SourceReader<T, S>,
): reader is ExternallyInducedSourceReader<T, S> {
  return (
    typeof (reader as Partial<ExternallyInducedSourceReader<T, S>>).shouldTriggerCheckpoint ===
    'function'
  );
}
