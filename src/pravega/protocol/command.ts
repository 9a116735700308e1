import type {
  AppendBlock,
  AppendBlockEnd,
  AppendSetup,
  ConditionalAppend,
  ConditionalBlockEnd,
  ConditionalCheckFailed,
  DataAppended,
  Padding,
  PartialEvent,
  SetupAppend,
} from './commands/appends.js';
import {
  appendBlockCodec,
  appendBlockEndCodec,
  appendSetupCodec,
  conditionalAppendCodec,
  conditionalBlockEndCodec,
  conditionalCheckFailedCodec,
  dataAppendedCodec,
  paddingCodec,
  partialEventCodec,
  setupAppendCodec,
} from './commands/appends.js';
import type {
  GetSegmentAttribute,
  SegmentAttribute,
  SegmentAttributeUpdated,
  UpdateSegmentAttribute,
} from './commands/attributes.js';
import {
  getSegmentAttributeCodec,
  segmentAttributeCodec,
  segmentAttributeUpdatedCodec,
  updateSegmentAttributeCodec,
} from './commands/attributes.js';
import type { CommandCodec, CommandKind } from './commands/codec.js';
import type {
  AuthTokenCheckFailed,
  ErrorMessage,
  InvalidEventNumber,
  NoSuchSegment,
  OperationUnsupported,
  SegmentAlreadyExists,
  SegmentIsSealed,
  SegmentIsTruncated,
  TableKeyBadVersion,
  TableKeyDoesNotExist,
  TableSegmentNotEmpty,
  WrongHost,
} from './commands/error-replies.js';
import {
  authTokenCheckFailedCodec,
  errorMessageCodec,
  invalidEventNumberCodec,
  noSuchSegmentCodec,
  operationUnsupportedCodec,
  segmentAlreadyExistsCodec,
  segmentIsSealedCodec,
  segmentIsTruncatedCodec,
  tableKeyBadVersionCodec,
  tableKeyDoesNotExistCodec,
  tableSegmentNotEmptyCodec,
  wrongHostCodec,
} from './commands/error-replies.js';
import type { Hello, KeepAlive } from './commands/handshake.js';
import { helloCodec, keepAliveCodec } from './commands/handshake.js';
import type { ReadSegment, SegmentRead } from './commands/reads.js';
import { readSegmentCodec, segmentReadCodec } from './commands/reads.js';
import type {
  CreateSegment,
  CreateTransientSegment,
  DeleteSegment,
  MergeSegments,
  MergeSegmentsBatch,
  SealSegment,
  SegmentCreated,
  SegmentDeleted,
  SegmentPolicyUpdated,
  SegmentSealed,
  SegmentsBatchMerged,
  SegmentsMerged,
  SegmentTruncated,
  TruncateSegment,
  UpdateSegmentPolicy,
} from './commands/segment-admin.js';
import {
  createSegmentCodec,
  createTransientSegmentCodec,
  deleteSegmentCodec,
  mergeSegmentsBatchCodec,
  mergeSegmentsCodec,
  sealSegmentCodec,
  segmentCreatedCodec,
  segmentDeletedCodec,
  segmentPolicyUpdatedCodec,
  segmentSealedCodec,
  segmentsBatchMergedCodec,
  segmentsMergedCodec,
  segmentTruncatedCodec,
  truncateSegmentCodec,
  updateSegmentPolicyCodec,
} from './commands/segment-admin.js';
import type { GetStreamSegmentInfo, StreamSegmentInfo } from './commands/segment-info.js';
import { getStreamSegmentInfoCodec, streamSegmentInfoCodec } from './commands/segment-info.js';
import type {
  FlushedToStorage,
  FlushToStorage,
  ListStorageChunks,
  StorageChunksListed,
} from './commands/storage.js';
import {
  flushedToStorageCodec,
  flushToStorageCodec,
  listStorageChunksCodec,
  storageChunksListedCodec,
} from './commands/storage.js';
import type {
  CreateTableSegment,
  DeleteTableSegment,
  GetTableSegmentInfo,
  ReadTable,
  ReadTableEntries,
  ReadTableEntriesDelta,
  ReadTableKeys,
  RemoveTableKeys,
  TableEntriesDeltaRead,
  TableEntriesRead,
  TableEntriesUpdated,
  TableKeysRead,
  TableKeysRemoved,
  TableRead,
  TableSegmentInfo,
  UpdateTableEntries,
} from './commands/tables.js';
import {
  createTableSegmentCodec,
  deleteTableSegmentCodec,
  getTableSegmentInfoCodec,
  readTableCodec,
  readTableEntriesCodec,
  readTableEntriesDeltaCodec,
  readTableKeysCodec,
  removeTableKeysCodec,
  tableEntriesDeltaReadCodec,
  tableEntriesReadCodec,
  tableEntriesUpdatedCodec,
  tableKeysReadCodec,
  tableKeysRemovedCodec,
  tableReadCodec,
  tableSegmentInfoCodec,
  updateTableEntriesCodec,
} from './commands/tables.js';

