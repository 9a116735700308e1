import { createHash, randomBytes } from 'node:crypto';
import { syncDirectory } from '../durable-fs.js';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TributaryError, errorMessage } from '../errors.js';
import { foldThread } from '../state/fold-thread.js';
import type { CheckpointData, CheckpointRef } from './checkpoint-data.js';

const FORMAT = 'tributary-checkpoint';
const VERSION = 1;
const FILE_PATTERN = /^chk-(\d{12})\.ckpt$/;
const TEMP_PREFIX = '.tmp-chk-';
/** Keyed state pieces of incremental checkpoints live in this subdirectory. */
export const STATE_PIECES_DIR = 'state';
const PIECE_PATTERN = /^(\d{12})-.*\.piece$/;
/** Writing a checkpoint file in the state worker thread taking longer than this fails it. */
const WORKER_WRITE_TIMEOUT_MS = 120_000;

/** A checkpoint file that could not be used, and why. */
export interface SkippedCheckpoint {
  readonly path: string;
  readonly error: TributaryError;
}

/** Where completed checkpoints live. */
export interface CheckpointStore {
  /**
   * Stores durably and atomically, then removes all but the newest `retained` of the same lineage
   * (ids from `data.lineageStart` on): checkpoints of another run are never deleted. State pieces
   * no retained checkpoint needs any more may be removed in the background (`settled`).
   */
  store(data: CheckpointData): Promise<CheckpointRef>;
  /** The newest checkpoint that is intact; corrupt ones are listed in `skipped`, never used. */
  latest(): Promise<{ data: CheckpointData | undefined; skipped: SkippedCheckpoint[] }>;
  /** Highest checkpoint id present (intact or not), so new ids never collide. */
  highestId(): Promise<number>;
  /** Resolves once removals `store` started in the background are done; rejects if one failed. */
  settled?(): Promise<void>;
}

/** Keeps the newest `retained` checkpoints in memory (checkpointing without a directory). */
export class InMemoryCheckpointStore implements CheckpointStore {
  private readonly kept: CheckpointData[] = [];
  constructor(private readonly retained: number) {}

  async store(data: CheckpointData): Promise<CheckpointRef> {
    this.kept.push(data);
    while (this.kept.length > this.retained) this.kept.shift();
    return { checkpointId: data.checkpointId, path: undefined, bytes: JSON.stringify(data).length };
  }

  async latest(): Promise<{ data: CheckpointData | undefined; skipped: SkippedCheckpoint[] }> {
    return { data: this.kept.at(-1), skipped: [] };
  }

  async highestId(): Promise<number> {
    return this.kept.at(-1)?.checkpointId ?? 0;
  }
}

/**
 * One file per checkpoint, `chk-<12-digit id>.ckpt`: a JSON header line (format, version, id,
 * body length, SHA-256 of the body) followed by the JSON body. Written to a temp file, fsynced,
 * renamed into place, and the directory fsynced, so a crash leaves either the whole file or none.
 * A torn or tampered file fails the length/hash check and is reported, never used.
 */
export class FileCheckpointStore implements CheckpointStore {
  private constructor(
    readonly dir: string,
    private readonly retained: number,
  ) {}

  static async open(dir: string, retained: number): Promise<FileCheckpointStore> {
    await mkdir(dir, { recursive: true });
    for (const name of await readdir(dir)) {
      if (name.startsWith(TEMP_PREFIX)) await rm(join(dir, name), { force: true });
    }
    // torn state piece writes of a crashed run (never referenced by any checkpoint)
    const pieces = join(dir, STATE_PIECES_DIR);
    for (const name of await readdir(pieces).catch(() => [])) {
      if (name.startsWith('.tmp-')) await rm(join(pieces, name), { force: true });
    }
    return new FileCheckpointStore(dir, retained);
  }

  /** Pieces referenced by each checkpoint file present (read once, then kept). */
  private readonly referenced = new Map<number, Set<string>>();
  /** Removal of state pieces no checkpoint needs, in the background, one after the other. */
  private pruning: Promise<void> = Promise.resolve();
  private pruneError: unknown;

