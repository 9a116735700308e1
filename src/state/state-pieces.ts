import { randomBytes, webcrypto } from 'node:crypto';
import { mkdir, open, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { syncDirectory } from '../durable-fs.js';
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

/**
 * Writes the sections of one piece file durably (temp file, fsync, rename, directory fsync) and
 * returns a reference per section, in order.
 */
export async function writePieceFile(
  dir: string,
  checkpointId: number,
  subtask: number,
  uid: string,
  sections: readonly { readonly bytes: Buffer; readonly kind: 'full' | 'delta' }[],
): Promise<PieceRef[]> {
  await mkdir(dir, { recursive: true });
  const name = pieceFileName(checkpointId, subtask, uid);
  const path = join(dir, name);
  const temp = join(dir, `.tmp-${name}`);
  const refs = await writeSections(temp, sections);
  await rename(temp, path);
  await syncDirectory(dir);
  return refs.map((ref) => ({ ...ref, path }));
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

/**
 * Reads and verifies one section; a missing file, a short read or a hash mismatch is a
 * STATE_CORRUPT error naming the piece file and `what` (operator, key group).
 */
export async function readPieceSection(ref: PieceRef, what: string): Promise<Buffer> {
  const fail = (why: string, cause?: unknown): TributaryError =>
    new TributaryError(
      'STATE_CORRUPT',
      `state piece ${ref.path} (${what}) ${why}; restore from an older checkpoint whose pieces are intact (restoreFrom <dir>/chk-<id>.ckpt)`,
      { details: { path: ref.path }, ...(cause === undefined ? {} : { cause }) },
    );
  let file;
  try {
    file = await open(ref.path, 'r');
  } catch (err) {
    throw fail(
      (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'is missing'
        : `cannot be read: ${errorMessage(err)}`,
      err,
    );
  }
  try {
    const buffer = Buffer.alloc(ref.bytes);
    const { bytesRead } = await file.read(buffer, 0, ref.bytes, ref.offset);
    if (bytesRead !== ref.bytes)
      throw fail(`is truncated: ${bytesRead} of ${ref.bytes} bytes at offset ${ref.offset}`);
    if ((await sha256(buffer)) !== ref.sha256)
      throw fail(`is corrupt: SHA-256 mismatch at offset ${ref.offset}`);
    return buffer;
  } finally {
    await file.close();
  }
}
