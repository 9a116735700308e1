import { TributaryError } from '../../errors.js';
import type { StreamId } from '../../pravega/controller/types.js';
import { acquireClient, type SharedClient } from '../../pravega/client/client-registry.js';
import { parseStreamName } from '../../pravega/client/pravega-client.js';
import {
  bytesSerializer,
  jsonSerializer,
  utf8Serializer,
  type Serializer,
} from '../../pravega/client/serializer.js';
import { MAX_TXN_LEASE_MS, MIN_TXN_LEASE_MS } from '../../pravega/client/transaction.js';
import { pravegaPreflight } from '../../connectors/pravega-preflight.js';
import type { CheckpointSettings, PreflightContext, PreflightResult } from '../../source/source.js';
import type { Sink, SinkWriter, SinkWriterContext } from '../sink.js';
import { EventWriterSinkWriter } from './event-writer-sink.js';
import { TransactionalSinkWriter } from './transactional-sink.js';

/**
 * Writes a job's records to a Pravega stream.
 *
 * - `bestEffort()`: events are written asynchronously; nothing is awaited at checkpoints. A
 *   write failure still fails the job on the next record or checkpoint.
 * - `atLeastOnce()` (default): every checkpoint waits until all events written before it are
 *   acknowledged. After a failure events may be written again (duplicates), never lost.
 * - `exactlyOnce()`: one Pravega transaction per subtask per checkpoint; pre-commit flushes it,
 *   it is committed when the checkpoint completes, and a restarted job re-commits the
 *   transactions recorded in its checkpoint and aborts the one that was open.
 *
 *     PravegaSink.forStream('shop/orders-clean').json<Order>().exactlyOnce().routingKey((o) => o.customer)
 */

export type DeliveryGuarantee = 'best-effort' | 'at-least-once' | 'exactly-once';

export interface PravegaSinkSettings<T> {
  readonly stream: StreamId;
  readonly serializer: Serializer<T>;
  readonly routingKey: ((value: T) => string | undefined) | undefined;
  readonly guarantee: DeliveryGuarantee;
  /**
   * transaction lease (exactly-once); undefined: twice the checkpoint interval plus timeout, at
   * least 120 s (at most the server's 600 s)
   */
  readonly leaseMs: number | undefined;
  /** Pravega connection; default: the job option `pravega` */
  readonly pravega: unknown;
}

export class PravegaSink<T> implements Sink<T> {
  private constructor(readonly settings: PravegaSinkSettings<T>) {}

  static forStream(stream: string | StreamId): PravegaSink<Buffer> {
    return new PravegaSink<Buffer>({
      stream: parseStreamName(stream),
      serializer: bytesSerializer,
      routingKey: undefined,
      guarantee: 'at-least-once',
      leaseMs: undefined,
      pravega: undefined,
    });
  }

  private with<U = T>(changes: Partial<PravegaSinkSettings<U>>): PravegaSink<U> {
    return new PravegaSink<U>({
      ...(this.settings as unknown as PravegaSinkSettings<U>),
      ...changes,
    });
  }

  serializer<U>(serializer: Serializer<U>): PravegaSink<U> {
    return this.with<U>({ serializer, routingKey: undefined });
  }

  json<U>(): PravegaSink<U> {
    return this.serializer(jsonSerializer<U>());
  }

  utf8(): PravegaSink<string> {
    return this.serializer(utf8Serializer);
  }

  bytes(): PravegaSink<Buffer> {
    return this.serializer(bytesSerializer);
  }

  /** The routing key of each record: records with one key stay in order. */
  routingKey(fn: (value: T) => string | undefined): PravegaSink<T> {
    return this.with({ routingKey: fn });
  }

  bestEffort(): PravegaSink<T> {
    return this.with({ guarantee: 'best-effort' });
  }

  atLeastOnce(): PravegaSink<T> {
    return this.with({ guarantee: 'at-least-once' });
  }

  /**
   * @param options.leaseMs transaction lease (10 s – 600 s, the server's bounds); default: twice
   *   the checkpoint interval plus the checkpoint timeout, at least 120 s
   */
  exactlyOnce(options: { leaseMs?: number } = {}): PravegaSink<T> {
    const leaseMs = options.leaseMs ?? this.settings.leaseMs;
    if (
      leaseMs !== undefined &&
      (!Number.isInteger(leaseMs) || leaseMs < MIN_TXN_LEASE_MS || leaseMs > MAX_TXN_LEASE_MS)
    ) {
      throw new TributaryError(
        'TXN_LEASE_INVALID',
        `exactlyOnce: leaseMs must be between ${MIN_TXN_LEASE_MS} and ${MAX_TXN_LEASE_MS} ms (the server's bounds), got ${leaseMs}`,
      );
    }
    return this.with({ guarantee: 'exactly-once', leaseMs });
  }

