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
  /** transaction lease (exactly-once) */
  readonly leaseMs: number;
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
      leaseMs: 120_000,
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

  /** @param options.leaseMs transaction lease (10 s – 600 s, default 120 s) */
  exactlyOnce(options: { leaseMs?: number } = {}): PravegaSink<T> {
    const leaseMs = options.leaseMs ?? this.settings.leaseMs;
    if (!Number.isInteger(leaseMs) || leaseMs < MIN_TXN_LEASE_MS || leaseMs > MAX_TXN_LEASE_MS) {
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

  createWriter(ctx: SinkWriterContext): SinkWriter<T> {
    const connect = (): Promise<SharedClient> =>
      acquireClient(this.settings.pravega ?? ctx.connectors.pravega);
    return this.settings.guarantee === 'exactly-once'
      ? new TransactionalSinkWriter(ctx, this.settings, connect)
      : new EventWriterSinkWriter(this.settings, connect);
  }
}
