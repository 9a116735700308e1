import { expect } from 'vitest';

export interface Seq {
  key: string;
  seq: number;
}

/** Every (key, seq) for seq 0..perKey-1 exactly once and, per key, in increasing order. */
export function expectExactlyOnceInOrder(
  events: readonly Seq[],
  keys: readonly string[],
  perKey: number,
): void {
  const last = new Map<string, number>();
  const seen = new Set<string>();
  let duplicates = 0;
  let outOfOrder = 0;
  for (const e of events) {
    const id = `${e.key}#${e.seq}`;
    if (seen.has(id)) duplicates++;
    seen.add(id);
    if (e.seq <= (last.get(e.key) ?? -1)) outOfOrder++;
    last.set(e.key, e.seq);
  }
  const missing: string[] = [];
  for (const k of keys)
    for (let i = 0; i < perKey; i++) if (!seen.has(`${k}#${i}`)) missing.push(`${k}#${i}`);
  expect({
    duplicates,
    outOfOrder,
    missing: missing.slice(0, 10),
    missingCount: missing.length,
  }).toEqual({
    duplicates: 0,
    outOfOrder: 0,
    missing: [],
    missingCount: 0,
  });
  expect(seen.size).toBe(keys.length * perKey);
}

export function keysOf(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `key-${i}`);
}
