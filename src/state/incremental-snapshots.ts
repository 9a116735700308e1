import { copyFile, link, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { syncDirectory } from '../durable-fs.js';
import { TributaryError, errorMessage } from '../errors.js';
import type { StateValue } from '../checkpoint/state-codec.js';
import { keyGroupOf, type Key } from '../runtime/key-groups.js';
import type { ChangedKeys, KeyedStateBackend } from '../runtime/keyed-state.js';
import { foldPieces, planFolds, type FoldJob } from './chain-folds.js';
import { FoldFailure, foldThread } from './fold-thread.js';
import {
  pieceFileName,
  readPieceSection,
  toStoredRef,
  type PieceFileWrite,
  type PieceRef,
} from './state-pieces.js';
import { TIMERS_TABLE, packSection, unpackSection, type SectionTables } from './state-sections.js';

/** What the barrier captured, to be written off the hot path. */
interface Capture {
  readonly checkpointId: number;
  readonly generation: number;
  readonly changed: ChangedKeys;
  /** keys whose timers changed */
  readonly timerKeys: readonly Key[];
  /** encoded changes per key group */
  readonly deltas: Map<number, Buffer>;
  /** extra per-key-group data recorded inline in the checkpoint (timers) */
  readonly inline: Map<number, StateValue>;
  /** the last `resetGroups` before the capture */
  readonly resetSeq: number;
}

/** Key groups whose chains end (dropped, or loaded anew) after the captures before `seq`. */
interface Reset {
  readonly seq: number;
  readonly groups: ReadonlySet<number>;
  applied: boolean;
}

export interface IncrementalSnapshotsSetup {
  /** `<checkpoint dir>/state` */
  readonly dir: string;
  readonly uid: string;
  readonly subtask: number;
  /** a chain is consolidated after about this many pieces */
  readonly consolidateEvery: number;
  readonly backend: KeyedStateBackend;
  /** the subtask's timers, checkpointed incrementally in the same pieces */
  readonly timers?: TimerChanges;
  /** key groups (needed to forget re-marked changes of key groups reset meanwhile) */
  readonly maxParallelism?: number;
}

/** Timers as a participant of incremental snapshots (see `KeyedTimerService`). */
export interface TimerChanges {
  captureChanges(): { keys: Key[]; groups: Map<number, SectionTables> };
  markChanged(keys: readonly Key[]): void;
}

/** Finished folds taken into a checkpoint: their file's rename, and the folds. */
interface Adoption {
  readonly rename: { readonly from: string; readonly to: string };
  readonly jobs: readonly FoldJob[];
}

/** Folds done in the background, waiting to be taken into the next checkpoint. */
interface FinishedFolds {
  /** the temp file they were written to */
  readonly path: string;
  readonly jobs: readonly FoldJob[];
  readonly refs: readonly PieceRef[];
}

/** A background fold batch reads at most about this much. */
const FOLD_BUDGET_BYTES = 16 * 2 ** 20;
/** Writing a checkpoint's piece file taking longer than this fails the checkpoint. */
const WRITE_TIMEOUT_MS = 120_000;
/** A background fold batch taking longer than this is abandoned. */
const FOLD_TIMEOUT_MS = 300_000;

/**
 * Incremental, asynchronous checkpoints of one keyed operator subtask's heap state.
 *
 * At a barrier only the keys changed since the previous barrier are encoded (msgpack, one
 * section per key group); the task then goes on while the sections are written to a piece file
 * and fsynced. Each key group has a chain of pieces: a full one, then deltas.
 *
 * Chains are folded in the background, in a worker thread, from the immutable pieces on disk
 * (never from live state): many deltas into one delta, or — when the deltas outweigh the full
 * piece — the whole chain into a new full piece (see `planFolds`). A finished fold is taken into
 * the next checkpoint (its file renamed to that checkpoint's id), so checkpoints never wait for
 * consolidation and the task's thread never does it. Should the worker fall behind, a chain of
 * `3 × consolidateEvery` pieces is folded inline, so restore always reads a bounded amount.
 *
 * Writes are sequential; if one fails, it and every capture queued behind it is declined and
 * their keys count as changed again, so the next checkpoint carries them on top of the last
 * chain that was written.
 */
export class IncrementalSnapshots {
  private readonly dir: string;
  private chains = new Map<number, PieceRef[]>();
  private writes: Promise<unknown> = Promise.resolve();
  private generation = 0;
  /** the background fold batch in flight */
  private folding: Promise<void> | undefined;
  private finished: FinishedFolds | undefined;
  /** a background fold found a corrupt piece the chains still need: fails the next checkpoint */
  private foldError: TributaryError | undefined;
  private closed = false;
  private resetSeq = 0;
  private resets: Reset[] = [];
  /** captures whose write has not settled */
  private inFlight = 0;

  constructor(private readonly setup: IncrementalSnapshotsSetup) {
    this.dir = resolve(setup.dir);
    foldThread.hold();
  }

  /** The chain of a restored key group (already read into the backend). */
  restoreChain(group: number, chain: readonly PieceRef[]): void {
    this.chains.set(group, [...chain]);
  }

  /**
   * The chains of `groups` end: the key groups left this subtask (`drop`) or their state was
   * loaded anew (`adopt`, its keys marked changed in the backend). Captures taken before still
   * record the old chains; from the next capture on, a group has no chain (its changes start a
   * new one with a full piece) or, with no changes, is not recorded at all.
   */
  resetGroups(groups: ReadonlySet<number>): void {
    if (groups.size === 0) return;
    this.resets.push({ seq: ++this.resetSeq, groups: new Set(groups), applied: false });
  }

  /** Ends the chains of the resets that came before `capture` (writes run in capture order). */
  private applyResets(capture: Capture): void {
    for (const reset of this.resets) {
      if (reset.applied || reset.seq > capture.resetSeq) continue;
      reset.applied = true;
      for (const group of reset.groups) this.chains.delete(group);
    }
  }

  /** Stops background folding (the operator closes). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    foldThread.release();
  }

  /**
   * Captures the changes now (cost ∝ changed keys) and returns the key groups to record once
   * their pieces are durable: `{ chain, ...inline }` per key group.
   */
  snapshot(
    checkpointId: number,
    inline: Map<number, StateValue>,
  ): Promise<ReadonlyMap<number, StateValue>> {
    const { changed, groups } = this.setup.backend.captureChanges();
    const timers = this.setup.timers?.captureChanges();
    for (const [group, tables] of timers?.groups ?? []) {
      const state = groups.get(group);
      if (state === undefined) groups.set(group, tables);
      else Object.assign(state, tables);
    }
    const deltas = new Map<number, Buffer>();
    for (const [group, tables] of groups) deltas.set(group, packSection(tables));
    const capture: Capture = {
      checkpointId,
      generation: this.generation,
      changed,
      timerKeys: timers?.keys ?? [],
      deltas,
      inline,
      resetSeq: this.resetSeq,
    };
    this.inFlight++;
    const written = this.writes
      .then(() => {
        this.applyResets(capture);
        return this.write(capture);
      })
      .finally(() => {
        if (--this.inFlight === 0) this.resets = this.resets.filter((reset) => !reset.applied);
      });
    this.writes = written.catch(() => undefined);
    return written;
  }

  private async write(capture: Capture): Promise<ReadonlyMap<number, StateValue>> {
    if (capture.generation !== this.generation) {
      this.declined(capture);
      throw new TributaryError(
        'CHECKPOINT_FAILED',
        `state of ${this.setup.uid}[${this.setup.subtask}] not written: an earlier state write failed`,
      );
    }
    try {
      const foldError = this.foldError;
      if (foldError !== undefined) {
        this.foldError = undefined;
        throw foldError;
      }
      const chains = new Map(this.chains);
      const adoption = await this.adoptFolds(chains, capture.checkpointId);
      await this.importForeign(chains, capture.checkpointId);
      const sections: { group: number; bytes: Buffer; kind: 'full' | 'delta' }[] = [];
      let renames = adoption === undefined ? [] : [adoption.rename];
      for (const [group, delta] of capture.deltas) {
        const chain = chains.get(group) ?? [];
        if (chain.length === 0) {
          sections.push({ group, bytes: delta, kind: 'full' });
        } else if (chain.length + 1 >= 3 * this.setup.consolidateEvery) {
          // the background folds fell behind: keep restore bounded (reading the chain needs
          // the adopted folds under their new name first)
          if (renames.length > 0) await this.commitRenames(renames, adoption, chains);
          renames = [];
          const job = { group, from: 0, refs: chains.get(group) ?? [], what: this.what(group) };
          const captured = unpackSection(delta, 'captured changes');
          sections.push({ group, bytes: foldPieces(job, captured), kind: 'full' });
          await yieldToLoop(); // merging is CPU work: let the task run between key groups
        } else {
          sections.push({ group, bytes: delta, kind: 'delta' });
        }
      }
      if (sections.length > 0 || renames.length > 0) {
        const file = sections.length === 0 ? undefined : this.pieceFile(capture, sections);
        const { renamed, refs } = await foldThread.commit(
          this.dir,
          renames,
          file,
          WRITE_TIMEOUT_MS,
        );
        if (renames.length > 0 && renamed[0] !== true) this.unadopt(adoption, chains);
        sections.forEach(({ group, kind }, i) => {
          const ref = refs[i] as PieceRef;
          chains.set(group, kind === 'full' ? [ref] : [...(chains.get(group) ?? []), ref]);
        });
      }
      this.chains = chains;
      this.startFolds();
      const keyGroups = new Map<number, StateValue>();
      for (const group of new Set([...chains.keys(), ...capture.inline.keys()])) {
        const inline = capture.inline.get(group) as Record<string, StateValue> | undefined;
        keyGroups.set(group, {
          ...inline,
          chain: (chains.get(group) ?? []).map((ref) => ({ ...toStoredRef(ref) })),
        });
      }
      return keyGroups;
    } catch (err) {
      this.generation++;
      this.declined(capture);
      throw new TributaryError(
        'CHECKPOINT_FAILED',
        `writing the state of ${this.setup.uid}[${this.setup.subtask}] for checkpoint ${capture.checkpointId} failed: ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }

  /** The capture's changes count as changes again: the next checkpoint carries them. */
  private declined(capture: Capture): void {
    // keys of key groups reset after the capture are not changes any more
    const reset = new Set<number>();
    for (const r of this.resets)
      if (r.seq > capture.resetSeq) for (const g of r.groups) reset.add(g);
    const max = this.setup.maxParallelism;
    const keep = (key: Key): boolean =>
      reset.size === 0 || max === undefined || !reset.has(keyGroupOf(key, max));
    const changed = new Map<string, readonly Key[]>();
    for (const [name, keys] of capture.changed) changed.set(name, keys.filter(keep));
    this.setup.backend.markChanged(changed);
    this.setup.timers?.markChanged(capture.timerKeys.filter(keep));
  }

  private what(group: number): string {
    return `operator ${this.setup.uid}, key group ${group}`;
  }

  /** Starts a batch of background folds when none runs and some chain is worth folding. */
  private startFolds(): void {
    if (this.folding !== undefined || this.closed || this.finished !== undefined) return;
    const jobs = planFolds(
      this.chains,
      this.setup.consolidateEvery,
      FOLD_BUDGET_BYTES,
      (group) => this.what(group),
      this.dir,
    );
    if (jobs.length === 0) return;
    const path = join(
      this.dir,
      `.tmp-fold-${pieceFileName(0, this.setup.subtask, this.setup.uid)}`,
    );
    this.folding = foldThread
      .fold(path, jobs, FOLD_TIMEOUT_MS)
      .then(
        (refs) => {
          if (this.closed) void rm(path, { force: true });
          else this.finished = { path, jobs, refs };
        },
        (err: unknown) => {
          void rm(path, { force: true });
          // a corrupt piece still needed by the chains must not go unnoticed; anything else
          // (the worker stopped, a superseded piece already deleted) only loses this fold
          const job = err instanceof FoldFailure ? jobs[err.failedJob] : undefined;
          if (
            !this.closed &&
            job !== undefined &&
            TributaryError.is(err, 'STATE_CORRUPT') &&
            this.stillChained(job)
          )
            this.foldError = err;
        },
      )
      .finally(() => {
        this.folding = undefined;
      });
  }

  /** Resolves when the background folds in flight are done (their result waits for a checkpoint). */
  async foldsSettled(): Promise<void> {
    await this.folding;
  }

  /** Whether the pieces of `job` are still where the job found them in its group's chain. */
  private stillChained(job: FoldJob): boolean {
    const chain = this.chains.get(job.group) ?? [];
    return job.refs.every((ref, i) => samePiece(chain[job.from + i], ref));
  }

  /**
   * Takes finished background folds into `chains` where the folded pieces are still in place,
   * giving their file this checkpoint's id (retention then treats it like the checkpoint's own).
   * The rename is returned, to be done with the checkpoint's piece file (`commitRenames` or
   * `foldThread.commit`); `unadopt` takes the folds out again if it could not be done.
   */
  private async adoptFolds(
    chains: Map<number, PieceRef[]>,
    checkpointId: number,
  ): Promise<Adoption | undefined> {
    const finished = this.finished;
    if (finished === undefined) return undefined;
    this.finished = undefined;
    const adopted = finished.jobs
      .map((job, i) => ({ job, ref: finished.refs[i] as PieceRef }))
      .filter(({ job }) => this.stillChained(job));
    if (adopted.length === 0) {
      await rm(finished.path, { force: true });
      return undefined;
    }
    const path = join(this.dir, pieceFileName(checkpointId, this.setup.subtask, this.setup.uid));
    for (const { job, ref } of adopted) {
      const chain = chains.get(job.group) ?? [];
      chains.set(job.group, [
        ...chain.slice(0, job.from),
        { ...ref, path },
        ...chain.slice(job.from + job.refs.length),
      ]);
    }
    return { rename: { from: finished.path, to: path }, jobs: adopted.map(({ job }) => job) };
  }

  /** Renames adopted folds now (before the checkpoint's piece file is written). */
  private async commitRenames(
    renames: readonly { readonly from: string; readonly to: string }[],
    adoption: Adoption | undefined,
    chains: Map<number, PieceRef[]>,
  ): Promise<void> {
    const { renamed } = await foldThread.commit(this.dir, renames, undefined, WRITE_TIMEOUT_MS);
    if (renamed[0] !== true) this.unadopt(adoption, chains);
  }

  /**
   * The folds' file was removed meanwhile (a restart cleaned the directory): the fold is lost,
   * not needed — the folded pieces are put back into their chains.
   */
  private unadopt(adoption: Adoption | undefined, chains: Map<number, PieceRef[]>): void {
    if (adoption === undefined) return;
    for (const job of adoption.jobs) {
      const chain = chains.get(job.group) ?? [];
      if (chain[job.from]?.path !== adoption.rename.to) continue;
      chains.set(job.group, [
        ...chain.slice(0, job.from),
        ...job.refs,
        ...chain.slice(job.from + 1),
      ]);
    }
  }

  /** The captured sections as one piece file to write (one buffer, handed to the worker). */
  private pieceFile(
    capture: Capture,
    sections: readonly { readonly bytes: Buffer; readonly kind: 'full' | 'delta' }[],
  ): PieceFileWrite {
    let total = 0;
    for (const { bytes } of sections) total += bytes.length;
    const bytes = Buffer.allocUnsafeSlow(total);
    let offset = 0;
    for (const section of sections) {
      section.bytes.copy(bytes, offset);
      offset += section.bytes.length;
    }
    const name = pieceFileName(capture.checkpointId, this.setup.subtask, this.setup.uid);
    return {
      path: join(this.dir, name),
      bytes,
      sections: sections.map(({ bytes, kind }) => ({ bytes: bytes.length, kind })),
    };
  }

  /**
   * Chains restored from another checkpoint directory become this directory's own: their piece
   * files are hard-linked (copied where links cannot be made) under this checkpoint's id, so the
   * other directory's retention can never take them away. Costs per file, not per byte of state.
   */
  private async importForeign(
    chains: Map<number, PieceRef[]>,
    checkpointId: number,
  ): Promise<void> {
    const imported = new Map<string, string>();
    let any = false;
    for (const [group, chain] of chains) {
      if (chain.every((ref) => dirname(ref.path) === this.dir)) continue;
      if (!any) await mkdir(this.dir, { recursive: true });
      any = true;
      const own: PieceRef[] = [];
      for (const ref of chain) {
        if (dirname(ref.path) === this.dir) {
          own.push(ref);
          continue;
        }
        let path = imported.get(ref.path);
        if (path === undefined) {
          path = join(this.dir, pieceFileName(checkpointId, this.setup.subtask, this.setup.uid));
          await linkOrCopy(ref.path, path, this.what(group));
          imported.set(ref.path, path);
        }
        own.push({ ...ref, path });
      }
      chains.set(group, own);
    }
    if (any) await syncDirectory(this.dir);
  }
}

function samePiece(a: PieceRef | undefined, b: PieceRef): boolean {
  return a !== undefined && a.path === b.path && a.offset === b.offset && a.sha256 === b.sha256;
}

async function linkOrCopy(from: string, to: string, what: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new TributaryError('STATE_CORRUPT', `state piece ${from} (${what}) is missing`, {
        details: { path: from },
        cause: err,
      });
    const temp = `${dirname(to)}/.tmp-import-${basename(to)}`;
    await copyFile(from, temp);
    const file = await open(temp, 'r+');
    try {
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, to);
  }
}

/** Reads a key group's chain into the backend; every piece is verified. */
export async function readChain(
  backend: KeyedStateBackend,
  chain: readonly PieceRef[],
  what: string,
  timers?: Map<Key, unknown>,
): Promise<void> {
  await readChains(backend, [{ chain, what }], timers);
}

/**
 * Reads key groups' chains into the backend; every piece is verified. The next chain's pieces
 * are read (and hashed, on the thread pool) while the current one is decoded. Timers
 * (`TIMERS_TABLE`) go into `timers`, per key, never into the backend.
 */
export async function readChains(
  backend: KeyedStateBackend,
  chains: readonly { readonly chain: readonly PieceRef[]; readonly what: string }[],
  timers?: Map<Key, unknown>,
  /** awaited after each chain (a backend that writes behind can apply backpressure) */
  afterChain?: () => Promise<void> | undefined,
): Promise<void> {
  const read = (i: number): Promise<Buffer[]> | undefined => {
    const entry = chains[i];
    if (entry === undefined) return undefined;
    const { chain, what } = entry;
    const reads = (async () => {
      if (chain.length > 0 && chain[0]?.kind !== 'full')
        throw new TributaryError(
          'STATE_CORRUPT',
          `${what}: the chain of state pieces does not start with a full piece (${chain[0]?.path})`,
        );
      return Promise.all(chain.map((ref) => readPieceSection(ref, what)));
    })();
    reads.catch(() => undefined); // awaited in turn; a failure ahead is not unhandled meanwhile
    return reads;
  };
  let next = read(0);
  for (let i = 0; i < chains.length; i++) {
    const { chain, what } = chains[i] as (typeof chains)[number];
    const pieces = (await next) as Buffer[];
    next = read(i + 1);
    chain.forEach((ref, j) => {
      const section = unpackSection(pieces[j] as Buffer, `state piece ${ref.path} (${what})`);
      const timerTable = section[TIMERS_TABLE];
      if (timerTable !== undefined) {
        delete section[TIMERS_TABLE];
        const [, puts, deletes] = timerTable;
        for (const key of deletes) timers?.delete(key);
        for (let k = 0; k < puts.length; k += 2) timers?.set(puts[k] as Key, puts[k + 1]);
      }
      backend.applySection(section);
    });
    await afterChain?.();
  }
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
