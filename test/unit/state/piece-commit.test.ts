import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasErrorCode } from '../../../src/errors.js';
import { foldThread } from '../../../src/state/fold-thread.js';
import {
  commitPieceFileSync,
  readPieceSection,
  type PieceFileWrite,
} from '../../../src/state/state-pieces.js';
import { tempDir } from '../helpers/files.js';

/** Two sections back to back, as `IncrementalSnapshots` hands them over. */
function pieceFile(path: string): PieceFileWrite {
  const a = Buffer.from('the full section of key group 3');
  const b = Buffer.from('a delta of key group 5');
  const bytes = Buffer.allocUnsafeSlow(a.length + b.length); // a buffer of its own
  a.copy(bytes);
  b.copy(bytes, a.length);
  return {
    path,
    bytes,
    sections: [
      { bytes: a.length, kind: 'full' },
      { bytes: b.length, kind: 'delta' },
    ],
  };
}

describe('committing a checkpoint’s piece file in one step', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('piece-commit');
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('writes the sections readable and verified, and reports which renames it could do', async () => {
    const pieces = join(dir.path, 'state');
    const fold = join(dir.path, 'fold-temp');
    await writeFile(fold, 'folded');
    const { renamed, refs } = commitPieceFileSync(
      pieces,
      [
        { from: fold, to: join(pieces, 'adopted.piece') },
        { from: join(dir.path, 'gone'), to: join(pieces, 'never.piece') },
      ],
      pieceFile(join(pieces, 'p.piece')),
    );
    expect(renamed).toEqual([true, false]);
    expect(refs.map((r) => [r.offset, r.bytes, r.kind])).toEqual([
      [0, 31, 'full'],
      [31, 22, 'delta'],
    ]);
    expect((await readPieceSection(refs[1]!, 'group 5')).toString()).toBe('a delta of key group 5');
    expect((await readdir(pieces)).sort()).toEqual(['adopted.piece', 'p.piece']);
    // a tampered section is refused, naming the piece
    await writeFile(join(pieces, 'p.piece'), 'X'.repeat(53));
    const err = await readPieceSection(refs[0]!, 'group 3').catch((e: unknown) => e);
    expect(hasErrorCode(err, 'STATE_CORRUPT')).toBe(true);
    expect(String(err)).toContain('p.piece');
  });

  it('does the same in the worker thread, the bytes handed over', async () => {
    foldThread.hold();
    try {
      const pieces = join(dir.path, 'state');
      const file = pieceFile(join(pieces, 'w.piece'));
      const { renamed, refs } = await foldThread.commit(pieces, [], file, 30_000);
      expect(renamed).toEqual([]);
      expect(file.bytes.length).toBe(0); // transferred: the task keeps no copy
      expect((await readPieceSection(refs[0]!, 'group 3')).toString()).toBe(
        'the full section of key group 3',
      );
      // a directory that cannot be made fails the request with a clear error
      await writeFile(join(dir.path, 'file'), '');
      const err = await foldThread
        .commit(join(dir.path, 'file', 'sub'), [], pieceFile('x'), 30_000)
        .catch((e: unknown) => e);
      expect(hasErrorCode(err, 'CHECKPOINT_FAILED')).toBe(true);
    } finally {
      foldThread.release();
    }
  });
});
