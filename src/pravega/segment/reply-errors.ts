import { TributaryError } from '../../errors.js';
import { AuthErrorCode, ErrorMessageCode, type ErrorReply } from '../protocol/index.js';

/** The typed error for an error reply of the segment store. */
export function errorFromReply(reply: ErrorReply, what: string): TributaryError {
  switch (reply.type) {
    case 'wrongHost':
      return new TributaryError(
        'WRONG_HOST',
        `${what}: segment ${reply.segment} is not served by this segment store`,
        {
          retryable: true,
        },
      );
    case 'segmentIsSealed':
      return new TributaryError('SEGMENT_SEALED', `${what}: segment ${reply.segment} is sealed`, {
        details: { segment: reply.segment, offset: reply.offset },
      });
    case 'noSuchSegment':
      return new TributaryError(
        'NO_SUCH_SEGMENT',
        `${what}: segment ${reply.segment} does not exist`,
        {
          details: { segment: reply.segment },
        },
      );
    case 'segmentAlreadyExists':
      return new TributaryError(
        'SEGMENT_EXISTS',
        `${what}: segment ${reply.segment} already exists`,
      );
    case 'segmentIsTruncated':
      return new TributaryError(
        'SEGMENT_TRUNCATED',
        `${what}: segment ${reply.segment} is truncated at ${reply.startOffset}, offset ${reply.offset} is gone`,
        {
          details: { segment: reply.segment, startOffset: reply.startOffset, offset: reply.offset },
        },
      );
    case 'invalidEventNumber':
      return new TributaryError(
        'INVALID_EVENT_NUMBER',
        `${what}: the server rejected event number ${reply.eventNumber}`,
        {
          retryable: true,
        },
      );
    case 'operationUnsupported':
      return new TributaryError(
        'OPERATION_UNSUPPORTED',
        `${what}: the server does not support ${reply.operationName}`,
      );
    case 'authTokenCheckFailed':
      return reply.errorCode === AuthErrorCode.TokenExpired
        ? new TributaryError('TOKEN_EXPIRED', `${what}: the delegation token expired`, {
            retryable: true,
          })
        : new TributaryError(
            'AUTH_FAILED',
            `${what}: the segment store refused the delegation token`,
          );
    case 'errorMessage':
      return new TributaryError(
        reply.errorCode === ErrorMessageCode.IllegalArgument ? 'ILLEGAL_ARGUMENT' : 'SERVER_ERROR',
        `${what}: ${reply.message}`,
      );
    case 'tableSegmentNotEmpty':
      return new TributaryError(
        'TABLE_NOT_EMPTY',
        `${what}: table segment ${reply.segment} is not empty`,
      );
    case 'tableKeyDoesNotExist':
      return new TributaryError(
        'TABLE_KEY_NOT_FOUND',
        `${what}: a key does not exist in ${reply.segment}`,
      );
    case 'tableKeyBadVersion':
      return new TributaryError(
        'TABLE_KEY_BAD_VERSION',
        `${what}: a key of ${reply.segment} has another version`,
      );
  }
}
