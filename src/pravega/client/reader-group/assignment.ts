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
 * A reader for which a checkpoint is pending neither takes nor gives. See {@link mayTake} for
 * segments handed over under `handover: 'at-checkpoint'`.
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

/**
 * Whether `reader` may take unassigned `segment` now. Under `handover: 'at-checkpoint'` a segment
 * handed over (given back, or a successor made readable) carries a gate: the readers that handed
 * out its events (or its predecessors') did so before their marker of the next checkpoint; a
 * reader that passed that checkpoint hands out the segment's events after its own marker, so a
 * pipeline that aligns checkpoint barriers sees every earlier event of a key first. The one
 * reader that handed them all out needs no checkpoint: its own events stay in order.
 */
export function mayTake(state: GroupState, reader: string, segment: SegmentKey): boolean {
  const gate = state.gates.get(segment);
  if (gate === undefined) return true;
  if (gate.owners.length > 0 && gate.owners.every((o) => o === reader)) return true;
  return (state.members.get(reader)?.passed ?? -1) >= gate.seq;
}

function takeable(state: GroupState, reader: string): SegmentKey[] {
  return [...state.unassigned.keys()].filter((k) => mayTake(state, reader, k));
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
  const wanted = toFloor + aboveFloor;
  return wanted === 0 ? 0 : Math.min(wanted, takeable(state, reader).length);
}

/** How many segments `reader` should give back now. */
export function surplusCount(state: GroupState, reader: string): number {
  if (pendingCheckpointFor(state, reader) !== undefined) return 0;
  return surplusShare(state, reader);
}

/** {@link surplusCount} whether or not a checkpoint waits for `reader`. */
export function surplusShare(state: GroupState, reader: string): number {
  if (!state.members.has(reader)) return 0;
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
  for (const key of takeable(state, reader)) {
    if (taken.length >= count) break;
    const offset = state.unassigned.get(key)!;
    taken.push({ key, offset });
    d.unassigned.delete(key);
    d.gates.delete(key);
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
    if (state.config.handover === 'at-checkpoint') {
      d.gates.set(c.key, { seq: state.checkpointSeq, owners: [reader] });
    }
    released.push(c.key);
  }
  if (released.length === 0) return unchanged([]);
  return { state: d, result: released, effects: noEffects() };
}
