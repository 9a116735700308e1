import { describe, expect, it } from 'vitest';
import {
  acquireCount,
  mayTake,
  releaseSegments,
} from '../../../src/pravega/client/reader-group/assignment.js';
import {
  initiateCheckpoint,
  recordCheckpoint,
} from '../../../src/pravega/client/reader-group/checkpoints.js';
import {
  completeSegments,
  type SegmentCompletion,
} from '../../../src/pravega/client/reader-group/completion.js';
import {
  segmentsOf,
  type GroupState,
  type KeyRange,
  type SegmentKey,
} from '../../../src/pravega/client/reader-group/group-state.js';
import { removeReader } from '../../../src/pravega/client/reader-group/membership.js';
import {
  after,
  evenSegments,
  groupOf,
  seg,
  session,
  withReaders,
  acquire,
} from './reader-group-fixtures.js';

/** Every reader online passes a new checkpoint (at the positions they stand: 1). */
function checkpointAll(state: GroupState, name: string): GroupState {
  let s = after(initiateCheckpoint(state, name));
  for (const r of [...s.members.keys()]) {
    const t = recordCheckpoint(
      s,
      r,
      session(r),
      name,
      new Map(segmentsOf(s, r).map((k) => [k, 1n])),
    );
    s = t.state ?? s;
  }
  return s;
}

function giveBack(state: GroupState, reader: string): GroupState {
  const candidates = segmentsOf(state, reader).map((key) => ({ key, offset: 5n }));
  return after(releaseSegments(state, reader, session(reader), candidates));
}

