import { TributaryError, errorMessage } from '../../errors.js';
import type { SharedClient } from '../../pravega/client/client-registry.js';
import type {
  Transaction,
  TransactionalEventStreamWriter,
} from '../../pravega/client/transaction.js';

/**
 * The transactions of one exactly-once Pravega sink, shared by its subtasks in this process: one
 * transaction per checkpoint interval, not one per subtask. A transaction costs the server far
 * more than its events (measured with bench/txn-cost.ts: ~100–160 ms of server CPU for creating,
 * committing and merging a transaction of 4 segments, as much as ~60 k events of 100 B), so
 * fewer transactions is the largest saving for the server in exactly-once.
 *
 * - The interval is named by the checkpoint that opened it (-1: the start of this attempt); every
 *   subtask that snapshots checkpoint N writes the interval after N into the same transaction. A
 *   subtask that missed a checkpoint (declined) stays in its own older interval.
 * - A shared transaction is committed once every subtask that wrote to it asked for its commit,
 *   i.e. after each pre-committed it (flushed its events) and saw a checkpoint complete that
 *   holds it. Commit requests go out one after the other in that order, so the server merges the
 *   transactions in checkpoint order (key order holds).
 * - Each subtask keeps the transaction id in its own state, as before: after a crash every
 *   restored subtask commits (or aborts) it again, which is idempotent.
 * - A subtask that closes leaves its transactions: an open one is aborted once no subtask is
 *   left in it; a pre-committed one not yet committed by all is left to the restored job, which
 *   commits it from the checkpoint state (as without sharing).
 */
export class SharedTransactions<T> {
  private static readonly groups = new Map<string, SharedTransactions<unknown>>();

  private readonly members = new Set<number>();
  private readonly byInterval = new Map<number, Entry<T>>();
  private readonly byId = new Map<string, Entry<T>>();
  /** a transaction begun ahead of the interval that needs it */
  private spare: Promise<Transaction<T>> | undefined;
  /** the commit requests, chained */
  private requests: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private inputEnded = false;
  private closed = false;

  private constructor(
    private readonly key: string,
    private readonly shared: SharedClient,
    private readonly writer: TransactionalEventStreamWriter<T>,
  ) {}

  /**
   * The group of `key` (one per job attempt and sink), created with `open` by its first member.
   * Every member must `leave` once.
   */
  static async join<T>(
    key: string,
    subtask: number,
    open: () => Promise<{ shared: SharedClient; writer: TransactionalEventStreamWriter<T> }>,
  ): Promise<SharedTransactions<T>> {
    let group = SharedTransactions.groups.get(key) as SharedTransactions<T> | undefined;
    if (group === undefined) {
      const { shared, writer } = await open();
      // another member may have created it while this one connected
      const raced = SharedTransactions.groups.get(key) as SharedTransactions<T> | undefined;
      if (raced !== undefined) {
        await writer.close();
        await shared.release();
        group = raced;
      } else {
        group = new SharedTransactions<T>(key, shared, writer);
        SharedTransactions.groups.set(key, group);
      }
    }
    group.members.add(subtask);
    return group;
  }

  /** The transaction of the interval opened by checkpoint `interval`; `subtask` writes to it. */
  async transactionFor(interval: number, subtask: number): Promise<Transaction<T>> {
    this.throwIfFailed();
    let entry = this.byInterval.get(interval);
    if (entry === undefined) {
      const begun = this.spare ?? this.writer.beginTxn();
      this.spare = undefined;
      entry = new Entry<T>(interval, begun);
      this.byInterval.set(interval, entry);
      // the one after it, while this one is written (after the end of input only the final
      // checkpoint is left: the transaction it begins is never written to)
      if (!this.inputEnded) {
        const next = this.writer.beginTxn();
        next.catch(() => undefined); // its failure shows when it is needed
        this.spare = next;
      }
    }
    entry.writers.add(subtask);
    const txn = await entry.txn;
    this.byId.set(txn.txnId, entry);
    return txn;
  }

  /** The transaction of this group with that id, if this process began it. */
  get(txnId: string): Transaction<T> | undefined {
    return this.byId.get(txnId)?.handle;
  }

