import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { TributaryError } from '../../errors.js';
import { uuidFromLongs, uuidToLongs } from '../protocol/uuid.js';
import type { Controller } from './controller.js';
import { controllerServiceClient } from './grpc/service.js';
import type {
  AccessOperationName,
  CreateTxnResponseMsg,
  Int64,
  NodeUriMsg,
  ScaleResponseMsg,
  ScaleStatusResponseMsg,
  ScopesResponseMsg,
  SegmentRangeMsg,
  SegmentRangesMsg,
  SegmentsAtTimeMsg,
  StatusMsg,
  StreamConfigMsg,
  StreamCutRangeResponseMsg,
  StreamInfoMsg,
  StreamsInScopeResponseMsg,
  SuccessorResponseMsg,
  TxnIdMsg,
  TxnStateMsg,
} from './grpc/messages.js';
import {
  DEFAULT_CONTROLLER_TIMEOUT_MS,
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  withRetry,
} from './grpc/retry.js';
import type {
  AccessOperation,
  CreatedTxn,
  Endpoint,
  PingStatus,
  RetentionPolicy,
  ScaleResult,
  ScaleStatus,
  SegmentId,
  SegmentWithRange,
  StreamConfig,
  StreamCutPositions,
  StreamId,
  Successor,
  TxnState,
} from './types.js';
import { parseControllerUri } from './uri.js';

const LONG_MIN = '-9223372036854775808';

export interface GrpcControllerOptions {
  /** tcp://host:port or tls://host:port */
  readonly uri: string;
  readonly credentials?: { readonly username: string; readonly password: string };
  /** PEM of the CA that signed the server's certificate (tls:// only); system CAs otherwise */
  readonly trustedCa?: string | Buffer;
  /** check that the server certificate names the host dialled (default true) */
  readonly validateHostname?: boolean;
  /**
   * deadline of each call across all its retries (default 30 s); `retry.overallTimeoutMs`, when
   * given, wins
   */
  readonly callTimeoutMs?: number;
  readonly retry?: RetryPolicy;
}

/** The Pravega controller over gRPC (@grpc/grpc-js). */
export class GrpcController implements Controller {
  private readonly client: grpc.Client;
  private readonly metadata: grpc.Metadata;
  private readonly retry: RetryPolicy;
  private readonly target: string;
  private readonly uri: string;

  constructor(options: GrpcControllerOptions) {
    const address = parseControllerUri(options.uri);
    const ClientCtor = controllerServiceClient();
    let channelCredentials: grpc.ChannelCredentials;
    const channelOptions: grpc.ChannelOptions = {
      // the server answers keep-alives more often than every 5 minutes with GOAWAY
      'grpc.keepalive_time_ms': 360_000,
      'grpc.keepalive_timeout_ms': 20_000,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    };
    if (address.tls) {
      const ca =
        options.trustedCa === undefined
          ? null
          : typeof options.trustedCa === 'string' && !options.trustedCa.includes('-----BEGIN')
            ? readFileSync(options.trustedCa)
            : Buffer.from(options.trustedCa);
      const verify =
        options.validateHostname === false ? { checkServerIdentity: () => undefined } : {};
      channelCredentials = grpc.credentials.createSsl(ca, null, null, verify);
    } else {
      channelCredentials = grpc.credentials.createInsecure();
    }
    this.client = new ClientCtor(
      `${address.host}:${address.port}`,
      channelCredentials,
      channelOptions,
    );
    this.metadata = new grpc.Metadata();
    if (options.credentials) {
      const basic = Buffer.from(
        `${options.credentials.username}:${options.credentials.password}`,
      ).toString('base64');
      this.metadata.set('authorization', `Basic ${basic}`);
    }
    const retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.retry = {
      ...retry,
      overallTimeoutMs:
        options.retry?.overallTimeoutMs ?? options.callTimeoutMs ?? DEFAULT_CONTROLLER_TIMEOUT_MS,
    };
    this.uri = options.uri;
    this.target = `controller ${options.uri}`;
  }

