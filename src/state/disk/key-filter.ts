/** Keys the first layer is sized for; each further layer takes twice as many. */
const FIRST_CAPACITY = 1 << 16;
/** Bits per key of a layer (a power of two): with `PROBES` probes, about 2 % false positives. */
const BITS_PER_KEY = 8;
const PROBES = 5;

interface Layer {
  readonly bits: Uint32Array;
  /** bit index mask (the layer has `mask + 1` bits) */
  readonly mask: number;
  readonly capacity: number;
  added: number;
}

/**
 * Which keys a store may hold: a Bloom filter over the 32-bit hashes (`hashKey`) of the keys
 * written to it, so that a read of a key never written — the first record of every new key —
 * need not look it up in the store. No false negatives; a false positive only costs the lookup.
 *
 * Scalable: once a layer holds the keys it was sized for, a new one twice as large takes the
 * next keys (a query checks every layer: about log2(keys / 65 536) of them). The bits live in
 * typed arrays, outside the JS heap: about 16 bits per key in all.
 */
export class KeyFilter {
  private readonly layers: Layer[] = [];

  add(hash: number): void {
    let layer = this.layers.at(-1);
    if (layer === undefined || layer.added >= layer.capacity) {
      const capacity = layer === undefined ? FIRST_CAPACITY : layer.capacity * 2;
      const bits = capacity * BITS_PER_KEY;
      layer = { bits: new Uint32Array(bits >>> 5), mask: bits - 1, capacity, added: 0 };
      this.layers.push(layer);
    }
    layer.added++;
    const step = secondHash(hash);
    const { bits, mask } = layer;
    let h = firstHash(hash);
    for (let i = 0; i < PROBES; i++) {
      const bit = h & mask;
      bits[bit >>> 5] = (bits[bit >>> 5] as number) | (1 << (bit & 31));
      h = (h + step) | 0;
    }
  }

  /** False when no key of this hash was added; true when one may have been. */
  mayHold(hash: number): boolean {
    const step = secondHash(hash);
    const first = firstHash(hash);
    for (const { bits, mask } of this.layers) {
      let h = first;
      let all = true;
      for (let i = 0; i < PROBES && all; i++) {
        const bit = h & mask;
        all = ((bits[bit >>> 5] as number) & (1 << (bit & 31))) !== 0;
        h = (h + step) | 0;
      }
      if (all) return true;
    }
    return false;
  }
}

/**
 * The first probe: the hash rotated by 7 bits, as its low bits pick the key group (a subtask's
 * keys share some of them).
 */
function firstHash(hash: number): number {
  return (hash >>> 7) | (hash << 25);
}

/** An odd stride from the hash (murmur3 fmix32 of it, salted), for double hashing. */
function secondHash(hash: number): number {
  let h = (hash ^ 0x9e3779b9) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 1;
}
