import { TributaryError } from '../../../errors.js';
import {
  CHECKPOINT_HISTORY,
  draftOf,
  isEndOfData,
  noEffects,
  requireMember,
  segmentsOf,
  unchanged,
  type Draft,
  type Effects,
  type GroupState,
  type SegmentKey,
  type Transition,
} from './group-state.js';

/**
 * Checkpoint bookkeeping (pure). The rules:
 * - initiation records the readers online at that moment and seeds the positions of every segment
 *   nobody owns (unassigned, and completed ones kept for their key range); with no reader online
 *   the checkpoint is complete at once;
 * - each of those readers records the positions of all the segments it owns when it passes the
 *   marker; readers that joined later are not waited for;
 * - while a checkpoint waits for a reader, that reader may not acquire, release or complete
 *   segments (assignment.ts and completion.ts refuse), so its recorded part and the seeded
 *   positions together cover every segment exactly once;
 * - a reader that goes offline while a checkpoint waits for it has its part filled with the
 *   positions its segments are released at (membership.ts);
 * - once every segment is read to its end (end of data), checkpoints wait for nobody;
 * - checkpoints complete in initiation order; at most `maxOutstandingCheckpoints` are outstanding;
 *   names are unique among the outstanding ones and the last {@link CHECKPOINT_HISTORY} finished.
 */

export const MAX_CHECKPOINT_NAME = 1000;

/** The first outstanding checkpoint that still waits for `reader`. */
export function pendingCheckpointFor(state: GroupState, reader: string): string | undefined {
  return state.checkpoints.find((c) => c.waitingFor.includes(reader))?.name;
}

export function validateCheckpointName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_CHECKPOINT_NAME) {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `initiateCheckpoint: name must be a string of 1 to ${MAX_CHECKPOINT_NAME} characters, got ${typeof name === 'string' ? `${name.length} characters` : name === null ? 'null' : typeof name}`,
      { details: { argument: 'name' } },
    );
  }
}

export function initiateCheckpoint(
  state: GroupState,
  name: string,
): Transition<'pending' | 'complete'> {
  validateCheckpointName(name);
  if (state.checkpoints.some((c) => c.name === name) || state.history.includes(name)) {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `checkpoint name ${JSON.stringify(name)} is already used in this reader group`,
      { details: { checkpoint: name } },
    );
  }
  const max = state.config.maxOutstandingCheckpoints;
  if (state.checkpoints.length >= max) {
    throw new TributaryError(
      'CHECKPOINT_LIMIT',
      `${state.checkpoints.length} checkpoints are outstanding (at most ${max}); ` +
        `cancel them (cancelOutstandingCheckpoints) or wait`,
      { details: { outstanding: state.checkpoints.map((c) => c.name), max } },
    );
  }
  const d = draftOf(state);
  const seeded = new Map<SegmentKey, bigint>();
  for (const [key, offset] of state.unassigned) seeded.set(key, offset);
  for (const [key, c] of state.completed) seeded.set(key, c.end);
  // once everything is read, every position is final: nobody needs to be waited for
  const waitingFor = isEndOfData(state) ? [] : [...state.members.keys()].sort();
  d.checkpoints.push({ name, seq: state.checkpointSeq, waitingFor, positions: seeded });
  d.checkpointSeq = state.checkpointSeq + 1;
  const effects = noEffects();
  effects.initiated.push(name);
  completeReady(d, effects);
  return {
    state: d,
    result: effects.completed.some((c) => c.name === name) ? 'complete' : 'pending',
    effects,
  };
}

/**
 * `reader` passed the marker of `name` with `positions` (offset of every segment it owns).
 * @returns 'recorded', or 'gone' when the checkpoint is no longer outstanding (cancelled, reset),
 *   or 'already' when the reader's part is in
 */
export function recordCheckpoint(
  state: GroupState,
  reader: string,
  session: string,
  name: string,
  positions: ReadonlyMap<SegmentKey, bigint>,
): Transition<'recorded' | 'gone' | 'already'> {
  requireMember(state, reader, session);
  const index = state.checkpoints.findIndex((c) => c.name === name);
  if (index < 0) return unchanged('gone');
  const checkpoint = state.checkpoints[index]!;
  if (!checkpoint.waitingFor.includes(reader)) return unchanged('already');
  const earlier = state.checkpoints.slice(0, index).find((c) => c.waitingFor.includes(reader));
  if (earlier !== undefined) {
    throw new TributaryError(
      'ILLEGAL_STATE',
      `reader ${reader} must pass checkpoint ${earlier.name} before ${name}`,
    );
  }
  const owned = segmentsOf(state, reader);
  const missing = owned.filter((k) => !positions.has(k));
  const foreign = [...positions.keys()].filter((k) => !owned.includes(k));
  if (missing.length > 0 || foreign.length > 0) {
    throw new TributaryError(
      'INTERNAL',
      `reader ${reader}'s part of checkpoint ${name} does not match the segments it owns`,
      { details: { missing, foreign } },
    );
  }
  const d = draftOf(state);
  const effects = noEffects();
  recordPart(d, index, reader, positions);
  const member = state.members.get(reader)!;
  d.members.set(reader, { ...member, passed: Math.max(member.passed, checkpoint.seq) });
  completeReady(d, effects);
  return { state: d, result: 'recorded', effects };
}

/** Cancels the outstanding checkpoints `which` picks (default: every one). @returns their names */
export function cancelCheckpoints(
  state: GroupState,
  which: (name: string) => boolean = () => true,
): Transition<string[]> {
  if (!state.checkpoints.some((c) => which(c.name))) return unchanged([]);
  const d = draftOf(state);
  const effects = noEffects();
  const names = d.checkpoints.filter((c) => which(c.name)).map((c) => c.name);
  d.checkpoints = d.checkpoints.filter((c) => !which(c.name));
  for (const name of names) {
    effects.cancelled.push(name);
    remember(d, name, effects);
  }
  return { state: d, result: names, effects };
}

/** Adds a reader's positions to outstanding checkpoint `index` and stops waiting for it. */
export function recordPart(
  d: Draft,
  index: number,
  reader: string,
  positions: ReadonlyMap<SegmentKey, bigint>,
): void {
  const c = d.checkpoints[index]!;
  const merged = new Map(c.positions);
  for (const [k, v] of positions) merged.set(k, v);
  d.checkpoints[index] = {
    name: c.name,
    seq: c.seq,
    waitingFor: c.waitingFor.filter((r) => r !== reader),
    positions: merged,
  };
}

/**
 * Completes, in order, the leading checkpoints that wait for nobody. When every segment has been
 * read to its end, readers still waited for own nothing (a reader a checkpoint waits for cannot
 * complete segments): their parts are empty and the checkpoints complete without them — readers
 * that reported the end need not be called again for later checkpoints.
 */
export function completeReady(d: Draft, effects: Effects): void {
  if (isEndOfData(d)) {
    d.checkpoints = d.checkpoints.map((c) => ({ ...c, waitingFor: [] }));
  }
  while (d.checkpoints.length > 0 && d.checkpoints[0]!.waitingFor.length === 0) {
    const c = d.checkpoints.shift()!;
    const done = { name: c.name, positions: c.positions };
    d.lastCheckpoint = done;
    effects.completed.push(done);
    remember(d, c.name, effects);
  }
}

function remember(d: Draft, name: string, effects: Effects): void {
  d.history.push(name);
  while (d.history.length > CHECKPOINT_HISTORY) effects.forgotten.push(d.history.shift()!);
}
