import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckpointData } from '../../../src/checkpoint/checkpoint-data.js';
import {
  WorkerStateFolder,
  asStateHandles,
  loadKeyGroups,
  type StateHandle,
} from '../../../src/cluster/state-handles.js';
import { asWorkerPiece, pieceOf } from '../../../src/cluster/worker-piece.js';
import { TributaryError } from '../../../src/errors.js';
import { completedRecord } from '../helpers/completed-record.js';
import { rejection } from '../helpers/rejection.js';

const K = 8;

/** A piece file in `<folder>/state/` written for checkpoint `id`; @returns its stored ref. */
async function pieceFile(folder: string, id: number, text: string) {
  const name = `${String(id).padStart(12, '0')}-0-count-${createHash('sha1').update(text).digest('hex').slice(0, 8)}.piece`;
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(folder, 'state'), { recursive: true });
  await writeFile(join(folder, 'state', name), text);
  return {
    f: name,
    o: 0,
    n: Buffer.byteLength(text),
    h: createHash('sha256').update(text).digest('hex'),
    k: 'full' as const,
  };
}

/** A local checkpoint of worker state: key group 1 inline, key group 5 as a chain of `refs`. */
function checkpoint(id: number, refs: readonly object[]): CheckpointData {
  return {
    checkpointId: id,
    jobName: 'keyed',
    triggeredAt: 1_000 + id,
    completedAt: 2_000 + id,
    operators: {
      count: {
        parallelism: 2,
        subtasks: [
          { items: ['list-item'], keyGroups: [[1, { state: { a: id } }]] },
          { items: [], keyGroups: [[5, { chain: refs as never }]] },
        ],
      },
      output: { parallelism: 1, subtasks: [{ items: [{ txn: 'x' }], keyGroups: [] }] },
    },
    enumerators: { input: { positions: 'not restored with keyed state' } },
    lineageStart: 1,
  };
}

