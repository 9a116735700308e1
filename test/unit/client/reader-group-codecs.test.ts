import { describe, expect, it } from 'vitest';
import { acquireSegments } from '../../../src/pravega/client/reader-group/assignment.js';
import { Checkpoint } from '../../../src/pravega/client/reader-group/checkpoint.js';
import { initiateCheckpoint } from '../../../src/pravega/client/reader-group/checkpoints.js';
import { decodeState, encodeState } from '../../../src/pravega/client/reader-group/group-state.js';
import { LivenessTracker } from '../../../src/pravega/client/reader-group/liveness.js';
import { parseReaderGroupConfig } from '../../../src/pravega/client/reader-group/reader-group-config.js';
import { streamCutToText } from '../../../src/pravega/client/stream-cut.js';
import {
  after,
  codeOf,
  evenSegments,
  groupOf,
  seg,
  session,
  withReaders,
} from './reader-group-fixtures.js';

const BIG = 2n ** 60n + 7n; // beyond what a double holds exactly

describe('reader group state codec', () => {
  it('round-trips a busy state, bigints included', () => {
    let s = withReaders(
      groupOf(evenSegments(3), {
        streams: [
          {
            stream: 'sc/st',
            end: { stream: { scope: 'sc', stream: 'st' }, positions: new Map([[0n, BIG]]) },
          },
        ],
      }),
      'a',
      'b',
    );
    s = acquireSegments(s, 'a', session('a')).state!;
    s = { ...s, unassigned: new Map([...s.unassigned].map(([k]) => [k, BIG])) };
    s = after(initiateCheckpoint(s, 'c1'));
    s = {
      ...s,
      futures: new Map([
        [seg(9, 1), { predecessors: [seg(0)], waitingFor: [seg(0)], completedBy: ['a'] }],
      ]),
      gates: new Map([[seg(2), { seq: 4, owners: ['b'] }]]),
      checkpointSeq: 5,
      completed: new Map([[seg(5), { end: BIG, terminal: true }]]),
      lastCheckpoint: { name: 'c0', positions: new Map([[seg(0), BIG]]) },
      history: ['c0'],
    };
    const back = decodeState(encodeState(s), 'test');
    expect(back).toEqual(s);
    expect(back.config.streams[0]!.end!.positions.get(0n)).toBe(BIG);
  });

  it('refuses a state that is not one, with STATE_CORRUPT', () => {
    expect(codeOf(() => decodeState(Buffer.from('{"v":2}'), 't'))).toBe('STATE_CORRUPT');
    expect(codeOf(() => decodeState(Buffer.from('garbage'), 't'))).toBe('STATE_CORRUPT');
  });
});

