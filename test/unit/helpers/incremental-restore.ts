import { expect } from 'vitest';
import { readCheckpointFile } from '../../../src/checkpoint/checkpoint-storage.js';
import type { JobOptionsInput } from '../../../src/runtime/job-options.js';
import { startExactlyOnceJob, verifyExactlyOnce, type Output } from './exactly-once-job.js';
import { readCommitted } from './files.js';

/** Chains (piece kinds) of the keyed operator in a checkpoint file. */
export async function chains(path: string): Promise<string[][]> {
  const data = await readCheckpointFile(path);
  const out: string[][] = [];
  for (const subtask of data.operators['count']?.subtasks ?? []) {
    for (const [, entry] of subtask.keyGroups) {
      out.push(((entry as { chain: { k: string }[] }).chain ?? []).map((r) => r.k));
    }
  }
  return out;
}

/**
 * The exactly-once keyed job with incremental checkpoints under `state` (any backend,
 * `consolidateEvery: 2`): run 1 fails twice after several checkpoints and restarts from the chains;
 * run 2 resumes at parallelism 3, so key groups move and read their chains elsewhere. Checks the
 * chains seen (full first, increments, consolidated short) and the output (exactly once).
 */
export async function restoreThroughFailuresAndRescale(
  state: JobOptionsInput['state'],
  outDir: string,
  checkpointDir: string,
): Promise<void> {
  const total = 12_000;
  // run 1: two failures (each after several checkpoints), restarts read the chains back
  let waiting = false;
  const first = startExactlyOnceJob({
    records: total,
    outDir,
    failures: [
      { atRead: 2_000, afterCheckpoints: 4 },
      { atRead: 4_000, afterCheckpoints: 9 },
    ],
    options: {
      parallelism: 2,
      checkpoint: { intervalMs: 25, dir: checkpointDir },
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
    outDir,
    failures: [],
    options: { parallelism: 3, checkpoint: { intervalMs: 25, dir: checkpointDir }, state },
    restoreFrom: checkpointDir,
  });
  expect((await second.handle).status).toBe('finished');
  expect(verifyExactlyOnce(await readCommitted<Output>(outDir), total)).toEqual([]);
}
