import type { CheckpointData } from '../checkpoint/checkpoint-data.js';
import type { ConnectorSettings } from '../source/source.js';

/**
 * Checkpoints whose trigger and completion are decided outside this process — the one hook a job
 * needs to run as one worker of several (docs/scale-out.md §10). The runtime does not know who
 * decides: it takes checkpoint ids from {@link ExternalCheckpointControl.trigger}, collects its
 * tasks' acknowledgements as usual, and hands the local checkpoint to `externalCompletion`; only
 * when that resolves is the checkpoint complete here (tasks notified: sinks commit). A rejection
 * aborts it here (pre-committed transactions stay pending for a later completion).
 *
 * A job run this way never restarts itself: a failed attempt fails the job (the outside decides
 * what becomes of its readers and transactions), and it holds no job lease (several copies of
 * the job run on purpose).
 */
export interface ExternalCheckpointing {
  /**
   * Awaited before the job's checks and its first task: a rejection fails the job before it
   * starts (e.g. the worker could not read its coordination table).
   */
  prepare?(): Promise<void>;
  /**
   * Awaited after `prepare`: the checkpoint this process starts from (e.g. the keyed state of the
   * outside's last completed checkpoint), or undefined to start without state. A rejection fails
   * the job before it starts.
   */
  restore?(): Promise<CheckpointData | undefined>;
  /**
   * Where this process's checkpoints keep their keyed state pieces (`<stateDir>/state/`) instead
   * of `checkpoint.dir` (e.g. a worker's own folder of a shared directory).
   */
  readonly stateDir?: string;
  /**
   * How often the outside triggers checkpoints and how long it waits for one: what connectors see
   * as the job's `checkpoint.intervalMs` / `timeoutMs` (e.g. a sink checking its transaction lease).
   */
  readonly checkpointing?: { readonly intervalMs: number; readonly timeoutMs: number };
  /** Settings merged into what the job hands its connectors (e.g. the worker's identity). */
  readonly connectors?: Partial<ConnectorSettings>;
  /** Each running attempt hands its control here once its tasks run; undefined when it ends. */
  attach(control: ExternalCheckpointControl | undefined): void;
  /**
   * Every task of this process acknowledged checkpoint `id`: `piece` is the local checkpoint.
   * Resolves once `id` is complete everywhere; rejects when it was aborted.
   */
  externalCompletion(id: number, piece: CheckpointData): Promise<void>;
}

export interface ExternalCheckpointControl {
  /**
   * Starts checkpoint `id` here (barriers of externally induced sources come with their markers;
   * acknowledgements that arrive before this call are kept). Ids only grow: an id not above the
   * last one triggered is ignored; a newer one aborts older ones still pending here.
   */
  trigger(id: number): void;
  /** Aborts checkpoint `id` here if it is still collecting acknowledgements. */
  abort(id: number, reason: string): void;
  /** Fails the running attempt (and so the job: it never restarts itself) with `error`. */
  fail(error: unknown): void;
}