describe('keyed state of cluster checkpoints in a shared directory', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tributary-state-handles-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('a piece names its keyed state by handles, which survive the table round trip', () => {
    const handle: StateHandle = {
      file: 'workers/w1/chk-000000000007.ckpt',
      checkpointId: 7,
      sha256: 'a'.repeat(64),
      bytes: 123,
      keyGroups: [[0, K]],
    };
    const piece = pieceOf(checkpoint(7, []), new Map(), [handle]);
    expect(piece.state).toEqual([handle]);
    const back = asWorkerPiece(JSON.parse(JSON.stringify(piece)));
    expect(back.state).toEqual([handle]);
    // a stateless worker's piece has none, as before
    expect(asWorkerPiece({ readerGroups: {}, sinks: [] }).state).toBeUndefined();
    expect(pieceOf(checkpoint(7, []), new Map()).state).toBeUndefined();
  });

  it('refuses malformed handles with STATE_CORRUPT', () => {
    const good = {
      file: 'workers/w/chk-000000000001.ckpt',
      checkpointId: 1,
      sha256: 'b'.repeat(64),
      bytes: 1,
      keyGroups: [[0, 4]],
    };
    expect(asStateHandles([good])).toEqual([good]);
    for (const bad of [
      { ...good, file: '../elsewhere/chk.ckpt' },
      { ...good, file: '/etc/passwd' },
      { ...good, checkpointId: 0 },
      { ...good, sha256: 'nope' },
      { ...good, keyGroups: [[4, 4]] },
      { ...good, keyGroups: 'all' },
    ]) {
      expect(() => asStateHandles([bad])).toThrow(/cluster state handle is malformed/);
      try {
        asStateHandles([bad]);
      } catch (err) {
        expect(TributaryError.is(err, 'STATE_CORRUPT')).toBe(true);
      }
    }
    expect(() => asWorkerPiece({ state: {} })).toThrow(/malformed/);
  });

  it('writes a worker’s checkpoint and loads key groups as of the completed checkpoint', async () => {
    const folder = new WorkerStateFolder(root, 'host:1/x');
    expect(folder.relative).toBe(join('workers', 'host_1_x'));
    const ref = await pieceFile(folder.dir, 3, 'state of key group 5');
    const handle = await folder.write(checkpoint(3, [ref]), [[0, K]]);
    expect(handle).toMatchObject({
      file: join('workers', 'host_1_x', 'chk-000000000003.ckpt'),
      checkpointId: 3,
      keyGroups: [[0, K]],
    });
    const bytes = await readFile(join(root, handle.file));
    const body = bytes.subarray(bytes.indexOf(0x0a) + 1);
    expect(handle.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect(handle.bytes).toBe(body.length);

    const all = await loadKeyGroups(root, completedRecord(3, { workerId: 'w', state: [handle] }), {
      start: 0,
      end: K,
    });
    expect(all.checkpointId).toBe(3);
    expect(all.location).toBe(folder.dir);
    expect(all.enumerators).toEqual({}); // the cluster restores positions and transactions
    expect(Object.keys(all.operators)).toEqual(['count']); // no keyed state: not restored
    expect(all.operators['count']?.subtasks.map((s) => s.items)).toEqual([[], []]);
    expect(all.operators['count']?.subtasks.flatMap((s) => s.keyGroups.map(([g]) => g))).toEqual([
      1, 5,
    ]);
    // a part of the key groups: only those
    const part = await loadKeyGroups(root, completedRecord(3, { workerId: 'w', state: [handle] }), {
      start: 4,
      end: 6,
    });
    expect(part.operators['count']?.subtasks.flatMap((s) => s.keyGroups.map(([g]) => g))).toEqual([
      5,
    ]);
  });

  it('restores the list state of the operators it is asked for from a shared directory too', async () => {
    const folder = new WorkerStateFolder(root, 'w1');
    const handle = await folder.write(checkpoint(3, []), [[0, K]]);
    const record = completedRecord(3, { workerId: 'w1', state: [handle] });
    const back = await loadKeyGroups(root, record, { start: 0, end: K }, (uid) => uid === 'count');
    expect(back.operators['count']?.subtasks.map((s) => s.items)).toEqual([['list-item'], []]);
    expect(back.operators['output']).toBeUndefined();
  });

  it('retention keeps every file (and piece) the completed checkpoint names, and newer ones', async () => {
    const folder = new WorkerStateFolder(root, 'w1');
    const p1 = await pieceFile(folder.dir, 1, 'full piece of checkpoint 1');
    const h1 = await folder.write(checkpoint(1, [p1]), [[0, K]]);
    const p2 = await pieceFile(folder.dir, 2, 'delta of checkpoint 2');
    // checkpoint 2's chain still needs checkpoint 1's piece
    const h2 = await folder.write(checkpoint(2, [p1, p2]), [[0, K]]);
    const p3 = await pieceFile(folder.dir, 3, 'full piece of checkpoint 3');
    await folder.write(checkpoint(3, [p3]), [[0, K]]); // in flight
    const done2 = completedRecord(2, { workerId: 'w1', state: [h2] });
    expect(await folder.retain(done2)).toEqual([h1.file]);
    expect((await readdir(folder.dir)).filter((n) => n.endsWith('.ckpt')).sort()).toEqual([
      'chk-000000000002.ckpt',
      'chk-000000000003.ckpt',
    ]);
    // the next write removes pieces no file present needs: none yet (2 needs 1's piece)
    const p4 = await pieceFile(folder.dir, 4, 'full piece of checkpoint 4');
    const h4 = await folder.write(checkpoint(4, [p4]), [[0, K]]);
    await (await folder.open()).settled();
    expect((await readdir(join(folder.dir, 'state'))).sort()).toEqual(
      [p1.f, p2.f, p3.f, p4.f].sort(),
    );
    await loadKeyGroups(root, done2, { start: 0, end: K }); // still whole
    // 4 completed: 2 and 3 go, and with the next write the pieces only they needed
    expect(
      (await folder.retain(completedRecord(4, { workerId: 'w1', state: [h4] }))).sort(),
    ).toEqual([h2.file, join(folder.relative, 'chk-000000000003.ckpt')]);
    const p5 = await pieceFile(folder.dir, 5, 'full piece of checkpoint 5');
    await folder.write(checkpoint(5, [p4, p5]), [[0, K]]);
    await (await folder.open()).settled();
    expect((await readdir(join(folder.dir, 'state'))).sort()).toEqual([p4.f, p5.f].sort());
  });

  it('retention across workers: another worker’s folder goes only once no completed checkpoint names it', async () => {
    const old = new WorkerStateFolder(root, 'old');
    const hOld = await old.write(checkpoint(4, []), [[0, K]]);
    const mine = new WorkerStateFolder(root, 'new');
    // restored from old's checkpoint 4: completed 4 still names it
    expect(await mine.removeOthers(completedRecord(4, { workerId: 'old', state: [hOld] }))).toEqual(
      [],
    );
    const hNew = await mine.write(checkpoint(6, []), [[0, K]]);
    expect(await mine.removeOthers(completedRecord(6, { workerId: 'new', state: [hNew] }))).toEqual(
      [old.relative],
    );
    expect(await readdir(join(root, 'workers'))).toEqual(['new']);
  });

  it('a missing, corrupt or replaced state file, or a missing piece, fails the restore with STATE_CORRUPT naming it', async () => {
    const folder = new WorkerStateFolder(root, 'w1');
    const ref = await pieceFile(folder.dir, 2, 'the chain of key group 5');
    const handle = await folder.write(checkpoint(2, [ref]), [[0, K]]);
    const record = completedRecord(2, { workerId: 'w1', state: [handle] });
    const path = join(root, handle.file);
    const all = { start: 0, end: K };
    const original = await readFile(path);

    // corrupt: a byte of the body flipped
    const flipped = Buffer.from(original);
    flipped.writeUInt8(flipped.readUInt8(flipped.length - 2) ^ 0x01, flipped.length - 2);
    await writeFile(path, flipped);
    let err = await rejection(loadKeyGroups(root, record, all));
    expect(err.code).toBe('STATE_CORRUPT');
    expect(err.message).toContain(path);
    expect(err.message).toMatch(/worker w1 in completed cluster checkpoint 2/);
    expect(err.message).toMatch(/SHA-256 mismatch/);

    // replaced: an intact file, but not the one the checkpoint names
    await writeFile(join(folder.dir, 'other.txt'), '');
    const replaced = await new WorkerStateFolder(root, 'w1').write(
      { ...checkpoint(2, [ref]), triggeredAt: 1 },
      [[0, K]],
    );
    expect(replaced.sha256).not.toBe(handle.sha256);
    err = await rejection(loadKeyGroups(root, record, all));
    expect(err.code).toBe('STATE_CORRUPT');
    expect(err.message).toMatch(/is not the file the checkpoint names/);

    // missing file
    await rm(path);
    err = await rejection(loadKeyGroups(root, record, all));
    expect(err.code).toBe('STATE_CORRUPT');
    expect(err.message).toContain(path);
    expect(err.message).toMatch(/missing/);

    // missing piece
    await writeFile(path, original);
    await loadKeyGroups(root, record, all);
    const piece = join(folder.dir, 'state', ref.f);
    await rm(piece);
    err = await rejection(loadKeyGroups(root, record, all));
    expect(err.code).toBe('STATE_CORRUPT');
    expect(err.message).toContain(piece);
    // torn piece
    await writeFile(piece, 'short');
    err = await rejection(loadKeyGroups(root, record, all));
    expect(err.message).toMatch(/torn/);

    // key groups no handle covers
    const half = completedRecord(2, {
      workerId: 'w1',
      state: [{ ...handle, keyGroups: [[0, 4]] }],
    });
    err = await rejection(loadKeyGroups(root, half, all));
    expect(err.code).toBe('STATE_CORRUPT');
    expect(err.message).toMatch(/names no keyed state for key group 4/);
    // a handle of another checkpoint
    err = await rejection(
      loadKeyGroups(
        root,
        completedRecord(3, { workerId: 'w1', state: [{ ...handle, checkpointId: 2 }] }),
        all,
      ),
    );
    expect(err.message).toMatch(/is of checkpoint 2, not 3/);
  });
});
