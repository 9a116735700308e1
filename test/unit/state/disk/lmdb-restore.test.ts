import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCheckpointFile } from '../../../../src/checkpoint/checkpoint-storage.js';
import { TributaryError } from '../../../../src/errors.js';
import { startExactlyOnceJob } from '../../helpers/exactly-once-job.js';
import { tempDir } from '../../helpers/files.js';
import { restoreThroughFailuresAndRescale } from '../../helpers/incremental-restore.js';

describe('LMDB keyed state with incremental checkpoints: exactly once across failures and rescaling', () => {
  let out: { path: string; remove: () => Promise<void> };
  let ckpt: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    out = await tempDir('incr-out');
    ckpt = await tempDir('incr-ckpt');
  });
  afterEach(async () => {
    await out.remove();
    await ckpt.remove();
  });

  it('restores from chains of several increments and consolidations after failures, then with another parallelism', async () => {
    const work = join(ckpt.path, '..', `${ckpt.path.split('/').at(-1)}-lmdb`);
    const state = {
      backend: 'lmdb',
      dir: work,
      snapshots: 'incremental',
      consolidateEvery: 2,
      // tiny write batches and cache: state is read back from LMDB all the time
      writeBatchEntries: 2,
      writeCacheEntries: 1,
      cacheEntries: 1,
    } as const;
    await restoreThroughFailuresAndRescale(state, out.path, ckpt.path);
    // every subtask's LMDB environment was closed and deleted (restarts included)
    expect(await readdir(work)).toEqual([]);
    await rm(work, { recursive: true, force: true });
  });

  it('a deleted increment fails the restore with STATE_CORRUPT naming the piece, never empty state', async () => {
    const work = `${ckpt.path}-lmdb`;
    const state = {
      backend: 'lmdb',
      dir: work,
      snapshots: 'incremental',
      consolidateEvery: 100,
      writeBatchEntries: 2,
      writeCacheEntries: 1,
      cacheEntries: 1,
    } as const;
    const options = {
      parallelism: 2,
      checkpoint: { intervalMs: 25, dir: ckpt.path },
      restart: { type: 'none' },
      state,
    } as const;
    const first = startExactlyOnceJob({
      records: 100_000,
      outDir: out.path,
      failures: [],
      options,
      ratePerSecond: 6_000,
    });
    // a checkpoint whose chains hold increments (consolidateEvery 100: no folding)
    const withDelta = await new Promise<{ path: string; piece: string }>((resolve) => {
      first.handle.events$.subscribe((e) => {
        if (e.type !== 'checkpoint-completed' || e.path === undefined) return;
        const path = e.path;
        void readCheckpointFile(path).then(
          (data) => {
            for (const subtask of data.operators['count']?.subtasks ?? [])
              for (const [, entry] of subtask.keyGroups) {
                const delta = (entry as { chain?: { f: string; k: string }[] }).chain?.find(
                  (r) => r.k === 'delta',
                );
                if (delta !== undefined) resolve({ path, piece: delta.f });
              }
          },
          () => undefined,
        );
      });
    });
    expect((await first.handle.cancel()).status).toBe('cancelled');
    await rm(join(ckpt.path, 'state', withDelta.piece));

    const second = startExactlyOnceJob({
      records: 100_000,
      outDir: out.path,
      failures: [],
      options: { ...options, parallelism: 3 },
      restoreFrom: withDelta.path,
    });
    const err = await Promise.resolve(second.handle).then(
      (r) => r,
      (e: unknown) => e,
    );
    // the job fails (STATE_CORRUPT is not retried) with the restore error as its cause
    const cause = (err as Error).cause;
    expect(
      TributaryError.is(err, 'STATE_CORRUPT') || TributaryError.is(cause, 'STATE_CORRUPT'),
      String(err),
    ).toBe(true);
    expect((err as Error).message).toContain(withDelta.piece);
    expect((err as Error).message).toContain('is missing');
    await rm(work, { recursive: true, force: true });
  });
});
