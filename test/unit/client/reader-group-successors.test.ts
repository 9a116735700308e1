import { describe, expect, it } from 'vitest';
import { acquireSegments } from '../../../src/pravega/client/reader-group/assignment.js';
import {
  initiateCheckpoint,
  recordCheckpoint,
} from '../../../src/pravega/client/reader-group/checkpoints.js';
import {
  completeSegments,
  isBeforeStart,
  isEndOfData,
  predecessorsToLocate,
  type SegmentCompletion,
} from '../../../src/pravega/client/reader-group/completion.js';
import {
  positionsOf,
  segmentsOf,
  type GroupState,
  type KeyRange,
  type SegmentKey,
} from '../../../src/pravega/client/reader-group/group-state.js';
import {
  after,
  codeOf,
  expectConsistent,
  groupOf,
  seg,
  session,
  withReaders,
} from './reader-group-fixtures.js';

/*
 * The stream used here:
 *   epoch 0: A [0, .5)   B [.5, 1)
 *   epoch 1: A split into A1 [0, .25) and A2 [.25, .5)          (B continues)
 *   epoch 2: A2 and B merged into M [.25, 1)                     (A1 continues)
 */
const A = seg(0, 0);
const B = seg(1, 0);
const A1 = seg(2, 1);
const A2 = seg(3, 1);
const M = seg(4, 2);
const RANGES: Record<string, KeyRange> = {
  [A]: [0, 0.5],
  [B]: [0.5, 1],
  [A1]: [0, 0.25],
  [A2]: [0.25, 0.5],
  [M]: [0.25, 1],
};
const SUCCESSORS: Record<string, { key: SegmentKey; predecessors: SegmentKey[] }[]> = {
  [A]: [
    { key: A1, predecessors: [A] },
    { key: A2, predecessors: [A] },
  ],
  [A2]: [{ key: M, predecessors: [A2, B] }],
  [B]: [{ key: M, predecessors: [A2, B] }],
  [A1]: [],
  [M]: [],
};
const LENGTH: Record<string, bigint> = { [A]: 100n, [B]: 200n, [A1]: 30n, [A2]: 40n, [M]: 50n };

/** Reader `r` owning everything it can, then completing `key` (with its successors). */
function complete(state: GroupState, reader: string, key: SegmentKey): GroupState {
  const s = own(state, reader);
  const c: SegmentCompletion = { key, end: LENGTH[key]!, successors: SUCCESSORS[key]! };
  const needed = predecessorsToLocate(s, [c]);
  const ranges = new Map(needed.map((k) => [k, RANGES[k]!]));
  const t = completeSegments(s, reader, session(reader), [c], ranges);
  expect(t.result.done).toBe(true);
  const next = after(t);
  expectConsistent(next);
  return next;
}

function own(state: GroupState, reader: string): GroupState {
  return acquireSegments(state, reader, session(reader)).state ?? state;
}

function start(...segments: SegmentKey[]): GroupState {
  return withReaders(groupOf(segments.map((k) => [k, 0n, RANGES[k]!] as const)), 'r');
}

