import { TributaryError } from '../../../errors.js';
import { streamKey } from '../../controller/types.js';
import { parseSegmentName } from '../../protocol/index.js';
import { completeReady, pendingCheckpointFor } from './checkpoints.js';
import {
  draftOf,
  isEndOfData,
  noEffects,
  requireMember,
  unchanged,
  type GroupState,
  type KeyRange,
  type SegmentKey,
  type Transition,
} from './group-state.js';

/**
 * Segments read to their end, and their successors (pure).
 *
 * THE SUCCESSOR RULE. A successor becomes readable (unassigned, at offset 0) only once every one
 * of its predecessors has been read to the end, so that events of one routing key come out in the
 * order they were written. A predecessor counts as read when
 * - the group completed it, or
 * - the group will never read it because it lies before where the group started: no segment the
 *   group started from overlaps its key range and was created in the same or an earlier epoch.
 *   (Every key has one chain of segments over time; a start segment created no later than the
 *   predecessor and sharing a key with it is the predecessor itself or one of its ancestors, so the
 *   group reaches the predecessor. If there is none, the group starts after it on every key it
 *   has — e.g. a group reset to a cut that holds only the other side of a merge.)
 * A predecessor the group knows as owned, unassigned or future is never "before the start".
 *
 * Completed segments stay in the state while a future segment still names them as predecessor,
 * and for good when nothing follows them (a sealed stream's end, or a segment bounded by an end
 * cut): checkpoints and stream cuts then always cover every key of every stream.
 */

export interface SuccessorInfo {
  readonly key: SegmentKey;
  /** every segment that must be read to the end before this one */
  readonly predecessors: readonly SegmentKey[];
}

export interface SegmentCompletion {
  readonly key: SegmentKey;
  /** the offset the segment was read to */
  readonly end: bigint;
  /** its successors, or 'terminal' when nothing follows (end cut, or sealed stream) */
  readonly successors: readonly SuccessorInfo[] | 'terminal';
}

function overlaps(a: KeyRange, b: KeyRange): boolean {
  return a[0] < b[1] && b[0] < a[1];
}

function isKnown(state: GroupState, key: SegmentKey): boolean {
  return (
    state.assigned.has(key) ||
    state.unassigned.has(key) ||
    state.futures.has(key) ||
    state.completed.has(key)
  );
}

/** The predecessor lies before the segments the group started from (see the module comment). */
export function isBeforeStart(
  state: GroupState,
  predecessor: SegmentKey,
  range: KeyRange,
): boolean {
  const p = parseSegmentName(predecessor);
  const stream = streamKey(p);
  for (const [start, startRange] of state.startRanges) {
    const s = parseSegmentName(start);
    if (streamKey(s) !== stream) continue;
    if (s.epoch <= p.epoch && overlaps(startRange, range)) return false;
  }
  return true;
}

/**
 * Predecessors of the given successors that the state does not know: their key ranges are needed
 * to apply the successor rule.
 */
export function predecessorsToLocate(
  state: GroupState,
  completions: readonly SegmentCompletion[],
): SegmentKey[] {
  const completing = new Set(completions.map((c) => c.key));
  const out = new Set<SegmentKey>();
  for (const c of completions) {
    if (c.successors === 'terminal') continue;
    for (const s of c.successors) {
      if (isKnown(state, s.key)) continue;
      for (const p of s.predecessors) {
        if (!isKnown(state, p) && !completing.has(p)) out.add(p);
      }
    }
  }
  return [...out];
}

export interface CompletionResult {
  /** false: a checkpoint waits for the reader; nothing was changed */
  readonly done: boolean;
  /** successors that became readable */
  readonly activated: SegmentKey[];
}

/**
 * `reader` read these segments to their end.
 * @param ranges key ranges of the predecessors {@link predecessorsToLocate} named
 */
export function completeSegments(
  state: GroupState,
  reader: string,
  session: string,
  completions: readonly SegmentCompletion[],
  ranges: ReadonlyMap<SegmentKey, KeyRange>,
): Transition<CompletionResult> {
  requireMember(state, reader, session);
  if (completions.length === 0) return unchanged({ done: true, activated: [] });
  if (pendingCheckpointFor(state, reader) !== undefined) {
    return unchanged({ done: false, activated: [] });
  }
  const d = draftOf(state);
  const owned = completions.filter((c) => {
    const owner = state.assigned.get(c.key)?.reader;
    if (owner === reader) return true;
    // completed already (an earlier attempt of this very update was written): nothing to do
    if (owner === undefined && !state.unassigned.has(c.key) && !state.futures.has(c.key)) {
      return false;
    }
    throw new TributaryError(
      'INTERNAL',
      `reader ${reader} completes ${c.key}, which it does not own`,
    );
  });
  if (owned.length === 0) return unchanged({ done: true, activated: [] });
  for (const c of owned) {
    d.assigned.delete(c.key);
    const terminal = c.successors === 'terminal' || c.successors.length === 0;
    d.completed.set(c.key, { end: c.end, terminal });
  }
  for (const c of owned) {
    if (c.successors === 'terminal') continue;
    for (const s of c.successors) {
      const future = d.futures.get(s.key);
      if (future !== undefined) {
        if (!future.completedBy.includes(reader)) {
          d.futures.set(s.key, { ...future, completedBy: [...future.completedBy, reader] });
        }
        continue;
      }
      if (d.assigned.has(s.key) || d.unassigned.has(s.key) || d.completed.has(s.key)) continue;
      const waitingFor = s.predecessors.filter((p) => {
        if (d.completed.has(p)) return false;
        if (d.assigned.has(p) || d.unassigned.has(p) || d.futures.has(p)) return true;
        const range = ranges.get(p);
        if (range === undefined) {
          throw new TributaryError('INTERNAL', `no key range given for predecessor ${p}`);
        }
        return !isBeforeStart(state, p, range);
      });
      d.futures.set(s.key, {
        predecessors: [...s.predecessors],
        waitingFor,
        completedBy: [reader],
      });
    }
  }
  // the completed segments no longer hold anyone back
  const activated: SegmentKey[] = [];
  for (const [key, f] of d.futures) {
    const waitingFor = f.waitingFor.filter((p) => !d.completed.has(p));
    if (waitingFor.length === 0) {
      d.futures.delete(key);
      d.unassigned.set(key, 0n);
      if (state.config.handover === 'at-checkpoint' && f.completedBy.length > 0) {
        // the readers of its predecessors handed out events of its keys: see assignment.ts
        d.gates.set(key, { seq: d.checkpointSeq, owners: f.completedBy });
      }
      activated.push(key);
    } else if (waitingFor.length !== f.waitingFor.length) {
      d.futures.set(key, { ...f, waitingFor });
    }
  }
  // completed segments no future names any more are covered by their successors: forget them
  const named = new Set<SegmentKey>();
  for (const f of d.futures.values()) for (const p of f.predecessors) named.add(p);
  for (const [key, c] of d.completed) {
    if (!c.terminal && !named.has(key)) d.completed.delete(key);
  }
  const effects = noEffects();
  completeReady(d, effects); // the end of the data completes outstanding checkpoints
  return { state: d, result: { done: true, activated }, effects };
}

export { isEndOfData };
