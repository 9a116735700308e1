import type {
  AccessOperation,
  CreatedTxn,
  Endpoint,
  PingStatus,
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

/**
 * The Pravega controller in domain terms. Implemented over gRPC for a real cluster and in-process
 * by the embedded store; the client code above is written once against this interface.
 *
 * Errors are TributaryErrors: SCOPE_NOT_FOUND, STREAM_NOT_FOUND, STREAM_SEALED, ... .
 */
export interface Controller {
  /** @returns true if created, false if it already existed */
  createScope(scope: string): Promise<boolean>;
  /** @returns true if deleted, false if it did not exist. SCOPE_NOT_EMPTY if it holds streams. */
  deleteScope(scope: string): Promise<boolean>;
  scopeExists(scope: string): Promise<boolean>;
  listScopes(): AsyncIterable<string>;

  /** @returns true if created, false if it already existed. SCOPE_NOT_FOUND if the scope is missing. */
  createStream(stream: StreamId, config: StreamConfig): Promise<boolean>;
  updateStream(stream: StreamId, config: StreamConfig): Promise<void>;
  getStreamConfig(stream: StreamId): Promise<StreamConfig>;
  streamExists(stream: StreamId): Promise<boolean>;
  /** Streams of a scope, paging handled inside; internal streams (`_…`) are left out. */
  listStreams(scope: string): AsyncIterable<StreamId>;
  sealStream(stream: StreamId): Promise<void>;
  /** The stream must be sealed first (STREAM_NOT_SEALED otherwise). @returns false if it did not exist */
  deleteStream(stream: StreamId): Promise<boolean>;
  truncateStream(stream: StreamId, cut: StreamCutPositions): Promise<void>;

  /** The segments that are open for writing now, with their key ranges. */
  getCurrentSegments(stream: StreamId): Promise<SegmentWithRange[]>;
  /** The head of the stream: the first segments still readable and their start offsets. */
  getHeadSegments(stream: StreamId): Promise<Map<bigint, bigint>>;
  getEpochSegments(stream: StreamId, epoch: number): Promise<SegmentWithRange[]>;
  getSuccessors(segment: SegmentId): Promise<Successor[]>;
  /** Every segment between two cuts (empty maps = head / tail). */
  getSegmentsBetween(
    stream: StreamId,
    from: StreamCutPositions,
    to: StreamCutPositions,
  ): Promise<SegmentId[]>;

  /** Starts a manual scale; poll {@link checkScale} with the returned epoch. */
  scale(
    stream: StreamId,
    sealedSegments: readonly bigint[],
    newRanges: readonly (readonly [number, number])[],
  ): Promise<ScaleResult>;
  checkScale(stream: StreamId, epoch: number): Promise<ScaleStatus>;

  /** The segment store that hosts a segment. */
  getEndpoint(segment: SegmentId): Promise<Endpoint>;
  getDelegationToken(stream: StreamId, access: AccessOperation): Promise<string>;

  createTransaction(stream: StreamId, leaseMillis: number): Promise<CreatedTxn>;
  /** Starts the commit (asynchronous on the server); poll {@link checkTransactionState}. */
  commitTransaction(stream: StreamId, txnId: string, writerId?: string): Promise<void>;
  abortTransaction(stream: StreamId, txnId: string): Promise<void>;
  pingTransaction(stream: StreamId, txnId: string, leaseMillis: number): Promise<PingStatus>;
  checkTransactionState(stream: StreamId, txnId: string): Promise<TxnState>;

  close(): Promise<void>;
}
