import { createHash, randomBytes, webcrypto } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TributaryError, errorMessage } from '../errors.js';

/**
 * A piece of keyed state on disk: one key group's section (full state or the changes since the
 * previous piece of its chain) inside a piece file that one operator subtask wrote for one
 * checkpoint. In memory `path` is absolute; in a checkpoint file only the file name is kept
 * (pieces live in `<checkpoint dir>/state/`), so a checkpoint directory can be moved.
 */
export interface PieceRef {
  readonly path: string;
  readonly offset: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly kind: 'full' | 'delta';
}

/** How a piece reference is written into a checkpoint file (plain JSON). */
export interface StoredPieceRef {
  readonly f: string;
  readonly o: number;
  readonly n: number;
  readonly h: string;
  readonly k: 'full' | 'delta';
}

export function toStoredRef(ref: PieceRef): StoredPieceRef {
  return { f: basename(ref.path), o: ref.offset, n: ref.bytes, h: ref.sha256, k: ref.kind };
}

/** Resolves a stored reference against the pieces directory it belongs to. */
export function fromStoredRef(ref: unknown, piecesDir: string, what: string): PieceRef {
  const r = ref as Partial<StoredPieceRef> | null;
  if (
    typeof r !== 'object' ||
    r === null ||
    typeof r.f !== 'string' ||
    r.f.includes('/') ||
    typeof r.o !== 'number' ||
    typeof r.n !== 'number' ||
    typeof r.h !== 'string' ||
    (r.k !== 'full' && r.k !== 'delta')
  ) {
    throw new TributaryError('STATE_CORRUPT', `${what}: malformed state piece reference`);
  }
  return { path: join(piecesDir, r.f), offset: r.o, bytes: r.n, sha256: r.h, kind: r.k };
}

/** `<checkpoint id>-<subtask>-<uid>-<random>.piece`: the id lets retention keep in-flight pieces. */
export function pieceFileName(checkpointId: number, subtask: number, uid: string): string {
  const safeUid = uid.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60);
  return `${String(checkpointId).padStart(12, '0')}-${subtask}-${safeUid}-${randomBytes(4).toString('hex')}.piece`;
}

/** A piece file to write in one go (see `commitPieceFileSync`): its sections back to back. */
export interface PieceFileWrite {
  /** the final path (written as a temp file in the same directory, then renamed) */
  readonly path: string;
  /** every section's bytes, back to back */
  readonly bytes: Uint8Array;
  /** per section, in order: its length in `bytes` and its kind */
  readonly sections: readonly { readonly bytes: number; readonly kind: 'full' | 'delta' }[];
}

/**
 * Makes piece files durable in one synchronous step, for a worker thread (the task's thread
 * would pay an event-loop turn for every file operation): first the `renames` (finished
 * background folds taking a checkpoint's name), then `file` (temp file, fsync, rename), then one
 * directory fsync for all of them. Returns whether each rename was done (its source may have
 * been cleaned away) and a reference per section of `file`.
 */
export function commitPieceFileSync(
  dir: string,
  renames: readonly { readonly from: string; readonly to: string }[],
  file: PieceFileWrite | undefined,
): { renamed: boolean[]; refs: PieceRef[] } {
  mkdirSync(dir, { recursive: true });
  const renamed = renames.map(({ from, to }) => {
    try {
      renameSync(from, to);
      return true;
    } catch {
      return false;
    }
  });
  const refs: PieceRef[] = [];
  if (file !== undefined) {
    const temp = join(dirname(file.path), `.tmp-${basename(file.path)}`);
    const fd = openSync(temp, 'w');
    try {
      for (let done = 0; done < file.bytes.length;)
        done += writeSync(fd, file.bytes, done, file.bytes.length - done, done);
      fsyncSync(fd);
    } catch (err) {
      closeSync(fd);
      rmSync(temp, { force: true });
      throw err;
    }
    closeSync(fd);
    let offset = 0;
    for (const { bytes, kind } of file.sections) {
      const section = file.bytes.subarray(offset, offset + bytes);
      const sha256 = createHash('sha256').update(section).digest('hex');
      refs.push({ path: file.path, offset, bytes, sha256, kind });
      offset += bytes;
    }
    renameSync(temp, file.path);
  }
  syncDirectorySync(dir);
  return { renamed, refs };
}

