import { WireCommandType } from '../constants.js';
import type { CommandCodec } from './codec.js';
import { optionalInt, optionalLong, optionalUtf } from './codec.js';

/**
 * Error replies (Java `Reply.isFailure()`). Trailing-optional fields are read only when present;
 * when absent they decode as: `serverStackTrace` → `''`, `offset`/`eventNumber` → `-1n`,
 * `errorCode` → `-1` (unspecified). Encoders always send them.
 */

/** The segment store does not own the segment: ask the controller again. */
export interface WrongHost {
  readonly type: 'wrongHost';
  readonly requestId: bigint;
  readonly segment: string;
  /** the server sends `''` */
  readonly correctHost: string;
  readonly serverStackTrace: string;
}

/** The segment is sealed. Answering an append, `offset` holds the failing event number. */
export interface SegmentIsSealed {
  readonly type: 'segmentIsSealed';
  readonly requestId: bigint;
  readonly segment: string;
  readonly serverStackTrace: string;
  readonly offset: bigint;
}

export interface SegmentAlreadyExists {
  readonly type: 'segmentAlreadyExists';
  readonly requestId: bigint;
  readonly segment: string;
  readonly serverStackTrace: string;
}

export interface NoSuchSegment {
  readonly type: 'noSuchSegment';
  readonly requestId: bigint;
  readonly segment: string;
  readonly serverStackTrace: string;
  /** the offset of the request, or −1 */
  readonly offset: bigint;
}

/** Event numbers went backwards; the server closes the connection after sending it. */
export interface InvalidEventNumber {
  readonly type: 'invalidEventNumber';
  readonly writerId: string;
  readonly requestId: bigint;
  readonly serverStackTrace: string;
  readonly eventNumber: bigint;
}

export interface SegmentIsTruncated {
  readonly type: 'segmentIsTruncated';
  readonly requestId: bigint;
  readonly segment: string;
  /** the segment's current start offset */
  readonly startOffset: bigint;
  readonly serverStackTrace: string;
  /** the offset that was requested */
  readonly offset: bigint;
}

export interface OperationUnsupported {
  readonly type: 'operationUnsupported';
  readonly requestId: bigint;
  readonly operationName: string;
  readonly serverStackTrace: string;
}

export interface AuthTokenCheckFailed {
  readonly type: 'authTokenCheckFailed';
  readonly requestId: bigint;
  readonly serverStackTrace: string;
  /** see `AuthErrorCode`: −1 unspecified, 0 token check failed, 1 token expired */
  readonly errorCode: number;
}

export interface ErrorMessage {
  readonly type: 'errorMessage';
  readonly requestId: bigint;
  readonly segment: string;
  readonly message: string;
  /** see `ErrorMessageCode`: −1 unspecified, 0 illegal argument */
  readonly errorCode: number;
}

export interface TableSegmentNotEmpty {
  readonly type: 'tableSegmentNotEmpty';
  readonly requestId: bigint;
  readonly segment: string;
  readonly serverStackTrace: string;
}

export interface TableKeyDoesNotExist {
  readonly type: 'tableKeyDoesNotExist';
  readonly requestId: bigint;
  readonly segment: string;
  readonly serverStackTrace: string;
}

export interface TableKeyBadVersion {
  readonly type: 'tableKeyBadVersion';
  readonly requestId: bigint;
  readonly segment: string;
  readonly serverStackTrace: string;
}

/** WrongHost (50): long requestId, String segment, String correctHost, String serverStackTrace? */
export const wrongHostCodec: CommandCodec<WrongHost> = {
  code: WireCommandType.WRONG_HOST,
  type: 'wrongHost',
  name: 'WrongHost',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.utf(c.correctHost, 'correctHost');
    w.utf(c.serverStackTrace, 'serverStackTrace');
  },
  read: (r) => ({
    type: 'wrongHost',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    correctHost: r.utf('correctHost'),
    serverStackTrace: optionalUtf(r, 'serverStackTrace'),
  }),
};

/** SegmentIsSealed (51): long requestId, String segment, String serverStackTrace?, long offset? */
export const segmentIsSealedCodec: CommandCodec<SegmentIsSealed> = {
  code: WireCommandType.SEGMENT_IS_SEALED,
  type: 'segmentIsSealed',
  name: 'SegmentIsSealed',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.utf(c.serverStackTrace, 'serverStackTrace');
    w.int64(c.offset, 'offset');
  },
  read: (r) => ({
    type: 'segmentIsSealed',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    serverStackTrace: optionalUtf(r, 'serverStackTrace'),
    offset: optionalLong(r, 'offset', -1n),
  }),
};

/** SegmentAlreadyExists (52): long requestId, String segment, String serverStackTrace? */
export const segmentAlreadyExistsCodec: CommandCodec<SegmentAlreadyExists> = {
  code: WireCommandType.SEGMENT_ALREADY_EXISTS,
  type: 'segmentAlreadyExists',
  name: 'SegmentAlreadyExists',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.utf(c.serverStackTrace, 'serverStackTrace');
  },
  read: (r) => ({
    type: 'segmentAlreadyExists',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    serverStackTrace: optionalUtf(r, 'serverStackTrace'),
  }),
};

/** NoSuchSegment (53): long requestId, String segment, String serverStackTrace?, long offset? */
export const noSuchSegmentCodec: CommandCodec<NoSuchSegment> = {
  code: WireCommandType.NO_SUCH_SEGMENT,
  type: 'noSuchSegment',
  name: 'NoSuchSegment',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.utf(c.serverStackTrace, 'serverStackTrace');
    w.int64(c.offset, 'offset');
  },
  read: (r) => ({
    type: 'noSuchSegment',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    serverStackTrace: optionalUtf(r, 'serverStackTrace'),
    offset: optionalLong(r, 'offset', -1n),
  }),
};