  private call<Res>(method: string, request: unknown): Promise<Res> {
    return withRetry(
      method,
      this.retry,
      (deadline) => this.callOnce<Res>(method, request, deadline),
      this.target,
    );
  }

  private callOnce<Res>(method: string, request: unknown, deadline: number): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const fn = (this.client as unknown as Record<string, grpc.requestCallback<Res> | undefined>)[
        method
      ] as unknown as
        | ((
            req: unknown,
            md: grpc.Metadata,
            opts: grpc.CallOptions,
            cb: grpc.requestCallback<Res>,
          ) => void)
        | undefined;
      if (typeof fn !== 'function') {
        reject(new TributaryError('INTERNAL', `controller RPC ${method} is not defined`));
        return;
      }
      fn.call(this.client, request, this.metadata, { deadline }, (err, value) => {
        if (err) reject(err);
        else if (value === undefined)
          reject(new TributaryError('PROTOCOL_ERROR', `${method}: empty reply`));
        else resolve(value);
      });
    });
  }

  /**
   * Resolves once the channel is connected (TCP/TLS and the HTTP/2 handshake done), or rejects
   * after `timeoutMs` with a retryable CONTROLLER_UNAVAILABLE naming the URI.
   */
  waitForReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(Date.now() + timeoutMs, (err) => {
        if (!err) {
          resolve();
          return;
        }
        // the channel keeps the reason of its last failed connection (refused, TLS, …) to itself;
        // a call that does not wait for the channel fails at once and reports it
        void this.lastConnectionError().then((why) =>
          reject(
            new TributaryError(
              'CONTROLLER_UNAVAILABLE',
              `${this.target} not reachable within ${timeoutMs} ms (${why ?? err.message}); is the controller running at that address?`,
              { retryable: true, cause: err, details: { uri: this.uri, timeoutMs } },
            ),
          ),
        );
      });
    });
  }

  private async lastConnectionError(): Promise<string | undefined> {
    try {
      await this.callOnce('checkScopeExists', { scope: 'probe' }, Date.now() + 1_000);
      return undefined;
    } catch (err) {
      const details = (err as { details?: unknown }).details;
      if (typeof details !== 'string') return undefined;
      const text = details.replace(/\.?\s*Resolution note:\s*$/, '');
      return text === '' ? undefined : text;
    }
  }

  // ---- scopes ----

  async createScope(scope: string): Promise<boolean> {
    const res = await this.call<StatusMsg<string>>('createScope', { scope });
    switch (res.status) {
      case 'SUCCESS':
        return true;
      case 'SCOPE_EXISTS':
        return false;
      case 'INVALID_SCOPE_NAME':
        throw new TributaryError('INVALID_NAME', `invalid scope name ${JSON.stringify(scope)}`);
      default:
        throw failure('createScope', res.status, scope);
    }
  }

  async deleteScope(scope: string): Promise<boolean> {
    const res = await this.call<StatusMsg<string>>('deleteScope', { scope });
    switch (res.status) {
      case 'SUCCESS':
        return true;
      case 'SCOPE_NOT_FOUND':
        return false;
      case 'SCOPE_NOT_EMPTY':
        throw new TributaryError('SCOPE_NOT_EMPTY', `scope ${scope} still holds streams`);
      default:
        throw failure('deleteScope', res.status, scope);
    }
  }

  async scopeExists(scope: string): Promise<boolean> {
    const res = await this.call<{ exists: boolean }>('checkScopeExists', { scope });
    return res.exists;
  }

  async *listScopes(): AsyncIterable<string> {
    let token = '';
    for (;;) {
      const res = await this.call<ScopesResponseMsg>('listScopes', {
        continuationToken: { token },
      });
      if (res.scopes.length === 0) return;
      yield* res.scopes;
      token = res.continuationToken?.token ?? '';
    }
  }

  // ---- streams ----

  async createStream(stream: StreamId, config: StreamConfig): Promise<boolean> {
    const res = await this.call<StatusMsg<string>>(
      'createStream',
      toStreamConfigMsg(stream, config),
    );
    switch (res.status) {
      case 'SUCCESS':
        return true;
      case 'STREAM_EXISTS':
        return false;
      case 'SCOPE_NOT_FOUND':
        throw scopeNotFound(stream.scope);
      case 'INVALID_STREAM_NAME':
        throw new TributaryError(
          'INVALID_NAME',
          `invalid stream name ${JSON.stringify(stream.stream)}`,
        );
      default:
        throw failure('createStream', res.status, name(stream));
    }
  }

  async updateStream(stream: StreamId, config: StreamConfig): Promise<void> {
    const res = await this.call<StatusMsg<string>>(
      'updateStream',
      toStreamConfigMsg(stream, config),
    );
    checkUpdateStatus('updateStream', res.status, stream);
  }

  async getStreamConfig(stream: StreamId): Promise<StreamConfig> {
    const res = await this.callForStream<StreamConfigMsg>(
      'getStreamConfiguration',
      streamInfo(stream),
      stream,
    );
    return fromStreamConfigMsg(res);
  }

  async streamExists(stream: StreamId): Promise<boolean> {
    const res = await this.call<{ exists: boolean }>('checkStreamExists', streamInfo(stream));
    return res.exists;
  }

  async *listStreams(scope: string): AsyncIterable<StreamId> {
    let token = '';
    for (;;) {
      const res = await this.call<StreamsInScopeResponseMsg>('listStreamsInScope', {
        scope: { scope },
        continuationToken: { token },
      });
      if (res.status === 'SCOPE_NOT_FOUND') throw scopeNotFound(scope);
      if (res.status !== 'SUCCESS') throw failure('listStreamsInScope', res.status, scope);
      if (res.streams.length === 0) return;
      for (const s of res.streams) {
        if (!s.stream.startsWith('_')) yield { scope: s.scope, stream: s.stream };
      }
      token = res.continuationToken?.token ?? '';
    }
  }

  async sealStream(stream: StreamId): Promise<void> {
    const res = await this.call<StatusMsg<string>>('sealStream', streamInfo(stream));
    // sealing a sealed stream is a success
    if (res.status === 'STREAM_SEALED') return;
    checkUpdateStatus('sealStream', res.status, stream);
  }

  async deleteStream(stream: StreamId): Promise<boolean> {
    const res = await this.call<StatusMsg<string>>('deleteStream', streamInfo(stream));
    switch (res.status) {
      case 'SUCCESS':
        return true;
      case 'STREAM_NOT_FOUND':
        return false;
      case 'STREAM_NOT_SEALED':
        throw new TributaryError(
          'STREAM_NOT_SEALED',
          `stream ${name(stream)} must be sealed before it is deleted`,
        );
      default:
        throw failure('deleteStream', res.status, name(stream));
    }
  }

  async truncateStream(stream: StreamId, cut: StreamCutPositions): Promise<void> {
    const res = await this.call<StatusMsg<string>>('truncateStream', {
      streamInfo: streamInfo(stream),
      cut: cutToMsg(cut),
    });
    checkUpdateStatus('truncateStream', res.status, stream);
  }

  // ---- segments ----

  async getCurrentSegments(stream: StreamId): Promise<SegmentWithRange[]> {
    const res = await this.callForStream<SegmentRangesMsg>(
      'getCurrentSegments',
      streamInfo(stream, 'NONE'),
      stream,
    );
    return res.segmentRanges.map(fromSegmentRange);
  }

  async getHeadSegments(stream: StreamId): Promise<Map<bigint, bigint>> {
    const res = await this.callForStream<SegmentsAtTimeMsg>(
      'getSegments',
      { streamInfo: streamInfo(stream, 'NONE'), timestamp: '0' },
      stream,
    );
    return new Map(res.segments.map((s) => [BigInt(s.segmentId.segmentId), BigInt(s.offset)]));
  }

  async getEpochSegments(stream: StreamId, epoch: number): Promise<SegmentWithRange[]> {
    const res = await this.callForStream<SegmentRangesMsg>(
      'getEpochSegments',
      { streamInfo: streamInfo(stream, 'NONE'), epoch },
      stream,
    );
    return res.segmentRanges.map(fromSegmentRange);
  }

  async getSuccessors(segment: SegmentId): Promise<Successor[]> {
    const res = await this.callForStream<SuccessorResponseMsg>(
      'getSegmentsImmediatelyFollowing',
      segmentIdMsg(segment),
      segment,
    );
    return res.segments.map((e) => ({
      segment: fromSegmentRange(e.segment),
      predecessors: e.value.map((v) => BigInt(v)),
    }));
  }

  async getSegmentsBetween(
    stream: StreamId,
    from: StreamCutPositions,
    to: StreamCutPositions,
  ): Promise<SegmentId[]> {
    const res = await this.callForStream<StreamCutRangeResponseMsg>(
      'getSegmentsBetween',
      { streamInfo: streamInfo(stream), from: cutToMsg(from), to: cutToMsg(to) },
      stream,
    );
    return res.segments.map((s) => ({
      scope: s.streamInfo.scope,
      stream: s.streamInfo.stream,
      segmentId: BigInt(s.segmentId),
    }));
  }

  async scale(
    stream: StreamId,
    sealedSegments: readonly bigint[],
    newRanges: readonly (readonly [number, number])[],
  ): Promise<ScaleResult> {
    const res = await this.call<ScaleResponseMsg>('scale', {
      streamInfo: streamInfo(stream),
      sealedSegments: sealedSegments.map(String),
      newKeyRanges: newRanges.map(([start, end]) => ({ start, end })),
      scaleTimestamp: String(Date.now()),
    });
    if (res.status !== 'STARTED') {
      throw new TributaryError(
        'SCALE_FAILED',
        `scale of ${name(stream)} refused (${res.status}): the sealed segments must be current and the new ranges must cover exactly theirs`,
      );
    }
    return { epoch: res.epoch, segments: res.segments.map(fromSegmentRange) };
  }

  async checkScale(stream: StreamId, epoch: number): Promise<ScaleStatus> {
    const res = await this.call<ScaleStatusResponseMsg>('checkScale', {
      streamInfo: streamInfo(stream),
      epoch,
    });
    const map = {
      IN_PROGRESS: 'inProgress',
      SUCCESS: 'success',
      INVALID_INPUT: 'invalidInput',
      INTERNAL_ERROR: 'internalError',
    } as const;
    return map[res.status];
  }

  async getEndpoint(segment: SegmentId): Promise<Endpoint> {
    const res = await this.call<NodeUriMsg>('getURI', segmentIdMsg(segment));
    return { host: res.endpoint, port: res.port };
  }

  async getDelegationToken(stream: StreamId, access: AccessOperation): Promise<string> {
    const res = await this.call<{ delegationToken: string }>(
      'getDelegationToken',
      streamInfo(stream, ACCESS[access]),
    );
    return res.delegationToken;
  }

  // ---- transactions ----

  async createTransaction(stream: StreamId, leaseMillis: number): Promise<CreatedTxn> {
    const res = await this.callForStream<CreateTxnResponseMsg>(
      'createTransaction',
      { streamInfo: streamInfo(stream), lease: String(leaseMillis), scaleGracePeriod: '0' },
      stream,
    );
    return {
      txnId: fromTxnId(res.txnId),
      segments: res.activeSegments.map(fromSegmentRange),
      delegationToken: res.delegationToken,
    };
  }

  async commitTransaction(stream: StreamId, txnId: string, writerId = ''): Promise<void> {
    const res = await this.call<StatusMsg<string>>('commitTransaction', {
      ...txnRequest(stream, txnId),
      writerId,
      timestamp: LONG_MIN,
    });
    checkTxnStatus('commit', res.status, stream, txnId);
  }

  async abortTransaction(stream: StreamId, txnId: string): Promise<void> {
    const res = await this.call<StatusMsg<string>>('abortTransaction', txnRequest(stream, txnId));
    checkTxnStatus('abort', res.status, stream, txnId);
  }

  async pingTransaction(stream: StreamId, txnId: string, leaseMillis: number): Promise<PingStatus> {
    const res = await this.call<StatusMsg<string>>('pingTransaction', {
      streamInfo: streamInfo(stream),
      txnId: toTxnId(txnId),
      lease: String(leaseMillis),
    });
    const map: Record<string, PingStatus> = {
      OK: 'ok',
      LEASE_TOO_LARGE: 'leaseTooLarge',
      MAX_EXECUTION_TIME_EXCEEDED: 'maxExecutionTimeExceeded',
      DISCONNECTED: 'disconnected',
      COMMITTED: 'committed',
      ABORTED: 'aborted',
    };
    return map[res.status] ?? 'unknown';
  }

  async checkTransactionState(stream: StreamId, txnId: string): Promise<TxnState> {
    const res = await this.call<TxnStateMsg>('checkTransactionState', txnRequest(stream, txnId));
    const map = {
      UNKNOWN: 'unknown',
      OPEN: 'open',
      COMMITTING: 'committing',
      COMMITTED: 'committed',
      ABORTING: 'aborting',
      ABORTED: 'aborted',
    } as const;
    return map[res.state];
  }

  async close(): Promise<void> {
    this.client.close();
  }

  /** A call about one stream: NOT_FOUND from the server means the stream (or scope) is missing. */
  private async callForStream<Res>(
    method: string,
    request: unknown,
    stream: StreamId,
  ): Promise<Res> {
    try {
      return await this.call<Res>(method, request);
    } catch (err) {
      const grpcCode = TributaryError.is(err) ? err.details['grpcCode'] : undefined;
      if (grpcCode === grpc.status.NOT_FOUND) {
        throw new TributaryError('STREAM_NOT_FOUND', `stream ${name(stream)} does not exist`, {
          cause: err,
        });
      }
      throw err;
    }
  }
}

