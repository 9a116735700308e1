import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  acquireCount,
  acquireSegments,
  releaseSegments,
  surplusCount,
} from '../../../src/pravega/client/reader-group/assignment.js';
import {
  initiateCheckpoint,
  recordCheckpoint,
} from '../../../src/pravega/client/reader-group/checkpoints.js';
import {
  segmentsOf,
  type GroupState,
} from '../../../src/pravega/client/reader-group/group-state.js';
import { removeReader } from '../../../src/pravega/client/reader-group/membership.js';
import {
  after,
  evenSegments,
  expectConsistent,
  groupOf,
  session,
  withReaders,
  acquire,
} from './reader-group-fixtures.js';

function release(state: GroupState, reader: string): GroupState {
  const candidates = segmentsOf(state, reader).map((key) => ({ key, offset: 7n }));
  return releaseSegments(state, reader, session(reader), candidates).state ?? state;
}

function counts(state: GroupState): number[] {
  return [...state.members.keys()].map((r) => segmentsOf(state, r).length);
}

describe('reader group fair share', () => {
  it('two readers that join before anyone acquires split four segments two and two', () => {
    let s = withReaders(groupOf(evenSegments(4)), 'a', 'b');
    expect(acquireCount(s, 'a')).toBe(2);
    s = acquire(s, 'a');
    expect(acquireCount(s, 'b')).toBe(2);
    s = acquire(s, 'b');
    expect(counts(s)).toEqual([2, 2]);
    expect(s.unassigned.size).toBe(0);
    // each owns a disjoint share
    expect(new Set([...segmentsOf(s, 'a'), ...segmentsOf(s, 'b')]).size).toBe(4);
    expectConsistent(s);
  });

  it('an odd segment goes to one reader only, leaving the other its floor', () => {
    let s = withReaders(groupOf(evenSegments(5)), 'a', 'b');
    s = acquire(s, 'a');
    expect(segmentsOf(s, 'a')).toHaveLength(3);
    s = acquire(s, 'b');
    expect(counts(s).sort()).toEqual([2, 3]);
    expect(surplusCount(s, 'a')).toBe(0);
    expect(surplusCount(s, 'b')).toBe(0);
  });

  it('a reader that owns everything gives back the surplus when another joins, at the offsets it gives', () => {
    let s = acquire(withReaders(groupOf(evenSegments(4)), 'a'), 'a');
    expect(segmentsOf(s, 'a')).toHaveLength(4);
    s = withReaders(s, 'b');
    expect(acquireCount(s, 'b')).toBe(0); // nothing unassigned yet
    expect(surplusCount(s, 'a')).toBe(2);
    s = release(s, 'a');
    expect(segmentsOf(s, 'a')).toHaveLength(2);
    expect([...s.unassigned.values()]).toEqual([7n, 7n]);
    s = acquire(s, 'b');
    expect(counts(s)).toEqual([2, 2]);
    // b starts where a stopped
    for (const key of segmentsOf(s, 'b')) expect(s.assigned.get(key)?.acquiredAt).toBe(7n);
  });

  it('releases one segment at a time when a third reader is below its floor, and stops once it is not', () => {
    let s = withReaders(groupOf(evenSegments(4)), 'a', 'b');
    s = acquire(acquire(s, 'a'), 'b');
    s = withReaders(s, 'c'); // floor 1, ceiling 2: c has 0
    expect(surplusCount(s, 'a')).toBe(1);
    expect(surplusCount(s, 'b')).toBe(1);
    s = release(s, 'a');
    // the released segment makes up c's deficit: b keeps its two
    expect(surplusCount(s, 'b')).toBe(0);
    s = acquire(s, 'c');
    expect(counts(s)).toEqual([1, 2, 1]);
  });

  it('the segments of a reader that leaves go back and are taken up by the others', () => {
    let s = withReaders(groupOf(evenSegments(6)), 'a', 'b', 'c');
    for (const r of ['a', 'b', 'c']) s = acquire(s, r);
    expect(counts(s)).toEqual([2, 2, 2]);
    s = after(removeReader(s, 'b'));
    expect(s.unassigned.size).toBe(2);
    s = acquire(acquire(s, 'a'), 'c');
    expect(counts(s)).toEqual([3, 3]);
    expectConsistent(s);
  });

  it('a reader for which a checkpoint is pending gives nothing back until it recorded its part', () => {
    let s = acquire(withReaders(groupOf(evenSegments(4)), 'a'), 'a');
    s = withReaders(s, 'b');
    s = after(initiateCheckpoint(s, 'c1'));
    expect(surplusCount(s, 'a')).toBe(0);
    const candidates = segmentsOf(s, 'a').map((key) => ({ key, offset: 3n }));
    expect(releaseSegments(s, 'a', session('a'), candidates).state).toBeUndefined();
    s = after(
      recordCheckpoint(s, 'a', session('a'), 'c1', new Map(candidates.map((c) => [c.key, 3n]))),
    );
    expect(surplusCount(s, 'a')).toBe(2);
    expect(segmentsOf(release(s, 'a'), 'a')).toHaveLength(2);
  });

  it('a reader for which a checkpoint is pending does not acquire; one that joined later does', () => {
    let s = withReaders(groupOf(evenSegments(4)), 'a');
    s = after(initiateCheckpoint(s, 'c1'));
    expect(acquireCount(s, 'a')).toBe(0);
    expect(acquireSegments(s, 'a', session('a')).state).toBeUndefined();
    s = withReaders(s, 'late');
    expect(acquireCount(s, 'late')).toBeGreaterThan(0);
    s = acquire(s, 'late');
    expect(segmentsOf(s, 'late').length).toBeGreaterThan(0);
    // the seeded positions of the checkpoint cover what late took
    for (const key of segmentsOf(s, 'late'))
      expect(s.checkpoints[0]!.positions.has(key)).toBe(true);
  });

  it('any order of joins, acquires and releases settles with every segment owned and shares within one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 7 }),
        fc.array(fc.nat(), { minLength: 50, maxLength: 50 }),
        (segments, readers, choices) => {
          let s = groupOf(evenSegments(segments));
          const ids = Array.from({ length: readers }, (_, i) => `r${i}`);
          let joined = 0;
          // interleave joins with random acquire/release steps
          for (const c of choices) {
            if (joined < readers && c % 3 === 0) s = withReaders(s, ids[joined++]!);
            if (joined === 0) continue;
            const r = ids[c % joined]!;
            s = c % 2 === 0 ? acquire(s, r) : release(s, r);
            expectConsistent(s);
          }
          while (joined < readers) s = withReaders(s, ids[joined++]!);
          // then every reader keeps doing its upkeep until nothing changes
          for (let round = 0; round < 100; round++) {
            const before = s;
            for (const r of ids) s = acquire(release(s, r), r);
            if (s === before) break;
          }
          expectConsistent(s);
          expect(s.unassigned.size).toBe(0);
          const c = counts(s);
          expect(Math.max(...c) - Math.min(...c)).toBeLessThanOrEqual(1);
          for (const r of ids) {
            expect(acquireCount(s, r)).toBe(0);
            expect(surplusCount(s, r)).toBe(0);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