  async store(data: CheckpointData): Promise<CheckpointRef> {
    this.throwPruneError();
    const { location: _location, ...stored } = data;
    const body = Buffer.from(JSON.stringify(stored), 'utf8');
    const header = {
      format: FORMAT,
      version: VERSION,
      checkpointId: data.checkpointId,
      jobName: data.jobName,
      bodyBytes: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
    };
    const finalPath = join(this.dir, checkpointFileName(data.checkpointId));
    const bytes = Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`, 'utf8'), body]);
    if (foldThread.inUse) {
      // keyed state's worker thread is running: it writes, fsyncs and renames the file and
      // fsyncs the directory in one step (one event-loop turn here instead of one per file
      // operation, each slow while the tasks are busy), while the directory is listed here;
      // its temp file (`.tmp-chk-…`) is cleaned up like ours by `open`
      const [ids] = await Promise.all([
        this.ids(),
        foldThread.commit(
          this.dir,
          [],
          { path: finalPath, bytes, sections: [] },
          WORKER_WRITE_TIMEOUT_MS,
        ),
      ]);
      if (!ids.includes(data.checkpointId)) ids.push(data.checkpointId);
      ids.sort((a, b) => a - b);
      this.referenced.set(data.checkpointId, referencedPieces(data));
      await this.removeOld(ids, data.lineageStart ?? 0);
    } else {
      const tempPath = join(
        this.dir,
        `${TEMP_PREFIX}${data.checkpointId}-${randomBytes(4).toString('hex')}`,
      );
      const file = await open(tempPath, 'w');
      try {
        await file.writeFile(bytes);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tempPath, finalPath);
      await syncDirectory(this.dir);
      this.referenced.set(data.checkpointId, referencedPieces(data));
      await this.removeOld(await this.ids(), data.lineageStart ?? 0);
    }
    // state pieces only older checkpoints needed are removed in the background (big files, many
    // of them: not on the checkpoint's path); a checkpoint stored meanwhile only adds pieces with
    // higher ids, which `prunePieces` leaves alone; a failure fails the next `store`
    this.pruning = this.pruning
      .then(() => this.prunePieces(data.checkpointId))
      .catch((err: unknown) => {
        this.pruneError = err;
      });
    return {
      checkpointId: data.checkpointId,
      path: finalPath,
      bytes: body.length + piecesWrittenFor(data),
    };
  }

  async settled(): Promise<void> {
    await this.pruning;
    this.throwPruneError();
  }

  private throwPruneError(): void {
    const err = this.pruneError;
    if (err === undefined) return;
    this.pruneError = undefined;
    throw new TributaryError(
      'CHECKPOINT_FAILED',
      `removing state pieces no checkpoint needs in ${this.dir} failed: ${errorMessage(err)}`,
      { cause: err },
    );
  }

  async latest(): Promise<{ data: CheckpointData | undefined; skipped: SkippedCheckpoint[] }> {
    await this.pruning; // not while unneeded pieces are being removed
    const skipped: SkippedCheckpoint[] = [];
    const ids = await this.ids();
    for (let i = ids.length - 1; i >= 0; i--) {
      const path = join(this.dir, checkpointFileName(ids[i] ?? 0));
      try {
        return { data: await readCheckpointFile(path), skipped };
      } catch (err) {
        if (!TributaryError.is(err, 'STATE_CORRUPT')) throw err;
        skipped.push({ path, error: err });
      }
    }
    return { data: undefined, skipped };
  }

  async highestId(): Promise<number> {
    return (await this.ids()).at(-1) ?? 0;
  }

  private async ids(): Promise<number[]> {
    const ids: number[] = [];
    for (const name of await readdir(this.dir)) {
      const match = FILE_PATTERN.exec(name);
      if (match?.[1] !== undefined) ids.push(Number(match[1]));
    }
    return ids.sort((a, b) => a - b);
  }

  /** Removes all but the newest `retained` of `ids` (sorted, all present) from `lineageStart` on. */
  private async removeOld(ids: readonly number[], lineageStart: number): Promise<void> {
    const lineage = ids.filter((id) => id >= lineageStart);
    const old = lineage.slice(0, Math.max(0, lineage.length - this.retained));
    await Promise.all(
      old.map(async (id) => {
        await rm(join(this.dir, checkpointFileName(id)), { force: true });
        this.referenced.delete(id);
      }),
    );
  }

  /**
   * Deletes state pieces that no checkpoint file present references, among those written for
   * checkpoint `upTo` or earlier (later ones may belong to checkpoints still in flight). Pieces
   * are shared by the checkpoints of a chain: one is deleted only when no retained checkpoint of
   * any lineage needs it.
   */
  private async prunePieces(upTo: number): Promise<void> {
    const piecesDir = join(this.dir, STATE_PIECES_DIR);
    let names: string[];
    try {
      names = await readdir(piecesDir);
    } catch {
      return; // no incremental state
    }
    const needed = new Set<string>();
    const present = await this.ids();
    // files removed by someone else (a cluster worker's retention) are not retained either
    for (const id of this.referenced.keys()) if (!present.includes(id)) this.referenced.delete(id);
    for (const id of present) {
      let refs = this.referenced.get(id);
      if (refs === undefined) {
        try {
          refs = referencedPieces(await readCheckpointFile(join(this.dir, checkpointFileName(id))));
        } catch (err) {
          // a corrupt checkpoint is never restored from; one removed meanwhile (retention, while
          // this ran in the background) is not retained
          if (
            !TributaryError.is(err, 'STATE_CORRUPT') &&
            (err as NodeJS.ErrnoException).code !== 'ENOENT'
          )
            throw err;
          refs = new Set();
        }
        this.referenced.set(id, refs);
      }
      for (const name of refs) needed.add(name);
    }
    const unneeded = names.filter((name) => {
      const match = PIECE_PATTERN.exec(name);
      return match?.[1] !== undefined && Number(match[1]) <= upTo && !needed.has(name);
    });
    await Promise.all(unneeded.map((name) => rm(join(piecesDir, name), { force: true })));
  }
}

export function checkpointFileName(checkpointId: number): string {
  return `chk-${String(checkpointId).padStart(12, '0')}.ckpt`;
}

/** Reads and verifies one checkpoint file; throws STATE_CORRUPT naming the file and the defect. */
export async function readCheckpointFile(path: string): Promise<CheckpointData> {
  const bytes = await readFile(path);
  const newline = bytes.indexOf(0x0a);
  const fail = (why: string): TributaryError =>
    new TributaryError('STATE_CORRUPT', `checkpoint ${path} is corrupt: ${why}`, {
      details: { path },
    });
  if (newline < 0) throw fail('no header line (torn write?)');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(bytes.subarray(0, newline).toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw fail(`header is not JSON (${errorMessage(err)})`);
  }
  if (header['format'] !== FORMAT) throw fail(`unknown format ${JSON.stringify(header['format'])}`);
  if (header['version'] !== VERSION) throw fail(`unsupported version ${String(header['version'])}`);
  const body = bytes.subarray(newline + 1);
  if (body.length !== header['bodyBytes']) {
    throw fail(
      `body is ${body.length} bytes, header says ${String(header['bodyBytes'])} (torn write?)`,
    );
  }
  const digest = createHash('sha256').update(body).digest('hex');
  if (digest !== header['sha256']) throw fail('SHA-256 mismatch');
  let data: CheckpointData;
  try {
    data = JSON.parse(body.toString('utf8')) as CheckpointData;
  } catch (err) {
    throw fail(`body is not JSON (${errorMessage(err)})`);
  }
  if (data.checkpointId !== header['checkpointId']) throw fail('checkpoint id mismatch');
  return { ...data, location: dirname(path) };
}

/** References (`{ chain: [{ f, … }] }` per key group) to state piece files in a checkpoint. */
function* pieceRefs(data: CheckpointData): Generator<{ f: string; n: number }> {
  for (const op of Object.values(data.operators)) {
    for (const subtask of op.subtasks) {
      for (const [, state] of subtask?.keyGroups ?? []) {
        const chain = (state as { chain?: unknown } | null)?.chain;
        if (!Array.isArray(chain)) continue;
        for (const ref of chain as { f?: unknown; n?: unknown }[]) {
          if (typeof ref?.f === 'string') yield { f: ref.f, n: Number(ref.n) || 0 };
        }
      }
    }
  }
}

function referencedPieces(data: CheckpointData): Set<string> {
  const names = new Set<string>();
  for (const ref of pieceRefs(data)) names.add(ref.f);
  return names;
}

/** Bytes of state pieces written for this checkpoint (file name starts with its id). */
function piecesWrittenFor(data: CheckpointData): number {
  const prefix = `${String(data.checkpointId).padStart(12, '0')}-`;
  let bytes = 0;
  for (const ref of pieceRefs(data)) if (ref.f.startsWith(prefix)) bytes += ref.n;
  return bytes;
}

/**
 * Resolves a restore point: a checkpoint file is used as is (corrupt → STATE_CORRUPT); a
 * directory yields its newest intact checkpoint, with the corrupt newer ones reported.
 */
export async function resolveRestorePoint(
  path: string,
): Promise<{ data: CheckpointData; skipped: SkippedCheckpoint[] }> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new TributaryError('CONFIG_INVALID', `restoreFrom: ${path} does not exist`, {
      cause: err,
    });
  }
  if (info.isFile()) return { data: await readCheckpointFile(path), skipped: [] };
  const store = await FileCheckpointStore.open(path, Number.MAX_SAFE_INTEGER);
  const { data, skipped } = await store.latest();
  if (data === undefined && skipped.length === 0) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `restoreFrom: ${path} holds no completed checkpoint (no chk-<id>.ckpt file); to start without one, leave restoreFrom out`,
      { details: { path } },
    );
  }
  if (data === undefined) {
    const why = skipped.map((s) => s.error.message).join('; ');
    throw new TributaryError(
      'STATE_CORRUPT',
      `restoreFrom: no intact checkpoint in ${path}${why === '' ? '' : ` (${why})`}`,
      { details: { path } },
    );
  }
  return { data, skipped };
}
