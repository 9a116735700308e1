import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { TributaryError } from '../../errors.js';
import type { Controller } from '../controller/controller.js';
import type { CreatedTxn, StreamId, TxnState } from '../controller/types.js';
import { checkEventSize, segmentName, transactionSegmentName } from '../protocol/index.js';
import type { SegmentStore } from '../segment/segment-store.js';
import { parseConfig } from '../../config.js';
import { KeyRanges } from './key-ranges.js';
import { Completion, type PendingEvent } from './pending-event.js';
import { RoutingKeyHashes } from './routing-key-hashes.js';
import { SegmentWriter, type SegmentWriterOwner } from './segment-writer.js';
import type { Serializer } from './serializer.js';

/**
 * Pravega transactions. A transaction has one segment per segment of the stream at its creation;
 * events written to it are invisible to readers until commit, when the server merges every
 * transaction segment into its stream segment at once. Commit is asynchronous on the server
 * (OPEN → COMMITTING → COMMITTED) and is polled here; it is idempotent (already committed is
 * success). A transaction found ABORTED, or one the controller no longer knows, is a TXN_LOST
 * error that says data may be lost. While open, a transaction's lease is renewed in the
 * background; one left unpinged past its lease is aborted by the server.
 *
 * The transaction is an explicit state machine; a method called in the wrong state is refused.
 */

/** The server's bounds on a transaction lease (controller.transaction.lease.count.min/max). */
export const MIN_TXN_LEASE_MS = 10_000;
export const MAX_TXN_LEASE_MS = 600_000;

/**
 * After a commit request, how long before the first status poll: a real Pravega 0.13 server
 * took 170–1,400 ms from the accepted request to COMMITTED for a transaction of 4 segments
 * (2 MB, on a loaded machine), so polls at once and at 20, 60 ms only cost the controller reads.
 */
const FIRST_MERGE_POLL_MS = 100;

export const TransactionalWriterOptionsSchema = z
  .object({
    /** how long the transaction lives without a ping; the client pings while it is open */
    leaseMs: z
      .number()
      .int()
      .min(MIN_TXN_LEASE_MS, `must be at least ${MIN_TXN_LEASE_MS} ms (the server's minimum lease)`)
      .max(MAX_TXN_LEASE_MS, `must be at most ${MAX_TXN_LEASE_MS} ms (the server's maximum lease)`)
      .default(120_000),
    /** the writer id passed to commitTransaction (watermarking); free text */
    writerId: z.string().default(''),
    maxBlockBytes: z
      .number()
      .int()
      .min(1024)
      .max(8 * 1024 * 1024)
      .default(1024 * 1024),
    /** how long commit() keeps polling a COMMITTING transaction */
    commitTimeoutMs: z.number().int().min(1000).default(120_000),
    maxReconnectAttempts: z.number().int().min(1).default(20),
    initialBackoffMs: z.number().int().min(1).default(10),
    maxBackoffMs: z.number().int().min(1).default(5_000),
  })
  .strict();

export type TransactionalWriterOptions = z.input<typeof TransactionalWriterOptionsSchema>;
type Options = z.output<typeof TransactionalWriterOptionsSchema>;

export type TransactionPhase =
  'open' | 'committing' | 'committed' | 'aborting' | 'aborted' | 'failed';

/** Writes into transactions of one stream; begins them and resumes them by id. */
export class TransactionalEventStreamWriter<T> {
  private readonly options: Options;
  private readonly open = new Set<Transaction<T>>();
  private closed = false;

  constructor(
    readonly stream: StreamId,
    private readonly controller: Controller,
    private readonly store: SegmentStore,
    private readonly serializer: Serializer<T>,
    options: TransactionalWriterOptions = {},
  ) {
    try {
      this.options = parseConfig(
        TransactionalWriterOptionsSchema,
        options,
        'transactional writer options',
      );
    } catch (err) {
      if (TributaryError.is(err) && /leaseMs/.test(err.message)) {
        throw new TributaryError('TXN_LEASE_INVALID', err.message, { cause: err });
      }
      throw err;
    }
  }

  get leaseMs(): number {
    return this.options.leaseMs;
  }