const ACCESS: Record<AccessOperation, AccessOperationName> = {
  none: 'NONE',
  any: 'ANY',
  read: 'READ',
  write: 'WRITE',
  readWrite: 'READ_WRITE',
};

function name(stream: StreamId): string {
  return `${stream.scope}/${stream.stream}`;
}

function streamInfo(stream: StreamId, access: AccessOperationName = 'UNSPECIFIED'): StreamInfoMsg {
  return { scope: stream.scope, stream: stream.stream, accessOperation: access };
}

function segmentIdMsg(segment: SegmentId): { streamInfo: StreamInfoMsg; segmentId: Int64 } {
  return { streamInfo: streamInfo(segment), segmentId: segment.segmentId.toString() };
}

function fromSegmentRange(r: SegmentRangeMsg): SegmentWithRange {
  return {
    segment: {
      scope: r.segmentId.streamInfo.scope,
      stream: r.segmentId.streamInfo.stream,
      segmentId: BigInt(r.segmentId.segmentId),
    },
    minKey: r.minKey,
    maxKey: r.maxKey,
  };
}

function cutToMsg(cut: StreamCutPositions): Record<string, Int64> {
  const out: Record<string, Int64> = {};
  for (const [segment, offset] of cut) out[segment.toString()] = offset.toString();
  return out;
}

