import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Key } from '../../../src/runtime/key-groups.js';
import { HeapKeyedStateBackend, type KeyedStateBackend } from '../../../src/runtime/keyed-state.js';
import { KeyedTimerService } from '../../../src/runtime/timer-service.js';
import { IncrementalSnapshots, readChain } from '../../../src/state/incremental-snapshots.js';
import { fromStoredRef } from '../../../src/state/state-pieces.js';
import {
  TIMERS_TABLE,
  checkUserStateName,
  unpackSection,
} from '../../../src/state/state-sections.js';
import { readFile } from 'node:fs/promises';
import { tempDir } from '../helpers/files.js';

const MAX_PARALLELISM = 8;

function timerService(): KeyedTimerService {
  return new KeyedTimerService(
    MAX_PARALLELISM,
    () => {},
    () => {},
  );
}

type Chains = Map<number, { f: string; o: number; n: number; h: string; k: 'full' | 'delta' }[]>;

function chainsOf(groups: ReadonlyMap<number, unknown>): Chains {
  const out: Chains = new Map();
  for (const [group, entry] of groups) out.set(group, (entry as { chain: never[] }).chain);
  return out;
}

/** Restores state and timers from chains as a keyed operator does. */
async function restore(
  chains: Chains,
  dir: string,
): Promise<{ backend: KeyedStateBackend; timers: KeyedTimerService }> {
  const backend = new HeapKeyedStateBackend(MAX_PARALLELISM);
  const table = new Map<Key, unknown>();
  for (const [group, chain] of chains) {
    const what = `key group ${group}`;
    await readChain(
      backend,
      chain.map((r) => fromStoredRef(r, dir, what)),
      what,
      table,
    );
  }
  const timers = timerService();
  timers.restoreTable(table);
  return { backend, timers };
}

describe('timers in incremental snapshots', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('incremental-timers');
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('checkpoints only the keys whose timers changed, and restores every live timer', async () => {
    const backend = new HeapKeyedStateBackend(MAX_PARALLELISM);
    backend.trackChanges();
    const timers = timerService();
    timers.trackChanges();
    const snapshots = new IncrementalSnapshots({
      dir: dir.path,
      uid: 'op',
      subtask: 0,
      consolidateEvery: 100,
      backend,
      timers,
    });
    for (let key = 0; key < 1000; key++) {
      timers.register('event-time', key, 1000 + key);
      timers.register('processing-time', `p${key}`, 9e15 + key);
    }
    await snapshots.snapshot(1, new Map());

    // the watermark fires 10 timers; one key gets a new timer, one loses its processing timer
    const fired: Key[] = [];
    timers.advanceWatermark(1009, (key) => fired.push(key));
    expect(fired).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    timers.register('event-time', 500, 5000);
    timers.delete('processing-time', 'p7', 9e15 + 7);
    const groups = await snapshots.snapshot(2, new Map());

    // the second checkpoint's pieces hold just those 12 keys
    let carried = 0;
    for (const chain of chainsOf(groups).values()) {
      const delta = chain[1];
      if (delta === undefined || !delta.f.startsWith('000000000002')) continue;
      const bytes = (await readFile(`${dir.path}/${delta.f}`)).subarray(delta.o, delta.o + delta.n);
      const [, puts, deletes] = unpackSection(bytes, 'delta')[TIMERS_TABLE] ?? ['value', [], []];
      carried += puts.length / 2 + deletes.length;
    }
    expect(carried).toBe(12);

    const restored = await restore(chainsOf(groups), dir.path);
    expect(sorted(restored.timers.snapshot())).toEqual(sorted(timers.snapshot()));
    expect(restored.backend.keyCount()).toBe(0); // timers are not user state
    snapshots.close();
  });

  it('refuses user state named like an internal table', () => {
    expect(() => checkUserStateName(TIMERS_TABLE)).toThrow(/is reserved/);
    expect(checkUserStateName('timers')).toBe('timers');
  });
});

function sorted(groups: Map<number, { e: [Key, number][]; p: [Key, number][] }>): unknown {
  const order = (a: [Key, number], b: [Key, number]): number =>
    String(a[0]).localeCompare(String(b[0])) || a[1] - b[1];
  return [...groups]
    .sort(([a], [b]) => a - b)
    .map(([g, { e, p }]) => [g, [...e].sort(order), [...p].sort(order)]);
}
