import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckpointData } from '../../../src/checkpoint/checkpoint-data.js';
import {
  FileCheckpointStore,
  STATE_PIECES_DIR,
} from '../../../src/checkpoint/checkpoint-storage.js';
import { tempDir } from '../helpers/files.js';

const piece = (id: number, tag: string): string =>
  `${String(id).padStart(12, '0')}-0-op-${tag}.piece`;

/** A checkpoint whose key group 0 has the given chain of piece files. */
function checkpoint(id: number, chain: string[]): CheckpointData {
  return {
    checkpointId: id,
    jobName: 'job',
    triggeredAt: 1000 + id,
    completedAt: 2000 + id,
    operators: {
      op: {
        parallelism: 1,
        subtasks: [
          {
            items: [],
            keyGroups: [
              [
                0,
                {
                  chain: chain.map((f, i) => ({
                    f,
                    o: 0,
                    n: 10,
                    h: 'x',
                    k: i === 0 ? 'full' : 'delta',
                  })),
                },
              ],
            ],
          },
        ],
      },
    },
    enumerators: {},
  };
}

describe('retention of shared state pieces', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('pieces');
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('deletes a piece only when no retained checkpoint needs it, and never one still in flight', async () => {
    const pieces = join(dir.path, STATE_PIECES_DIR);
    await mkdir(pieces);
    const names = [
      piece(1, 'a'),
      piece(2, 'b'),
      piece(3, 'c'),
      piece(3, 'orphan'),
      piece(5, 'next'),
    ];
    for (const name of names) await writeFile(join(pieces, name), 'x'.repeat(10));
    const store = await FileCheckpointStore.open(dir.path, 1);

    const ref1 = await store.store(checkpoint(1, [names[0] as string]));
    expect(ref1.bytes).toBeGreaterThan(10); // the body plus the piece written for it
    await store.store(checkpoint(2, [names[0] as string, names[1] as string]));
    await store.settled(); // unneeded pieces are removed in the background
    // checkpoint 1 is gone, but its piece is shared by checkpoint 2
    expect((await readdir(pieces)).sort()).toEqual(names.slice().sort());

    await store.store(checkpoint(3, [names[2] as string])); // consolidated: a new full piece
    await store.settled();
    // a and b are needed by no checkpoint left; the orphan of 3 goes; 5 may still be in flight
    expect((await readdir(pieces)).sort()).toEqual([piece(3, 'c'), piece(5, 'next')].sort());
  });

  it('removes pieces in the background: a failure is reported, not lost', async () => {
    const pieces = join(dir.path, STATE_PIECES_DIR);
    await mkdir(pieces);
    const store = await FileCheckpointStore.open(dir.path, 1);
    await writeFile(join(pieces, piece(1, 'a')), 'x');
    await store.store(checkpoint(1, [piece(1, 'a')]));
    await store.settled();
    // a piece that cannot be removed (a directory with content under its name)
    await mkdir(join(pieces, piece(1, 'stuck'), 'inside'), { recursive: true });
    await writeFile(join(pieces, piece(2, 'b')), 'x');
    await store.store(checkpoint(2, [piece(2, 'b')]));
    await expect(store.settled()).rejects.toThrow(/removing state pieces .*failed.*stuck/);
    // reported once; once it can be removed, the next store's removal takes it
    await rm(join(pieces, piece(1, 'stuck')), { recursive: true });
    await writeFile(join(pieces, piece(1, 'stuck')), 'x');
    await store.store(checkpoint(3, [piece(2, 'b')]));
    await store.settled();
    expect(await readdir(pieces)).toEqual([piece(2, 'b')]);
  });
});