function toTxnId(txnId: string): TxnIdMsg {
  const [hi, lo] = uuidToLongs(txnId);
  return { highBits: hi.toString(), lowBits: lo.toString() };
}

function fromTxnId(id: TxnIdMsg): string {
  return uuidFromLongs(BigInt(id.highBits), BigInt(id.lowBits));
}

function txnRequest(stream: StreamId, txnId: string) {
  return {
    streamInfo: streamInfo(stream),
    txnId: toTxnId(txnId),
    writerId: '',
    timestamp: LONG_MIN,
  };
}

function toStreamConfigMsg(stream: StreamId, config: StreamConfig): StreamConfigMsg {
  const p = config.scalingPolicy;
  const scalingPolicy =
    p.type === 'fixed'
      ? {
          scaleType: 'FIXED_NUM_SEGMENTS' as const,
          targetRate: 0,
          scaleFactor: 0,
          minNumSegments: p.minSegments,
        }
      : {
          scaleType:
            p.type === 'byEventRate'
              ? ('BY_RATE_IN_EVENTS_PER_SEC' as const)
              : ('BY_RATE_IN_KBYTES_PER_SEC' as const),
          targetRate: p.targetRate,
          scaleFactor: p.scaleFactor,
          minNumSegments: p.minSegments,
        };
  const r = config.retentionPolicy;
  const retentionPolicy =
    r === undefined
      ? null
      : r.type === 'time'
        ? {
            retentionType: 'TIME' as const,
            retentionParam: r.minMillis.toString(),
            retentionMax: (r.maxMillis ?? 2n ** 63n - 1n).toString(),
          }
        : {
            retentionType: 'SIZE' as const,
            retentionParam: r.minBytes.toString(),
            retentionMax: (r.maxBytes ?? 2n ** 63n - 1n).toString(),
          };
  return {
    streamInfo: streamInfo(stream),
    scalingPolicy,
    retentionPolicy,
    tags: { tag: [...(config.tags ?? [])] },
    timestampAggregationTimeout: '0',
    rolloverSizeBytes: '0',
  };
}

