import { describe, expect, it } from 'vitest';
import {
  releaseSegments,
  surplusShare,
} from '../../../src/pravega/client/reader-group/assignment.js';
import { initiateCheckpoint } from '../../../src/pravega/client/reader-group/checkpoints.js';
import { segmentsOf } from '../../../src/pravega/client/reader-group/group-state.js';
import { removeReader } from '../../../src/pravega/client/reader-group/membership.js';
import {
  acquire,
  after,
  evenSegments,
  groupOf,
  session,
  withReaders,
} from './reader-group-fixtures.js';

describe('a reader taken offline at given positions (a dead worker of a cluster job)', () => {
  it('its segments go back at the given offsets, never before where it took them over', () => {
    let s = withReaders(groupOf(evenSegments(2)), 'b');
    s = acquire(s, 'b');
    s = withReaders(s, 'a');
    // b, above its share now, gives one segment back at 40; a takes it over there
    const [b0, b1] = segmentsOf(s, 'b');
    s = after(releaseSegments(s, 'b', session('b'), [{ key: b0!, offset: 40n }]));
    s = acquire(s, 'a');
    expect(s.assigned.get(b0!)).toEqual({ reader: 'a', acquiredAt: 40n });
    // a dies; the last completed checkpoint had b0 at 25 (b read it then): it restarts at 40;
    // b1 is still b's: b going offline at a checkpoint position above its start keeps that
    s = after(removeReader(s, 'a', new Map([[b0!, 25n]])));
    expect(s.unassigned.get(b0!)).toBe(40n);
    s = after(removeReader(s, 'b', new Map([[b1!, 70n]])));
    expect(s.unassigned.get(b1!)).toBe(70n);
  });
  it('the surplus is known while a checkpoint waits for the reader (releases gated on markers)', () => {
    let s = withReaders(groupOf(evenSegments(4)), 'a');
    s = acquire(s, 'a');
    s = withReaders(s, 'b');
    s = after(initiateCheckpoint(s, 'c1'));
    expect(surplusShare(s, 'a')).toBe(2);
  });
});
