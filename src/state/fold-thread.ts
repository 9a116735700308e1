import { Worker } from 'node:worker_threads';
import { TributaryError, type ErrorCode } from '../errors.js';
import type { FoldJob } from './chain-folds.js';
import type { PieceFileWrite, PieceRef } from './state-pieces.js';

export interface FoldRequest {
  readonly type: 'fold';
  readonly id: number;
  /** the file to write (a temp name; the caller renames it when it adopts the folds) */
  readonly path: string;
  readonly jobs: readonly FoldJob[];
}

/** Makes a checkpoint's piece file and adopted folds durable (see `commitPieceFileSync`). */
export interface CommitRequest {
  readonly type: 'commit';
  readonly id: number;
  readonly dir: string;
  readonly renames: readonly { readonly from: string; readonly to: string }[];
  readonly file: PieceFileWrite | undefined;
}

export type FoldReply =
  | { readonly id: number; readonly ok: true; readonly refs: PieceRef[] }
  | {
      readonly id: number;
      readonly ok: false;
      /** index of the job that failed (`jobs.length`: writing the file failed) */
      readonly failedJob: number;
      readonly code: ErrorCode | undefined;
      readonly message: string;
    };

export type CommitReply =
  | { readonly id: number; readonly ok: true; readonly renamed: boolean[]; refs: PieceRef[] }
  | { readonly id: number; readonly ok: false; readonly message: string };

/** A fold that failed in the worker; `failedJob` indexes the request's jobs. */
export class FoldFailure extends TributaryError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly failedJob: number,
  ) {
    super(code, message);
  }
}

interface Pending {
  /** the worker serving it */
  readonly worker: Worker;
  readonly resolve: (reply: FoldReply | CommitReply) => void;
  readonly reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * One worker thread per process that folds chains of state pieces for every keyed subtask
 * (requests are served one after the other) and makes checkpoints' piece files durable. Started
 * on first use, ended when no subtask holds it; it does not keep the process alive.
 */
class FoldThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private holders = 0;

  hold(): void {
    this.holders++;
  }

  /** Whether some keyed subtask holds the thread (it runs, or starts on the next request). */
  get inUse(): boolean {
    return this.holders > 0;
  }

  release(): void {
    if (--this.holders > 0) return;
    this.holders = 0;
    const worker = this.worker;
    this.worker = undefined;
    if (worker === undefined) return;
    this.failAll(worker, new TributaryError('CANCELLED', 'state fold worker stopped'));
    void worker.terminate();
  }

  /** Runs the folds and writes them into `path` (fsynced); rejects after `timeoutMs`. */
  async fold(path: string, jobs: readonly FoldJob[], timeoutMs: number): Promise<PieceRef[]> {
    const reply = (await this.request(
      (id) => ({ type: 'fold', id, path, jobs }) satisfies FoldRequest,
      `state fold of ${path}`,
      timeoutMs,
    )) as FoldReply;
    if (reply.ok) return reply.refs;
    throw new FoldFailure(reply.code ?? 'CHECKPOINT_FAILED', reply.message, reply.failedJob);
  }

  /**
   * Renames finished folds and writes a piece file durably, off the task's thread and in one
   * step (one event-loop turn here instead of one per file operation); rejects after `timeoutMs`.
   * `file.bytes` is handed over to the worker: a buffer of its own is transferred (unusable here
   * after), not copied.
   */
  async commit(
    dir: string,
    renames: CommitRequest['renames'],
    file: PieceFileWrite | undefined,
    timeoutMs: number,
  ): Promise<{ renamed: boolean[]; refs: PieceRef[] }> {
    // a buffer of its own is handed over; a view into a shared one (the pool) is copied
    const own = file !== undefined && file.bytes.byteLength === file.bytes.buffer.byteLength;
    const transfer = own ? [file.bytes.buffer as ArrayBuffer] : [];
    const reply = (await this.request(
      (id) => ({ type: 'commit', id, dir, renames, file }) satisfies CommitRequest,
      `writing state pieces in ${dir}`,
      timeoutMs,
      transfer,
    )) as CommitReply;
    if (reply.ok) return reply;
    throw new TributaryError('CHECKPOINT_FAILED', reply.message);
  }

  private request(
    message: (id: number) => FoldRequest | CommitRequest,
    what: string,
    timeoutMs: number,
    transfer: ArrayBuffer[] = [],
  ): Promise<FoldReply | CommitReply> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<FoldReply | CommitReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        // a stuck request: the worker is replaced, its requests abandoned (chains are folded
        // inline when they get too long; a checkpoint whose write is abandoned is declined)
        this.failAll(
          worker,
          new TributaryError('TIMEOUT', `${what} took more than ${timeoutMs} ms`),
        );
        if (this.worker === worker) this.worker = undefined;
        void worker.terminate();
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { worker, resolve, reject, timer });
      worker.postMessage(message(id), transfer);
    });
  }

  private start(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = spawnFoldWorker();
    worker.unref();
    worker.on('message', (reply: FoldReply | CommitReply) => {
      const pending = this.pending.get(reply.id);
      if (pending === undefined) return;
      this.pending.delete(reply.id);
      clearTimeout(pending.timer);
      pending.resolve(reply);
    });
    const gone = (err: Error): void => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(worker, err);
    };
    worker.on('error', (err) => gone(err));
    worker.on('exit', (code) =>
      gone(new TributaryError('CHECKPOINT_FAILED', `state fold worker exited with ${code}`)),
    );
    this.worker = worker;
    return worker;
  }

  /** Fails the requests `worker` was serving (not those of a worker started since). */
  private failAll(worker: Worker, err: Error): void {
    for (const [id, pending] of this.pending) {
      if (pending.worker !== worker) continue;
      clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.reject(err);
    }
  }
}

/** The compiled worker; from the TypeScript sources (tests, tsx) through tsx's loader. */
function spawnFoldWorker(): Worker {
  // a fold holds one key group at a time; a fold too big for this fails (the chain is then
  // folded inline when it gets long) instead of growing the process without bound
  const resourceLimits = { maxOldGenerationSizeMb: 256 };
  if (import.meta.url.endsWith('.js'))
    return new Worker(new URL('./fold-worker.js', import.meta.url), { resourceLimits });
  const entry = new URL('./fold-worker.ts', import.meta.url).href;
  return new Worker(
    `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`,
    { eval: true, resourceLimits },
  );
}

export const foldThread = new FoldThread();
