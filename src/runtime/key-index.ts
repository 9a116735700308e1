import type { Key } from './key-groups.js';

/** Buckets of an empty index's integer table (a power of two). */
const INITIAL_BUCKETS = 16;
/** Fibonacci hashing: the golden ratio as an odd 32-bit multiplier. */
const GOLDEN = 0x9e3779b1;

/**
 * Key → slot (a non-negative integer) for the heap keyed state's tables: where in the table's
 * columns a key's state lives.
 *
 * Integer keys in the int32 range (the common `keyBy` result) live in an open-addressing table
 * in one `Int32Array` — `[key, slot + 1]` per bucket, linear probing, backward-shift deletion —
 * so a lookup reads one or two cache lines and the GC has no objects to scan. A V8 `Map` of a
 * few million entries costs several cache misses per lookup (bucket, chain, entry object):
 * bench/state.ts at 4 M keys spent 28 % of its time in those lookups. Other keys (strings,
 * other numbers, bigints, booleans) go to a `Map`, which caches their hashes. Keys compare as a
 * `Map` compares them (SameValueZero: `-0` is `0`).
 */
export class KeyIndex {
  /** `[key, slot + 1]` per bucket; `slot + 1 === 0`: empty */
  private buckets = new Int32Array(2 * INITIAL_BUCKETS);
  /** 32 − log2(bucket count): a hash's top bits pick the bucket */
  private shift = 32 - Math.log2(INITIAL_BUCKETS);
  private ints = 0;
  private readonly others = new Map<Key, number>();

  /** Number of keys. */
  get size(): number {
    return this.ints + this.others.size;
  }

  /** The slot of `key`, or -1. */
  get(key: Key): number {
    if (typeof key === 'number' && (key | 0) === key) {
      const buckets = this.buckets;
      const mask = (buckets.length >>> 1) - 1;
      for (let b = Math.imul(key, GOLDEN) >>> this.shift; ; b = (b + 1) & mask) {
        const slot = buckets[2 * b + 1] as number;
        if (slot === 0) return -1;
        if (buckets[2 * b] === key) return slot - 1;
      }
    }
    return this.others.get(key) ?? -1;
  }

  /** Maps `key` to `slot` (≥ 0), replacing its slot if it has one. */
  set(key: Key, slot: number): void {
    if (typeof key === 'number' && (key | 0) === key) {
      if (2 * (this.ints + 1) > this.buckets.length >>> 1) this.grow();
      if (this.put(key, slot + 1)) this.ints++;
    } else {
      this.others.set(key, slot);
    }
  }

  /** Removes `key`; whether it was there. */
  delete(key: Key): boolean {
    if (!(typeof key === 'number' && (key | 0) === key)) return this.others.delete(key);
    const buckets = this.buckets;
    const mask = (buckets.length >>> 1) - 1;
    let hole = Math.imul(key, GOLDEN) >>> this.shift;
    for (; ; hole = (hole + 1) & mask) {
      if (buckets[2 * hole + 1] === 0) return false;
      if (buckets[2 * hole] === key) break;
    }
    // backward shift: move up every later key of the run that may not be probed past the hole
    for (let b = (hole + 1) & mask; buckets[2 * b + 1] !== 0; b = (b + 1) & mask) {
      const home = Math.imul(buckets[2 * b] as number, GOLDEN) >>> this.shift;
      // it stays if its home lies cyclically in (hole, b]
      const stays = hole <= b ? hole < home && home <= b : hole < home || home <= b;
      if (stays) continue;
      buckets[2 * hole] = buckets[2 * b] as number;
      buckets[2 * hole + 1] = buckets[2 * b + 1] as number;
      hole = b;
    }
    buckets[2 * hole] = 0;
    buckets[2 * hole + 1] = 0;
    this.ints--;
    return true;
  }

  /** Puts `[key, stored]` into the integer table (room assured); whether the key is new. */
  private put(key: number, stored: number): boolean {
    const buckets = this.buckets;
    const mask = (buckets.length >>> 1) - 1;
    for (let b = Math.imul(key, GOLDEN) >>> this.shift; ; b = (b + 1) & mask) {
      const at = buckets[2 * b + 1] as number;
      if (at !== 0 && buckets[2 * b] !== key) continue;
      buckets[2 * b] = key;
      buckets[2 * b + 1] = stored;
      return at === 0;
    }
  }

  /** Doubles the integer table (load stays ≤ 1/2). */
  private grow(): void {
    const old = this.buckets;
    this.buckets = new Int32Array(2 * old.length);
    this.shift--;
    for (let i = 0; i < old.length; i += 2)
      if (old[i + 1] !== 0) this.put(old[i] as number, old[i + 1] as number);
  }
}