/** The error replies (Java `Reply.isFailure()`). */
export type ErrorReply =
  | WrongHost
  | SegmentIsSealed
  | SegmentAlreadyExists
  | NoSuchSegment
  | InvalidEventNumber
  | SegmentIsTruncated
  | OperationUnsupported
  | AuthTokenCheckFailed
  | ErrorMessage
  | TableSegmentNotEmpty
  | TableKeyDoesNotExist
  | TableKeyBadVersion;

/** Every top-level wire command of Pravega 0.13 (wire version 16), discriminated by `type`. */
export type Command =
  | Hello
  | KeepAlive
  | ErrorReply
  | SetupAppend
  | AppendSetup
  | AppendBlock
  | AppendBlockEnd
  | ConditionalAppend
  | ConditionalBlockEnd
  | DataAppended
  | ConditionalCheckFailed
  | PartialEvent
  | Padding
  | ReadSegment
  | SegmentRead
  | GetStreamSegmentInfo
  | StreamSegmentInfo
  | CreateSegment
  | SegmentCreated
  | CreateTransientSegment
  | SealSegment
  | SegmentSealed
  | TruncateSegment
  | SegmentTruncated
  | DeleteSegment
  | SegmentDeleted
  | UpdateSegmentPolicy
  | SegmentPolicyUpdated
  | MergeSegments
  | SegmentsMerged
  | MergeSegmentsBatch
  | SegmentsBatchMerged
  | GetSegmentAttribute
  | SegmentAttribute
  | UpdateSegmentAttribute
  | SegmentAttributeUpdated
  | CreateTableSegment
  | DeleteTableSegment
  | GetTableSegmentInfo
  | TableSegmentInfo
  | UpdateTableEntries
  | TableEntriesUpdated
  | RemoveTableKeys
  | TableKeysRemoved
  | ReadTable
  | TableRead
  | ReadTableKeys
  | TableKeysRead
  | ReadTableEntries
  | TableEntriesRead
  | ReadTableEntriesDelta
  | TableEntriesDeltaRead
  | FlushToStorage
  | FlushedToStorage
  | ListStorageChunks
  | StorageChunksListed;

export type CommandType = Command['type'];

/** The command with `type` T. */
export type CommandOf<T extends CommandType> = Extract<Command, { readonly type: T }>;

type CodecTable = { readonly [T in CommandType]: CommandCodec<CommandOf<T>> };

