import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCheckpointFile } from '../../../../src/checkpoint/checkpoint-storage.js';
import { TributaryError } from '../../../../src/errors.js';
import {
  startExactlyOnceJob,
  verifyExactlyOnce,
  type Output,
} from '../../helpers/exactly-once-job.js';
import { readCommitted, tempDir } from '../../helpers/files.js';

/** Chains (piece kinds) of the keyed operator in a checkpoint file. */
async function chains(path: string): Promise<string[][]> {
  const data = await readCheckpointFile(path);
  const out: string[][] = [];
  for (const subtask of data.operators['count']?.subtasks ?? []) {
    for (const [, entry] of subtask.keyGroups) {
      out.push(((entry as { chain: { k: string }[] }).chain ?? []).map((r) => r.k));
    }
  }
  return out;
}

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
    const total = 12_000;
    const work = join(ckpt.path, '..', `${ckpt.path.split('/').at(-1)}-lmdb`);
    const state = {
      backend: 'lmdb',
      dir: work,
      snapshots: 'incremental',
      consolidateEvery: 2,
      // tiny write batches and cache: state is read back from LMDB all the time
      writeBatchEntries: 2,
      cacheEntries: 1,
    } as const;
    // run 1: two failures (each after several checkpoints), restarts read the chains back
    let waiting = false;
    const first = startExactlyOnceJob({
      records: total,
      outDir: out.path,
      failures: [
        { atRead: 2_000, afterCheckpoints: 4 },
        { atRead: 4_000, afterCheckpoints: 9 },
      ],
      options: {
        parallelism: 2,
        checkpoint: { intervalMs: 25, dir: ckpt.path },
        restart: { type: 'fixed-delay', maxAttempts: 3, delayMs: 0 },
        state,
      },
      ratePerSecond: 6_000,
      gates: [{ afterRecords: 6_000, until: () => ((waiting = true), false) }],
    });
    let afterPause = 0;
    const seen: Promise<string[][] | undefined>[] = [];
    await new Promise<void>((resolve) => {
      first.handle.events$.subscribe((e) => {
        if (e.type !== 'checkpoint-completed') return;
        // read as it completes (older files are pruned: retained 3)
        if (e.path !== undefined) seen.push(chains(e.path).catch(() => undefined));
        if (waiting && ++afterPause === 3) resolve();
      });
    });
    expect(first.remainingFailures()).toBe(0);
    const all = (await Promise.all(seen)).flatMap((c) => c ?? []);
    expect(all.length).toBeGreaterThan(0);
    expect(all.every((c) => c[0] === 'full')).toBe(true);
    expect(all.some((c) => c.includes('delta'))).toBe(true); // increments
    // consolidateEvery 2: over many checkpoints chains stay short (never 3 × 2 pieces or more)
    expect(Math.max(...all.map((c) => c.length))).toBeLessThan(6);
    expect((await first.handle.cancel()).status).toBe('cancelled');
    expect(first.events.filter((e) => e.type === 'restart').length).toBe(2);

    // run 2: parallelism 3, key groups move to other subtasks and read their chains there
    const second = startExactlyOnceJob({
      records: total,
      outDir: out.path,
      failures: [],
      options: { parallelism: 3, checkpoint: { intervalMs: 25, dir: ckpt.path }, state },
      restoreFrom: ckpt.path,
    });
    expect((await second.handle).status).toBe('finished');
    expect(verifyExactlyOnce(await readCommitted<Output>(out.path), total)).toEqual([]);
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
