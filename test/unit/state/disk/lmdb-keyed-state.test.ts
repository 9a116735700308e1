import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StateValue } from '../../../../src/checkpoint/state-codec.js';
import { TributaryError } from '../../../../src/errors.js';
import { keyText, type Key } from '../../../../src/runtime/key-groups.js';
import {
  HeapKeyedStateBackend,
  type KeyedStateBackend,
  type KeyedStateSnapshot,
} from '../../../../src/runtime/keyed-state.js';
import { LmdbKeyedStateBackend } from '../../../../src/state/disk/lmdb-keyed-state.js';
import { IncrementalSnapshots, readChain } from '../../../../src/state/incremental-snapshots.js';
import { fromStoredRef, type PieceRef } from '../../../../src/state/state-pieces.js';
import { canonical } from '../../helpers/canonical-snapshot.js';
import { tempDir } from '../../helpers/files.js';

const MAX_PARALLELISM = 8;

/** A deterministic pseudo-random sequence (xorshift). */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Applies one random operation to a backend and returns what it read. */
function step(backend: KeyedStateBackend, key: Key, op: number, n: number): unknown {
  backend.setCurrentKey(key);
  const value = backend.valueState<{ n: number; at: Date; tags: Set<string> }>('v');
  const list = backend.listState<bigint>('l');
  const map = backend.mapState<string, number[]>('m');
  switch (op) {
    case 0:
      value.update({ n, at: new Date(n), tags: new Set([`t${n % 3}`]) });
      return value.value();
    case 1:
      value.clear();
      return value.value();
    case 2:
      list.add(BigInt(n));
      return list.get();
    case 3:
      list.update([BigInt(n), BigInt(-n)]);
      return list.get();
    case 4:
      list.clear();
      return list.get();
    case 5:
      map.put(`k${n % 5}`, [n, n + 1]);
      return [...map.entries()];
    case 6:
      map.remove(`k${n % 5}`);
      return [map.size(), map.contains(`k${n % 5}`), [...map.keys()]];
    case 7:
      map.clear();
      return map.size();
    default:
      return [value.value(), list.get(), map.get(`k${n % 5}`), [...map.values()]];
  }
}

