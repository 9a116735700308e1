import { WireCommandType } from '../constants.js';
import type { CommandCodec } from './codec.js';
import { optionalLong } from './codec.js';

/**
 * Segment reads. The server returns at most ~2 MiB per read, possibly ending mid-event; feed the
 * `data` of successive replies to an `EventParser`. A read at the tail is a long poll.
 */

export interface ReadSegment {
  readonly type: 'readSegment';
  readonly segment: string;
  readonly offset: bigint;
  readonly suggestedLength: number;
  readonly delegationToken: string;
  /** trailing-optional on decode: −1 when absent */
  readonly requestId: bigint;
}

export interface SegmentRead {
  readonly type: 'segmentRead';
  readonly segment: string;
  /** equals the requested offset */
  readonly offset: bigint;
  readonly atTail: boolean;
  readonly endOfSegment: boolean;
  /** raw segment bytes; when decoded, a view of the received frame (not a copy) */
  readonly data: Buffer;
  /** trailing-optional on decode: −1 when absent */
  readonly requestId: bigint;
}

/**
 * ReadSegment (9): String segment, long offset, int suggestedLength, String delegationToken,
 * long requestId?  (the requestId is last)
 */
export const readSegmentCodec: CommandCodec<ReadSegment> = {
  code: WireCommandType.READ_SEGMENT,
  type: 'readSegment',
  name: 'ReadSegment',
  kind: 'request',
  write(w, c) {
    w.utf(c.segment, 'segment');
    w.int64(c.offset, 'offset');
    w.int32(c.suggestedLength, 'suggestedLength');
    w.utf(c.delegationToken, 'delegationToken');
    w.int64(c.requestId, 'requestId');
  },
  read: (r) => ({
    type: 'readSegment',
    segment: r.utf('segment'),
    offset: r.int64('offset'),
    suggestedLength: r.int32('suggestedLength'),
    delegationToken: r.utf('delegationToken'),
    requestId: optionalLong(r, 'requestId', -1n),
  }),
};

/**
 * SegmentRead (10): String segment, long offset, bool atTail, bool endOfSegment, int dataLength,
 * data, long requestId?  (the requestId is last)
 */
export const segmentReadCodec: CommandCodec<SegmentRead> = {
  code: WireCommandType.SEGMENT_READ,
  type: 'segmentRead',
  name: 'SegmentRead',
  kind: 'reply',
  write(w, c) {
    w.utf(c.segment, 'segment');
    w.int64(c.offset, 'offset');
    w.bool(c.atTail, 'atTail');
    w.bool(c.endOfSegment, 'endOfSegment');
    w.bytes(c.data, 'data');
    w.int64(c.requestId, 'requestId');
  },
  read: (r) => ({
    type: 'segmentRead',
    segment: r.utf('segment'),
    offset: r.int64('offset'),
    atTail: r.bool('atTail'),
    endOfSegment: r.bool('endOfSegment'),
    data: r.bytes('data'),
    requestId: optionalLong(r, 'requestId', -1n),
  }),
};