describe('reader group config', () => {
  it('fills defaults and accepts stream ids, cut objects and cut text', () => {
    const cut = { stream: { scope: 'sc', stream: 'b' }, positions: new Map([[1n, 10n]]) };
    const c = parseReaderGroupConfig({
      streams: [
        'sc/a',
        { stream: { scope: 'sc', stream: 'b' }, start: cut, end: streamCutToText(cut) },
      ],
    });
    expect(c.maxOutstandingCheckpoints).toBe(3);
    expect(c.refreshIntervalMs).toBe(100);
    expect(c.streams).toHaveLength(2);
    expect(c.streams[1]!.end!.positions.get(1n)).toBe(10n);
    expect(c.streams[0]!.start).toBeUndefined();
  });

  it('names the bad key', () => {
    const bad = (input: unknown) => {
      try {
        parseReaderGroupConfig(input);
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(bad({ streams: [] })).toMatch(/streams/);
    expect(bad({ streams: ['sc/a'], maxOutstandingCheckpoints: 0 })).toMatch(
      /maxOutstandingCheckpoints/,
    );
    expect(bad({ streams: ['sc/a'], heartbeatIntervalMs: 1000, readerTimeoutMs: 2000 })).toMatch(
      /readerTimeoutMs/,
    );
    expect(bad({ streams: ['sc/a', 'sc/a'] })).toMatch(/listed twice/);
    expect(bad({ streams: ['nostream'] })).toMatch(/streams\.0/);
    expect(bad({ streams: [{ stream: 'sc/a', start: 'not-a-cut' }] })).toMatch(/streams\.0\.start/);
    expect(
      bad({
        streams: [
          { stream: 'sc/a', start: { stream: { scope: 'sc', stream: 'b' }, positions: new Map() } },
        ],
      }),
    ).toMatch(/not of sc\/a/);
    expect(bad({ streams: ['sc/a'], surprise: 1 })).toMatch(/surprise|Unrecognized/);
    expect(codeOf(() => parseReaderGroupConfig({ streams: [] }))).toBe('CONFIG_INVALID');
  });
});

describe('checkpoint serialisation', () => {
  it('round-trips through text with offsets beyond 2^53, and yields one stream cut per stream', () => {
    const cp = new Checkpoint(
      'sc/g',
      'chk-7',
      new Map([
        [
          'sc/a',
          new Map([
            [0n, BIG],
            [(1n << 32n) | 3n, 5n],
          ]),
        ],
        ['other/b', new Map([[2n, 0n]])],
      ]),
    );
    const text = cp.toText();
    expect(text).toContain(BIG.toString());
    const back = Checkpoint.parse(text);
    expect(back.name).toBe('chk-7');
    expect(back.readerGroup).toBe('sc/g');
    expect(back.positions).toEqual(cp.positions);
    expect(back.streamCut('sc/a')).toEqual({
      stream: { scope: 'sc', stream: 'a' },
      positions: new Map([
        [0n, BIG],
        [(1n << 32n) | 3n, 5n],
      ]),
    });
    expect([...back.streamCuts.keys()]).toEqual(['sc/a', 'other/b']);
    expect(Checkpoint.fromJSON(JSON.parse(JSON.stringify(cp)))).toEqual(back);
  });

  it('groups segment positions by stream', () => {
    const cp = Checkpoint.fromSegments(
      'sc/g',
      'c',
      new Map([
        [seg(0), 1n],
        [seg(1, 2), 2n],
        [seg(0, 0, 'z'), 3n],
      ]),
      [
        { scope: 'sc', stream: 'st' },
        { scope: 'sc', stream: 'z' },
      ],
    );
    expect(cp.positions).toEqual(
      new Map([
        [
          'sc/st',
          new Map([
            [0n, 1n],
            [(2n << 32n) | 1n, 2n],
          ]),
        ],
        ['sc/z', new Map([[0n, 3n]])],
      ]),
    );
  });

  it('refuses text that is not a checkpoint', () => {
    expect(codeOf(() => Checkpoint.parse('{'))).toBe('ILLEGAL_ARGUMENT');
    expect(
      codeOf(() =>
        Checkpoint.parse('{"v":1,"readerGroup":"a/b","name":"x","streams":{"a/b":[["1","-2"]]}}'),
      ),
    ).toBe('ILLEGAL_ARGUMENT');
    expect(
      codeOf(() => Checkpoint.parse('{"v":1,"readerGroup":"a/b","name":"x","streams":{"ab":[]}}')),
    ).toBe('ILLEGAL_ARGUMENT');
  });
});

describe('liveness tracker', () => {
  it('declares a reader dead only after its record stayed unchanged for the timeout', () => {
    const t = new LivenessTracker(1000);
    expect(
      t.observe(
        new Map([
          ['a', 1n],
          ['b', 1n],
        ]),
        0,
      ),
    ).toEqual([]);
    expect(
      t.observe(
        new Map([
          ['a', 2n],
          ['b', 1n],
        ]),
        900,
      ),
    ).toEqual([]);
    expect(
      t.observe(
        new Map([
          ['a', 3n],
          ['b', 1n],
        ]),
        1001,
      ),
    ).toEqual([{ reader: 'b', version: 1n }]);
    // a heartbeat resets the clock
    expect(
      t.observe(
        new Map([
          ['a', 3n],
          ['b', 2n],
        ]),
        1500,
      ),
    ).toEqual([]);
    expect(
      t.observe(
        new Map([
          ['a', 3n],
          ['b', 2n],
        ]),
        2100,
      ),
    ).toEqual([{ reader: 'a', version: 3n }]);
  });

  it('forgets readers no longer listed, and treats a missing record like any other version', () => {
    const t = new LivenessTracker(100);
    t.observe(new Map([['a', 1n]]), 0);
    t.observe(new Map(), 50);
    expect(t.observe(new Map([['a', 1n]]), 120)).toEqual([]); // seen afresh at 120
    expect(t.observe(new Map([['c', undefined]]), 0)).toEqual([]);
    expect(t.observe(new Map([['c', undefined]]), 101)).toEqual([
      { reader: 'c', version: undefined },
    ]);
  });
});
