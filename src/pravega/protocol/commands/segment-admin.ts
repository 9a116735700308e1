import { WireCommandType } from '../constants.js';
import type { WireReader } from '../wire-reader.js';
import type { CommandCodec } from './codec.js';
import { optionalLong } from './codec.js';

/** Creating, sealing, truncating, deleting, re-scaling and merging segments. */

export interface CreateSegment {
  readonly type: 'createSegment';
  readonly requestId: bigint;
  readonly segment: string;
  /** KB/s or events/s, per `scaleType` */
  readonly targetRate: number;
  /** see `ScaleType`: 0 none, 1 throughput, 2 event rate */
  readonly scaleType: number;
  readonly delegationToken: string;
  /** 0 = the server default; trailing-optional on decode: 0 when absent */
  readonly rolloverSizeBytes: bigint;
}

/** The reply to CreateSegment, CreateTableSegment and CreateTransientSegment. */
export interface SegmentCreated {
  readonly type: 'segmentCreated';
  readonly requestId: bigint;
  /** for CreateTransientSegment: the generated transient segment's name */
  readonly segment: string;
}

export interface CreateTransientSegment {
  readonly type: 'createTransientSegment';
  readonly requestId: bigint;
  readonly writerId: string;
  readonly parentSegment: string;
  readonly delegationToken: string;
}

export interface SealSegment {
  readonly type: 'sealSegment';
  readonly requestId: bigint;
  readonly segment: string;
  readonly delegationToken: string;
}

export interface SegmentSealed {
  readonly type: 'segmentSealed';
  readonly requestId: bigint;
  readonly segment: string;
}

export interface TruncateSegment {
  readonly type: 'truncateSegment';
  readonly requestId: bigint;
  readonly segment: string;
  readonly truncationOffset: bigint;
  readonly delegationToken: string;
}

export interface SegmentTruncated {
  readonly type: 'segmentTruncated';
  readonly requestId: bigint;
  readonly segment: string;
}

export interface DeleteSegment {
  readonly type: 'deleteSegment';
  readonly requestId: bigint;
  readonly segment: string;
  readonly delegationToken: string;
}

export interface SegmentDeleted {
  readonly type: 'segmentDeleted';
  readonly requestId: bigint;
  readonly segment: string;
}

export interface UpdateSegmentPolicy {
  readonly type: 'updateSegmentPolicy';
  readonly requestId: bigint;
  readonly segment: string;
  readonly targetRate: number;
  readonly scaleType: number;
  readonly delegationToken: string;
}

export interface SegmentPolicyUpdated {
  readonly type: 'segmentPolicyUpdated';
  readonly requestId: bigint;
  readonly segment: string;
}

/** One attribute condition of a MergeSegments. */
export interface ConditionalAttributeUpdate {
  readonly attributeId: string;
  /** see `AttributeUpdateType`: 1 Replace, 4 ReplaceIfEquals */
  readonly updateType: number;
  readonly newValue: bigint;
  readonly oldValue: bigint;
}

/** Reply: SegmentsMerged, or SegmentAttributeUpdated(false) when an attribute condition failed. */
export interface MergeSegments {
  readonly type: 'mergeSegments';
  readonly requestId: bigint;
  readonly target: string;
  readonly source: string;
  readonly delegationToken: string;
  /** trailing-optional on decode: `[]` when absent */
  readonly attributeUpdates: readonly ConditionalAttributeUpdate[];
}

export interface SegmentsMerged {
  readonly type: 'segmentsMerged';
  readonly requestId: bigint;
  readonly target: string;
  readonly source: string;
  /** trailing-optional on decode: −1 when absent */
  readonly newTargetWriteOffset: bigint;
}

/** Merges (and seals) every source into the target; a transaction commit. */
export interface MergeSegmentsBatch {
  readonly type: 'mergeSegmentsBatch';
  readonly requestId: bigint;
  readonly target: string;
  readonly sources: readonly string[];
  readonly delegationToken: string;
}