function fromStreamConfigMsg(msg: StreamConfigMsg): StreamConfig {
  const p = msg.scalingPolicy;
  const scalingPolicy =
    p.scaleType === 'FIXED_NUM_SEGMENTS'
      ? { type: 'fixed' as const, minSegments: p.minNumSegments }
      : {
          type:
            p.scaleType === 'BY_RATE_IN_EVENTS_PER_SEC'
              ? ('byEventRate' as const)
              : ('byDataRate' as const),
          targetRate: p.targetRate,
          scaleFactor: p.scaleFactor,
          minSegments: p.minNumSegments,
        };
  const r = msg.retentionPolicy;
  const max = 2n ** 63n - 1n;
  let retentionPolicy: RetentionPolicy | undefined;
  if (r && r.retentionType !== 'UNKNOWN') {
    const min = BigInt(r.retentionParam);
    const maxValue = BigInt(r.retentionMax);
    const bounded = maxValue !== max && maxValue !== 0n;
    retentionPolicy =
      r.retentionType === 'TIME'
        ? { type: 'time', minMillis: min, ...(bounded ? { maxMillis: maxValue } : {}) }
        : { type: 'size', minBytes: min, ...(bounded ? { maxBytes: maxValue } : {}) };
  }
  return {
    scalingPolicy,
    ...(retentionPolicy ? { retentionPolicy } : {}),
    ...(msg.tags && msg.tags.tag.length > 0 ? { tags: msg.tags.tag } : {}),
  };
}

