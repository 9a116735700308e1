/** Domain types shared by every Controller implementation (gRPC and embedded). */

export interface StreamId {
  readonly scope: string;
  readonly stream: string;
}

export type ScalingPolicy =
  | { readonly type: 'fixed'; readonly minSegments: number }
  | {
      readonly type: 'byEventRate';
      /** events per second per segment */
      readonly targetRate: number;
      readonly scaleFactor: number;
      readonly minSegments: number;
    }
  | {
      readonly type: 'byDataRate';
      /** KiB per second per segment */
      readonly targetRate: number;
      readonly scaleFactor: number;
      readonly minSegments: number;
    };

export type RetentionPolicy =
  | { readonly type: 'time'; readonly minMillis: bigint; readonly maxMillis?: bigint }
  | { readonly type: 'size'; readonly minBytes: bigint; readonly maxBytes?: bigint };

export interface StreamConfig {
  readonly scalingPolicy: ScalingPolicy;
  readonly retentionPolicy?: RetentionPolicy;
  readonly tags?: readonly string[];
}

/** A segment of a stream: `(epoch << 32) | number`. */
export interface SegmentId {
  readonly scope: string;
  readonly stream: string;
  readonly segmentId: bigint;
}

/** A segment with the routing-key range [minKey, maxKey) it owns. */
export interface SegmentWithRange {
  readonly segment: SegmentId;
  readonly minKey: number;
  readonly maxKey: number;
}

export interface Successor {
  readonly segment: SegmentWithRange;
  /** ids of every segment that must be read to the end before this one */
  readonly predecessors: readonly bigint[];
}

/** A position in one stream: segment id → offset. An empty map means "unbounded". */
export type StreamCutPositions = ReadonlyMap<bigint, bigint>;

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export type AccessOperation = 'none' | 'any' | 'read' | 'write' | 'readWrite';

export type ScaleStatus = 'inProgress' | 'success' | 'invalidInput' | 'internalError';

export type TxnState = 'unknown' | 'open' | 'committing' | 'committed' | 'aborting' | 'aborted';

export type PingStatus =
  | 'ok'
  | 'leaseTooLarge'
  | 'maxExecutionTimeExceeded'
  | 'disconnected'
  | 'committed'
  | 'aborted'
  | 'unknown';

export interface CreatedTxn {
  /** canonical lower-case UUID text */
  readonly txnId: string;
  /** one transaction segment per active segment, ids generalised to the transaction's epoch */
  readonly segments: readonly SegmentWithRange[];
  readonly delegationToken: string;
}

export interface ScaleResult {
  readonly epoch: number;
  readonly segments: readonly SegmentWithRange[];
}

export function streamKey(stream: StreamId): string {
  return `${stream.scope}/${stream.stream}`;
}