  async beginTxn(): Promise<Transaction<T>> {
    if (this.closed) throw new TributaryError('CLOSED', 'transactional writer is closed');
    let created: CreatedTxn;
    try {
      created = await this.controller.createTransaction(this.stream, this.options.leaseMs);
    } catch (err) {
      if (TributaryError.is(err, 'ILLEGAL_ARGUMENT')) {
        throw new TributaryError(
          'TXN_LEASE_INVALID',
          `the server refused a lease of ${this.options.leaseMs} ms: ${err.message}`,
          { cause: err },
        );
      }
      throw err;
    }
    const txn = new Transaction<T>(
      this.stream,
      created.txnId,
      this.controller,
      this.store,
      this.serializer,
      this.options,
      created,
      () => this.open.delete(txn),
    );
    this.open.add(txn);
    return txn;
  }

  /**
   * A handle on an existing transaction by id, e.g. after a crash, from a new process: it can be
   * committed, aborted and asked for its status, but not written to.
   */
  resumeTxn(txnId: string): Transaction<T> {
    return new Transaction<T>(
      this.stream,
      txnId,
      this.controller,
      this.store,
      this.serializer,
      this.options,
      undefined,
      () => undefined,
    );
  }

  /** Aborts nothing: open transactions stay open until committed, aborted or expired. Stops pings. */
  async close(): Promise<void> {
    this.closed = true;
    for (const txn of this.open) txn.detach();
    this.open.clear();
  }
}

export class Transaction<T> implements SegmentWriterOwner {
  private phaseValue: TransactionPhase = 'open';
  private readonly writers: SegmentWriter[] = [];
  private readonly routing: KeyRanges<SegmentWriter> | undefined;
  private readonly pinger: NodeJS.Timeout | undefined;
  private failure: TributaryError | undefined;
  private readonly hashes = new RoutingKeyHashes();
  private inFlightBytes = 0;
  /** the controller accepted this process's commit request (COMMITTING or COMMITTED) */
  private commitRequested = false;
  /** when this process's commit request was accepted (Date.now()) */
  private commitAcceptedAt = 0;
  private capacityWaiters: { maxBytes: number; resolve: () => void }[] = [];

  constructor(
    readonly stream: StreamId,
    readonly txnId: string,
    private readonly controller: Controller,
    store: SegmentStore,
    private readonly serializer: Serializer<T>,
    private readonly options: Options,
    created: CreatedTxn | undefined,
    private readonly onDone: () => void,
  ) {
    if (created) {
      this.routing = new KeyRanges(
        created.segments.map((s) => {
          const parent = segmentName(s.segment.scope, s.segment.stream, s.segment.segmentId);
          const writer = new SegmentWriter(
            transactionSegmentName(parent, txnId),
            store,
            this,
            options,
          );
          this.writers.push(writer);
          return { min: s.minKey, max: s.maxKey, value: writer };
        }),
      );
      // ping a few times per lease (Java pings ~ lease / sqrt(lease in s))
      const interval = Math.max(
        1000,
        Math.floor(options.leaseMs / Math.max(2, Math.sqrt(options.leaseMs / 1000))),
      );
      this.pinger = setInterval(() => void this.ping(), interval);
      this.pinger.unref();
    } else {
      this.routing = undefined;
      this.pinger = undefined;
    }
  }

  get phase(): TransactionPhase {
    return this.phaseValue;
  }

  /** True for a handle made by resumeTxn (no writes). */
  get resumed(): boolean {
    return this.routing === undefined;
  }

  private refuse(operation: string, allowed: readonly TransactionPhase[]): void {
    if (!allowed.includes(this.phaseValue)) {
      throw new TributaryError(
        'TXN_STATE',
        `cannot ${operation} transaction ${this.txnId} on ${this.stream.scope}/${this.stream.stream}: it is ${this.phaseValue}`,
        { details: { txnId: this.txnId, phase: this.phaseValue } },
      );
    }
  }

  /** Writes one event into the transaction; the promise settles when the server has it (not committed). */
  write(event: T, routingKey?: string): Promise<void> {
    const routing = this.writable();
    const completion = new Completion(1);
    this.enqueue(routing, event, routingKey, completion);
    return completion.promise;
  }

  /** Writes many events, each routed by `routingKey(value)`; one promise for all of them. */
  writeBatch(values: readonly T[], routingKey?: (value: T) => string | undefined): Promise<void> {
    const routing = this.writable();
    const completion = new Completion(values.length);
    for (const value of values) this.enqueue(routing, value, routingKey?.(value), completion);
    return completion.promise;
  }

  /** The routing of an open transaction this process began; throws otherwise. */
  private writable(): KeyRanges<SegmentWriter> {
    this.refuse('write to', ['open']);
    const routing = this.routing;
    if (!routing) {
      throw new TributaryError(
        'TXN_STATE',
        `transaction ${this.txnId} was resumed by id: it cannot be written to`,
      );
    }
    if (this.failure) throw this.failure;
    return routing;
  }