describe('reader group successor rule', () => {
  it('a split makes both halves readable once the parent is read, and forgets the parent', () => {
    let s = complete(start(A, B), 'r', A);
    expect([...s.unassigned.keys()].sort()).toEqual([A1, A2].sort());
    expect(s.unassigned.get(A1)).toBe(0n);
    expect(s.completed.has(A)).toBe(false);
    s = own(s, 'r');
    expect(segmentsOf(s, 'r').sort()).toEqual([A1, A2, B].sort());
  });

  it('a merge waits for every predecessor; the one read first stays in the positions at its end', () => {
    let s = complete(complete(start(A, B), 'r', A), 'r', A2);
    expect(s.futures.get(M)).toEqual({
      predecessors: [A2, B],
      waitingFor: [B],
      completedBy: ['r'],
    });
    expect(s.unassigned.has(M)).toBe(false);
    // a checkpoint now covers every key: A1, B and the completed A2 at its end
    const p = positionsOf(s);
    expect(p.get(A2)).toBe(40n);
    expect(p.has(B)).toBe(true);
    expect(p.has(A1) || s.assigned.has(A1)).toBe(true);
    s = complete(s, 'r', B);
    expect(s.unassigned.get(M)).toBe(0n);
    expect(s.futures.size).toBe(0);
    expect(s.completed.has(A2)).toBe(false);
    expect(s.completed.has(B)).toBe(false);
  });

  it('the other order of a merge gives the same result', () => {
    let s = complete(complete(start(A, B), 'r', A), 'r', B);
    expect(s.futures.get(M)?.waitingFor).toEqual([A2]);
    s = complete(s, 'r', A2);
    expect(s.unassigned.has(M)).toBe(true);
  });

  it('a group reset to a checkpoint taken in the middle of the merge reads the merged segment after its other predecessor', () => {
    // the checkpoint of the state above: A1 0, A2 at its end (kept), B at 120
    let s = withReaders(
      groupOf([
        [A1, 0n, RANGES[A1]!],
        [A2, 40n, RANGES[A2]!],
        [B, 120n, RANGES[B]!],
      ]),
      'r',
    );
    s = complete(s, 'r', A2);
    expect(s.futures.get(M)?.waitingFor).toEqual([B]);
    s = complete(s, 'r', B);
    expect(s.unassigned.has(M)).toBe(true);
  });

  it('a predecessor before the start counts as read (a start cut that holds only one side of a merge)', () => {
    // started at B and A1 only (e.g. positions from a client that drops completed segments)
    expect(isBeforeStart(start(A1, B), A2, RANGES[A2]!)).toBe(true);
    let s = start(A1, B);
    const c: SegmentCompletion = { key: B, end: 200n, successors: SUCCESSORS[B]! };
    expect(predecessorsToLocate(own(s, 'r'), [c])).toEqual([A2]);
    // without its range the rule cannot be applied
    expect(codeOf(() => completeSegments(own(s, 'r'), 'r', session('r'), [c], new Map()))).toBe(
      'INTERNAL',
    );
    s = complete(s, 'r', B);
    expect(s.unassigned.has(M)).toBe(true);
  });

  it('a predecessor the group will reach later is waited for, though the group does not know it yet', () => {
    // started at A and B: A2 (a child of A) is unknown when B completes
    expect(isBeforeStart(start(A, B), A2, RANGES[A2]!)).toBe(false);
    let s = complete(start(A, B), 'r', B);
    expect(s.futures.get(M)?.waitingFor).toEqual([A2]);
    s = complete(s, 'r', A);
    expect(s.futures.has(M)).toBe(true);
    s = complete(s, 'r', A2);
    expect(s.unassigned.has(M)).toBe(true);
  });

  it('a predecessor in another stream or a later epoch is not "before" a start segment', () => {
    const s = start(A, B);
    expect(isBeforeStart(s, seg(0, 0, 'other'), [0, 1])).toBe(true);
    expect(isBeforeStart(s, M, RANGES[M]!)).toBe(false);
  });

  it('sealed ends and end cuts stay completed for good; then the group is at the end of its data', () => {
    let s = complete(complete(complete(start(A, B), 'r', A), 'r', A2), 'r', B);
    s = complete(s, 'r', A1); // no successors: the stream is sealed there
    expect(s.completed.get(A1)).toEqual({ end: 30n, terminal: true });
    expect(isEndOfData(s)).toBe(false);
    s = own(s, 'r');
    const t = completeSegments(
      s,
      'r',
      session('r'),
      [{ key: M, end: 25n, successors: 'terminal' }],
      new Map(),
    );
    s = after(t);
    expect(isEndOfData(s)).toBe(true);
    // the final positions still name every key range
    expect(positionsOf(s)).toEqual(
      new Map([
        [A1, 30n],
        [M, 25n],
      ]),
    );
  });

  it('completing a segment twice (a retried write) changes nothing; completing another reader’s fails', () => {
    let s = complete(start(A, B), 'r', A);
    const again = completeSegments(
      s,
      'r',
      session('r'),
      [{ key: A, end: 100n, successors: SUCCESSORS[A]! }],
      new Map(),
    );
    expect(again.state).toBeUndefined();
    s = withReaders(s, 'q');
    s = own(s, 'r');
    const bOwner = s.assigned.get(B)?.reader;
    const other = bOwner === 'r' ? 'q' : 'r';
    expect(
      codeOf(() =>
        completeSegments(
          s,
          other,
          session(other),
          [{ key: B, end: 1n, successors: [] }],
          new Map(),
        ),
      ),
    ).toBe('INTERNAL');
  });

  it('a checkpoint during a merge records the completed predecessor at its end', () => {
    let s = complete(complete(start(A, B), 'r', A), 'r', A2);
    s = after(initiateCheckpoint(s, 'mid-merge'));
    const positions = new Map(segmentsOf(s, 'r').map((k) => [k, 5n]));
    const t = recordCheckpoint(s, 'r', session('r'), 'mid-merge', positions);
    const done = t.effects.completed[0]!;
    expect(done.positions.get(A2)).toBe(40n);
    expect([...done.positions.keys()].sort()).toEqual([A1, A2, B].sort());
  });
});