  /** Every commit request sent so far was accepted (or one failed: then this throws). */
  async requestsAccepted(): Promise<void> {
    await this.requests;
    this.throwIfFailed();
  }

  /**
   * `subtask` asks for the commit of `txnId`. Resolves once the commit request was sent and
   * accepted — by this call if it was the last writer's, else when the last writer asks. `merged`
   * settles once the server merged it.
   */
  commit(txnId: string, subtask: number): { requested: Promise<void>; merged: Promise<void> } {
    const entry = this.byId.get(txnId);
    if (entry === undefined) {
      throw new TributaryError(
        'ILLEGAL_STATE',
        `transaction ${txnId} is not one of this process's shared transactions`,
      );
    }
    entry.committers.add(subtask);
    this.settle(entry);
    return { requested: entry.requested.promise, merged: entry.merged.promise };
  }

  /**
   * `subtask` no longer writes to `txnId` and will not commit it (abort on close): aborted once
   * no subtask writes to it (the last member's `leave` waits for that).
   */
  abandon(txnId: string, subtask: number): void {
    const entry = this.byId.get(txnId);
    if (entry === undefined) return;
    entry.writers.delete(subtask);
    entry.abandoned = true;
    this.settle(entry);
  }

  /**
   * `subtask` pre-committed `txnId` at a barrier: its part is in that checkpoint's state, so
   * leaving never aborts it on this subtask's account — the checkpoint may be complete already
   * (its completion not yet heard of here), and a restore from it commits the transaction.
   */
  precommitted(txnId: string, subtask: number): void {
    this.byId.get(txnId)?.precommitters.add(subtask);
  }

  endOfInput(): void {
    this.inputEnded = true;
  }

  get commitFailure(): Error | undefined {
    return this.failure;
  }

