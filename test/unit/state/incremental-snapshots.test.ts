import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StateValue } from '../../../src/checkpoint/state-codec.js';
import { TributaryError, hasErrorCode } from '../../../src/errors.js';
import { keyGroupOf } from '../../../src/runtime/key-groups.js';
import { HeapKeyedStateBackend, type KeyedStateBackend } from '../../../src/runtime/keyed-state.js';
import { IncrementalSnapshots, readChain } from '../../../src/state/incremental-snapshots.js';
import { fromStoredRef, type PieceRef } from '../../../src/state/state-pieces.js';
import { canonical } from '../helpers/canonical-snapshot.js';
import { tempDir } from '../helpers/files.js';

const MAX_PARALLELISM = 8;

interface Stored {
  readonly chain: { f: string; k: 'full' | 'delta' }[];
}

function chainsOf(groups: ReadonlyMap<number, StateValue>, dir: string): Map<number, PieceRef[]> {
  const out = new Map<number, PieceRef[]>();
  for (const [group, entry] of groups) {
    out.set(
      group,
      (entry as unknown as Stored).chain.map((ref) => fromStoredRef(ref, dir, `group ${group}`)),
    );
  }
  return out;
}

async function restore(chains: Map<number, PieceRef[]>): Promise<KeyedStateBackend> {
  const backend = new HeapKeyedStateBackend(MAX_PARALLELISM);
  for (const [group, chain] of chains) await readChain(backend, chain, `key group ${group}`);
  return backend;
}

/** Value, list and map state of `key`, changed in a way that depends on `round`. */
function write(backend: KeyedStateBackend, key: number, round: number): void {
  backend.setCurrentKey(key);
  backend.valueState<{ s: string; c: number; at: Date }>('v').update({
    s: `key-${key}`,
    c: round,
    at: new Date(round),
  });
  backend.listState<bigint>('l').add(BigInt(round));
  backend.mapState<string, Set<number>>('m').put(`r${round % 3}`, new Set([round, key]));
}

