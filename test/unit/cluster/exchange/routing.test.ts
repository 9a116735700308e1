import { describe, expect, it } from 'vitest';
import {
  routingKeysForKeyGroups,
  routingKeysForSegments,
  segmentOfKeyGroup,
} from '../../../../src/cluster/exchange/routing.js';
import {
  exchangeReaderGroupName,
  exchangeStreamId,
} from '../../../../src/cluster/exchange/names.js';
import { hashRoutingKey, validateName } from '../../../../src/pravega/protocol/index.js';

describe('exchange routing', () => {
  it('maps key groups to contiguous segment ranges ⌊g·S/K⌋, every segment used', () => {
    for (const [segments, keyGroups] of [
      [1, 128],
      [3, 128],
      [4, 128],
      [32, 128],
      [128, 128],
      [7, 1000],
    ] as const) {
      const mapped = Array.from({ length: keyGroups }, (_, g) =>
        segmentOfKeyGroup(g, segments, keyGroups),
      );
      expect(new Set(mapped).size).toBe(segments);
      for (let g = 1; g < keyGroups; g++)
        expect(mapped[g]! - mapped[g - 1]!).toBeGreaterThanOrEqual(0);
      expect(mapped[0]).toBe(0);
      expect(mapped[keyGroups - 1]).toBe(segments - 1);
    }
  });

  it("finds a routing key per segment whose hash lies in that segment's key range", () => {
    for (const segments of [1, 2, 3, 16, 100]) {
      const keys = routingKeysForSegments(segments);
      expect(keys).toHaveLength(segments);
      keys.forEach((key, s) => {
        const hash = hashRoutingKey(key);
        expect(hash).toBeGreaterThanOrEqual(s / segments);
        expect(hash).toBeLessThan((s + 1) / segments);
      });
    }
  });

  it("routes each key group with its segment's key", () => {
    const byGroup = routingKeysForKeyGroups(3, 128);
    const bySegment = routingKeysForSegments(3);
    byGroup.forEach((key, g) => expect(key).toBe(bySegment[segmentOfKeyGroup(g, 3, 128)]));
  });
});

describe('exchange names', () => {
  it('names the stream and reader group from the job and the edge', () => {
    expect(exchangeStreamId('shop', 'orders', 'by-customer')).toEqual({
      scope: 'shop',
      stream: '_tributary-x-orders-by-customer',
    });
    expect(exchangeReaderGroupName('orders', 'by-customer')).toBe('orders-x-by-customer');
  });

  it('cleans and hashes names that are not valid as they are, keeping distinct edges distinct', () => {
    const a = exchangeStreamId('s', 'my job/1', 'edge #1');
    const b = exchangeStreamId('s', 'my job/1', 'edge #2');
    expect(a.stream).not.toBe(b.stream);
    expect(a.stream.startsWith('_tributary-x-my-job-1-edge-1-')).toBe(true);
    validateName('stream', a.stream, true);
    const long = exchangeReaderGroupName('j'.repeat(300), 'e'.repeat(300));
    expect(long.length).toBeLessThanOrEqual(250);
    validateName('reader group', long);
    expect(exchangeStreamId('s', 'j'.repeat(300), 'e').stream.length).toBeLessThanOrEqual(250);
  });
});