  /**
   * `subtask` leaves the group. Transactions it wrote and never committed are no longer waited
   * for on its account: an open one is aborted once nobody writes to it; a commit that waited for
   * it fails (the restored job commits that transaction from its checkpoint state). The last
   * member aborts the spare transaction and closes the writer.
   */
  async leave(subtask: number, warn: (message: string) => void): Promise<void> {
    this.members.delete(subtask);
    for (const entry of new Set([...this.byInterval.values(), ...this.byId.values()])) {
      if (!entry.writers.has(subtask) || entry.committers.has(subtask)) continue;
      entry.writers.delete(subtask);
      if (entry.precommitters.has(subtask)) {
        // pre-committed: never aborted here (a checkpoint's state holds it); a sibling's commit
        // may still go out, else it is left to a restore (or its lease)
        if (entry.writers.size === 0 && entry.committers.size === 0 && !entry.sent) {
          entry.sent = true;
          entry.done.resolve();
          this.forgetWhenDone(entry, entry.done.promise);
        } else this.settle(entry);
        continue;
      }
      entry.abandoned = true;
      this.settle(entry);
    }
    if (this.members.size > 0 || this.closed) return;
    this.closed = true;
    if (SharedTransactions.groups.get(this.key) === (this as SharedTransactions<unknown>)) {
      SharedTransactions.groups.delete(this.key);
    }
    const spare = this.spare;
    this.spare = undefined;
    try {
      for (const entry of this.byInterval.values()) {
        await entry.done.promise.catch((err: unknown) =>
          warn(`aborting a transaction on close failed: ${errorMessage(err)}`),
        );
      }
      if (spare !== undefined) {
        try {
          await (await spare).abort();
        } catch (err) {
          if (!TributaryError.is(err, 'TXN_NOT_FOUND')) {
            warn(`aborting an unused transaction on close failed: ${errorMessage(err)}`);
          }
        }
      }
    } finally {
      await this.writer.close();
      await this.shared.release();
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Sends the commit once every writer asked for it. A writer that left without asking (it
   * closed) means no commit here: callers waiting for one get an error, and once no writer is
   * left a transaction nobody asked to commit is aborted (one somebody asked to commit was
   * pre-committed everywhere: the restored job commits it from its checkpoint state).
   */
  private settle(entry: Entry<T>): void {
    this.settleOne(entry);
    // a commit held back behind this one may go now
    if (entry.sent) for (const later of this.byInterval.values()) this.settleOne(later);
  }

  private settleOne(entry: Entry<T>): void {
    if (entry.sent) return;
    if (!entry.abandoned) {
      if (entry.committers.size === 0) return;
      if (![...entry.writers].every((w) => entry.committers.has(w))) return;
      // commits go out in interval order: a subtask that missed a checkpoint may still owe the
      // commit of an older transaction, and a later one merged first would put its events
      // before older events of the same routing key
      if (this.earlierUnsent(entry)) return;
      entry.sent = true;
      const requested = this.requests.then(async () => {
        if (this.failure !== undefined) throw this.failure;
        await (await entry.txn).requestCommit();
      });
      this.requests = requested.catch((err: unknown) => this.fail(err));
      entry.requested.follow(requested);
      entry.merged.follow(requested.then(async () => (await entry.txn).waitCommitted()));
      entry.merged.promise.catch((err: unknown) => this.fail(err));
      entry.done.resolve();
      this.forgetWhenDone(entry, entry.merged.promise);
      return;
    }
    if (entry.committers.size > 0) {
      const error = new TributaryError(
        'TXN_STATE',
        'a subtask sharing this transaction closed before asking for its commit; the restored job commits it from its checkpoint state',
      );
      entry.requested.reject(error);
      entry.merged.reject(error);
      entry.sent = true;
      entry.done.resolve();
      this.forgetWhenDone(entry, entry.done.promise);
      return;
    }
    if (entry.writers.size > 0) return;
    entry.sent = true;
    entry.done.follow(
      entry.txn.then(async (txn) => {
        try {
          await txn.abort();
        } catch (err) {
          if (!TributaryError.is(err, 'TXN_NOT_FOUND')) throw err;
        }
      }),
    );
    this.forgetWhenDone(entry, entry.done.promise);
  }

  private earlierUnsent(entry: Entry<T>): boolean {
    for (const [interval, other] of this.byInterval) {
      if (!other.sent && interval < entry.interval) return true;
    }
    return false;
  }

  /** A transaction merged or aborted is no longer this group's to track. */
  private forgetWhenDone(entry: Entry<T>, done: Promise<void>): void {
    done.then(
      () => {
        if (this.byInterval.get(entry.interval) === entry) this.byInterval.delete(entry.interval);
        if (entry.handle !== undefined) this.byId.delete(entry.handle.txnId);
      },
      () => undefined, // a failure is kept (commitFailure) and the entry with it
    );
  }

  private fail(err: unknown): void {
    this.failure ??= err instanceof Error ? err : new Error(errorMessage(err));
  }
}

class Entry<T> {
  /** subtasks that wrote (or may write) to it */
  readonly writers = new Set<number>();
  /** subtasks that asked for its commit */
  readonly committers = new Set<number>();
  /** subtasks that pre-committed it: their part belongs to a checkpoint's state */
  readonly precommitters = new Set<number>();
  /** a writer left without asking for its commit */
  abandoned = false;
  /** the commit (or abort) was sent */
  sent = false;
  handle: Transaction<T> | undefined;
  readonly requested = new Deferred();
  readonly merged = new Deferred();
  /** settled once the commit was sent, the abort done, or neither is left to do here */
  readonly done = new Deferred();

  constructor(
    /** the checkpoint that opened its interval */
    readonly interval: number,
    readonly txn: Promise<Transaction<T>>,
  ) {
    txn.then(
      (t) => (this.handle = t),
      () => undefined,
    );
    // nobody need wait for these; failures show through `commitFailure` and the callers
    this.requested.promise.catch(() => undefined);
    this.merged.promise.catch(() => undefined);
    this.done.promise.catch(() => undefined);
  }
}

class Deferred {
  readonly promise: Promise<void>;
  private settled = false;
  private resolveFn!: () => void;
  private rejectFn!: (err: unknown) => void;

  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
  }

  follow(p: Promise<void>): void {
    p.then(
      () => this.resolve(),
      (err: unknown) => this.reject(err),
    );
  }

  resolve(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveFn();
  }

  reject(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectFn(err);
  }
}