describe('incremental snapshots of heap keyed state', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('incremental');
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('writes only changed keys as deltas, consolidates chains, and restores exactly the live state', async () => {
    const backend = new HeapKeyedStateBackend(MAX_PARALLELISM);
    backend.trackChanges();
    const snapshots = new IncrementalSnapshots({
      dir: dir.path,
      uid: 'op',
      subtask: 0,
      consolidateEvery: 3,
      backend,
    });
    for (let key = 0; key < 200; key++) write(backend, key, 0);
    let groups = await snapshots.snapshot(1, new Map());
    expect(groups.size).toBe(MAX_PARALLELISM);
    for (const entry of groups.values())
      expect((entry as unknown as Stored).chain.map((r) => r.k)).toEqual(['full']);

    const kinds = new Set<string>();
    let longest = 0;
    let folded = 0;
    const lengths = new Map<number, number>();
    for (let round = 1; round <= 8; round++) {
      for (let key = round; key < 200; key += 25) write(backend, key, round); // 8 of 200 keys
      backend.setCurrentKey(round + 100);
      backend.valueState('v').clear(); // a delete travels as a delete
      groups = await snapshots.snapshot(round + 1, new Map([[0, { timers: { e: [], p: [] } }]]));
      await snapshots.foldsSettled(); // folded in the worker: taken into the next checkpoint
      for (const entry of groups.values()) {
        const chain = (entry as unknown as Stored).chain;
        longest = Math.max(longest, chain.length);
        const group = [...groups].find(([, e]) => e === entry)?.[0] as number;
        if (chain.length < (lengths.get(group) ?? 0)) folded++;
        lengths.set(group, chain.length);
        expect(chain[0]?.k).toBe('full');
        kinds.add(chain.map((r) => r.k).join(','));
      }
      // restore reads the chain: the same state as the live backend
      const restored = await restore(chainsOf(groups, dir.path));
      expect(canonical(restored.snapshot())).toEqual(canonical(backend.snapshot()));
    }
    expect(kinds.has('full,delta')).toBe(true); // increments
    expect(longest).toBeGreaterThan(1);
    expect(folded).toBeGreaterThan(0); // consolidations happened
    expect(longest).toBeLessThanOrEqual(4); // folded in the background as soon as 3 deltas pile up
    // a few changed keys per round: the deltas were merged into one, the full piece left alone
    expect(kinds.has('full,delta')).toBe(true);
    snapshots.close();
    // the inline part (timers) rides along with the chain
    expect((groups.get(0) as { timers?: unknown }).timers).toEqual({ e: [], p: [] });
  });

  it('a missing or corrupt piece is an error naming the file, never empty state', async () => {
    const backend = new HeapKeyedStateBackend(MAX_PARALLELISM);
    backend.trackChanges();
    const snapshots = new IncrementalSnapshots({
      dir: dir.path,
      uid: 'op',
      subtask: 0,
      consolidateEvery: 100,
      backend,
    });
    for (let key = 0; key < 50; key++) write(backend, key, 0);
    await snapshots.snapshot(1, new Map());
    write(backend, 7, 1);
    const groups = await snapshots.snapshot(2, new Map());
    const chains = chainsOf(groups, dir.path);
    const [group, chain] = [...chains].find(([, c]) => c.length === 2) as [number, PieceRef[]];
    const delta = chain[1] as PieceRef;
    expect(delta.kind).toBe('delta');

    const bytes = await readFile(delta.path);
    const tampered = Buffer.from(bytes);
    tampered[delta.offset] = (tampered[delta.offset] as number) ^ 0xff;
    await writeFile(delta.path, tampered);
    const corrupt = await restore(new Map([[group, chain]])).catch((e: unknown) => e);
    expect(TributaryError.is(corrupt, 'STATE_CORRUPT')).toBe(true);
    expect((corrupt as Error).message).toContain(delta.path);
    expect((corrupt as Error).message).toContain('SHA-256 mismatch');

    await rm(delta.path);
    const missing = await restore(new Map([[group, chain]])).catch((e: unknown) => e);
    expect(TributaryError.is(missing, 'STATE_CORRUPT')).toBe(true);
    expect((missing as Error).message).toContain(`${delta.path} (key group ${group}) is missing`);
    snapshots.close();
  });

  it('a corrupt piece met by a background fold fails the next checkpoint, naming the piece', async () => {
    const backend = new HeapKeyedStateBackend(MAX_PARALLELISM);
    backend.trackChanges();
    const snapshots = new IncrementalSnapshots({
      dir: dir.path,
      uid: 'op',
      subtask: 0,
      consolidateEvery: 2,
      backend,
    });
    for (let key = 0; key < 50; key++) write(backend, key, 0);
    await snapshots.snapshot(1, new Map());
    write(backend, 7, 1);
    const chains = chainsOf(await snapshots.snapshot(2, new Map()), dir.path);
    const [, chain] = [...chains].find(([, c]) => c.length === 2) as [number, PieceRef[]];
    const delta = chain[1] as PieceRef;
    const bytes = await readFile(delta.path);
    bytes[delta.offset] = (bytes[delta.offset] as number) ^ 0xff;
    await writeFile(delta.path, bytes);
    write(backend, 7, 2); // a second delta: the chain is folded in the background
    await snapshots.snapshot(3, new Map());
    await snapshots.foldsSettled();
    write(backend, 8, 3);
    const failed = await snapshots.snapshot(4, new Map()).catch((e: unknown) => e);
    expect(TributaryError.is(failed, 'CHECKPOINT_FAILED')).toBe(true);
    expect(hasErrorCode(failed, 'STATE_CORRUPT')).toBe(true);
    expect((failed as Error).message).toContain(`state piece ${delta.path}`);
    expect((failed as Error).message).toContain('SHA-256 mismatch');
    snapshots.close();
  });

  it('a failed write declines the checkpoint and the next one carries its changes', async () => {
    const backend = new HeapKeyedStateBackend(MAX_PARALLELISM);
    backend.trackChanges();
    const piecesDir = join(dir.path, 'pieces');
    const snapshots = new IncrementalSnapshots({
      dir: piecesDir,
      uid: 'op',
      subtask: 0,
      consolidateEvery: 100,
      backend,
    });
    for (let key = 0; key < 20; key++) write(backend, key, 0);
    await snapshots.snapshot(1, new Map());
    write(backend, 3, 1);
    // the pieces directory is replaced by a file: the write fails
    await rm(piecesDir, { recursive: true });
    await writeFile(piecesDir, 'not a directory');
    await expect(snapshots.snapshot(2, new Map())).rejects.toThrow(/checkpoint 2 failed/);
    await rm(piecesDir);
    // the chains of checkpoint 1 are gone with the directory: restore the state written since
    const groups = await snapshots.snapshot(3, new Map());
    const changed = [...groups.values()].filter((e) =>
      (e as unknown as Stored).chain.at(-1)?.f.startsWith('000000000003'),
    );
    expect(changed.length).toBe(1); // key 3's group, written again at checkpoint 3
    expect((await readdir(piecesDir)).length).toBe(1);
    snapshots.close();
  });

  it('after a restore from another directory, the first checkpoint makes those chains its own (linked, not rewritten)', async () => {
    const before = new HeapKeyedStateBackend(MAX_PARALLELISM);
    before.trackChanges();
    const old = new IncrementalSnapshots({
      dir: join(dir.path, 'old'),
      uid: 'op',
      subtask: 0,
      consolidateEvery: 100,
      backend: before,
    });
    for (let key = 0; key < 40; key++) write(before, key, 0);
    await old.snapshot(1, new Map());
    write(before, 5, 1);
    const oldChains = chainsOf(await old.snapshot(2, new Map()), join(dir.path, 'old'));

    const after = await restore(oldChains);
    after.trackChanges();
    const fresh = new IncrementalSnapshots({
      dir: join(dir.path, 'new'),
      uid: 'op',
      subtask: 0,
      consolidateEvery: 100,
      backend: after,
    });
    for (const [group, chain] of oldChains) fresh.restoreChain(group, chain);
    const groups = await fresh.snapshot(3, new Map()); // nothing changed since the restore
    const newChains = chainsOf(groups, join(dir.path, 'new'));
    expect(newChains.size).toBe(oldChains.size);
    for (const [group, chain] of newChains) {
      // the same pieces (kinds, hashes), now files of the new directory named for checkpoint 3
      expect(chain.map((r) => [r.kind, r.sha256])).toEqual(
        oldChains.get(group)?.map((r) => [r.kind, r.sha256]),
      );
      for (const ref of chain) expect(ref.path).toMatch(/\/new\/000000000003-0-op-/);
    }
    expect(newChains.get(keyGroupOf(5, MAX_PARALLELISM))?.map((r) => r.kind)).toEqual([
      'full',
      'delta',
    ]);
    await rm(join(dir.path, 'old'), { recursive: true });
    expect(canonical((await restore(newChains)).snapshot())).toEqual(canonical(before.snapshot()));
    old.close();
    fresh.close();
  });
});
