import type { EncodedState } from '../checkpoint/state-codec.js';
import { TributaryError } from '../errors.js';
import type { ClusterStateStore } from './cluster-state-store.js';
import { withDeadline } from './deadline.js';
import type { CompletedRecord } from './records.js';
import type { KeyGroupRange } from './state-handles.js';

/**
 * The keyed state of key groups R as of the latest completed cluster checkpoint, for a worker
 * that has just acquired the edge segment carrying them (docs/scale-out.md §6 item 2): the
 * acquiring reader awaits it (`EventStreamReader.onAcquired`) and hands the result to the running
 * keyed operators before the segment's first event.
 */
export interface KeyGroupStates {
  /** the completed checkpoint the state is of */
  readonly checkpointId: number;
  /**
   * operator uid → `[key group, state]` of every key group of R that operator holds state for,
   * as a full checkpoint's `keyGroups` has them (the runtime's encoding, checked and read back
   * from the stored bytes)
   */
  readonly operators: ReadonlyMap<string, readonly (readonly [number, EncodedState])[]>;
}

/** Where the latest completed record comes from (a `ClusterMember`). */
export interface CompletedSource {
  latestCompleted(): Promise<CompletedRecord | undefined>;
}

/**
 * Key groups `groups` as of the latest completed record, from `store`, within `timeoutMs`
 * (TIMEOUT naming them otherwise). @returns undefined when no checkpoint has completed yet (no
 * state to load). A key group no handle covers, or two handles claim, and missing or damaged
 * bytes are STATE_CORRUPT naming them (`assembleKeyGroups`); key groups kept as incremental state
 * pieces in a shared directory are refused (ILLEGAL_STATE: a running operator cannot take pieces
 * of another folder; run such a job with full snapshots, or with the state stream).
 */
export async function loadKeyGroupStates(
  source: CompletedSource,
  store: ClusterStateStore,
  groups: KeyGroupRange,
  timeoutMs: number,
): Promise<KeyGroupStates | undefined> {
  if (!Number.isSafeInteger(groups.start) || groups.start < 0 || groups.end <= groups.start) {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `key groups must be a range [start, end) with 0 <= start < end, got [${groups.start}, ${groups.end})`,
    );
  }
  const what = `loading key groups ${groups.start}..${groups.end - 1} from ${store.where}`;
  const deadline = Date.now() + timeoutMs;
  const completed = await withDeadline(source.latestCompleted(), timeoutMs, what);
  if (completed === undefined) return undefined;
  const data = await withDeadline(
    store.load(completed, groups),
    Math.max(1, deadline - Date.now()),
    what,
  );
  const operators = new Map<string, (readonly [number, EncodedState])[]>();
  for (const [uid, op] of Object.entries(data.operators)) {
    const entries = op.subtasks.flatMap((s) => s.keyGroups);
    if (entries.length === 0) continue;
    const chained = entries.find(([, state]) => isChain(state));
    if (chained !== undefined) {
      throw new TributaryError(
        'ILLEGAL_STATE',
        `key group ${chained[0]} of operator ${uid} in completed cluster checkpoint ${completed.id} is kept as incremental state pieces in ${store.where}: a running worker cannot take over pieces of another worker's folder; run the job with state.snapshots: 'full', or with its state in the state stream`,
      );
    }
    operators.set(
      uid,
      [...entries].sort((a, b) => a[0] - b[0]),
    );
  }
  return { checkpointId: completed.id, operators };
}

function isChain(state: unknown): boolean {
  return Array.isArray((state as { chain?: unknown } | null)?.chain);
}
