import { describe, expect, it } from 'vitest';
import { encodeState } from '../../../../src/checkpoint/state-codec.js';
import { edgeSegmentControls } from '../../../../src/cluster/exchange/edge-key-groups.js';
import type { Received } from '../../../../src/cluster/exchange/envelope.js';
import type { KeyGroupControl } from '../../../../src/runtime/key-group-control.js';
import { MAX_WATERMARK, MIN_WATERMARK } from '../../../../src/runtime/stream-element.js';
import type { KeyGroupStatesOf } from '../../../../src/source/source.js';

/** S = 4 segments over K = 16 key groups: segment i carries [4i, 4i + 4). */
const EDGE = { edgeUid: 'by-key', segments: 4, keyGroups: 16, eventTime: true };
const seg = (i: number) => `sc/_tributary-x-job-by-key/${i}.#epoch.0`;
const at = (i: number, offset = 0n) => ({ segment: seg(i), offset });

function harness(states: (groups: { start: number; end: number }) => KeyGroupStatesOf | undefined) {
  const owned: string[] = [];
  const loads: string[] = [];
  const controls = edgeSegmentControls(
    EDGE,
    'by-key/0',
    {
      keyGroupStates: (groups) => {
        loads.push(`${groups.start}..${groups.end}`);
        return Promise.resolve(states(groups));
      },
      keyGroupsOwned: (reader, id, ranges) =>
        owned.push(`${reader}@${id}: ${ranges.map(([a, b]) => `${a}-${b}`).join(' ')}`),
    },
    5_000,
  );
  return { controls, owned, loads };
}

const shape = (c: KeyGroupControl | undefined) =>
  c === undefined
    ? undefined
    : `${c.kind} ${c.keyGroups.map((k) => `${k.start}-${k.end}`).join(' ')}${'watermark' in c && c.watermark !== undefined ? ` wm ${c.watermark}` : ''}`;

function watermark(segment: number, sender: number, senders: number, wm: number, idle = false) {
  return {
    kind: 'watermark',
    segment: seg(segment),
    sender: String(sender),
    live: `n=${senders}`,
    checkpoint: 0,
    watermark: wm,
    idle,
  } as Received<unknown>;
}

describe('exchange receiver in a cluster: key group controls of its segments', () => {
  it('adopts the key groups of the segments it takes over, with their state as of the latest completed checkpoint', async () => {
    const { controls, loads } = harness((g) =>
      g.start === 4
        ? {
            checkpointId: 7,
            operators: new Map([['count', [[5, encodeState({ state: 41, timers: [] })]] as const]]),
          }
        : undefined,
    );
    const adopt = await controls.acquired([at(1), at(3)]);
    expect(loads).toEqual(['4..8', '12..16']);
    expect(shape(adopt)).toBe(`adopt 4-8 12-16 wm ${MIN_WATERMARK}`);
    expect(adopt?.kind === 'adopt' && adopt.checkpointId).toBe(7);
    expect(adopt?.kind === 'adopt' && adopt.state.get('count')?.get(5)).toEqual({
      state: 41,
      timers: [],
    });
  });

  it('names at each marker the key groups it reads, and those frozen at that very marker only', async () => {
    const { controls, owned } = harness(() => undefined);
    await controls.acquired([at(0), at(1), at(2)]);
    controls.marker?.(1);
    // segment 2 frozen at marker 2: its state of 2 is its state at 2's positions
    expect(shape(controls.held([seg(2)], 2))).toBe('suspend 8-12');
    controls.marker?.(2);
    // at 3 it is still frozen: the record carries 2's state forward; the next owner may name it
    controls.marker?.(3);
    // given back: dropped
    expect(shape(controls.released([at(2, 99n)], 2))).toBe('drop 8-12');
    controls.marker?.(4);
    // frozen again, then kept (the marker's checkpoint never counted): named again
    expect(shape(controls.held([seg(1)], 5))).toBe('suspend 4-8');
    controls.marker?.(5);
    controls.marker?.(6);
    expect(shape(controls.kept([seg(1)]))).toBe('resume 4-8');
    controls.marker?.(7);
    expect(owned).toEqual([
      'by-key/0@1: 0-12',
      'by-key/0@2: 0-12',
      'by-key/0@3: 0-8',
      'by-key/0@4: 0-8',
      'by-key/0@5: 0-8',
      'by-key/0@6: 0-4',
      'by-key/0@7: 0-8',
    ]);
  });

  it('moves the floor of a taken-over segment with the watermarks of all its senders, never down', async () => {
    const { controls } = harness(() => undefined);
    await controls.acquired([at(1)]);
    const read = (items: Received<unknown>[]) => (controls.read?.(items) ?? []).map(shape);
    // one of two senders heard: no floor yet; records and other segments do not count
    expect(
      read([
        { kind: 'record', value: 1, timestamp: 5 },
        watermark(1, 0, 2, 100),
        watermark(0, 0, 2, 500),
        watermark(0, 1, 2, 500),
      ]),
    ).toEqual([]);
    expect(read([watermark(1, 1, 2, 80)])).toEqual(['advance 4-8 wm 80']);
    expect(read([watermark(1, 1, 2, 150)])).toEqual(['advance 4-8 wm 100']);
    // an idle sender does not hold it back; nothing moves down
    expect(read([watermark(1, 0, 2, 90, true)])).toEqual(['advance 4-8 wm 150']);
    expect(read([watermark(1, 0, 2, 120)])).toEqual([]);
    // given back: no floor kept for it
    controls.released([at(1)], 3);
    expect(read([watermark(1, 0, 2, 900), watermark(1, 1, 2, 900)])).toEqual([]);
  });

  it('drops the floor of a taken-over segment once all its senders were idle there (nothing is on its way)', async () => {
    const { controls } = harness(() => undefined);
    // taken over after its senders had reached their last watermarks and gone idle for good
    await controls.acquired([at(2)]);
    const read = (items: Received<unknown>[]) => (controls.read?.(items) ?? []).map(shape);
    expect(read([watermark(2, 0, 2, 1048, true)])).toEqual([]);
    expect(read([watermark(2, 1, 2, MIN_WATERMARK, true)])).toEqual([
      `advance 8-12 wm ${MAX_WATERMARK}`,
    ]);
    // gone: nothing more to raise
    expect(read([watermark(2, 0, 2, 1100), watermark(2, 1, 2, 1100)])).toEqual([]);
  });

  it('without event time: no floor and nothing read', async () => {
    const controls = edgeSegmentControls(
      { ...EDGE, eventTime: false },
      'by-key/0',
      { keyGroupStates: () => Promise.resolve(undefined), keyGroupsOwned: () => undefined },
      5_000,
    );
    expect(shape(await controls.acquired([at(0)]))).toBe('adopt 0-4');
    expect(controls.read?.([watermark(0, 0, 1, 10)])).toBeUndefined();
  });
});
