import { TributaryError } from '../../errors.js';
import { jsonSerializer, type Serializer } from '../../pravega/client/serializer.js';
import type { DataStream, KeyedStream } from '../../runtime/data-stream.js';
import type { Key } from '../../runtime/key-groups.js';
import type { StreamEnvironment } from '../../runtime/stream-environment.js';
import type { Transformation } from '../../runtime/transformation.js';
import { validateName } from '../../pravega/protocol/index.js';
import type { ExchangeEdge } from './edge.js';
import { ExchangeSink } from './exchange-sink.js';
import { ExchangeSource } from './exchange-source.js';
import { ReceiverWatermarks, SenderWatermarks } from './watermarks.js';

export interface ExchangeOptions<T> {
  /** Scope of the internal stream `<scope>/_tributary-x-<job>-<edgeUid>` and its reader group. */
  readonly scope: string;
  /** Stable id of the edge within the job (names its stream, reader group and operators). */
  readonly uid: string;
  /** Fixed number of segments S of the internal stream (default 4; ≤ the job's key groups). */
  readonly segments?: number;
  /** How records travel (default JSON: plain data only). */
  readonly serializer?: Serializer<T>;
  /** Parallelism of the receiving side (default: the job's). */
  readonly parallelism?: number;
  /**
   * Event time across the edge (default true): records keep their timestamps and the senders'
   * watermarks travel with them (see watermarks.ts), so windows after the edge fire as after a
   * local `keyBy` — one checkpoint later. false: no timestamps, no watermarks after the edge.
   */
  readonly eventTime?: boolean;
  /** Lease of the sending side's transactions (default 120 000 ms). */
  readonly transactionLeaseMs?: number;
  /** Pravega connection (default: the job option `pravega`). */
  readonly pravega?: unknown;
}

/** The exchange edges a job's environment has, in the order they were added. */
export interface ExchangeEdgeInfo {
  readonly uid: string;
  /** uid of the operator after the receiving source whose output is keyed */
  readonly unwrapUid: string;
  readonly segments: number;
  readonly eventTime: boolean;
  /** the sending side's sources are bounded: the edge ends (sealed after the senders' last commit) */
  readonly bounded: boolean;
}

const edgesByEnv = new WeakMap<StreamEnvironment, ExchangeEdgeInfo[]>();

/** The exchange edges `keyByExchange` added to `env`. */
export function exchangeEdgesOf(env: StreamEnvironment): readonly ExchangeEdgeInfo[] {
  return edgesByEnv.get(env) ?? [];
}

function upstreamBounded(t: Transformation, seen = new Set<number>()): boolean {
  if (seen.has(t.id)) return true;
  seen.add(t.id);
  if (t.source !== undefined) return t.source.boundedness === 'bounded';
  return t.inputs.every((i) => upstreamBounded(i, seen));
}

/**
 * `stream.keyBy(key)` through Pravega (docs/scale-out.md §6): the sending subtasks write every
 * record into a transaction on the edge's internal stream (S fixed segments; key group g →
 * segment ⌊g·S/K⌋), pre-committed on barrier N and committed when checkpoint N completes; the
 * receiving side reads the stream through the edge's reader group and keys it locally, so the
 * keyed operators after it work as after a plain `keyBy`, with their state per key group.
 *
 *     const counts = keyByExchange(env, orders, (o) => o.customer, { scope: 'shop', uid: 'by-customer' })
 *       .window(TumblingEventTimeWindows.of(60_000))
 *       .aggregate(count);
 *
 * What the receiving side reads is what completed checkpoints sent: the edge adds one checkpoint
 * interval of latency. The job needs periodic checkpoints.
 */
export function keyByExchange<T, K extends Key>(
  env: StreamEnvironment,
  stream: DataStream<T>,
  keySelector: (value: T) => K,
  options: ExchangeOptions<T>,
): KeyedStream<T, K> {
  validateName('scope', options.scope);
  if (typeof options.uid !== 'string' || options.uid.trim() === '') {
    throw new TributaryError('CONFIG_INVALID', 'keyByExchange: uid must be a non-empty string');
  }
  const keyGroups = env.options.maxParallelism;
  const segments = options.segments ?? Math.min(4, keyGroups);
  if (!Number.isInteger(segments) || segments < 1 || segments > keyGroups) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `keyByExchange ${options.uid}: segments must be an integer in 1..${keyGroups} (the job's maxParallelism), got ${segments}`,
    );
  }
  const lease = options.transactionLeaseMs ?? 120_000;
  if (!Number.isInteger(lease) || lease < 10_000) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `keyByExchange ${options.uid}: transactionLeaseMs must be an integer ≥ 10000, got ${lease}`,
    );
  }
  const edge: ExchangeEdge<T> = {
    scope: options.scope,
    edgeUid: options.uid,
    segments,
    keyGroups,
    keySelector,
    serializer: options.serializer ?? jsonSerializer<T>(),
    pravega: options.pravega,
    transactionLeaseMs: lease,
    eventTime: options.eventTime ?? true,
  };
  const known = edgesByEnv.get(env) ?? [];
  if (known.some((e) => e.uid === options.uid)) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `keyByExchange: uid ${JSON.stringify(options.uid)} is used by another exchange edge of this job`,
    );
  }
  edgesByEnv.set(env, [
    ...known,
    {
      uid: options.uid,
      unwrapUid: `${options.uid}-unwrap`,
      segments,
      eventTime: edge.eventTime,
      bounded: upstreamBounded(stream.transformation),
    },
  ]);
  const sending = edge.eventTime
    ? stream.transform<T>('exchange-watermarks', () => new SenderWatermarks(), {
        name: `${options.uid}-watermarks`,
        uid: `${options.uid}-watermarks`,
      })
    : stream;
  sending.sinkTo(new ExchangeSink(edge), {
    name: `${options.uid}-send`,
    uid: `${options.uid}-send`,
  });
  const source = new ExchangeSource(
    edge,
    upstreamBounded(stream.transformation) ? 'bounded' : 'unbounded',
  );
  return env
    .fromSource(source, {
      name: `${options.uid}-receive`,
      uid: `${options.uid}-receive`,
      ...(options.parallelism !== undefined ? { parallelism: options.parallelism } : {}),
    })
    .transform<T>('exchange-receive', () => new ReceiverWatermarks<T>(segments), {
      name: `${options.uid}-unwrap`,
      uid: `${options.uid}-unwrap`,
      ...(options.parallelism !== undefined ? { parallelism: options.parallelism } : {}),
    })
    .keyBy(keySelector);
}
