import { describe, expect, it, vi } from 'vitest';
import { RoutingKeyHashes } from '../../../src/pravega/client/routing-key-hashes.js';
import { hashRoutingKey } from '../../../src/pravega/protocol/index.js';

/** a key equal to `text` but built at run time, as a routing-key function builds it */
const fresh = (text: string) => `${text.slice(0, 1)}${text.slice(1)}`;

describe('RoutingKeyHashes (cache of routing-key hashes)', () => {
  it('gives every key its routing hash, for keys built anew each time, many sharing a cache set', () => {
    const cache = new RoutingKeyHashes();
    // 40 000 keys in 2 048 sets of two: most sets see several keys, and evict
    const keys = [
      '',
      'k',
      'ключ',
      '鍵🔑',
      'x'.repeat(5000),
      ...Array.from({ length: 40_000 }, (_, i) => `customer-${i}`),
    ];
    for (let round = 0; round < 3; round++) {
      for (const key of keys) expect(cache.of(fresh(key))).toBe(hashRoutingKey(key));
    }
  });

  it('hashes a key seen again only once', () => {
    const hashed = vi.fn(hashRoutingKey);
    const cache = new RoutingKeyHashes(hashed);
    const keys = Array.from({ length: 16 }, (_, i) => `k${i}`);
    for (let round = 0; round < 100; round++) for (const key of keys) cache.of(fresh(key));
    expect(hashed).toHaveBeenCalledTimes(16);
  });

  it('keeps a key in use while other keys come and go, including those of its own set', () => {
    const hashed = vi.fn(hashRoutingKey);
    const cache = new RoutingKeyHashes(hashed);
    cache.of('hot');
    // among 20 000 others, some fall into the set of 'hot' (2 048 sets): it stays all the same
    for (let i = 0; i < 20_000; i++) {
      cache.of(`other-${i}`);
      cache.of(fresh('hot'));
    }
    expect(hashed).toHaveBeenCalledTimes(1 + 20_000);
  });

  it('keeps a bounded number of keys: after 20 000 others, a key is hashed again', () => {
    const hashed = vi.fn(hashRoutingKey);
    const cache = new RoutingKeyHashes(hashed);
    cache.of('first');
    for (let i = 0; i < 20_000; i++) cache.of(`other-${i}`);
    hashed.mockClear();
    cache.of('first');
    expect(hashed).toHaveBeenCalledTimes(1);
  });
});
