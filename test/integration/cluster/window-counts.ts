/**
 * What the windowed kill tests (keyed-kill.test.ts, exchange-kill.test.ts) check of their output:
 * every window of every key once and full — what one process gives — none late, in order per key.
 */
import { expect } from 'vitest';
import { WINDOW_MS, type WindowCount } from './keyed-window-job.js';

/** Each key's windows of the sequence numbers below `counted` (and any late record), sorted. */
export function describeCounts(counts: readonly WindowCount[], counted: number): string[] {
  return counts
    .filter((w) => w.count < 0 || w.start < counted)
    .map((w) => `${w.key}@${w.start}=${w.count}`)
    .sort();
}

/** What one process gives for sequence numbers 0..counted-1 of each key: every window once, full. */
export function expectedWindows(keys: readonly string[], counted: number): string[] {
  return keys
    .flatMap((key) =>
      Array.from({ length: counted / WINDOW_MS }, (_, i) => `${key}@${i * WINDOW_MS}=${WINDOW_MS}`),
    )
    .sort();
}

/** Each key's windows came out in event-time order (the order they fire in). */
export function expectInOrderPerKey(counts: readonly WindowCount[]): void {
  const last = new Map<string, number>();
  for (const w of counts) {
    expect(w.start, `${w.key}: window ${w.start} after ${last.get(w.key)}`).toBeGreaterThan(
      last.get(w.key) ?? -1,
    );
    last.set(w.key, w.start);
  }
}