function scopeNotFound(scope: string): TributaryError {
  return new TributaryError('SCOPE_NOT_FOUND', `scope ${scope} does not exist`);
}

function failure(method: string, status: string, subject: string): TributaryError {
  return new TributaryError(
    'CONTROLLER_ERROR',
    `controller ${method} failed for ${subject}: ${status}`,
    {
      retryable: true,
    },
  );
}

function checkUpdateStatus(method: string, status: string, stream: StreamId): void {
  switch (status) {
    case 'SUCCESS':
      return;
    case 'STREAM_NOT_FOUND':
      throw new TributaryError('STREAM_NOT_FOUND', `stream ${name(stream)} does not exist`);
    case 'SCOPE_NOT_FOUND':
      throw scopeNotFound(stream.scope);
    case 'STREAM_SEALED':
      throw new TributaryError('STREAM_SEALED', `stream ${name(stream)} is sealed`);
    default:
      throw failure(method, status, name(stream));
  }
}

function checkTxnStatus(op: string, status: string, stream: StreamId, txnId: string): void {
  switch (status) {
    case 'SUCCESS':
      return;
    case 'TRANSACTION_NOT_FOUND':
      throw new TributaryError(
        'TXN_NOT_FOUND',
        `transaction ${txnId} on ${name(stream)} is not known to the controller`,
      );
    case 'STREAM_NOT_FOUND':
      throw new TributaryError('STREAM_NOT_FOUND', `stream ${name(stream)} does not exist`);
    default:
      throw new TributaryError(
        'TXN_FAILED',
        `${op} of transaction ${txnId} on ${name(stream)} failed: ${status}`,
        {
          details: { txnId, status },
        },
      );
  }
}
