import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { clusterTableSegment } from '../../../src/cluster/coordination-table.js';
import { VersionWatch, beatSince } from '../../../src/cluster/liveness.js';
import { parseCheckpoint, parseLeader, parseMember } from '../../../src/cluster/records.js';

describe('cluster records', () => {
  it('parses what the core writes and rejects anything else with STATE_CORRUPT naming the key', () => {
    const m = {
      workerId: 'w',
      epoch: 2,
      host: 'h',
      pid: 3,
      joinedAt: 4,
      beat: 5,
      state: 'dead',
      deadBy: 'x',
    };
    expect(parseMember('member/w', m)).toEqual(m);
    expect(
      parseLeader('leader', { workerId: 'w', epoch: 1, term: 9, beat: 0, vacant: true }).vacant,
    ).toBe(true);
    for (const bad of [
      null,
      [],
      { ...m, epoch: -1 },
      { ...m, state: 'zombie' },
      { ...m, workerId: '' },
    ]) {
      let caught: unknown;
      try {
        parseMember('member/w', bad);
      } catch (err) {
        caught = err;
      }
      expect(TributaryError.is(caught, 'STATE_CORRUPT')).toBe(true);
      expect((caught as Error).message).toContain('"member/w"');
    }
    expect(() =>
      parseCheckpoint('checkpoint', { id: 1, term: 1, state: 'pending', members: {} }),
    ).toThrow(/members is not a list/);
  });

  it('names the table from scope and job, and refuses names a segment cannot carry', () => {
    expect(clusterTableSegment('s', 'my-job')).toBe('s/_tributary-cluster-my-job/0.#epoch.0');
    expect(() => clusterTableSegment('s', 'a/b')).toThrow(/invalid stream name/);
    expect(() => clusterTableSegment('s', 'x'.repeat(201))).toThrow(TributaryError);
  });
});

describe('VersionWatch', () => {
  it('measures how long a version has not changed, on the observer’s clock', () => {
    const w = new VersionWatch();
    expect(w.observe('k', 1n, 100)).toBe(0);
    expect(w.observe('k', 1n, 350)).toBe(250);
    expect(w.observe('k', 2n, 400)).toBe(0);
    expect(w.observe('k', 2n, 900)).toBe(500);
    w.forget('k');
    expect(w.observe('k', 2n, 1000)).toBe(0);
  });
});

describe('beatSince', () => {
  it('names the members that beat, re-joined or are new since the watch began; still ones are not', () => {
    const before = [
      { workerId: 'still', epoch: 1, beat: 5 },
      { workerId: 'beats', epoch: 1, beat: 5 },
      { workerId: 'rejoined', epoch: 1, beat: 9 },
    ];
    const now = [
      { workerId: 'still', epoch: 1, beat: 5 },
      { workerId: 'beats', epoch: 1, beat: 6 },
      { workerId: 'rejoined', epoch: 2, beat: 9 },
      { workerId: 'new', epoch: 1, beat: 0 },
    ];
    expect(beatSince(before, now).map((m) => m.workerId)).toEqual(['beats', 'rejoined', 'new']);
    expect(beatSince(now, now)).toEqual([]);
  });
});
