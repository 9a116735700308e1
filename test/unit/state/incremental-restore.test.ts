import { afterEach, beforeEach, describe, it } from 'vitest';
import { tempDir } from '../helpers/files.js';
import { restoreThroughFailuresAndRescale } from '../helpers/incremental-restore.js';

describe('incremental checkpoints of keyed state: exactly once across failures and rescaling', () => {
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
    await restoreThroughFailuresAndRescale(
      { snapshots: 'incremental', consolidateEvery: 2 },
      out.path,
      ckpt.path,
    );
  });
});
