import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  startExactlyOnceJob,
  verifyExactlyOnce,
  type Output,
} from '../helpers/exactly-once-job.js';
import { inProgressFiles, readCommitted, tempDir } from '../helpers/files.js';

describe('cancel, then resume from the retained checkpoint with another parallelism', () => {
  let out: { path: string; remove: () => Promise<void> };
  let ckpt: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    out = await tempDir('rescale-out');
    ckpt = await tempDir('rescale-ckpt');
  });
  afterEach(async () => {
    await out.remove();
    await ckpt.remove();
  });

  it('redistributes splits, keyed state (by key group) and sink transactions: exactly once', async () => {
    const total = 9_000;
    const held = 3_000;
    // the first run reads 3 000 records and then waits for good: it is cancelled mid-input however
    // fast or slow the machine is
    let waiting = false;
    const first = startExactlyOnceJob({
      records: total,
      outDir: out.path,
      failures: [],
      options: { parallelism: 2, checkpoint: { intervalMs: 25, dir: ckpt.path } },
      ratePerSecond: 4_000,
      gates: [{ afterRecords: held, until: () => ((waiting = true), false) }],
    });
    // three checkpoints completed after the source paused: the second was triggered after it
    // paused, so it holds every record read, and its commit (on its completion notice) came
    // before the third completed
    let afterPause = 0;
    await new Promise<void>((resolve) => {
      first.handle.events$.subscribe((e) => {
        if (e.type === 'checkpoint-completed' && waiting && ++afterPause === 3) resolve();
      });
    });
    const cancelled = await first.handle.cancel();
    expect(cancelled.status).toBe('cancelled');
    const before = (await readCommitted<Output>(out.path)).length;
    expect(before).toBeGreaterThanOrEqual(held);
    expect(before).toBeLessThan(total);

    const second = startExactlyOnceJob({
      records: total,
      outDir: out.path,
      failures: [],
      options: { parallelism: 3, checkpoint: { intervalMs: 25, dir: ckpt.path } },
      restoreFrom: ckpt.path,
    });
    const result = await second.handle;
    expect(result.status).toBe('finished');
    expect(verifyExactlyOnce(await readCommitted<Output>(out.path), total)).toEqual([]);
    // in-progress files of the cancelled run's subtasks 0 and 1 were cleaned by the new subtasks 0 and 1
    expect(await inProgressFiles(out.path)).toEqual([]);
  });
});