describe('LMDB keyed state backend', () => {
  let dir: { path: string; remove: () => Promise<void> };
  const open: LmdbKeyedStateBackend[] = [];
  const lmdb = async (
    options: { flushEntries?: number; cacheEntries?: number; writeCacheEntries?: number } = {},
  ): Promise<LmdbKeyedStateBackend> => {
    const backend = await LmdbKeyedStateBackend.open({
      maxParallelism: MAX_PARALLELISM,
      dir: join(dir.path, 'work'),
      label: 'op-0',
      // no write-back cache unless asked: every write reaches LMDB, to be read back from it
      writeCacheEntries: 0,
      ...options,
    });
    open.push(backend);
    return backend;
  };
  beforeEach(async () => {
    dir = await tempDir('lmdb-state');
  });
  afterEach(async () => {
    for (const backend of open.splice(0)) await backend.close();
    await dir.remove();
  });

  it.each([0, 24])(
    'reads and writes value, list and map state like the heap backend, across flushes, cache eviction and backpressure (write-back cache of %i)',
    async (writeCacheEntries) => {
      // tiny layers: many flushes, evictions from the cache, writes running ahead of LMDB
      const disk = await lmdb({ flushEntries: 16, cacheEntries: 32, writeCacheEntries });
      const heap = new HeapKeyedStateBackend(MAX_PARALLELISM);
      disk.trackChanges();
      heap.trackChanges();
      const next = random(42);
      const keys: Key[] = [...Array.from({ length: 150 }, (_, i) => i), 'a', 'é', 7n, true, -3.5];
      for (let i = 0; i < 20_000; i++) {
        const key = keys[Math.floor(next() * keys.length)] as Key;
        const op = Math.floor(next() * 9);
        expect(step(disk, key, op, i), `op ${op} on ${String(key)} at ${i}`).toEqual(
          step(heap, key, op, i),
        );
        if (i % 97 === 0) await disk.pendingWork(); // as the task does after a batch
        if (i % 4001 === 0) {
          const a = disk.captureChanges();
          const b = heap.captureChanges();
          expect(canonicalSections(a.groups)).toEqual(canonicalSections(b.groups));
        }
      }
      expect(canonical(disk.snapshot())).toEqual(canonical(heap.snapshot()));
      expect(disk.keyCount()).toBe(heap.keyCount());
    },
  );

  it('keeps the most recently written keys in memory: a hot key costs no LMDB write, the least recently written go first', async () => {
    const disk = await lmdb({ flushEntries: 4, cacheEntries: 0, writeCacheEntries: 8 });
    const put = (key: number, n: number): void => {
      disk.setCurrentKey(key);
      disk.valueState<number>('v').update(n);
    };
    const read = (key: number): number | undefined => {
      disk.setCurrentKey(key);
      return disk.valueState<number>('v').value();
    };
    for (let round = 0; round < 100; round++) for (let key = 0; key < 8; key++) put(key, round);
    expect(disk.entriesWritten).toBe(0);
    for (let key = 8; key < 12; key++) put(key, 100 + key); // 12 keys: the 4 oldest go
    expect(disk.entriesWritten).toBe(4);
    put(4, 1_000); // written again: the newest now
    for (let key = 12; key < 16; key++) put(key, 100 + key); // 5, 6, 7 and 8 go, not 4
    expect(disk.entriesWritten).toBe(8);
    for (let key = 16; key < 19; key++) put(key, 100 + key);
    expect(disk.entriesWritten).toBe(8);
    await disk.pendingWork();
    const expected = (key: number): number => (key === 4 ? 1_000 : key < 8 ? 99 : 100 + key);
    for (let key = 0; key < 19; key++) expect(read(key), `key ${key}`).toBe(expected(key));
    // once LMDB has them, the evicted keys are read back from it (no read cache here)
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (let key = 0; key < 19; key++) expect(read(key), `key ${key}`).toBe(expected(key));
    expect(disk.keyCount()).toBe(19);
  });

  it('captures keys marked changed again (a declined checkpoint) with their newest state, also once evicted from memory', async () => {
    const disk = await lmdb({ flushEntries: 8, cacheEntries: 8 });
    const heap = new HeapKeyedStateBackend(MAX_PARALLELISM);
    disk.trackChanges();
    heap.trackChanges();
    const next = random(9);
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 300; i++) {
        const key = Math.floor(next() * 100);
        // not 6: the heap backend counts removing an absent map entry as a change, LMDB does not
        const op = [0, 1, 2, 3, 4, 5, 7][Math.floor(next() * 7)] as number;
        step(disk, key, op, round * 1_000 + i);
        step(heap, key, op, round * 1_000 + i);
        if (i % 50 === 0) await disk.pendingWork();
      }
      const a = disk.captureChanges();
      const b = heap.captureChanges();
      expect(canonicalSections(a.groups)).toEqual(canonicalSections(b.groups));
      // the capture was not written: its keys count as changed again, and more writes follow
      disk.markChanged(a.changed);
      heap.markChanged(b.changed);
      for (let i = 0; i < 100; i++) {
        const key = Math.floor(next() * 100);
        step(disk, key, 0, i);
        step(heap, key, 0, i);
      }
      await disk.pendingWork();
      expect(canonicalSections(disk.captureChanges().groups)).toEqual(
        canonicalSections(heap.captureChanges().groups),
      );
    }
  });

  it('a capture takes the state at its time; writes after it, a clear then a write, a write then a clear go to the next', async () => {
    // no cache: once LMDB has a flush its keys are read back from LMDB
    const disk = await lmdb({ flushEntries: 2, cacheEntries: 0 });
    disk.trackChanges();
    const value = disk.valueState<{ n: number }>('v');
    const put = (key: Key, n: number | undefined): void => {
      disk.setCurrentKey(key);
      if (n === undefined) value.clear();
      else value.update({ n });
    };
    const read = (key: Key): unknown => {
      disk.setCurrentKey(key);
      return value.value();
    };
    const captured = (): unknown => canonicalSections(disk.captureChanges().groups);
    for (let key = 0; key < 40; key++) {
      expect(read(key)).toBeUndefined(); // read before the first write: absent
      put(key, key);
    }
    const first = disk.captureChanges();
    expect(first.changed.get('v')).toHaveLength(40);
    put(1, 100); // written after the capture
    put(2, undefined); // cleared, then written
    put(2, 200);
    put(3, 300); // written, then cleared
    put(3, undefined);
    for (let i = 0; i < 8; i++) await disk.pendingWork();
    for (let key = 100; key < 140; key++) put(key, key); // more flushes: evictions
    for (let i = 0; i < 8; i++) await disk.pendingWork();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect([read(0), read(1), read(2), read(3), read(39)]).toEqual([
      { n: 0 },
      { n: 100 },
      { n: 200 },
      undefined,
      { n: 39 },
    ]);
    const { groups } = disk.captureChanges();
    const puts = new Map<Key, unknown>();
    const deletes: Key[] = [];
    for (const tables of groups.values()) {
      const [, p, d] = tables['v'] as [string, unknown[], Key[]];
      for (let i = 0; i < p.length; i += 2) puts.set(p[i] as Key, p[i + 1]);
      deletes.push(...d);
    }
    expect(puts.get(1)).toEqual({ n: 100 });
    expect(puts.get(2)).toEqual({ n: 200 });
    expect(deletes).toEqual([3]);
    expect(puts.has(0)).toBe(false);
    expect(puts.size).toBe(2 + 40);
    expect(captured()).toEqual([]);
  });

  it('checkpoints incrementally as pieces; a fresh environment restores them, with key groups split over subtasks', async () => {
    const disk = await lmdb({ flushEntries: 64, cacheEntries: 64 });
    disk.trackChanges();
    const snapshots = new IncrementalSnapshots({
      dir: join(dir.path, 'pieces'),
      uid: 'op',
      subtask: 0,
      consolidateEvery: 2,
      backend: disk,
    });
    const next = random(7);
    let groups: ReadonlyMap<number, StateValue> = new Map();
    const kinds = new Set<string>();
    for (let round = 0; round < 8; round++) {
      for (let i = 0; i < (round === 0 ? 2_000 : 200); i++)
        step(disk, Math.floor(next() * 1_000), Math.floor(next() * 8), round * 10_000 + i);
      groups = await snapshots.snapshot(round + 1, new Map());
      for (const entry of groups.values())
        kinds.add((entry as { chain: { k: string }[] }).chain.map((r) => r.k).join(','));
    }
    expect(kinds.has('full,delta')).toBe(true);
    const chains = new Map<number, PieceRef[]>();
    for (const [group, entry] of groups) {
      const stored = (entry as { chain: unknown[] }).chain;
      chains.set(
        group,
        stored.map((ref) => fromStoredRef(ref, join(dir.path, 'pieces'), `group ${group}`)),
      );
    }
    // two subtasks, each restoring the key groups it owns into its own environment
    const restored = new Map<number, KeyedStateSnapshot>();
    for (const owns of [(g: number) => g < 3, (g: number) => g >= 3]) {
      const backend = await lmdb({ flushEntries: 64, cacheEntries: 64 });
      for (const [group, chain] of chains)
        if (owns(group)) await readChain(backend, chain, `key group ${group}`);
      for (const [group, tables] of backend.snapshot()) {
        expect(owns(group)).toBe(true);
        restored.set(group, tables);
      }
    }
    expect(canonical(restored)).toEqual(canonical(disk.snapshot()));
  });

  it('a missing or corrupt piece fails the restore with STATE_CORRUPT naming it', async () => {
    const disk = await lmdb();
    disk.trackChanges();
    const piecesDir = join(dir.path, 'pieces');
    const snapshots = new IncrementalSnapshots({
      dir: piecesDir,
      uid: 'op',
      subtask: 0,
      consolidateEvery: 100,
      backend: disk,
    });
    for (let key = 0; key < 50; key++) step(disk, key, 0, key);
    await snapshots.snapshot(1, new Map());
    step(disk, 7, 0, 1_000);
    const groups = await snapshots.snapshot(2, new Map());
    const [group, stored] = [...groups].find(
      ([, e]) => (e as { chain: unknown[] }).chain.length === 2,
    ) as [number, { chain: unknown[] }];
    const chain = stored.chain.map((ref) => fromStoredRef(ref, piecesDir, 'x'));
    const delta = chain[1] as PieceRef;
    const bytes = Buffer.from(await readFile(delta.path));
    bytes[delta.offset] = (bytes[delta.offset] as number) ^ 0xff;
    await writeFile(delta.path, bytes);
    const target = await lmdb();
    const err = await readChain(target, chain, `key group ${group}`).catch((e: unknown) => e);
    expect(TributaryError.is(err, 'STATE_CORRUPT')).toBe(true);
    expect((err as Error).message).toContain(delta.path);
  });

  it('keeps each environment in its own folder, deletes it on close and removes those of dead processes', async () => {
    const work = join(dir.path, 'work');
    await mkdir(join(work, 'lmdb-999999999-op-0-abc'), { recursive: true }); // no such pid
    const backend = await lmdb();
    const folders = await readdir(work);
    expect(folders).toHaveLength(1);
    expect(folders[0]).toMatch(new RegExp(`^lmdb-${process.pid}-op-0-`));
    backend.setCurrentKey('k');
    backend.valueState<number>('v').update(1);
    await backend.close();
    expect(await readdir(work)).toEqual([]);
  });

  it('rejects keys too long for LMDB, naming the limit', async () => {
    const backend = await lmdb();
    backend.setCurrentKey('x'.repeat(3_000));
    const err = (() => {
      try {
        backend.valueState<number>('v').value();
      } catch (e) {
        return e;
      }
    })();
    expect(TributaryError.is(err, 'ILLEGAL_ARGUMENT')).toBe(true);
    expect((err as Error).message).toMatch(/at most 1974 bytes/);
  });
});

function canonicalSections(
  groups: Map<number, Record<string, [string, unknown[], Key[]]>>,
): unknown {
  return [...groups]
    .sort(([a], [b]) => a - b)
    .map(([group, tables]) => [
      group,
      Object.entries(tables)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, [kind, puts, deletes]]) => {
          const pairs: [Key, unknown][] = [];
          for (let i = 0; i < puts.length; i += 2) pairs.push([puts[i] as Key, puts[i + 1]]);
          const byKey = (a: Key, b: Key): number => keyText(a).localeCompare(keyText(b));
          return [name, kind, pairs.sort(([a], [b]) => byKey(a, b)), [...deletes].sort(byKey)];
        }),
    ]);
}