export interface MergedSource {
  readonly source: string;
  readonly newTargetWriteOffset: bigint;
}

export interface SegmentsBatchMerged {
  readonly type: 'segmentsBatchMerged';
  readonly requestId: bigint;
  readonly target: string;
  /** one per source, in request order */
  readonly merged: readonly MergedSource[];
}

/** The acknowledgements that carry only `long requestId, String segment`. */
export function segmentReplyCodec<
  C extends { readonly type: string; readonly requestId: bigint; readonly segment: string },
>(code: number, type: C['type'], name: string): CommandCodec<C> {
  return {
    code,
    type,
    name,
    kind: 'reply',
    write(w, c) {
      w.int64(c.requestId, 'requestId');
      w.utf(c.segment, 'segment');
    },
    read: (r) => ({ type, requestId: r.int64('requestId'), segment: r.utf('segment') }) as C,
  };
}

/** The requests that carry only `long requestId, String segment, String delegationToken`. */
export function segmentRequestCodec<
  C extends {
    readonly type: string;
    readonly requestId: bigint;
    readonly segment: string;
    readonly delegationToken: string;
  },
>(code: number, type: C['type'], name: string): CommandCodec<C> {
  return {
    code,
    type,
    name,
    kind: 'request',
    write(w, c) {
      w.int64(c.requestId, 'requestId');
      w.utf(c.segment, 'segment');
      w.utf(c.delegationToken, 'delegationToken');
    },
    read: (r) =>
      ({
        type,
        requestId: r.int64('requestId'),
        segment: r.utf('segment'),
        delegationToken: r.utf('delegationToken'),
      }) as C,
  };
}

/**
 * CreateSegment (20): long requestId, String segment, int targetRate, byte scaleType,
 * String delegationToken, long rolloverSizeBytes?  (targetRate before scaleType on the wire)
 */
export const createSegmentCodec: CommandCodec<CreateSegment> = {
  code: WireCommandType.CREATE_SEGMENT,
  type: 'createSegment',
  name: 'CreateSegment',
  kind: 'request',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.int32(c.targetRate, 'targetRate');
    w.byte(c.scaleType, 'scaleType');
    w.utf(c.delegationToken, 'delegationToken');
    w.int64(c.rolloverSizeBytes, 'rolloverSizeBytes');
  },
  read: (r) => ({
    type: 'createSegment',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    targetRate: r.int32('targetRate'),
    scaleType: r.byte('scaleType'),
    delegationToken: r.utf('delegationToken'),
    rolloverSizeBytes: optionalLong(r, 'rolloverSizeBytes', 0n),
  }),
};

/** SegmentCreated (21): long requestId, String segment */
export const segmentCreatedCodec = segmentReplyCodec<SegmentCreated>(
  WireCommandType.SEGMENT_CREATED,
  'segmentCreated',
  'SegmentCreated',
);

/**
 * CreateTransientSegment (40): long requestId, UUID writerId, String parentSegment,
 * String delegationToken
 */
export const createTransientSegmentCodec: CommandCodec<CreateTransientSegment> = {
  code: WireCommandType.CREATE_TRANSIENT_SEGMENT,
  type: 'createTransientSegment',
  name: 'CreateTransientSegment',
  kind: 'request',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.uuid(c.writerId, 'writerId');
    w.utf(c.parentSegment, 'parentSegment');
    w.utf(c.delegationToken, 'delegationToken');
  },
  read: (r) => ({
    type: 'createTransientSegment',
    requestId: r.int64('requestId'),
    writerId: r.uuid('writerId'),
    parentSegment: r.utf('parentSegment'),
    delegationToken: r.utf('delegationToken'),
  }),
};

/** SealSegment (28): long requestId, String segment, String delegationToken */
export const sealSegmentCodec = segmentRequestCodec<SealSegment>(
  WireCommandType.SEAL_SEGMENT,
  'sealSegment',
  'SealSegment',
);

