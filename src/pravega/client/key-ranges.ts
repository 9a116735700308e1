import { TributaryError } from '../../errors.js';

/**
 * A map from routing-key hash ([0, 1)) to a value, as contiguous key ranges. Starts as the
 * stream's segments; a sealed segment's range is replaced by its successors' pieces of it.
 */
export class KeyRanges<V> {
  private entries: { min: number; max: number; value: V }[] = [];

  constructor(ranges: readonly { min: number; max: number; value: V }[]) {
    this.entries = [...ranges].sort((a, b) => a.min - b.min);
  }

  get size(): number {
    return this.entries.length;
  }

  values(): V[] {
    return this.entries.map((e) => e.value);
  }

  /** The value whose range holds `hash` (ranges are [min, max); 1.0 falls in the last one). */
  lookup(hash: number): V {
    const entries = this.entries;
    let lo = 0;
    let hi = entries.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (entries[mid]!.max <= hash) lo = mid + 1;
      else hi = mid;
    }
    const entry = entries[lo];
    if (entry === undefined) throw new TributaryError('ILLEGAL_STATE', 'no segments to route to');
    return entry.value;
  }

  /** Replaces every range held by `value` with the parts of `replacements` that overlap it. */
  replace(value: V, replacements: readonly { min: number; max: number; value: V }[]): void {
    const next: { min: number; max: number; value: V }[] = [];
    for (const e of this.entries) {
      if (e.value !== value) {
        next.push(e);
        continue;
      }
      for (const r of replacements) {
        const min = Math.max(e.min, r.min);
        const max = Math.min(e.max, r.max);
        if (max > min) next.push({ min, max, value: r.value });
      }
    }
    this.entries = next.sort((a, b) => a.min - b.min);
  }

  /** Picks a uniformly random value weighted by range width (events without a routing key). */
  random(): V {
    return this.lookup(Math.random());
  }
}
