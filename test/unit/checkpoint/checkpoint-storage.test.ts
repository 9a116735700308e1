import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CheckpointData } from '../../../src/checkpoint/checkpoint-data.js';
import {
  FileCheckpointStore,
  checkpointFileName,
  readCheckpointFile,
  resolveRestorePoint,
} from '../../../src/checkpoint/checkpoint-storage.js';
import { TributaryError } from '../../../src/errors.js';
import { foldThread } from '../../../src/state/fold-thread.js';
import { tempDir } from '../helpers/files.js';

function checkpoint(id: number): CheckpointData {
  return {
    checkpointId: id,
    jobName: 'job',
    triggeredAt: 1000 + id,
    completedAt: 2000 + id,
    operators: { op: { parallelism: 1, subtasks: [{ items: [id], keyGroups: [[3, { v: id }]] }] } },
    enumerators: { src: { unassigned: [] } },
  };
}

describe('file checkpoint storage', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('ckpt');
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('stores atomically, keeps the last N and reads the newest back', async () => {
    const store = await FileCheckpointStore.open(dir.path, 3);
    for (let id = 1; id <= 5; id++) await store.store(checkpoint(id));
    expect((await readdir(dir.path)).sort()).toEqual([3, 4, 5].map(checkpointFileName));
    const { data, skipped } = await store.latest();
    expect(data).toEqual({ ...checkpoint(5), location: dir.path });
    expect(skipped).toEqual([]);
    expect(await store.highestId()).toBe(5);
  });

  it('detects a torn newest checkpoint, skips it with a clear error and uses the previous one', async () => {
    const store = await FileCheckpointStore.open(dir.path, 5);
    await store.store(checkpoint(1));
    await store.store(checkpoint(2));
    const newest = join(dir.path, checkpointFileName(2));
    const bytes = await readFile(newest);
    await writeFile(newest, bytes.subarray(0, bytes.length - 7)); // torn write
    const { data, skipped } = await store.latest();
    expect(data?.checkpointId).toBe(1);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]?.error.code).toBe('STATE_CORRUPT');
    expect(skipped[0]?.error.message).toMatch(/chk-000000000002.*torn write/);
  });

  it('detects a flipped byte by its checksum', async () => {
    const store = await FileCheckpointStore.open(dir.path, 5);
    const { path } = await store.store(checkpoint(7));
    const bytes = Buffer.from(await readFile(path as string));
    const at = bytes.length - 10;
    bytes[at] = (bytes[at] ?? 0) ^ 0x01;
    await writeFile(path as string, bytes);
    await expect(readCheckpointFile(path as string)).rejects.toThrow(/SHA-256 mismatch/);
    await expect(resolveRestorePoint(path as string)).rejects.toSatisfy((e) =>
      TributaryError.is(e, 'STATE_CORRUPT'),
    );
    await expect(resolveRestorePoint(dir.path)).rejects.toThrow(/no intact checkpoint/);
  });

  it('removes leftover temp files on open and resolves a directory to its newest intact checkpoint', async () => {
    await writeFile(join(dir.path, '.tmp-chk-9-abcd'), 'half written');
    const store = await FileCheckpointStore.open(dir.path, 5);
    expect(await readdir(dir.path)).toEqual([]);
    await store.store(checkpoint(1));
    await store.store(checkpoint(2));
    await writeFile(join(dir.path, checkpointFileName(3)), 'garbage');
    const { data, skipped } = await resolveRestorePoint(dir.path);
    expect(data.checkpointId).toBe(2);
    expect(skipped.map((s) => s.path)).toEqual([join(dir.path, checkpointFileName(3))]);
    await expect(resolveRestorePoint(join(dir.path, 'missing'))).rejects.toSatisfy((e) =>
      TributaryError.is(e, 'CONFIG_INVALID'),
    );
  });

  it('retention deletes only checkpoints of the same lineage, never those of another run', async () => {
    const store = await FileCheckpointStore.open(dir.path, 2);
    for (let id = 1; id <= 3; id++) await store.store({ ...checkpoint(id), lineageStart: 1 });
    expect((await readdir(dir.path)).sort()).toEqual([2, 3].map(checkpointFileName));
    // a run that started over in the same directory (allowDuplicates): its own lineage from 4
    for (let id = 4; id <= 7; id++) await store.store({ ...checkpoint(id), lineageStart: 4 });
    expect((await readdir(dir.path)).sort()).toEqual([2, 3, 6, 7].map(checkpointFileName));
  });

  it('restoreFrom a directory without checkpoints is a clear error naming it', async () => {
    await expect(resolveRestorePoint(dir.path)).rejects.toThrow(
      `restoreFrom: ${dir.path} holds no completed checkpoint`,
    );
  });
});

describe('file checkpoint storage while keyed state holds its worker thread', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('ckpt-worker');
    foldThread.hold();
  });
  afterEach(async () => {
    foldThread.release();
    vi.restoreAllMocks();
    await dir.remove();
  });

  it('writes the file in the worker, keeps the last N of the lineage and reads it back intact', async () => {
    const commit = vi.spyOn(foldThread, 'commit');
    // an older run's checkpoint (another lineage) is never removed
    const older = await FileCheckpointStore.open(dir.path, 3);
    await older.store(checkpoint(1));
    const store = await FileCheckpointStore.open(dir.path, 3);
    for (let id = 2; id <= 7; id++) await store.store({ ...checkpoint(id), lineageStart: 2 });
    expect(commit.mock.calls.map((call) => call[2]?.path)).toEqual(
      [1, 2, 3, 4, 5, 6, 7].map((id) => join(dir.path, checkpointFileName(id))),
    );
    expect((await readdir(dir.path)).sort()).toEqual([1, 5, 6, 7].map(checkpointFileName));
    const { data, skipped } = await store.latest();
    expect(data).toEqual({ ...checkpoint(7), lineageStart: 2, location: dir.path });
    expect(skipped).toEqual([]);
    const path = join(dir.path, checkpointFileName(6));
    const bytes = Buffer.from(await readFile(path));
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] ?? 0) ^ 0x01;
    await writeFile(path, bytes);
    await expect(readCheckpointFile(path)).rejects.toThrow(/SHA-256 mismatch/);
  });

  it("removes the worker's leftover temp file on open", async () => {
    await writeFile(join(dir.path, `.tmp-${checkpointFileName(4)}`), 'half written');
    const store = await FileCheckpointStore.open(dir.path, 2);
    expect(await readdir(dir.path)).toEqual([]);
    await store.store(checkpoint(5));
    expect(await readdir(dir.path)).toEqual([checkpointFileName(5)]);
  });
});