/** SegmentSealed (29): long requestId, String segment */
export const segmentSealedCodec = segmentReplyCodec<SegmentSealed>(
  WireCommandType.SEGMENT_SEALED,
  'segmentSealed',
  'SegmentSealed',
);

/** TruncateSegment (38): long requestId, String segment, long truncationOffset, String delegationToken */
export const truncateSegmentCodec: CommandCodec<TruncateSegment> = {
  code: WireCommandType.TRUNCATE_SEGMENT,
  type: 'truncateSegment',
  name: 'TruncateSegment',
  kind: 'request',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.int64(c.truncationOffset, 'truncationOffset');
    w.utf(c.delegationToken, 'delegationToken');
  },
  read: (r) => ({
    type: 'truncateSegment',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    truncationOffset: r.int64('truncationOffset'),
    delegationToken: r.utf('delegationToken'),
  }),
};

/** SegmentTruncated (39): long requestId, String segment */
export const segmentTruncatedCodec = segmentReplyCodec<SegmentTruncated>(
  WireCommandType.SEGMENT_TRUNCATED,
  'segmentTruncated',
  'SegmentTruncated',
);

/** DeleteSegment (30): long requestId, String segment, String delegationToken */
export const deleteSegmentCodec = segmentRequestCodec<DeleteSegment>(
  WireCommandType.DELETE_SEGMENT,
  'deleteSegment',
  'DeleteSegment',
);

/** SegmentDeleted (31): long requestId, String segment */
export const segmentDeletedCodec = segmentReplyCodec<SegmentDeleted>(
  WireCommandType.SEGMENT_DELETED,
  'segmentDeleted',
  'SegmentDeleted',
);

/**
 * UpdateSegmentPolicy (32): long requestId, String segment, int targetRate, byte scaleType,
 * String delegationToken
 */
export const updateSegmentPolicyCodec: CommandCodec<UpdateSegmentPolicy> = {
  code: WireCommandType.UPDATE_SEGMENT_POLICY,
  type: 'updateSegmentPolicy',
  name: 'UpdateSegmentPolicy',
  kind: 'request',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.int32(c.targetRate, 'targetRate');
    w.byte(c.scaleType, 'scaleType');
    w.utf(c.delegationToken, 'delegationToken');
  },
  read: (r) => ({
    type: 'updateSegmentPolicy',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    targetRate: r.int32('targetRate'),
    scaleType: r.byte('scaleType'),
    delegationToken: r.utf('delegationToken'),
  }),
};

/** SegmentPolicyUpdated (33): long requestId, String segment */
export const segmentPolicyUpdatedCodec = segmentReplyCodec<SegmentPolicyUpdated>(
  WireCommandType.SEGMENT_POLICY_UPDATED,
  'segmentPolicyUpdated',
  'SegmentPolicyUpdated',
);

/** ConditionalAttributeUpdate: UUID attributeId, byte type, long newValue, long oldValue (33 bytes) */
const ATTRIBUTE_UPDATE_SIZE = 33;

function readAttributeUpdates(r: WireReader): ConditionalAttributeUpdate[] {
  if (r.remaining <= 0) return [];
  const n = r.listCount('attributeUpdates.count', ATTRIBUTE_UPDATE_SIZE);
  const updates: ConditionalAttributeUpdate[] = [];
  for (let i = 0; i < n; i++) {
    updates.push({
      attributeId: r.uuid('attributeUpdates.attributeId'),
      updateType: r.byte('attributeUpdates.type'),
      newValue: r.int64('attributeUpdates.newValue'),
      oldValue: r.int64('attributeUpdates.oldValue'),
    });
  }
  return updates;
}

/**
 * MergeSegments (58): long requestId, String target, String source, String delegationToken,
 * int n?, n × ConditionalAttributeUpdate
 */
