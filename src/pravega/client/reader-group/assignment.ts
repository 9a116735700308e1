import { pendingCheckpointFor } from './checkpoints.js';
import {
  draftOf,
  noEffects,
  requireMember,
  segmentsOf,
  unchanged,
  type GroupState,
  type SegmentKey,
  type Transition,
} from './group-state.js';

/**
 * Fair share of segments (pure). With T readable segments (assigned + unassigned) and N online
 * readers, every reader should own between floor(T/N) and ceil(T/N). A reader takes unassigned
 * segments up to its floor first, and up to its ceiling only from what the other readers' floors
 * leave over; it gives segments back when it owns more than its ceiling, or more than its floor
 * while another reader is below its floor and the unassigned ones cannot make up the difference.
 * A reader for which a checkpoint is pending neither takes nor gives.
 */

export interface Share {
  readonly owned: number;
  readonly min: number;
  readonly max: number;
}

export function shareOf(state: GroupState, reader: string): Share {
  const total = state.assigned.size + state.unassigned.size;
  const readers = Math.max(1, state.members.size);
  return {
    owned: segmentsOf(state, reader).length,
    min: Math.floor(total / readers),
    max: Math.ceil(total / readers),
  };
}

function deficitOfOthers(state: GroupState, reader: string, min: number): number {
  const owned = new Map<string, number>();
  for (const a of state.assigned.values()) owned.set(a.reader, (owned.get(a.reader) ?? 0) + 1);
  let deficit = 0;
  for (const r of state.members.keys()) {
    if (r !== reader) deficit += Math.max(0, min - (owned.get(r) ?? 0));
  }
  return deficit;
}

/** How many unassigned segments `reader` should take now. */
export function acquireCount(state: GroupState, reader: string): number {
  if (!state.members.has(reader) || pendingCheckpointFor(state, reader) !== undefined) return 0;
  const unassigned = state.unassigned.size;
  if (unassigned === 0) return 0;
  const { owned, min, max } = shareOf(state, reader);
  const toFloor = Math.min(unassigned, Math.max(0, min - owned));
  const spare = unassigned - toFloor - deficitOfOthers(state, reader, min);
  const aboveFloor = Math.max(0, Math.min(spare, max - owned - toFloor));
  return toFloor + aboveFloor;
}

/** How many segments `reader` should give back now. */
export function surplusCount(state: GroupState, reader: string): number {
  if (!state.members.has(reader) || pendingCheckpointFor(state, reader) !== undefined) return 0;
  const { owned, min, max } = shareOf(state, reader);
  if (owned > max) return owned - max;
  if (owned > min && deficitOfOthers(state, reader, min) > state.unassigned.size) return 1;
  return 0;
}

export interface Acquired {
  readonly key: SegmentKey;
  readonly offset: bigint;
}

/** Takes {@link acquireCount} unassigned segments (oldest first, then by name). */
export function acquireSegments(
  state: GroupState,
  reader: string,
  session: string,
): Transition<Acquired[]> {
  requireMember(state, reader, session);
  const count = acquireCount(state, reader);
  if (count === 0) return unchanged([]);
  const d = draftOf(state);
  const taken: Acquired[] = [];
  for (const [key, offset] of state.unassigned) {
    if (taken.length >= count) break;
    taken.push({ key, offset });
    d.unassigned.delete(key);
    d.assigned.set(key, { reader, acquiredAt: offset });
  }
  return { state: d, result: taken, effects: noEffects() };
}

/**
 * Gives back {@link surplusCount} segments, picked from `candidates` in their order, at the
 * offsets given (where the reader stopped handing out events).
 * @returns the keys released
 */
export function releaseSegments(
  state: GroupState,
  reader: string,
  session: string,
  candidates: readonly { readonly key: SegmentKey; readonly offset: bigint }[],
): Transition<SegmentKey[]> {
  requireMember(state, reader, session);
  const count = surplusCount(state, reader);
  if (count === 0) return unchanged([]);
  const d = draftOf(state);
  const released: SegmentKey[] = [];
  for (const c of candidates) {
    if (released.length >= count) break;
    if (state.assigned.get(c.key)?.reader !== reader) continue;
    d.assigned.delete(c.key);
    d.unassigned.set(c.key, c.offset);
    released.push(c.key);
  }
  if (released.length === 0) return unchanged([]);
  return { state: d, result: released, effects: noEffects() };
}