/** One codec per command type; the mapped type makes the table exhaustive. */
export const CODECS: CodecTable = {
  hello: helloCodec,
  keepAlive: keepAliveCodec,
  wrongHost: wrongHostCodec,
  segmentIsSealed: segmentIsSealedCodec,
  segmentAlreadyExists: segmentAlreadyExistsCodec,
  noSuchSegment: noSuchSegmentCodec,
  invalidEventNumber: invalidEventNumberCodec,
  segmentIsTruncated: segmentIsTruncatedCodec,
  operationUnsupported: operationUnsupportedCodec,
  authTokenCheckFailed: authTokenCheckFailedCodec,
  errorMessage: errorMessageCodec,
  tableSegmentNotEmpty: tableSegmentNotEmptyCodec,
  tableKeyDoesNotExist: tableKeyDoesNotExistCodec,
  tableKeyBadVersion: tableKeyBadVersionCodec,
  setupAppend: setupAppendCodec,
  appendSetup: appendSetupCodec,
  appendBlock: appendBlockCodec,
  appendBlockEnd: appendBlockEndCodec,
  conditionalAppend: conditionalAppendCodec,
  conditionalBlockEnd: conditionalBlockEndCodec,
  dataAppended: dataAppendedCodec,
  conditionalCheckFailed: conditionalCheckFailedCodec,
  partialEvent: partialEventCodec,
  padding: paddingCodec,
  readSegment: readSegmentCodec,
  segmentRead: segmentReadCodec,
  getStreamSegmentInfo: getStreamSegmentInfoCodec,
  streamSegmentInfo: streamSegmentInfoCodec,
  createSegment: createSegmentCodec,
  segmentCreated: segmentCreatedCodec,
  createTransientSegment: createTransientSegmentCodec,
  sealSegment: sealSegmentCodec,
  segmentSealed: segmentSealedCodec,
  truncateSegment: truncateSegmentCodec,
  segmentTruncated: segmentTruncatedCodec,
  deleteSegment: deleteSegmentCodec,
  segmentDeleted: segmentDeletedCodec,
  updateSegmentPolicy: updateSegmentPolicyCodec,
  segmentPolicyUpdated: segmentPolicyUpdatedCodec,
  mergeSegments: mergeSegmentsCodec,
  segmentsMerged: segmentsMergedCodec,
  mergeSegmentsBatch: mergeSegmentsBatchCodec,
  segmentsBatchMerged: segmentsBatchMergedCodec,
  getSegmentAttribute: getSegmentAttributeCodec,
  segmentAttribute: segmentAttributeCodec,
  updateSegmentAttribute: updateSegmentAttributeCodec,
  segmentAttributeUpdated: segmentAttributeUpdatedCodec,
  createTableSegment: createTableSegmentCodec,
  deleteTableSegment: deleteTableSegmentCodec,
  getTableSegmentInfo: getTableSegmentInfoCodec,
  tableSegmentInfo: tableSegmentInfoCodec,
  updateTableEntries: updateTableEntriesCodec,
  tableEntriesUpdated: tableEntriesUpdatedCodec,
  removeTableKeys: removeTableKeysCodec,
  tableKeysRemoved: tableKeysRemovedCodec,
  readTable: readTableCodec,
  tableRead: tableReadCodec,
  readTableKeys: readTableKeysCodec,
  tableKeysRead: tableKeysReadCodec,
  readTableEntries: readTableEntriesCodec,
  tableEntriesRead: tableEntriesReadCodec,
  readTableEntriesDelta: readTableEntriesDeltaCodec,
  tableEntriesDeltaRead: tableEntriesDeltaReadCodec,
  flushToStorage: flushToStorageCodec,
  flushedToStorage: flushedToStorageCodec,
  listStorageChunks: listStorageChunksCodec,
  storageChunksListed: storageChunksListedCodec,
};

/** Any codec, for table-driven code. */
export type AnyCodec = CommandCodec<Command>;

const BY_CODE = new Map<number, AnyCodec>();
for (const codec of Object.values(CODECS) as AnyCodec[]) {
  if (BY_CODE.has(codec.code)) throw new Error(`duplicate wire type code ${codec.code}`);
  BY_CODE.set(codec.code, codec);
}

/** The codec of a wire type code, or undefined for an unknown code. */
export function codecForCode(code: number): AnyCodec | undefined {
  return BY_CODE.get(code);
}

/** The codec of a command type. */
export function codecFor<T extends CommandType>(type: T): CommandCodec<CommandOf<T>> {
  return CODECS[type];
}

/** The wire type code of a command type. */
export function typeCodeOf(type: CommandType): number {
  return CODECS[type].code;
}

/** Who sends the command: request, reply, both (Hello, KeepAlive) or block (inside appends). */
export function commandKind(type: CommandType): CommandKind {
  return CODECS[type].kind;
}

const ERROR_REPLY_TYPES: ReadonlySet<CommandType> = new Set<ErrorReply['type']>([
  'wrongHost',
  'segmentIsSealed',
  'segmentAlreadyExists',
  'noSuchSegment',
  'invalidEventNumber',
  'segmentIsTruncated',
  'operationUnsupported',
  'authTokenCheckFailed',
  'errorMessage',
  'tableSegmentNotEmpty',
  'tableKeyDoesNotExist',
  'tableKeyBadVersion',
]);

export function isErrorReply(cmd: Command): cmd is ErrorReply {
  return ERROR_REPLY_TYPES.has(cmd.type);
}

/**
 * The request id a command carries, uniformly: Hello → 0, KeepAlive → −1, commands without one
 * (AppendBlock, PartialEvent, Padding) → undefined. Trailing-optional request ids that were absent
 * on the wire decode as −1.
 */
export function requestIdOf(cmd: Command): bigint | undefined {
  if ('requestId' in cmd) return cmd.requestId;
  if (cmd.type === 'hello') return 0n;
  if (cmd.type === 'keepAlive') return -1n;
  return undefined;
}