export const mergeSegmentsCodec: CommandCodec<MergeSegments> = {
  code: WireCommandType.MERGE_SEGMENTS,
  type: 'mergeSegments',
  name: 'MergeSegments',
  kind: 'request',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.target, 'target');
    w.utf(c.source, 'source');
    w.utf(c.delegationToken, 'delegationToken');
    w.int32(c.attributeUpdates.length, 'attributeUpdates.count');
    for (const u of c.attributeUpdates) {
      w.uuid(u.attributeId, 'attributeUpdates.attributeId');
      w.byte(u.updateType, 'attributeUpdates.type');
      w.int64(u.newValue, 'attributeUpdates.newValue');
      w.int64(u.oldValue, 'attributeUpdates.oldValue');
    }
  },
  read: (r) => ({
    type: 'mergeSegments',
    requestId: r.int64('requestId'),
    target: r.utf('target'),
    source: r.utf('source'),
    delegationToken: r.utf('delegationToken'),
    attributeUpdates: readAttributeUpdates(r),
  }),
};

/** SegmentsMerged (59): long requestId, String target, String source, long newTargetWriteOffset? */
export const segmentsMergedCodec: CommandCodec<SegmentsMerged> = {
  code: WireCommandType.SEGMENTS_MERGED,
  type: 'segmentsMerged',
  name: 'SegmentsMerged',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.target, 'target');
    w.utf(c.source, 'source');
    w.int64(c.newTargetWriteOffset, 'newTargetWriteOffset');
  },
  read: (r) => ({
    type: 'segmentsMerged',
    requestId: r.int64('requestId'),
    target: r.utf('target'),
    source: r.utf('source'),
    // Java reads the long whenever any byte is left (so 1..7 stray bytes are an error)
    newTargetWriteOffset: r.remaining > 0 ? r.int64('newTargetWriteOffset') : -1n,
  }),
};

/**
 * MergeSegmentsBatch (90): long requestId, String target, int n, n × String source,
 * String delegationToken
 */
export const mergeSegmentsBatchCodec: CommandCodec<MergeSegmentsBatch> = {
  code: WireCommandType.MERGE_SEGMENTS_BATCH,
  type: 'mergeSegmentsBatch',
  name: 'MergeSegmentsBatch',
  kind: 'request',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.target, 'target');
    w.int32(c.sources.length, 'sources.count');
    for (const s of c.sources) w.utf(s, 'sources');
    w.utf(c.delegationToken, 'delegationToken');
  },
  read(r) {
    const requestId = r.int64('requestId');
    const target = r.utf('target');
    const n = r.listCount('sources.count', 2);
    const sources: string[] = [];
    for (let i = 0; i < n; i++) sources.push(r.utf('sources'));
    const delegationToken = r.utf('delegationToken');
    return { type: 'mergeSegmentsBatch', requestId, target, sources, delegationToken };
  },
};

/**
 * SegmentsBatchMerged (91): long requestId, String target, int n,
 * n × (String source, long newTargetWriteOffset)
 */
export const segmentsBatchMergedCodec: CommandCodec<SegmentsBatchMerged> = {
  code: WireCommandType.SEGMENTS_BATCH_MERGED,
  type: 'segmentsBatchMerged',
  name: 'SegmentsBatchMerged',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.target, 'target');
    w.int32(c.merged.length, 'merged.count');
    for (const m of c.merged) {
      w.utf(m.source, 'merged.source');
      w.int64(m.newTargetWriteOffset, 'merged.newTargetWriteOffset');
    }
  },
  read(r) {
    const requestId = r.int64('requestId');
    const target = r.utf('target');
    const n = r.listCount('merged.count', 10);
    const merged: MergedSource[] = [];
    for (let i = 0; i < n; i++) {
      merged.push({
        source: r.utf('merged.source'),
        newTargetWriteOffset: r.int64('merged.newTargetWriteOffset'),
      });
    }
    return { type: 'segmentsBatchMerged', requestId, target, merged };
  },
};
