import { TributaryError } from '../../../errors.js';
import { completeReady, recordPart } from './checkpoints.js';
import {
  draftOf,
  noEffects,
  segmentsOf,
  unchanged,
  type GroupState,
  type KeyRange,
  type SegmentKey,
  type Transition,
} from './group-state.js';
import type { ReaderGroupConfig } from './reader-group-config.js';

/**
 * Readers joining and leaving, and the state a group starts (or restarts) from. Pure.
 *
 * A reader leaving — by itself, by `readerOffline`, or declared dead by the liveness check —
 * releases each of its segments at the position given for it, or else at the position of the
 * last completed checkpoint (never before the offset the reader took the segment over at): what
 * it read after that checkpoint is read again by someone else (at least once), nothing is skipped.
 * Checkpoints that still wait for it get its part filled with those same positions.
 */

/** The state of a new group, or of a group after a reset (generation + 1, nobody online). */
export function initialState(
  config: ReaderGroupConfig,
  generation: number,
  start: ReadonlyMap<SegmentKey, bigint>,
  startRanges: ReadonlyMap<SegmentKey, KeyRange>,
): GroupState {
  return {
    generation,
    config,
    startRanges: new Map(startRanges),
    members: new Map(),
    assigned: new Map(),
    unassigned: new Map(start),
    futures: new Map(),
    completed: new Map(),
    gates: new Map(),
    checkpointSeq: 0,
    checkpoints: [],
    lastCheckpoint: undefined,
    history: [],
  };
}

/**
 * Replaces a group's state by a fresh one of the next generation. Readers online are out (their
 * next state update fails with READER_NOT_IN_GROUP); outstanding checkpoints are cancelled.
 */
export function resetState(
  previous: GroupState,
  config: ReaderGroupConfig,
  start: ReadonlyMap<SegmentKey, bigint>,
  startRanges: ReadonlyMap<SegmentKey, KeyRange>,
): Transition<number> {
  const next = initialState(config, previous.generation + 1, start, startRanges);
  const effects = noEffects();
  for (const c of previous.checkpoints) effects.cancelled.push(c.name);
  effects.forgotten.push(...previous.history);
  return { state: next, result: next.generation, effects };
}

export function addReader(state: GroupState, reader: string, session: string): Transition<void> {
  const member = state.members.get(reader);
  // the same session: an earlier attempt of this very join was written (a retried request)
  if (member?.session === session) return unchanged(undefined);
  if (member !== undefined) {
    throw new TributaryError(
      'ILLEGAL_STATE',
      `reader ${reader} is already online in this reader group; ` +
        `take it offline first (readerOffline) or pick another id`,
      { details: { reader } },
    );
  }
  const d = draftOf(state);
  d.members.set(reader, { session, passed: -1 });
  return { state: d, result: undefined, effects: noEffects() };
}

/** Where each segment of `reader` is released when no position is given for it. */
export function fallbackPosition(state: GroupState, key: SegmentKey): bigint {
  const assignment = state.assigned.get(key);
  if (assignment === undefined) throw new TributaryError('INTERNAL', `${key} is not assigned`);
  const atCheckpoint = state.lastCheckpoint?.positions.get(key);
  return atCheckpoint !== undefined && atCheckpoint > assignment.acquiredAt
    ? atCheckpoint
    : assignment.acquiredAt;
}

/**
 * Takes `reader` out of the group, releasing its segments (see the module comment).
 * @param session when given, only that incarnation of the reader is removed
 * @returns false if it was not online
 */
export function removeReader(
  state: GroupState,
  reader: string,
  lastPositions?: ReadonlyMap<SegmentKey, bigint>,
  session?: string,
): Transition<boolean> {
  const member = state.members.get(reader);
  if (member === undefined || (session !== undefined && member.session !== session)) {
    return unchanged(false);
  }
  const d = draftOf(state);
  const effects = noEffects();
  const released = new Map<SegmentKey, bigint>();
  for (const key of segmentsOf(state, reader)) {
    const given = lastPositions?.get(key);
    const acquiredAt = state.assigned.get(key)!.acquiredAt;
    // never before the offset at which the reader took the segment over: what came before was
    // handed out by an earlier owner
    released.set(
      key,
      given === undefined ? fallbackPosition(state, key) : given > acquiredAt ? given : acquiredAt,
    );
  }
  d.checkpoints.forEach((c, i) => {
    if (c.waitingFor.includes(reader)) recordPart(d, i, reader, released);
  });
  for (const [key, offset] of released) {
    d.assigned.delete(key);
    d.unassigned.set(key, offset);
  }
  d.members.delete(reader);
  completeReady(d, effects);
  return { state: d, result: true, effects };
}