describe("reader group handover 'at-checkpoint'", () => {
  it('a segment given back waits until the taker has passed a checkpoint initiated after it', () => {
    let s = withReaders(groupOf(evenSegments(4), { handover: 'at-checkpoint' }), 'a');
    s = acquire(s, 'a'); // initial segments: no gate
    expect(segmentsOf(s, 'a')).toHaveLength(4);
    s = checkpointAll(s, 'c0'); // a passed c0 (seq 0) before b exists
    s = withReaders(s, 'b');
    s = giveBack(s, 'a');
    const given = [...s.unassigned.keys()];
    expect(given).toHaveLength(2);
    expect(s.gates.get(given[0]!)).toEqual({ seq: 1, owners: ['a'] });
    expect(acquireCount(s, 'b')).toBe(0);
    expect(mayTake(s, 'a', given[0]!)).toBe(true); // its own reader could take it back
    // a checkpoint initiated after the handover, once passed, opens the gate
    s = after(initiateCheckpoint(s, 'c1'));
    expect(acquireCount(s, 'b')).toBe(0); // initiated is not enough: b must pass it
    s = after(recordCheckpoint(s, 'b', session('b'), 'c1', new Map()));
    expect(acquireCount(s, 'b')).toBe(2);
    s = acquire(s, 'b');
    expect(segmentsOf(s, 'b').sort()).toEqual(given.sort());
    expect(s.gates.size).toBe(0);
    expect(s.assigned.get(given[0]!)?.acquiredAt).toBe(5n);
  });

  it('a reader that joined after the checkpoint passes the next one before it may take anything handed over', () => {
    let s = withReaders(groupOf(evenSegments(2), { handover: 'at-checkpoint' }), 'a');
    s = acquire(s, 'a');
    s = withReaders(s, 'b');
    s = giveBack(s, 'a');
    s = after(initiateCheckpoint(s, 'c1'));
    s = withReaders(s, 'late'); // not waited for by c1
    s = after(
      recordCheckpoint(s, 'a', session('a'), 'c1', new Map(segmentsOf(s, 'a').map((k) => [k, 1n]))),
    );
    s = after(recordCheckpoint(s, 'b', session('b'), 'c1', new Map()));
    expect(acquireCount(s, 'late')).toBe(0);
    expect(acquireCount(s, 'b')).toBe(1);
  });

  it('with the default handover, a segment given back is free at once', () => {
    let s = withReaders(groupOf(evenSegments(4)), 'a');
    s = acquire(s, 'a');
    s = withReaders(s, 'b');
    s = giveBack(s, 'a');
    expect(s.gates.size).toBe(0);
    expect(acquireCount(s, 'b')).toBe(2);
  });

  it('a reader taken offline leaves its segments free at once (its task is gone)', () => {
    let s = withReaders(groupOf(evenSegments(2), { handover: 'at-checkpoint' }), 'a', 'b');
    s = acquire(acquire(s, 'a'), 'b');
    s = after(removeReader(s, 'b'));
    expect(s.gates.size).toBe(0);
    expect(acquireCount(s, 'a')).toBe(1);
  });

  describe('successors', () => {
    // epoch 0: A [0, .5), B [.5, 1); epoch 1: A split into A1, A2; epoch 2: A2 + B merged into M
    const A = seg(0, 0);
    const B = seg(1, 0);
    const A1 = seg(2, 1);
    const A2 = seg(3, 1);
    const M = seg(4, 2);
    const ranges = new Map<SegmentKey, KeyRange>([
      [A, [0, 0.5]],
      [B, [0.5, 1]],
    ]);
    const successors: Record<string, SegmentCompletion['successors']> = {
      [A]: [
        { key: A1, predecessors: [A] },
        { key: A2, predecessors: [A] },
      ],
      [A2]: [{ key: M, predecessors: [A2, B] }],
      [B]: [{ key: M, predecessors: [A2, B] }],
    };

    function complete(state: GroupState, reader: string, key: SegmentKey): GroupState {
      return after(
        completeSegments(
          state,
          reader,
          session(reader),
          [{ key, end: 9n, successors: successors[key]! }],
          ranges,
        ),
      );
    }

    function start(): GroupState {
      let s = withReaders(
        groupOf(
          [
            [A, 0n, [0, 0.5]],
            [B, 0n, [0.5, 1]],
          ],
          { handover: 'at-checkpoint' },
        ),
        'a',
        'b',
      );
      s = acquire(acquire(s, 'a'), 'b');
      expect(segmentsOf(s, 'a')).toEqual([A]);
      return s;
    }

    it('the halves of a split go on with the reader that read the parent; others wait for a checkpoint', () => {
      const s = complete(start(), 'a', A);
      expect(s.gates.get(A1)).toEqual({ seq: 0, owners: ['a'] });
      expect(mayTake(s, 'a', A1)).toBe(true);
      expect(mayTake(s, 'b', A1)).toBe(false);
      const c = checkpointAll(s, 'c0');
      expect(mayTake(c, 'b', A1)).toBe(true);
    });

    it('a merge whose predecessors two readers read waits for a checkpoint for either of them', () => {
      let s = complete(start(), 'a', A);
      s = acquire(s, 'a'); // a takes A1 and A2 (its own)
      expect(segmentsOf(s, 'a').sort()).toEqual([A1, A2].sort());
      s = complete(s, 'a', A2);
      expect(s.futures.get(M)?.completedBy).toEqual(['a']);
      s = complete(s, 'b', B);
      expect(s.gates.get(M)).toEqual({ seq: 0, owners: ['a', 'b'] });
      expect(mayTake(s, 'a', M)).toBe(false);
      expect(mayTake(s, 'b', M)).toBe(false);
      s = checkpointAll(s, 'c0');
      expect(mayTake(s, 'a', M)).toBe(true);
      expect(mayTake(s, 'b', M)).toBe(true);
    });

    it('a successor whose predecessors were all read by one reader is free for it at once', () => {
      let s = withReaders(
        groupOf(
          [
            [A2, 0n, [0.25, 0.5]],
            [B, 0n, [0.5, 1]],
          ],
          { handover: 'at-checkpoint' },
        ),
        'a',
      );
      s = acquire(s, 'a');
      s = complete(s, 'a', A2);
      s = complete(s, 'a', B);
      expect(mayTake(s, 'a', M)).toBe(true);
      s = withReaders(s, 'b');
      expect(mayTake(s, 'b', M)).toBe(false);
    });
  });
});
