/**
 * Shapes of the controller's protobuf messages as @grpc/proto-loader hands them over with
 * `longs: String, enums: String, defaults: true` — int64 fields are decimal strings, enums are
 * their names. Kept inside this folder: nothing outside the gRPC controller sees them.
 */

export type Int64 = string;

export type AccessOperationName = 'UNSPECIFIED' | 'NONE' | 'ANY' | 'READ' | 'WRITE' | 'READ_WRITE';

export interface StreamInfoMsg {
  scope: string;
  stream: string;
  accessOperation?: AccessOperationName;
}

export interface ScopeInfoMsg {
  scope: string;
}

export interface ContinuationTokenMsg {
  token: string;
}

export interface ScalingPolicyMsg {
  scaleType: 'FIXED_NUM_SEGMENTS' | 'BY_RATE_IN_KBYTES_PER_SEC' | 'BY_RATE_IN_EVENTS_PER_SEC';
  targetRate: number;
  scaleFactor: number;
  minNumSegments: number;
}

export interface RetentionPolicyMsg {
  retentionType: 'UNKNOWN' | 'TIME' | 'SIZE';
  retentionParam: Int64;
  retentionMax: Int64;
}

export interface StreamConfigMsg {
  streamInfo: StreamInfoMsg;
  scalingPolicy: ScalingPolicyMsg;
  retentionPolicy?: RetentionPolicyMsg | null;
  tags?: { tag: string[] } | null;
  timestampAggregationTimeout?: Int64;
  rolloverSizeBytes?: Int64;
}

export interface SegmentIdMsg {
  streamInfo: StreamInfoMsg;
  segmentId: Int64;
}

export interface SegmentRangeMsg {
  segmentId: SegmentIdMsg;
  minKey: number;
  maxKey: number;
}

export interface SegmentRangesMsg {
  segmentRanges: SegmentRangeMsg[];
  delegationToken: string;
}

export interface SegmentsAtTimeMsg {
  segments: { segmentId: SegmentIdMsg; offset: Int64 }[];
  delegationToken: string;
}

export interface SuccessorResponseMsg {
  segments: { segment: SegmentRangeMsg; value: Int64[] }[];
  delegationToken: string;
}

export interface StreamCutMsg {
  streamInfo: StreamInfoMsg;
  cut: Record<string, Int64>;
}

export interface StreamCutRangeMsg {
  streamInfo: StreamInfoMsg;
  from: Record<string, Int64>;
  to: Record<string, Int64>;
}

export interface StreamCutRangeResponseMsg {
  segments: SegmentIdMsg[];
  delegationToken: string;
}

export interface ScaleRequestMsg {
  streamInfo: StreamInfoMsg;
  sealedSegments: Int64[];
  newKeyRanges: { start: number; end: number }[];
  scaleTimestamp: Int64;
}

export interface ScaleResponseMsg {
  status: 'STARTED' | 'FAILURE' | 'PRECONDITION_FAILED';
  segments: SegmentRangeMsg[];
  epoch: number;
}

export interface ScaleStatusResponseMsg {
  status: 'IN_PROGRESS' | 'SUCCESS' | 'INVALID_INPUT' | 'INTERNAL_ERROR';
}

export interface NodeUriMsg {
  endpoint: string;
  port: number;
}

export interface TxnIdMsg {
  highBits: Int64;
  lowBits: Int64;
}

export interface CreateTxnResponseMsg {
  txnId: TxnIdMsg;
  activeSegments: SegmentRangeMsg[];
  delegationToken: string;
}

export interface TxnRequestMsg {
  streamInfo: StreamInfoMsg;
  txnId: TxnIdMsg;
  writerId: string;
  timestamp: Int64;
}

export interface StatusMsg<S extends string> {
  status: S;
}

export interface TxnStateMsg {
  state: 'UNKNOWN' | 'OPEN' | 'COMMITTING' | 'COMMITTED' | 'ABORTING' | 'ABORTED';
}

export interface StreamsInScopeResponseMsg {
  streams: StreamInfoMsg[];
  continuationToken: ContinuationTokenMsg | null;
  status: 'SUCCESS' | 'FAILURE' | 'SCOPE_NOT_FOUND';
}

export interface ScopesResponseMsg {
  scopes: string[];
  continuationToken: ContinuationTokenMsg | null;
}