/** InvalidEventNumber (55): UUID writerId, long requestId, String serverStackTrace?, long eventNumber? */
export const invalidEventNumberCodec: CommandCodec<InvalidEventNumber> = {
  code: WireCommandType.INVALID_EVENT_NUMBER,
  type: 'invalidEventNumber',
  name: 'InvalidEventNumber',
  kind: 'reply',
  write(w, c) {
    w.uuid(c.writerId, 'writerId');
    w.int64(c.requestId, 'requestId');
    w.utf(c.serverStackTrace, 'serverStackTrace');
    w.int64(c.eventNumber, 'eventNumber');
  },
  read: (r) => ({
    type: 'invalidEventNumber',
    writerId: r.uuid('writerId'),
    requestId: r.int64('requestId'),
    serverStackTrace: optionalUtf(r, 'serverStackTrace'),
    eventNumber: optionalLong(r, 'eventNumber', -1n),
  }),
};

/**
 * SegmentIsTruncated (56): long requestId, String segment, long startOffset,
 * String serverStackTrace?, long offset?
 */
export const segmentIsTruncatedCodec: CommandCodec<SegmentIsTruncated> = {
  code: WireCommandType.SEGMENT_IS_TRUNCATED,
  type: 'segmentIsTruncated',
  name: 'SegmentIsTruncated',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.int64(c.startOffset, 'startOffset');
    w.utf(c.serverStackTrace, 'serverStackTrace');
    w.int64(c.offset, 'offset');
  },
  read: (r) => ({
    type: 'segmentIsTruncated',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    startOffset: r.int64('startOffset'),
    serverStackTrace: optionalUtf(r, 'serverStackTrace'),
    offset: optionalLong(r, 'offset', -1n),
  }),
};

/** OperationUnsupported (57): long requestId, String operationName, String serverStackTrace? */
export const operationUnsupportedCodec: CommandCodec<OperationUnsupported> = {
  code: WireCommandType.OPERATION_UNSUPPORTED,
  type: 'operationUnsupported',
  name: 'OperationUnsupported',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.operationName, 'operationName');
    w.utf(c.serverStackTrace, 'serverStackTrace');
  },
  read: (r) => ({
    type: 'operationUnsupported',
    requestId: r.int64('requestId'),
    operationName: r.utf('operationName'),
    serverStackTrace: optionalUtf(r, 'serverStackTrace'),
  }),
};

/** AuthTokenCheckFailed (60): long requestId, String serverStackTrace?, int errorCode? */
export const authTokenCheckFailedCodec: CommandCodec<AuthTokenCheckFailed> = {
  code: WireCommandType.AUTH_TOKEN_CHECK_FAILED,
  type: 'authTokenCheckFailed',
  name: 'AuthTokenCheckFailed',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.serverStackTrace, 'serverStackTrace');
    w.int32(c.errorCode, 'errorCode');
  },
  read: (r) => ({
    type: 'authTokenCheckFailed',
    requestId: r.int64('requestId'),
    serverStackTrace: optionalUtf(r, 'serverStackTrace'),
    errorCode: optionalInt(r, 'errorCode', -1),
  }),
};

/** ErrorMessage (61): long requestId, String segment, String message, int errorCode */
export const errorMessageCodec: CommandCodec<ErrorMessage> = {
  code: WireCommandType.ERROR_MESSAGE,
  type: 'errorMessage',
  name: 'ErrorMessage',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.utf(c.message, 'message');
    w.int32(c.errorCode, 'errorCode');
  },
  read: (r) => ({
    type: 'errorMessage',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    message: r.utf('message'),
    errorCode: r.int32('errorCode'),
  }),
};

type TableFailure = TableSegmentNotEmpty | TableKeyDoesNotExist | TableKeyBadVersion;

/** The three table failures share one layout: long requestId, String segment, String serverStackTrace. */
function tableFailureCodec<C extends TableFailure>(
  code: number,
  type: C['type'],
  name: string,
): CommandCodec<C> {
  return {
    code,
    type,
    name,
    kind: 'reply',
    write(w, c) {
      w.int64(c.requestId, 'requestId');
      w.utf(c.segment, 'segment');
      w.utf(c.serverStackTrace, 'serverStackTrace');
    },
    read: (r) =>
      ({
        type,
        requestId: r.int64('requestId'),
        segment: r.utf('segment'),
        serverStackTrace: r.utf('serverStackTrace'),
      }) as C,
  };
}

/** TableSegmentNotEmpty (80): long requestId, String segment, String serverStackTrace */
export const tableSegmentNotEmptyCodec = tableFailureCodec<TableSegmentNotEmpty>(
  WireCommandType.TABLE_SEGMENT_NOT_EMPTY,
  'tableSegmentNotEmpty',
  'TableSegmentNotEmpty',
);

/** TableKeyDoesNotExist (81): long requestId, String segment, String serverStackTrace */
export const tableKeyDoesNotExistCodec = tableFailureCodec<TableKeyDoesNotExist>(
  WireCommandType.TABLE_KEY_DOES_NOT_EXIST,
  'tableKeyDoesNotExist',
  'TableKeyDoesNotExist',
);

/** TableKeyBadVersion (82): long requestId, String segment, String serverStackTrace */
export const tableKeyBadVersionCodec = tableFailureCodec<TableKeyBadVersion>(
  WireCommandType.TABLE_KEY_BAD_VERSION,
  'tableKeyBadVersion',
  'TableKeyBadVersion',
);
