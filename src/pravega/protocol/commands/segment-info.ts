import { WireCommandType } from '../constants.js';
import type { CommandCodec } from './codec.js';
import { optionalLong } from './codec.js';

export interface GetStreamSegmentInfo {
  readonly type: 'getStreamSegmentInfo';
  readonly requestId: bigint;
  /** Java: segmentName */
  readonly segment: string;
  readonly delegationToken: string;
}

export interface StreamSegmentInfo {
  readonly type: 'streamSegmentInfo';
  readonly requestId: bigint;
  /** Java: segmentName */
  readonly segment: string;
  readonly exists: boolean;
  readonly isSealed: boolean;
  readonly isDeleted: boolean;
  /** epoch milliseconds */
  readonly lastModified: bigint;
  /** the segment's length */
  readonly writeOffset: bigint;
  /** the truncation point; trailing-optional on decode: 0 when absent */
  readonly startOffset: bigint;
}

/** GetStreamSegmentInfo (11): long requestId, String segmentName, String delegationToken */
export const getStreamSegmentInfoCodec: CommandCodec<GetStreamSegmentInfo> = {
  code: WireCommandType.GET_STREAM_SEGMENT_INFO,
  type: 'getStreamSegmentInfo',
  name: 'GetStreamSegmentInfo',
  kind: 'request',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.utf(c.delegationToken, 'delegationToken');
  },
  read: (r) => ({
    type: 'getStreamSegmentInfo',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    delegationToken: r.utf('delegationToken'),
  }),
};

/**
 * StreamSegmentInfo (12): long requestId, String segmentName, bool exists, bool isSealed,
 * bool isDeleted, long lastModified, long writeOffset, long startOffset?
 */
export const streamSegmentInfoCodec: CommandCodec<StreamSegmentInfo> = {
  code: WireCommandType.STREAM_SEGMENT_INFO,
  type: 'streamSegmentInfo',
  name: 'StreamSegmentInfo',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.bool(c.exists, 'exists');
    w.bool(c.isSealed, 'isSealed');
    w.bool(c.isDeleted, 'isDeleted');
    w.int64(c.lastModified, 'lastModified');
    w.int64(c.writeOffset, 'writeOffset');
    w.int64(c.startOffset, 'startOffset');
  },
  read: (r) => ({
    type: 'streamSegmentInfo',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    exists: r.bool('exists'),
    isSealed: r.bool('isSealed'),
    isDeleted: r.bool('isDeleted'),
    lastModified: r.int64('lastModified'),
    writeOffset: r.int64('writeOffset'),
    startOffset: optionalLong(r, 'startOffset', 0n),
  }),
};
