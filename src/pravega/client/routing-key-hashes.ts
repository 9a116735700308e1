import { hashRoutingKey } from '../protocol/index.js';

/**
 * Routing-key hashes of recently seen keys: hashing is the costliest per-event step of a writer.
 * Bounded: the cache starts over once it holds `maxKeys` keys.
 */
export class RoutingKeyHashes {
  private readonly cache = new Map<string, number>();

  constructor(private readonly maxKeys = 10_000) {}

  of(key: string): number {
    let hash = this.cache.get(key);
    if (hash === undefined) {
      if (this.cache.size >= this.maxKeys) this.cache.clear();
      hash = hashRoutingKey(key);
      this.cache.set(key, hash);
    }
    return hash;
  }
}
