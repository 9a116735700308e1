import { hashRoutingKey } from '../protocol/index.js';

/** sets of the cache (a power of two); two keys per set */
const SETS = 2048;

/**
 * Routing-key hashes of recently seen keys: hashing is the costliest per-event step of a writer.
 *
 * A two-way set-associative table, not a `Map`: a routing key is usually a string built anew for
 * each event, and a `Map` lookup makes V8 hash that fresh string in its runtime every time (about
 * as costly as the rest of a write). Here the set is picked by an FNV-1a pass over the key's
 * UTF-16 code units, inlined by the JIT, and the key is then compared with `===`. Bounded: at most
 * 2 × 2048 keys are kept (64 KiB a cache: each writer and each transaction has one); a key whose
 * set is full evicts the set's less recently used one.
 */
export class RoutingKeyHashes {
  private readonly keys: (string | undefined)[] = new Array<string | undefined>(2 * SETS).fill(
    undefined,
  );
  private readonly hashes = new Float64Array(2 * SETS);

  /** `hash` computes a key's hash on a miss (the routing-key hash; tests count its calls) */
  constructor(private readonly hash: (key: string) => number = hashRoutingKey) {}

  of(key: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    const slot = (h & (SETS - 1)) << 1;
    const keys = this.keys;
    if (keys[slot] === key) return this.hashes[slot]!;
    const hash = keys[slot + 1] === key ? this.hashes[slot + 1]! : this.hash(key);
    // the key just used goes first; the other one of the set second
    keys[slot + 1] = keys[slot];
    this.hashes[slot + 1] = this.hashes[slot]!;
    keys[slot] = key;
    this.hashes[slot] = hash;
    return hash;
  }
}
