import type { CheckpointData } from '../checkpoint/checkpoint-data.js';
import { decodeState } from '../checkpoint/state-codec.js';
import { Checkpoint } from '../pravega/client/reader-group/checkpoint.js';
import { NO_TRANSACTION } from '../twophase/two-phase-commit-sink.js';
import { asStateHandles, type StateHandle } from './state-handles.js';

/**
 * A worker's piece of a cluster checkpoint (docs/scale-out.md §5, step 3), as written to
 * `ack/<id>/<workerId>` and kept in the `completed` record: what the leader needs to act for
 * the worker if it dies — the transactions to commit (pre-committed up to this checkpoint), the
 * ones to abort (open at it), and, from the worker that led the checkpoint, the reader groups'
 * checkpoints (every segment's position), and handles to its keyed state (never state bytes).
 * Plain JSON.
 */
export interface WorkerPiece {
  /** `scope/group` → `Checkpoint.toText()`: only in the piece of the worker that initiated them */
  readonly readerGroups: Readonly<Record<string, string>>;
  readonly sinks: readonly SinkTransactions[];
  /** where the worker's keyed state of this checkpoint is (a keyed job's only; absent: none) */
  readonly state?: readonly StateHandle[];
}

export interface SinkTransactions {
  readonly uid: string;
  /** `scope/stream` the transactions are on */
  readonly stream: string;
  /** pre-committed: commit when the checkpoint completed */
  readonly commit: readonly string[];
  /** open at the checkpoint: never committed by anyone else, abort */
  readonly open: readonly string[];
}

interface TwoPhaseShape {
  readonly pendingTransaction: { readonly txn: unknown } | null;
  readonly pendingCommitTransactions: readonly { readonly txn: unknown }[];
}

function isTwoPhase(value: unknown): value is TwoPhaseShape {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return Array.isArray(v.pendingCommitTransactions) && 'pendingTransaction' in v;
}

/**
 * The piece of a local checkpoint: the two-phase sinks' transactions (of the sinks whose stream
 * is known) and the non-empty reader-group checkpoints of the enumerators.
 */
export function pieceOf(
  data: CheckpointData,
  streams: ReadonlyMap<string, string>,
  state?: readonly StateHandle[],
): WorkerPiece {
  const readerGroups: Record<string, string> = {};
  for (const encoded of Object.values(data.enumerators)) {
    const state = decodeState(encoded) as { checkpoint?: unknown } | null;
    const text = state?.checkpoint;
    if (typeof text === 'string') readerGroups[Checkpoint.parse(text).readerGroup] = text;
  }
  const sinks: SinkTransactions[] = [];
  for (const [uid, op] of Object.entries(data.operators)) {
    const stream = streams.get(uid);
    if (stream === undefined) continue;
    const commit: string[] = [];
    const open: string[] = [];
    for (const subtask of op.subtasks) {
      for (const item of subtask?.items ?? []) {
        const state = decodeState(item);
        if (!isTwoPhase(state)) continue;
        for (const p of state.pendingCommitTransactions)
          if (p.txn !== NO_TRANSACTION) commit.push(String(p.txn));
        const pending = state.pendingTransaction;
        if (pending !== null && pending.txn !== NO_TRANSACTION) open.push(String(pending.txn));
      }
    }
    sinks.push({ uid, stream, commit, open });
  }
  return { readerGroups, sinks, ...(state !== undefined ? { state } : {}) };
}

/** Reads a piece back from the table (tolerant of pieces from other kinds of members). */
export function asWorkerPiece(value: unknown): WorkerPiece {
  const v = (typeof value === 'object' && value !== null ? value : {}) as Partial<WorkerPiece>;
  return {
    readerGroups:
      typeof v.readerGroups === 'object' && v.readerGroups !== null ? v.readerGroups : {},
    sinks: Array.isArray(v.sinks) ? v.sinks : [],
    ...(v.state !== undefined ? { state: asStateHandles(v.state) } : {}),
  };
}
