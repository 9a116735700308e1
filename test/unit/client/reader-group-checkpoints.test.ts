import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_HISTORY,
  positionsOf,
  segmentsOf,
  type GroupState,
  type SegmentKey,
} from '../../../src/pravega/client/reader-group/group-state.js';
import {
  cancelCheckpoints,
  initiateCheckpoint,
  pendingCheckpointFor,
  recordCheckpoint,
} from '../../../src/pravega/client/reader-group/checkpoints.js';
import { completeSegments } from '../../../src/pravega/client/reader-group/completion.js';
import { removeReader } from '../../../src/pravega/client/reader-group/membership.js';
import {
  after,
  codeOf,
  evenSegments,
  expectConsistent,
  groupOf,
  seg,
  session,
  withReaders,
  acquire,
} from './reader-group-fixtures.js';

/** The reader's segments, each at `offset`. */
function at(state: GroupState, reader: string, offset: bigint): Map<SegmentKey, bigint> {
  return new Map(segmentsOf(state, reader).map((k) => [k, offset]));
}

function record(
  state: GroupState,
  reader: string,
  name: string,
  positions: ReadonlyMap<SegmentKey, bigint>,
) {
  return recordCheckpoint(state, reader, session(reader), name, positions);
}

function sorted(values: Iterable<bigint>): bigint[] {
  return [...values].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

/** Two readers with two segments each, one more segment unassigned. */
function busyGroup(): GroupState {
  let s = withReaders(groupOf(evenSegments(4)), 'a', 'b');
  s = acquire(acquire(s, 'a'), 'b');
  // b gives one back so that one is unassigned (at 40)
  const [first] = segmentsOf(s, 'b');
  const d = {
    ...s,
    assigned: new Map([...s.assigned].filter(([k]) => k !== first)),
    unassigned: new Map([[first!, 40n]]),
  };
  return d;
}

describe('reader group checkpoints', () => {
  it('waits for every reader online, seeds unassigned segments, and completes with every position', () => {
    let s = busyGroup();
    const t = initiateCheckpoint(s, 'c1');
    expect(t.result).toBe('pending');
    expect(t.effects.initiated).toEqual(['c1']);
    s = after(t);
    expect(s.checkpoints[0]!.waitingFor).toEqual(['a', 'b']);
    expect([...s.checkpoints[0]!.positions.values()]).toEqual([40n]);
    expect(pendingCheckpointFor(s, 'a')).toBe('c1');

    const ra = record(s, 'a', 'c1', at(s, 'a', 10n));
    expect(ra.result).toBe('recorded');
    expect(ra.effects.completed).toEqual([]);
    s = after(ra);
    expect(pendingCheckpointFor(s, 'a')).toBeUndefined();
    expect(record(s, 'a', 'c1', at(s, 'a', 11n)).result).toBe('already');

    const rb = record(s, 'b', 'c1', at(s, 'b', 20n));
    s = after(rb);
    expect(rb.effects.completed).toHaveLength(1);
    const done = rb.effects.completed[0]!;
    expect(done.name).toBe('c1');
    expect(done.positions.size).toBe(4);
    expect(sorted(done.positions.values())).toEqual([10n, 10n, 20n, 40n]);
    expect(s.checkpoints).toEqual([]);
    expect(s.lastCheckpoint?.name).toBe('c1');
    expect(s.history).toEqual(['c1']);
  });

  it('completes at once when no reader is online', () => {
    const s = groupOf(evenSegments(3));
    const t = initiateCheckpoint(s, 'idle');
    expect(t.result).toBe('complete');
    expect(t.effects.completed[0]!.positions).toEqual(
      new Map(evenSegments(3).map(([k]) => [k, 0n])),
    );
  });

  it('bounds outstanding checkpoints, keeps names unique, and cancels them all', () => {
    let s = groupOf(evenSegments(2), { maxOutstandingCheckpoints: 2 });
    s = withReaders(s, 'a');
    s = after(initiateCheckpoint(s, 'c1'));
    expect(codeOf(() => initiateCheckpoint(s, 'c1'))).toBe('ILLEGAL_ARGUMENT');
    s = after(initiateCheckpoint(s, 'c2'));
    expect(codeOf(() => initiateCheckpoint(s, 'c3'))).toBe('CHECKPOINT_LIMIT');
    const cancel = cancelCheckpoints(s);
    expect(cancel.result).toEqual(['c1', 'c2']);
    expect(cancel.effects.cancelled).toEqual(['c1', 'c2']);
    s = after(cancel);
    expect(pendingCheckpointFor(s, 'a')).toBeUndefined();
    // cancelled names stay used; new ones go
    expect(codeOf(() => initiateCheckpoint(s, 'c2'))).toBe('ILLEGAL_ARGUMENT');
    s = after(initiateCheckpoint(s, 'c3'));
    // a reader that passes a cancelled marker records nothing
    expect(record(s, 'a', 'c1', at(s, 'a', 0n)).result).toBe('gone');
    expect(codeOf(() => initiateCheckpoint(s, ''))).toBe('ILLEGAL_ARGUMENT');
  });

  it('cancels only the outstanding checkpoints picked by name, the others stay', () => {
    let s = groupOf(evenSegments(2), { maxOutstandingCheckpoints: 3 });
    s = withReaders(s, 'a');
    s = after(initiateCheckpoint(s, 'chk-4-x'));
    s = after(initiateCheckpoint(s, 'chk-5-x'));
    const older = (name: string): boolean => Number(name.split('-')[1]) <= 4;
    const cancel = cancelCheckpoints(s, older);
    expect(cancel.result).toEqual(['chk-4-x']);
    expect(cancel.effects.cancelled).toEqual(['chk-4-x']);
    s = after(cancel);
    // the newer one is still what the reader is to pass next, and completes
    expect(pendingCheckpointFor(s, 'a')).toBe('chk-5-x');
    expect(record(s, 'a', 'chk-5-x', at(s, 'a', 0n)).result).toBe('recorded');
    // nothing picked: no change
    expect(cancelCheckpoints(s, older).result).toEqual([]);
  });

  it('forgets names beyond the history, reporting them so their records can go', () => {
    let s = groupOf(evenSegments(1));
    const forgotten: string[] = [];
    for (let i = 0; i < CHECKPOINT_HISTORY + 3; i++) {
      const t = initiateCheckpoint(s, `c${i}`);
      forgotten.push(...t.effects.forgotten);
      s = after(t);
    }
    expect(forgotten).toEqual(['c0', 'c1', 'c2']);
    expect(s.history).toHaveLength(CHECKPOINT_HISTORY);
  });

  it('a reader must pass checkpoints in order, and record exactly the segments it owns', () => {
    let s = busyGroup();
    s = after(initiateCheckpoint(s, 'c1'));
    s = after(initiateCheckpoint(s, 'c2'));
    expect(codeOf(() => record(s, 'a', 'c2', at(s, 'a', 1n)))).toBe('ILLEGAL_STATE');
    const partial = new Map([...at(s, 'a', 1n)].slice(1));
    expect(codeOf(() => record(s, 'a', 'c1', partial))).toBe('INTERNAL');
    const foreign = new Map([...at(s, 'a', 1n), [seg(99), 1n]]);
    expect(codeOf(() => record(s, 'a', 'c1', foreign))).toBe('INTERNAL');
    expect(codeOf(() => recordCheckpoint(s, 'a', 'stale-session', 'c1', at(s, 'a', 1n)))).toBe(
      'READER_NOT_IN_GROUP',
    );
    // checkpoints complete in initiation order
    s = after(record(s, 'a', 'c1', at(s, 'a', 1n)));
    s = after(record(s, 'a', 'c2', at(s, 'a', 2n)));
    const b1 = record(s, 'b', 'c1', at(s, 'b', 5n));
    expect(b1.effects.completed.map((c) => c.name)).toEqual(['c1']);
    s = after(b1);
    const b2 = record(s, 'b', 'c2', at(s, 'b', 6n));
    expect(b2.effects.completed.map((c) => c.name)).toEqual(['c2']);
    expect(after(b2).lastCheckpoint?.name).toBe('c2');
  });

  it('a reader that joins after initiation is not waited for', () => {
    let s = withReaders(groupOf(evenSegments(2)), 'a');
    s = acquire(s, 'a');
    s = after(initiateCheckpoint(s, 'c1'));
    s = withReaders(s, 'late');
    expect(pendingCheckpointFor(s, 'late')).toBeUndefined();
    const t = record(s, 'a', 'c1', at(s, 'a', 9n));
    expect(t.effects.completed.map((c) => c.name)).toEqual(['c1']);
  });

  it('a reader taken offline while a checkpoint waits for it has its part filled from its last position', () => {
    let s = busyGroup();
    s = after(initiateCheckpoint(s, 'c1'));
    s = after(record(s, 'a', 'c1', at(s, 'a', 10n)));
    const bSegments = segmentsOf(s, 'b');
    const t = removeReader(s, 'b', new Map(bSegments.map((k) => [k, 33n])));
    expect(t.result).toBe(true);
    expect(t.effects.completed).toHaveLength(1);
    expect(t.effects.completed[0]!.positions.get(bSegments[0]!)).toBe(33n);
    s = after(t);
    expect(s.unassigned.get(bSegments[0]!)).toBe(33n);
    expect(s.members.has('b')).toBe(false);
    expectConsistent(s);
  });

  it('without a position, a reader goes offline at the last completed checkpoint, never before it took a segment over', () => {
    let s = withReaders(groupOf(evenSegments(2)), 'a', 'b');
    s = acquire(acquire(s, 'a'), 'b');
    const [aSeg] = segmentsOf(s, 'a');
    const [bSeg] = segmentsOf(s, 'b');
    s = after(initiateCheckpoint(s, 'c1'));
    s = after(record(s, 'a', 'c1', new Map([[aSeg!, 100n]])));
    s = after(record(s, 'b', 'c1', new Map([[bSeg!, 200n]])));
    // b gives its segment to a at 250 (after the checkpoint)
    s = {
      ...s,
      assigned: new Map([
        [aSeg!, { reader: 'a', acquiredAt: 0n }],
        [bSeg!, { reader: 'a', acquiredAt: 250n }],
      ]),
    };
    s = after(initiateCheckpoint(s, 'c2'));
    const t = removeReader(s, 'a');
    s = after(t);
    expect(s.unassigned.get(aSeg!)).toBe(100n); // the checkpoint's position
    expect(s.unassigned.get(bSeg!)).toBe(250n); // not 200: a never read before 250
    // c2 waited for a and b; b is still online
    expect(s.checkpoints[0]!.waitingFor).toEqual(['b']);
    expect(s.checkpoints[0]!.positions.get(aSeg!)).toBe(100n);
    expect(removeReader(s, 'a').result).toBe(false);
  });

  it('a reader with a pending checkpoint may not complete segments until it recorded its part', () => {
    let s = withReaders(groupOf(evenSegments(1)), 'a');
    s = acquire(s, 'a');
    s = after(initiateCheckpoint(s, 'c1'));
    const completion = [{ key: seg(0), end: 500n, successors: 'terminal' as const }];
    const blocked = completeSegments(s, 'a', session('a'), completion, new Map());
    expect(blocked.state).toBeUndefined();
    expect(blocked.result.done).toBe(false);
    s = after(record(s, 'a', 'c1', new Map([[seg(0), 500n]])));
    const done = completeSegments(s, 'a', session('a'), completion, new Map());
    expect(done.result.done).toBe(true);
  });

  it('positions of the group cover unassigned, owned and completed segments', () => {
    const s = busyGroup();
    const reported = new Map(segmentsOf(s, 'a').map((k) => [k, 77n]));
    const p = positionsOf(s, reported);
    expect(p.size).toBe(4);
    expect(sorted(p.values())).toEqual([0n, 40n, 77n, 77n]);
  });
  it('once every segment is read to its end, checkpoints wait for nobody', () => {
    let s = withReaders(groupOf(evenSegments(1)), 'a', 'idle');
    s = acquire(s, 'a');
    s = after(initiateCheckpoint(s, 'c1'));
    s = after(record(s, 'a', 'c1', new Map([[seg(0), 10n]])));
    expect(s.checkpoints[0]!.waitingFor).toEqual(['idle']); // owns nothing, still waited for
    const end = completeSegments(
      s,
      'a',
      session('a'),
      [{ key: seg(0), end: 10n, successors: 'terminal' }],
      new Map(),
    );
    // the last segment is done: c1 completes without the idle reader
    expect(end.effects.completed.map((c) => c.name)).toEqual(['c1']);
    expect(end.effects.completed[0]!.positions).toEqual(new Map([[seg(0), 10n]]));
    s = after(end);
    const next = initiateCheckpoint(s, 'final');
    expect(next.result).toBe('complete');
    expect(next.effects.completed[0]!.positions).toEqual(new Map([[seg(0), 10n]]));
  });
});
