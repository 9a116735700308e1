import { WireCommandType } from '../constants.js';
import type { CommandCodec } from './codec.js';

/** Segment attributes: 64-bit values keyed by UUID; unset is `NULL_ATTRIBUTE_VALUE` (Long.MIN_VALUE). */

export interface GetSegmentAttribute {
  readonly type: 'getSegmentAttribute';
  readonly requestId: bigint;
  /** Java: segmentName */
  readonly segment: string;
  readonly attributeId: string;
  readonly delegationToken: string;
}

export interface SegmentAttribute {
  readonly type: 'segmentAttribute';
  readonly requestId: bigint;
  /** `NULL_ATTRIBUTE_VALUE` when unset */
  readonly value: bigint;
}

/** Compare-and-set; `expectedValue` = `NULL_ATTRIBUTE_VALUE` means "must be unset". */
export interface UpdateSegmentAttribute {
  readonly type: 'updateSegmentAttribute';
  readonly requestId: bigint;
  /** Java: segmentName */
  readonly segment: string;
  readonly attributeId: string;
  readonly newValue: bigint;
  readonly expectedValue: bigint;
  readonly delegationToken: string;
}

export interface SegmentAttributeUpdated {
  readonly type: 'segmentAttributeUpdated';
  readonly requestId: bigint;
  /** false when the compare failed */
  readonly success: boolean;
}

/**
 * GetSegmentAttribute (34): long requestId, String segmentName, UUID attributeId,
 * String delegationToken
 */
export const getSegmentAttributeCodec: CommandCodec<GetSegmentAttribute> = {
  code: WireCommandType.GET_SEGMENT_ATTRIBUTE,
  type: 'getSegmentAttribute',
  name: 'GetSegmentAttribute',
  kind: 'request',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.uuid(c.attributeId, 'attributeId');
    w.utf(c.delegationToken, 'delegationToken');
  },
  read: (r) => ({
    type: 'getSegmentAttribute',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    attributeId: r.uuid('attributeId'),
    delegationToken: r.utf('delegationToken'),
  }),
};

/** SegmentAttribute (35): long requestId, long value */
export const segmentAttributeCodec: CommandCodec<SegmentAttribute> = {
  code: WireCommandType.SEGMENT_ATTRIBUTE,
  type: 'segmentAttribute',
  name: 'SegmentAttribute',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.int64(c.value, 'value');
  },
  read: (r) => ({
    type: 'segmentAttribute',
    requestId: r.int64('requestId'),
    value: r.int64('value'),
  }),
};

/**
 * UpdateSegmentAttribute (36): long requestId, String segmentName, UUID attributeId,
 * long newValue, long expectedValue, String delegationToken
 */
export const updateSegmentAttributeCodec: CommandCodec<UpdateSegmentAttribute> = {
  code: WireCommandType.UPDATE_SEGMENT_ATTRIBUTE,
  type: 'updateSegmentAttribute',
  name: 'UpdateSegmentAttribute',
  kind: 'request',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.uuid(c.attributeId, 'attributeId');
    w.int64(c.newValue, 'newValue');
    w.int64(c.expectedValue, 'expectedValue');
    w.utf(c.delegationToken, 'delegationToken');
  },
  read: (r) => ({
    type: 'updateSegmentAttribute',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    attributeId: r.uuid('attributeId'),
    newValue: r.int64('newValue'),
    expectedValue: r.int64('expectedValue'),
    delegationToken: r.utf('delegationToken'),
  }),
};

/** SegmentAttributeUpdated (37): long requestId, bool success */
export const segmentAttributeUpdatedCodec: CommandCodec<SegmentAttributeUpdated> = {
  code: WireCommandType.SEGMENT_ATTRIBUTE_UPDATED,
  type: 'segmentAttributeUpdated',
  name: 'SegmentAttributeUpdated',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.bool(c.success, 'success');
  },
  read: (r) => ({
    type: 'segmentAttributeUpdated',
    requestId: r.int64('requestId'),
    success: r.bool('success'),
  }),
};