  private enqueue(
    routing: KeyRanges<SegmentWriter>,
    event: T,
    routingKey: string | undefined,
    completion: Completion,
  ): void {
    const data = this.serializer.serialize(event);
    checkEventSize(data.length);
    this.inFlightBytes += data.length;
    // without a routing key, the transaction's id keeps its events together (as Java does)
    const key = routingKey ?? this.txnId;
    const hash = this.hashes.of(key);
    routing.lookup(hash).add(hash, data, completion);
  }

  /** Bytes written into the transaction that the server has not acknowledged yet. */
  get pendingBytes(): number {
    return this.inFlightBytes;
  }

  /** Resolves when fewer than `maxBytes` are unacknowledged (backpressure for writers). */
  ready(maxBytes: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.inFlightBytes < maxBytes) return Promise.resolve();
    return new Promise((resolve) => this.capacityWaiters.push({ maxBytes, resolve }));
  }

  /** Waits until the server has every event written so far (pre-commit). */
  async flush(): Promise<void> {
    this.refuse('flush', ['open']);
    for (const w of this.writers) w.flushPending();
    const all = new Set<Promise<void>>();
    for (const w of this.writers) w.addCompletionsTo(all);
    await Promise.all(all);
    if (this.failure) throw this.failure;
  }

  /** Flushes, commits and waits until the server says COMMITTED. Idempotent. */
  async commit(): Promise<void> {
    await this.requestCommit();
    await this.waitCommitted();
  }

  /**
   * Flushes and asks the controller to commit; resolves once the commit is accepted (COMMITTING:
   * the server completes it on its own, even if this process goes away) or done. One controller
   * call when all goes well. Idempotent. {@link waitCommitted} waits for the end of the merge,
   * after which readers see the events.
   */
  async requestCommit(): Promise<void> {
    if (this.phaseValue === 'committed' || this.commitRequested) return;
    this.refuse('commit', ['open', 'committing']);
    if (this.phaseValue === 'open' && this.routing) await this.flush();
    this.phaseValue = 'committing';
    this.stopPinging();
    try {
      await this.sendCommit();
      this.commitRequested = true;
      this.commitAcceptedAt = Date.now();
    } catch (err) {
      this.phaseValue = TributaryError.is(err, 'TXN_LOST') ? 'failed' : this.phaseValue;
      if (this.phaseValue === 'failed') this.finish();
      throw err;
    }
  }

  /** The commit request, retried while the controller still says OPEN. */
  private async sendCommit(): Promise<void> {
    const deadline = Date.now() + this.options.commitTimeoutMs;
    let delay = 20;
    for (;;) {
      let state: TxnState;
      try {
        await this.controller.commitTransaction(this.stream, this.txnId, this.options.writerId);
        return;
      } catch (err) {
        if (!TributaryError.is(err, 'TXN_FAILED') && !TributaryError.is(err, 'TXN_NOT_FOUND')) {
          throw err;
        }
        // refused or not found (a finished transaction may have left the active set): already
        // committing or committed is success; aborted or unknown is lost; open is retried
        state = await this.checkStatus();
        if (state === 'committing' || state === 'committed') return;
        if (state !== 'open') throw this.lost(state, err);
      }
      if (Date.now() > deadline) throw this.stillIn(state);
      await sleep(delay);
      delay = Math.min(1000, delay * 2);
    }
  }

  /**
   * Waits until the server says COMMITTED (the merge is done and readers see the events),
   * requesting the commit first if nobody did. Idempotent.
   */
  async waitCommitted(): Promise<void> {
    if (this.phaseValue === 'committed') return;
    if (!this.commitRequested) await this.requestCommit();
    try {
      // a commit just accepted is still merging: asking at once only costs the controller a
      // metadata read (bench/job.ts counted ~3 polls per transaction when the first went at once)
      await this.pollCommitted(this.commitAcceptedAt + FIRST_MERGE_POLL_MS - Date.now());
      this.phaseValue = 'committed';
    } catch (err) {
      this.phaseValue = TributaryError.is(err, 'TXN_LOST') ? 'failed' : this.phaseValue;
      throw err;
    } finally {
      if (this.phaseValue !== 'committing') this.finish();
    }
  }

  private async pollCommitted(firstCheckAfterMs: number): Promise<void> {
    const deadline = Date.now() + this.options.commitTimeoutMs;
    if (firstCheckAfterMs > 0) await sleep(firstCheckAfterMs);
    let delay = Math.max(20, firstCheckAfterMs);
    for (;;) {
      const state = await this.checkStatus();
      if (state === 'committed') return;
      // OPEN only until the controller records the accepted request
      if (state !== 'committing' && state !== 'open') throw this.lost(state);
      if (Date.now() > deadline) throw this.stillIn(state);
      await sleep(delay);
      delay = Math.min(1000, delay * 2);
    }
  }

  private stillIn(state: TxnState): TributaryError {
    return new TributaryError(
      'TIMEOUT',
      `transaction ${this.txnId} on ${this.stream.scope}/${this.stream.stream} is still ${state} after ${this.options.commitTimeoutMs} ms; commit it again later`,
      { retryable: true, details: { txnId: this.txnId, state } },
    );
  }

  private lost(state: TxnState, cause?: unknown): TributaryError {
    return new TributaryError(
      'TXN_LOST',
      `transaction ${this.txnId} on ${this.stream.scope}/${this.stream.stream} cannot be committed: it is ${state === 'unknown' ? 'unknown to the controller (expired or never existed)' : state}. Its events are not in the stream: DATA MAY BE LOST.`,
      { details: { txnId: this.txnId, state }, ...(cause ? { cause } : {}) },
    );
  }

  /** Aborts the transaction (its events are discarded). Aborting an aborted one is fine. */
  async abort(): Promise<void> {
    if (this.phaseValue === 'aborted') return;
    this.refuse('abort', ['open', 'aborting', 'failed']);
    this.phaseValue = 'aborting';
    this.stopPinging();
    for (const w of this.writers) w.close();
    try {
      const state = await this.checkStatus();
      if (state === 'committed' || state === 'committing') {
        this.phaseValue = 'failed';
        throw new TributaryError(
          'TXN_STATE',
          `transaction ${this.txnId} is already ${state}; it cannot be aborted`,
        );
      }
      if (state !== 'aborted' && state !== 'aborting' && state !== 'unknown') {
        await this.controller.abortTransaction(this.stream, this.txnId);
      }
      this.phaseValue = 'aborted';
    } finally {
      this.finish();
    }
  }

  checkStatus(): Promise<TxnState> {
    return this.controller.checkTransactionState(this.stream, this.txnId);
  }

  private async ping(): Promise<void> {
    if (this.phaseValue !== 'open') return;
    try {
      const status = await this.controller.pingTransaction(
        this.stream,
        this.txnId,
        this.options.leaseMs,
      );
      if (status !== 'ok' && this.phaseValue === 'open') {
        this.failure ??= new TributaryError(
          'TXN_FAILED',
          `transaction ${this.txnId}: lease renewal answered ${status}`,
          {
            details: { txnId: this.txnId, status },
          },
        );
        if (status === 'aborted' || status === 'committed' || status === 'unknown')
          this.stopPinging();
      }
    } catch {
      // a missed ping is not fatal: the lease still runs; the next ping may get through
    }
  }

  private stopPinging(): void {
    if (this.pinger) clearInterval(this.pinger);
  }

  private finish(): void {
    this.stopPinging();
    for (const w of this.writers) w.close();
    this.onDone();
  }

  /** Stops pinging without changing the transaction (the writer is closing). */
  detach(): void {
    this.stopPinging();
    for (const w of this.writers) w.close();
  }

  // ---- SegmentWriterOwner: a transaction segment is never scaled; sealed or gone means the
  // transaction was committed or aborted by someone else ----

  onSegmentSealed(_writer: SegmentWriter, unacked: PendingEvent[], cause: TributaryError): void {
    const error = new TributaryError(
      'TXN_FAILED',
      `transaction ${this.txnId} was committed or aborted while being written to (${cause.code})`,
      { cause, details: { txnId: this.txnId } },
    );
    this.failure ??= error;
    let released = 0;
    for (const e of unacked) {
      released += e.data.length;
      e.completion.fail(error);
    }
    this.onBytesReleased(released);
  }

  onWriterFailed(_writer: SegmentWriter, error: TributaryError): void {
    this.failure ??= error;
    this.onBytesReleased(0);
  }

  onBytesReleased(bytes: number): void {
    this.inFlightBytes -= bytes;
    const waiting = this.capacityWaiters;
    this.capacityWaiters = [];
    for (const w of waiting) {
      if (this.failure !== undefined || this.inFlightBytes < w.maxBytes) w.resolve();
      else this.capacityWaiters.push(w);
    }
  }
}
