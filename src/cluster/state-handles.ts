import { open, readdir, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import type { CheckpointData, OperatorState } from '../checkpoint/checkpoint-data.js';
import {
  FileCheckpointStore,
  STATE_PIECES_DIR,
  checkpointFileName,
  readCheckpointFile,
} from '../checkpoint/checkpoint-storage.js';
import { TributaryError, errorMessage } from '../errors.js';
import type { CompletedRecord } from './records.js';

/**
 * Keyed state of a cluster checkpoint in a directory every worker reads (`checkpoint.dir`,
 * docs/scale-out.md §8): each worker writes its local checkpoint of cluster checkpoint N as a
 * checkpoint file in its own folder, `<dir>/workers/<worker>/chk-<N>.ckpt` (today's format:
 * header with length and SHA-256; incremental keyed state as pieces in `<worker folder>/state/`),
 * and its piece in the coordination table names it by a {@link StateHandle} — never state bytes.
 * A restore loads key groups G as of completed checkpoint M from the handles M names.
 */

/** What every state handle says, wherever the bytes are. */
interface HandleFields {
  readonly checkpointId: number;
  /** SHA-256 of the stored body: bytes replaced since are refused */
  readonly sha256: string;
  /** length of the stored body */
  readonly bytes: number;
  /** key-group ranges `[start, end)` whose state (of every keyed operator) the body holds */
  readonly keyGroups: readonly (readonly [number, number])[];
}

/** A worker's keyed state of one cluster checkpoint in the shared directory. */
export interface FileStateHandle extends HandleFields {
  /** the checkpoint file, relative to the shared directory (`workers/<worker>/chk-<id>.ckpt`) */
  readonly file: string;
}

/**
 * A worker's keyed state of one cluster checkpoint in the job's state stream
 * (`state-stream.ts`): `length` bytes of segment `segment` from `offset`, framed events whose
 * payloads, joined, are the body.
 */
export interface StreamStateHandle extends HandleFields {
  /** the fully qualified segment (`scope/_tributary-state-<job>/0.#epoch.0`) */
  readonly segment: string;
  readonly offset: number;
  /** bytes in the segment (the body plus its event headers) */
  readonly length: number;
}

/** A worker's keyed state of one cluster checkpoint, as its piece names it (never its bytes). */
export type StateHandle = FileStateHandle | StreamStateHandle;

export function isStreamHandle(handle: StateHandle): handle is StreamStateHandle {
  return 'segment' in handle;
}

/** A key-group range `[start, end)`. */
export interface KeyGroupRange {
  readonly start: number;
  readonly end: number;
}

const WORKERS_DIR = 'workers';

/**
 * Removes every worker's keyed state of a job from its shared directory (`<root>/workers`), once
 * the job ended for good. @returns the folder removed, or undefined when there was none
 */
export async function removeWorkerFolders(root: string): Promise<string | undefined> {
  const folder = join(root, WORKERS_DIR);
  try {
    await stat(folder);
  } catch {
    return undefined;
  }
  await rm(folder, { recursive: true, force: true });
  return folder;
}

function malformed(why: string, value: unknown): TributaryError {
  return new TributaryError(
    'STATE_CORRUPT',
    `cluster state handle is malformed (${why}): ${JSON.stringify(value)?.slice(0, 200)}`,
  );
}

/** Reads state handles back from a piece; anything else is STATE_CORRUPT naming it. */
export function asStateHandles(value: unknown): StateHandle[] {
  if (!Array.isArray(value)) throw malformed('not a list', value);
  return value.map((h: unknown): StateHandle => {
    const o = (typeof h === 'object' && h !== null ? h : {}) as Record<string, unknown>;
    const id = o['checkpointId'];
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0)
      throw malformed('checkpointId', h);
    const sha = o['sha256'];
    if (typeof sha !== 'string' || !/^[0-9a-f]{64}$/.test(sha)) throw malformed('sha256', h);
    const bytes = o['bytes'];
    if (!isCount(bytes)) throw malformed('bytes', h);
    const groups = o['keyGroups'];
    if (
      !Array.isArray(groups) ||
      !groups.every(
        (r: unknown) =>
          Array.isArray(r) &&
          r.length === 2 &&
          Number.isSafeInteger(r[0]) &&
          Number.isSafeInteger(r[1]) &&
          (r[0] as number) >= 0 &&
          (r[0] as number) < (r[1] as number),
      )
    )
      throw malformed('keyGroups must be [start, end) ranges', h);
    const fields: HandleFields = {
      checkpointId: id,
      sha256: sha,
      bytes,
      keyGroups: (groups as [number, number][]).map(([a, b]) => [a, b] as const),
    };
    if ('segment' in o) {
      const segment = o['segment'];
      if (typeof segment !== 'string' || !/^[^/]+\/[^/]+\/\d+\.#epoch\.\d+$/.test(segment))
        throw malformed('segment must be a qualified segment name', h);
      const offset = o['offset'];
      const length = o['length'];
      if (!isCount(offset)) throw malformed('offset', h);
      if (!isCount(length) || length < bytes) throw malformed('length', h);
      return { segment, offset, length, ...fields };
    }
    const file = o['file'];
    if (
      typeof file !== 'string' ||
      file === '' ||
      isAbsolute(file) ||
      normalize(file).split(/[\\/]/).includes('..')
    )
      throw malformed('file must be a relative path inside the shared directory', h);
    return { file, ...fields };
  });
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A worker id as a folder name. */
export function workerFolder(workerId: string): string {
  return workerId.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** The header of a checkpoint file (its first line). */
async function readHeader(path: string): Promise<{ sha256: unknown; bodyBytes: unknown }> {
  const file = await open(path, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await file.read(buf, 0, buf.length, 0);
    const newline = buf.subarray(0, bytesRead).indexOf(0x0a);
    if (newline < 0) return { sha256: undefined, bodyBytes: undefined };
    return JSON.parse(buf.subarray(0, newline).toString('utf8')) as {
      sha256: unknown;
      bodyBytes: unknown;
    };
  } finally {
    await file.close();
  }
}

/**
 * One worker's folder of the shared directory: writes its checkpoint files (handles for its
 * piece) and removes those no completed checkpoint needs any more.
 */
export class WorkerStateFolder {
  private store: FileCheckpointStore | undefined;
  readonly relative: string;
  readonly dir: string;

  constructor(
    readonly root: string,
    readonly workerId: string,
  ) {
    this.relative = join(WORKERS_DIR, workerFolder(workerId));
    this.dir = join(root, this.relative);
  }

  /**
   * Opens the folder (removing torn writes of a crashed run): before the job's tasks run, since
   * their state pieces are written there while it runs.
   */
  async open(): Promise<FileCheckpointStore> {
    this.store ??= await FileCheckpointStore.open(this.dir, Number.MAX_SAFE_INTEGER);
    return this.store;
  }

  /**
   * Writes this worker's local checkpoint (durably: temp file, fsync, rename) and returns its
   * handle; `owned` are the key-group ranges this worker is responsible for.
   */
  async write(
    data: CheckpointData,
    owned: readonly (readonly [number, number])[],
  ): Promise<FileStateHandle> {
    // retention is the cluster's (retain): the store itself keeps every file
    const ref = await (await this.open()).store(data);
    const path = ref.path ?? join(this.dir, checkpointFileName(data.checkpointId));
    const header = await readHeader(path);
    if (typeof header.sha256 !== 'string' || typeof header.bodyBytes !== 'number')
      throw new TributaryError('CHECKPOINT_FAILED', `checkpoint ${path}: no header after writing`);
    return {
      file: join(this.relative, checkpointFileName(data.checkpointId)),
      checkpointId: data.checkpointId,
      sha256: header.sha256,
      bytes: header.bodyBytes,
      keyGroups: owned.map(([a, b]) => [a, b] as const),
    };
  }

  /**
   * Removes this worker's checkpoint files that `completed` (the latest completed checkpoint)
   * does not name and that are older than it (newer ones may be in flight); their state pieces
   * go with the next file written. @returns the files removed
   */
  async retain(completed: CompletedRecord): Promise<string[]> {
    const named = new Set(namedFiles(completed));
    const removed: string[] = [];
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return removed;
    }
    for (const name of names) {
      const m = /^chk-(\d{12})\.ckpt$/.exec(name);
      if (m?.[1] === undefined || Number(m[1]) > completed.id) continue;
      const file = join(this.relative, name);
      if (named.has(file)) continue;
      await rm(join(this.dir, name), { force: true });
      removed.push(file);
    }
    return removed;
  }

  /**
   * Removes the folders of other workers that `completed` does not name (retention across
   * workers: a folder a completed checkpoint names is never removed). Only for a job whose other
   * workers are all gone — a keyed job runs on one worker for now. @returns the folders removed
   */
  async removeOthers(completed: CompletedRecord): Promise<string[]> {
    const named = new Set(namedFiles(completed).map((f) => dirname(f)));
    const removed: string[] = [];
    let names: string[];
    try {
      names = await readdir(join(this.root, WORKERS_DIR));
    } catch {
      return removed;
    }
    for (const name of names) {
      const folder = join(WORKERS_DIR, name);
      if (folder === this.relative || named.has(folder)) continue;
      await rm(join(this.root, folder), { recursive: true, force: true });
      removed.push(folder);
    }
    return removed;
  }
}

/** A state handle a completed record names, with the worker that wrote it. */
export interface NamedHandle {
  readonly workerId: string;
  readonly handle: StateHandle;
  /** carried forward from an earlier completed checkpoint (`CompletedRecord.carried`) */
  readonly carried: boolean;
}

/** Every state handle `completed` names: its pieces' and the ones carried forward. */
export function stateHandlesOf(completed: CompletedRecord): NamedHandle[] {
  const out: NamedHandle[] = [];
  for (const p of completed.pieces) {
    const state = (p.piece as { state?: unknown } | null)?.state;
    if (state === undefined) continue;
    for (const handle of asStateHandles(state))
      out.push({ workerId: p.workerId, handle, carried: false });
  }
  for (const c of completed.carried ?? [])
    out.push({ workerId: c.workerId, handle: c.handle, carried: true });
  return out;
}

/** Where a handle's bytes are, for messages. */
export function handleWhere(handle: StateHandle): string {
  return isStreamHandle(handle) ? `${handle.segment} at ${handle.offset}` : handle.file;
}

/** The state files a completed checkpoint names (relative to the shared directory). */
function namedFiles(completed: CompletedRecord): string[] {
  return stateHandlesOf(completed).flatMap(({ handle }) =>
    isStreamHandle(handle) ? [] : [normalize(handle.file)],
  );
}

function overlaps(ranges: readonly (readonly [number, number])[], g: KeyGroupRange): boolean {
  return ranges.some(([a, b]) => a < g.end && g.start < b);
}

/**
 * Reads one handle's body back (checked against its length and SHA-256) as a local checkpoint;
 * `folder` is where its state pieces are (a file handle's), if any. Fails with STATE_CORRUPT
 * naming `what` (the worker, the checkpoint and where the bytes are).
 */
export type ReadHandle<H extends StateHandle> = (
  handle: H,
  what: (where: string) => string,
) => Promise<{ data: CheckpointData; folder?: string }>;

/**
 * Loads key groups `groups` of every keyed operator as of completed checkpoint `completed` from
 * the shared directory `root`: a checkpoint holding only that keyed state and the list state of
 * the operators `listState` accepts (no source positions: the cluster restores those), ready for
 * `restoreSubtask`. Every key group of
 * `groups` must be covered by a handle; a handle whose file is missing, corrupt, replaced or
 * whose state pieces are missing fails with STATE_CORRUPT naming it.
 */
export function loadKeyGroups(
  root: string,
  completed: CompletedRecord,
  groups: KeyGroupRange,
  listState?: (uid: string) => boolean,
): Promise<CheckpointData> {
  return assembleKeyGroups(
    completed,
    groups,
    `checkpoint.dir ${root}`,
    listState,
    (handle, what) => {
      if (isStreamHandle(handle)) {
        throw new TributaryError(
          'STATE_CORRUPT',
          `${what(handle.segment)} is in the job's state stream, but the job runs with checkpoint.dir ${root}: run it as it was written (without checkpoint.dir)`,
        );
      }
      return readFileHandle(root, handle, what);
    },
  );
}

/**
 * Key groups `groups` of every keyed operator as of completed checkpoint `completed`, from the
 * handles it names that cover them, each read by `read`; `storage` names where the job keeps its
 * state (for the error when a key group has no handle). The list state (items) of the operators
 * `listState` accepts comes along (user operators: never the sources' or sinks', whose positions
 * and transactions are the cluster's); without it, none.
 */
export async function assembleKeyGroups<H extends StateHandle>(
  completed: CompletedRecord,
  groups: KeyGroupRange,
  storage: string,
  listState: ((uid: string) => boolean) | undefined,
  read: ReadHandle<H>,
): Promise<CheckpointData> {
  const handles = stateHandlesOf(completed).filter(({ handle }) =>
    overlaps(handle.keyGroups, groups),
  );
  for (let g = groups.start; g < groups.end; g++) {
    const owners = handles.filter(({ handle }) =>
      overlaps(handle.keyGroups, { start: g, end: g + 1 }),
    );
    // no worker has held it yet: empty
    if (owners.length === 0 && overlaps(completed.neverNamed ?? [], { start: g, end: g + 1 }))
      continue;
    if (owners.length === 0) {
      throw new TributaryError(
        'STATE_CORRUPT',
        `completed cluster checkpoint ${completed.id} names no keyed state for key group ${g} (of ${groups.start}..${groups.end - 1}): no worker owned it then and no earlier checkpoint's state was carried forward for it, or it was not written by a keyed job with its state in ${storage}`,
        { details: { checkpointId: completed.id, keyGroup: g } },
      );
    }
    if (owners.length > 1) {
      throw new TributaryError(
        'STATE_CORRUPT',
        `completed cluster checkpoint ${completed.id} names key group ${g} twice: ${owners.map(({ workerId, handle, carried }) => `worker ${workerId}'s state of checkpoint ${handle.checkpointId}${carried ? ' (carried forward)' : ''} (${handleWhere(handle)})`).join(' and ')}; a key group has one owner`,
        { details: { checkpointId: completed.id, keyGroup: g } },
      );
    }
  }
  const operators: Record<string, { parallelism: number; subtasks: OperatorState['subtasks'] }> =
    {};
  let base: CheckpointData | undefined;
  /** the folders whose state pieces the loaded key groups reference */
  const pieceFolders = new Set<string>();
  let location: string | undefined;
  let firstFolder: string | undefined;
  for (const { workerId, handle, carried } of handles) {
    const what = (where: string): string =>
      `the keyed state of worker ${workerId} in completed cluster checkpoint ${completed.id}${carried ? ` (carried forward from checkpoint ${handle.checkpointId})` : ''} (${where})`;
    if (carried ? handle.checkpointId >= completed.id : handle.checkpointId !== completed.id) {
      throw new TributaryError(
        'STATE_CORRUPT',
        `${what(handleWhere(handle))} is of checkpoint ${handle.checkpointId}, not ${carried ? `one before ${completed.id}` : completed.id}`,
      );
    }
    const { data, folder } = await read(handle as H, what);
    base ??= data;
    firstFolder ??= folder;
    for (const [uid, op] of Object.entries(data.operators)) {
      // list state is not owned per key group: a carried handle brings only its keyed state
      const items = !carried && listState?.(uid) === true;
      const subtasks = op.subtasks.map((s) => ({
        items: items ? (s?.items ?? []) : [],
        keyGroups: (s?.keyGroups ?? []).filter(
          ([g]) =>
            g >= groups.start &&
            g < groups.end &&
            overlaps(handle.keyGroups, { start: g, end: g + 1 }),
        ),
      }));
      if (!subtasks.some((s) => s.keyGroups.length > 0 || s.items.length > 0)) continue;
      if (folder !== undefined && subtasks.some((s) => s.keyGroups.some(([, st]) => isChain(st)))) {
        pieceFolders.add(folder);
        location = folder;
      }
      const known = operators[uid];
      if (known === undefined) operators[uid] = { parallelism: op.parallelism, subtasks };
      else known.subtasks = [...known.subtasks, ...subtasks];
    }
  }
  if (pieceFolders.size > 1) {
    // a restored checkpoint resolves its state pieces against one folder (the runtime's stateDir)
    throw new TributaryError(
      'ILLEGAL_STATE',
      `completed cluster checkpoint ${completed.id}: key groups ${groups.start}..${groups.end - 1} are kept as incremental state pieces in ${pieceFolders.size} workers' folders (${[...pieceFolders].join(', ')}), and a restore reads pieces from one folder; run the job with state.snapshots: 'full' in the shared directory, or with its state in the state stream (no checkpoint.dir)`,
    );
  }
  if (base === undefined) {
    // no handle: every key group asked for is one no worker has held yet (checked above)
    return {
      checkpointId: completed.id,
      jobName: '',
      triggeredAt: 0,
      completedAt: 0,
      operators: {},
      enumerators: {},
    };
  }
  // pieces are read from the folder whose pieces the key groups reference
  const where = location ?? firstFolder;
  return {
    checkpointId: completed.id,
    jobName: base.jobName,
    triggeredAt: base.triggeredAt,
    completedAt: base.completedAt,
    operators,
    enumerators: {},
    ...(base.lineageStart !== undefined ? { lineageStart: base.lineageStart } : {}),
    ...(where !== undefined ? { location: where } : {}),
  };
}

/** Keyed state of a key group kept as a chain of state pieces (incremental snapshots). */
function isChain(state: unknown): boolean {
  return Array.isArray((state as { chain?: unknown } | null)?.chain);
}

/** A file handle's checkpoint file, checked (header SHA-256, body, state pieces). */
async function readFileHandle(
  root: string,
  handle: FileStateHandle,
  describe: (where: string) => string,
): Promise<{ data: CheckpointData; folder: string }> {
  const path = join(root, handle.file);
  const what = describe(path);
  let header;
  try {
    header = await readHeader(path);
  } catch (err) {
    throw new TributaryError(
      'STATE_CORRUPT',
      `${what} is missing or unreadable: ${errorMessage(err)}`,
      {
        details: { path },
        cause: err,
      },
    );
  }
  let data: CheckpointData;
  try {
    data = await readCheckpointFile(path);
  } catch (err) {
    throw new TributaryError('STATE_CORRUPT', `${what} cannot be used: ${errorMessage(err)}`, {
      details: { path },
      cause: err,
    });
  }
  if (header.sha256 !== handle.sha256 || data.checkpointId !== handle.checkpointId) {
    throw new TributaryError(
      'STATE_CORRUPT',
      `${what} is not the file the checkpoint names (SHA-256 ${String(header.sha256)}, named ${handle.sha256})`,
      { details: { path } },
    );
  }
  await checkPieces(data, dirname(path), what);
  return { data, folder: data.location ?? dirname(path) };
}

/** Every state piece file the checkpoint references is there with at least the bytes it needs. */
async function checkPieces(data: CheckpointData, folder: string, what: string): Promise<void> {
  const needs = new Map<string, number>();
  for (const op of Object.values(data.operators)) {
    for (const subtask of op.subtasks) {
      for (const [, state] of subtask?.keyGroups ?? []) {
        const chain = (state as { chain?: unknown } | null)?.chain;
        if (!Array.isArray(chain)) continue;
        for (const ref of chain as { f?: unknown; o?: unknown; n?: unknown }[]) {
          if (typeof ref?.f !== 'string') continue;
          const end = Number(ref.o) + Number(ref.n);
          needs.set(ref.f, Math.max(needs.get(ref.f) ?? 0, end));
        }
      }
    }
  }
  for (const [name, end] of needs) {
    const path = join(folder, STATE_PIECES_DIR, name);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (err) {
      throw new TributaryError('STATE_CORRUPT', `${what}: state piece ${path} is missing`, {
        details: { path },
        cause: err,
      });
    }
    if (size < end) {
      throw new TributaryError(
        'STATE_CORRUPT',
        `${what}: state piece ${path} is ${size} bytes, the checkpoint needs ${end} (torn?)`,
        { details: { path } },
      );
    }
  }
}