function syncDirectorySync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } catch {
    // not supported here: the rename itself stays atomic
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes sections into a new file at `path`, each as soon as it is produced, and fsyncs it (no
 * rename, no directory sync: the caller gives it its final name). Returns a reference per
 * section, in order.
 */
export async function writeSections(
  path: string,
  sections:
    | Iterable<{ readonly bytes: Buffer; readonly kind: 'full' | 'delta' }>
    | AsyncIterable<{ readonly bytes: Buffer; readonly kind: 'full' | 'delta' }>,
): Promise<PieceRef[]> {
  const refs: Promise<PieceRef>[] = [];
  const file = await open(path, 'w');
  try {
    let offset = 0;
    for await (const { bytes, kind } of sections) {
      const at = offset;
      refs.push(
        sha256(bytes).then((hash) => ({
          path,
          offset: at,
          bytes: bytes.length,
          sha256: hash,
          kind,
        })),
      );
      await file.write(bytes, 0, bytes.length, at);
      offset += bytes.length;
    }
    await file.sync();
  } finally {
    await file.close();
  }
  return Promise.all(refs);
}

/** SHA-256 (hex) on the thread pool, not on the task's thread. */
async function sha256(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', bytes)).toString('hex');
}

/** The STATE_CORRUPT error of a piece that cannot be read or verified. */
function pieceFailure(ref: PieceRef, what: string, why: string, cause?: unknown): TributaryError {
  return new TributaryError(
    'STATE_CORRUPT',
    `state piece ${ref.path} (${what}) ${why}; restore from an older checkpoint whose pieces are intact (restoreFrom <dir>/chk-<id>.ckpt)`,
    { details: { path: ref.path }, ...(cause === undefined ? {} : { cause }) },
  );
}

function openFailure(ref: PieceRef, what: string, err: unknown): TributaryError {
  return pieceFailure(
    ref,
    what,
    (err as NodeJS.ErrnoException).code === 'ENOENT'
      ? 'is missing'
      : `cannot be read: ${errorMessage(err)}`,
    err,
  );
}

/**
 * Reads and verifies one section; a missing file, a short read or a hash mismatch is a
 * STATE_CORRUPT error naming the piece file and `what` (operator, key group).
 */
export async function readPieceSection(ref: PieceRef, what: string): Promise<Buffer> {
  let file;
  try {
    file = await open(ref.path, 'r');
  } catch (err) {
    throw openFailure(ref, what, err);
  }
  try {
    const buffer = Buffer.alloc(ref.bytes);
    const { bytesRead } = await file.read(buffer, 0, ref.bytes, ref.offset);
    if (bytesRead !== ref.bytes)
      throw pieceFailure(
        ref,
        what,
        `is truncated: ${bytesRead} of ${ref.bytes} bytes at offset ${ref.offset}`,
      );
    if ((await sha256(buffer)) !== ref.sha256)
      throw pieceFailure(ref, what, `is corrupt: SHA-256 mismatch at offset ${ref.offset}`);
    return buffer;
  } finally {
    await file.close();
  }
}

/**
 * `readPieceSection` without the libuv thread pool, for folds (CPU work on a thread of their
 * own, or forced on the task's): the pool's few threads can be held for seconds by LMDB's write
 * workers of the disk state backend, and a fold's many small reads and hashes queued behind them.
 */
export function readPieceSectionSync(ref: PieceRef, what: string): Buffer {
  let fd: number;
  try {
    fd = openSync(ref.path, 'r');
  } catch (err) {
    throw openFailure(ref, what, err);
  }
  try {
    const buffer = Buffer.alloc(ref.bytes);
    let bytesRead = 0;
    while (bytesRead < ref.bytes) {
      const n = readSync(fd, buffer, bytesRead, ref.bytes - bytesRead, ref.offset + bytesRead);
      if (n === 0) break;
      bytesRead += n;
    }
    if (bytesRead !== ref.bytes)
      throw pieceFailure(
        ref,
        what,
        `is truncated: ${bytesRead} of ${ref.bytes} bytes at offset ${ref.offset}`,
      );
    if (createHash('sha256').update(buffer).digest('hex') !== ref.sha256)
      throw pieceFailure(ref, what, `is corrupt: SHA-256 mismatch at offset ${ref.offset}`);
    return buffer;
  } finally {
    closeSync(fd);
  }
}