  /** Uses this Pravega connection instead of the job's `pravega` option. */
  withPravega(config: unknown): PravegaSink<T> {
    return this.with({ pravega: config });
  }

  /**
   * Before the job starts: the scope and stream exist; for exactly-once, the transaction lease
   * fits the server's bounds and outlasts a checkpoint interval plus its timeout.
   */
  async preflight(ctx: PreflightContext): Promise<PreflightResult> {
    const what = `Pravega sink ${ctx.uid}`;
    if (this.settings.guarantee === 'exactly-once') {
      checkLease(
        what,
        transactionLease(this.settings.leaseMs, ctx.checkpointing),
        this.settings.leaseMs !== undefined,
        ctx,
      );
    }
    return pravegaPreflight(ctx, what, this.settings.pravega, [this.settings.stream]);
  }

  createWriter(ctx: SinkWriterContext): SinkWriter<T> {
    const connect = (): Promise<SharedClient> =>
      acquireClient(this.settings.pravega ?? ctx.connectors.pravega);
    if (this.settings.guarantee !== 'exactly-once')
      return new EventWriterSinkWriter(this.settings, connect);
    const { scope, stream } = this.settings.stream;
    ctx.connectors.cluster?.transactionStream(ctx.sinkUid, `${scope}/${stream}`);
    const leaseMs = transactionLease(this.settings.leaseMs, ctx.checkpointing);
    checkLease(`Pravega sink ${ctx.sinkUid}`, leaseMs, true, undefined, ctx.checkpointing);
    return new TransactionalSinkWriter(ctx, { ...this.settings, leaseMs }, connect);
  }
}

/** The lease to use: the one given, or twice interval + timeout, within 120 s … 600 s. */
export function transactionLease(
  leaseMs: number | undefined,
  checkpointing: CheckpointSettings,
): number {
  if (leaseMs !== undefined) return leaseMs;
  const needed = (checkpointing.intervalMs ?? 0) + checkpointing.timeoutMs;
  return Math.min(MAX_TXN_LEASE_MS, Math.max(120_000, 2 * needed));
}

/**
 * The lease must outlast a checkpoint interval plus the checkpoint itself: a pre-committed
 * transaction waits that long for its commit, and after a crash (no more pings) it must still be
 * alive when the restarted job commits it. Warnings (preflight only) for a lease given explicitly
 * that leaves little time to recover, and for an unbounded job without periodic checkpoints.
 */
function checkLease(
  what: string,
  leaseMs: number,
  explicit: boolean,
  preflight: PreflightContext | undefined,
  checkpointing: CheckpointSettings | undefined = preflight?.checkpointing,
): void {
  const intervalMs = checkpointing?.intervalMs;
  const timeoutMs = checkpointing?.timeoutMs ?? 0;
  const needed = (intervalMs ?? 0) + timeoutMs;
  if (leaseMs < needed) {
    throw new TributaryError(
      'TXN_LEASE_INVALID',
      `${what}: transaction lease ${leaseMs} ms cannot outlast a checkpoint interval (${intervalMs ?? 0} ms) plus checkpoint timeout (${timeoutMs} ms); raise exactlyOnce({ leaseMs }) (at most ${MAX_TXN_LEASE_MS}) or shorten checkpoint.intervalMs / checkpoint.timeoutMs`,
      { details: { leaseMs, intervalMs, timeoutMs } },
    );
  }
  if (preflight === undefined) return;
  if (explicit && leaseMs < 2 * needed) {
    preflight.warn(
      `transaction lease ${leaseMs} ms leaves little time for recovery after a crash (checkpoint interval + timeout = ${needed} ms); leave leaseMs out for a lease of twice that`,
    );
  }
  if (intervalMs === undefined && !preflight.bounded) {
    preflight.warn(
      'exactly-once Pravega sink in an unbounded job without periodic checkpoints (checkpoint.intervalMs): events are committed only by checkpoints taken on request (handle.triggerCheckpoint() or handle.stop())',
    );
  }
}
