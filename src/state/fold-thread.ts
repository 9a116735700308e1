import { Worker } from 'node:worker_threads';
import { TributaryError, type ErrorCode } from '../errors.js';
import type { FoldJob } from './chain-folds.js';
import type { PieceRef } from './state-pieces.js';

export interface FoldRequest {
  readonly id: number;
  /** the file to write (a temp name; the caller renames it when it adopts the folds) */
  readonly path: string;
  readonly jobs: readonly FoldJob[];
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
  readonly resolve: (refs: PieceRef[]) => void;
  readonly reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * One worker thread per process that folds chains of state pieces for every keyed subtask
 * (requests are served one after the other). Started on first use, ended when no subtask holds
 * it; it does not keep the process alive.
 */
class FoldThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private holders = 0;

  hold(): void {
    this.holders++;
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
  fold(path: string, jobs: readonly FoldJob[], timeoutMs: number): Promise<PieceRef[]> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<PieceRef[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        // a stuck fold: the worker is replaced, the request abandoned (chains are folded inline
        // when they get too long, so nothing depends on it)
        this.failAll(
          worker,
          new TributaryError('TIMEOUT', `state fold of ${path} took more than ${timeoutMs} ms`),
        );
        if (this.worker === worker) this.worker = undefined;
        void worker.terminate();
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { worker, resolve, reject, timer });
      worker.postMessage({ id, path, jobs } satisfies FoldRequest);
    });
  }

  private start(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = spawnFoldWorker();
    worker.unref();
    worker.on('message', (reply: FoldReply) => {
      const pending = this.pending.get(reply.id);
      if (pending === undefined) return;
      this.pending.delete(reply.id);
      clearTimeout(pending.timer);
      if (reply.ok) pending.resolve(reply.refs);
      else
        pending.reject(
          new FoldFailure(reply.code ?? 'CHECKPOINT_FAILED', reply.message, reply.failedJob),
        );
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
