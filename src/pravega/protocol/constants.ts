/**
 * Constants of the Pravega segment-store wire protocol (0.13, wire version 16).
 * Source: `WireCommands.java` / `WireCommandType.java` in pravega/pravega v0.13.0.
 */

/** The wire version this client speaks (`Hello.highVersion`). */
export const WIRE_VERSION = 16;
/** The oldest wire version this client can talk to (`Hello.lowVersion`). */
export const OLDEST_COMPATIBLE_VERSION = 5;

/** Every frame starts with `int32 type, int32 length`; the length excludes these 8 bytes. */
export const HEADER_SIZE = 8;
/** Largest frame the server accepts, header included (16 MiB − 1). */
export const MAX_FRAME = 0x00ffffff;
/** Largest payload of one frame. */
export const MAX_FRAME_PAYLOAD = MAX_FRAME - HEADER_SIZE;

/** Largest event payload (Java `Serializer.MAX_EVENT_SIZE`). */
export const MAX_EVENT_SIZE = 8 * 1024 * 1024;
/** An event inside an append or in segment data is framed as `int32 0, int32 length, payload`. */
export const EVENT_HEADER_SIZE = 8;
/** The type code of a framed event inside append blocks and segment data. */
export const EVENT_TYPE_CODE = 0;

/** Java `Long.MIN_VALUE`: "no value" for attributes, table-key versions and event numbers. */
export const LONG_MIN = -(2n ** 63n);
/** Java `Long.MAX_VALUE`. */
export const LONG_MAX = 2n ** 63n - 1n;
/** Value of an unset segment attribute (`WireCommands.NULL_ATTRIBUTE_VALUE`). */
export const NULL_ATTRIBUTE_VALUE = LONG_MIN;
/** `AppendSetup.lastEventNumber` when the server has never seen the writer on the segment. */
export const NO_EVENT_NUMBER = LONG_MIN;
/** Table-key version meaning "unconditional" (`TableKey.NO_VERSION`). */
export const TABLE_KEY_NO_VERSION = LONG_MIN;
/** Table-key version meaning "the key must not exist" (`TableKey.NOT_EXISTS`). */
export const TABLE_KEY_NOT_EXISTS = -1n;
/** `tableSegmentOffset` meaning "no segment-length condition" (`NULL_TABLE_SEGMENT_OFFSET`). */
export const NO_TABLE_SEGMENT_OFFSET = -1n;

/** `CreateSegment` / `UpdateSegmentPolicy` scale types (`ScaleType.java`). */
export const ScaleType = {
  NoScaling: 0,
  Throughput: 1,
  EventRate: 2,
} as const;

/** `AuthTokenCheckFailed.errorCode` values. */
export const AuthErrorCode = {
  Unspecified: -1,
  TokenCheckFailed: 0,
  TokenExpired: 1,
} as const;

/** `ErrorMessage.errorCode` values. */
export const ErrorMessageCode = {
  Unspecified: -1,
  IllegalArgument: 0,
} as const;

/** `ConditionalAttributeUpdate.type` values (`MergeSegments`). */
export const AttributeUpdateType = {
  Replace: 1,
  ReplaceIfEquals: 4,
} as const;

/** Wire type codes of every top-level command (`WireCommandType`, 0.13). */
export const WireCommandType = {
  HELLO: -127,
  PADDING: -1,
  PARTIAL_EVENT: -2,
  FLUSH_TO_STORAGE: -3,
  FLUSHED_TO_STORAGE: -4,
  LIST_STORAGE_CHUNKS: -5,
  STORAGE_CHUNKS_LISTED: -6,
  SETUP_APPEND: 1,
  APPEND_SETUP: 2,
  APPEND_BLOCK: 3,
  APPEND_BLOCK_END: 4,
  CONDITIONAL_APPEND: 5,
  DATA_APPENDED: 7,
  CONDITIONAL_CHECK_FAILED: 8,
  READ_SEGMENT: 9,
  SEGMENT_READ: 10,
  GET_STREAM_SEGMENT_INFO: 11,
  STREAM_SEGMENT_INFO: 12,
  CREATE_SEGMENT: 20,
  SEGMENT_CREATED: 21,
  SEAL_SEGMENT: 28,
  SEGMENT_SEALED: 29,
  DELETE_SEGMENT: 30,
  SEGMENT_DELETED: 31,
  UPDATE_SEGMENT_POLICY: 32,
  SEGMENT_POLICY_UPDATED: 33,
  GET_SEGMENT_ATTRIBUTE: 34,
  SEGMENT_ATTRIBUTE: 35,
  UPDATE_SEGMENT_ATTRIBUTE: 36,
  SEGMENT_ATTRIBUTE_UPDATED: 37,
  TRUNCATE_SEGMENT: 38,
  SEGMENT_TRUNCATED: 39,
  CREATE_TRANSIENT_SEGMENT: 40,
  WRONG_HOST: 50,
  SEGMENT_IS_SEALED: 51,
  SEGMENT_ALREADY_EXISTS: 52,
  NO_SUCH_SEGMENT: 53,
  INVALID_EVENT_NUMBER: 55,
  SEGMENT_IS_TRUNCATED: 56,
  OPERATION_UNSUPPORTED: 57,
  MERGE_SEGMENTS: 58,
  SEGMENTS_MERGED: 59,
  AUTH_TOKEN_CHECK_FAILED: 60,
  ERROR_MESSAGE: 61,
  GET_TABLE_SEGMENT_INFO: 68,
  TABLE_SEGMENT_INFO: 69,
  CREATE_TABLE_SEGMENT: 70,
  DELETE_TABLE_SEGMENT: 71,
  UPDATE_TABLE_ENTRIES: 74,
  TABLE_ENTRIES_UPDATED: 75,
  REMOVE_TABLE_KEYS: 76,
  TABLE_KEYS_REMOVED: 77,
  READ_TABLE: 78,
  TABLE_READ: 79,
  TABLE_SEGMENT_NOT_EMPTY: 80,
  TABLE_KEY_DOES_NOT_EXIST: 81,
  TABLE_KEY_BAD_VERSION: 82,
  READ_TABLE_KEYS: 83,
  TABLE_KEYS_READ: 84,
  READ_TABLE_ENTRIES: 85,
  TABLE_ENTRIES_READ: 86,
  /** The delta pair is numbered in reverse: the reply is 87 ... */
  TABLE_ENTRIES_DELTA_READ: 87,
  /** ... and the request is 88. */
  READ_TABLE_ENTRIES_DELTA: 88,
  CONDITIONAL_BLOCK_END: 89,
  MERGE_SEGMENTS_BATCH: 90,
  SEGMENTS_BATCH_MERGED: 91,
  KEEP_ALIVE: 100,
} as const;
