import { TABLE_KEY_NO_VERSION, WireCommandType } from '../constants.js';
import type { WireReader } from '../wire-reader.js';
import type { WireSink } from '../wire-writer.js';
import type { CommandCodec } from './codec.js';
import { segmentReplyCodec, segmentRequestCodec } from './segment-admin.js';

/**
 * Table segments (key-value segments).
 *
 * Structures:
 * - TableKey: int payloadSize (= 4 + keyLength + 8), int keyLength, key bytes, long version —
 *   the version is written **only when keyLength > 0**; an empty key decodes with version
 *   `TABLE_KEY_NO_VERSION`.
 * - TableValue: int payloadSize (= 4 + valueLength), int valueLength, value bytes.
 * - TableEntries: int n, n × (TableKey, TableValue).
 *
 * Key versions: `TABLE_KEY_NO_VERSION` (Long.MIN_VALUE) = unconditional, `TABLE_KEY_NOT_EXISTS`
 * (−1) = must not exist, otherwise the expected current version. A key missing from a `TableRead`
 * comes back with version −1 and an empty value. Decoded keys and values are views of the frame.
 */

export interface TableKey {
  readonly key: Buffer;
  readonly version: bigint;
}

export interface TableEntry {
  readonly key: Buffer;
  readonly version: bigint;
  readonly value: Buffer;
}

export interface CreateTableSegment {
  readonly type: 'createTableSegment';
  readonly requestId: bigint;
  readonly segment: string;
  readonly delegationToken: string;
  /** deprecated, send false; trailing-optional on decode: false when absent */
  readonly sortedDeprecated: boolean;
  /** 0 = variable-length keys; trailing-optional on decode: 0 when absent */
  readonly keyLength: number;
  /** 0 = server default; trailing-optional on decode: 0 when absent */
  readonly rolloverSizeBytes: bigint;
}

export interface DeleteTableSegment {
  readonly type: 'deleteTableSegment';
  readonly requestId: bigint;
  readonly segment: string;
  readonly mustBeEmpty: boolean;
  readonly delegationToken: string;
}

export interface GetTableSegmentInfo {
  readonly type: 'getTableSegmentInfo';
  readonly requestId: bigint;
  /** Java: segmentName */
  readonly segment: string;
  readonly delegationToken: string;
}

export interface TableSegmentInfo {
  readonly type: 'tableSegmentInfo';
  readonly requestId: bigint;
  /** Java: segmentName */
  readonly segment: string;
  readonly startOffset: bigint;
  readonly length: bigint;
  readonly entryCount: bigint;
  readonly keyLength: number;
}

/** A failed offset condition is answered with SegmentIsTruncated. */
export interface UpdateTableEntries {
  readonly type: 'updateTableEntries';
  readonly requestId: bigint;
  readonly segment: string;
  readonly delegationToken: string;
  readonly entries: readonly TableEntry[];
  /** −1 = no segment-length condition; trailing-optional on decode: −1 when absent */
  readonly tableSegmentOffset: bigint;
}

export interface TableEntriesUpdated {
  readonly type: 'tableEntriesUpdated';
  readonly requestId: bigint;
  /** the new version of every entry, in request order */
  readonly updatedVersions: readonly bigint[];
}

export interface RemoveTableKeys {
  readonly type: 'removeTableKeys';
  readonly requestId: bigint;
  readonly segment: string;
  readonly delegationToken: string;
  readonly keys: readonly TableKey[];
  /** −1 = no segment-length condition; trailing-optional on decode: −1 when absent */
  readonly tableSegmentOffset: bigint;
}

export interface TableKeysRemoved {
  readonly type: 'tableKeysRemoved';
  readonly requestId: bigint;
  readonly segment: string;
}

export interface ReadTable {
  readonly type: 'readTable';
  readonly requestId: bigint;
  readonly segment: string;
  readonly delegationToken: string;
  /** the versions are ignored by the server */
  readonly keys: readonly TableKey[];
}

export interface TableRead {
  readonly type: 'tableRead';
  readonly requestId: bigint;
  readonly segment: string;
  /** in request order; a missing key has version −1 and an empty value */
  readonly entries: readonly TableEntry[];
}

/** Iteration arguments; the deprecated prefix filter is always sent empty and ignored on decode. */
export interface TableIteratorArgs {
  /** empty to start */
  readonly continuationToken: Buffer;
  readonly fromKey: Buffer;
  readonly toKey: Buffer;
}

export interface ReadTableKeys extends TableIteratorArgs {
  readonly type: 'readTableKeys';
  readonly requestId: bigint;
  readonly segment: string;
  readonly delegationToken: string;
  readonly suggestedKeyCount: number;
}

export interface TableKeysRead {
  readonly type: 'tableKeysRead';
  readonly requestId: bigint;
  readonly segment: string;
  readonly keys: readonly TableKey[];
  readonly continuationToken: Buffer;
}

export interface ReadTableEntries extends TableIteratorArgs {
  readonly type: 'readTableEntries';
  readonly requestId: bigint;
  readonly segment: string;
  readonly delegationToken: string;
  readonly suggestedEntryCount: number;
}

/** Iterate until a reply has zero entries. */
export interface TableEntriesRead {
  readonly type: 'tableEntriesRead';
  readonly requestId: bigint;
  readonly segment: string;
  readonly entries: readonly TableEntry[];
  readonly continuationToken: Buffer;
}

export interface ReadTableEntriesDelta {
  readonly type: 'readTableEntriesDelta';
  readonly requestId: bigint;
  readonly segment: string;
  readonly delegationToken: string;
  readonly fromPosition: bigint;
  readonly suggestedEntryCount: number;
}

export interface TableEntriesDeltaRead {
  readonly type: 'tableEntriesDeltaRead';
  readonly requestId: bigint;
  readonly segment: string;
  readonly entries: readonly TableEntry[];
  readonly shouldClear: boolean;
  readonly reachedEnd: boolean;
  readonly lastPosition: bigint;
}

const EMPTY = Buffer.alloc(0);
/** smallest encoded TableKey / TableValue: the two ints */
const MIN_KEY_SIZE = 8;
const MIN_VALUE_SIZE = 8;

function writeKey(w: WireSink, key: Buffer, version: bigint): void {
  w.int32(4 + key.length + 8, 'key.payloadSize');
  w.int32(key.length, 'key.length');
  if (key.length > 0) {
    w.raw(key, 'key');
    w.int64(version, 'key.version');
  }
}

function readKey(r: WireReader): TableKey {
  const available = r.remaining;
  const payloadSize = r.int32('key.payloadSize');
  const length = r.count('key.length');
  if (length === 0) return { key: EMPTY, version: TABLE_KEY_NO_VERSION };
  if (payloadSize > available) {
    throw r.error('key.payloadSize', `${payloadSize} exceeds the ${available} bytes left`);
  }
  return { key: r.fixed(length, 'key'), version: r.int64('key.version') };
}

function writeValue(w: WireSink, value: Buffer): void {
  w.int32(4 + value.length, 'value.payloadSize');
  w.int32(value.length, 'value.length');
  w.raw(value, 'value');
}

function readValue(r: WireReader): Buffer {
  const available = r.remaining;
  const payloadSize = r.int32('value.payloadSize');
  const length = r.count('value.length');
  if (length === 0) return EMPTY;
  if (payloadSize > available) {
    throw r.error('value.payloadSize', `${payloadSize} exceeds the ${available} bytes left`);
  }
  return r.fixed(length, 'value');
}

function writeKeys(w: WireSink, keys: readonly TableKey[]): void {
  w.int32(keys.length, 'keys.count');
  for (const k of keys) writeKey(w, k.key, k.version);
}

function readKeys(r: WireReader): TableKey[] {
  const n = r.listCount('keys.count', MIN_KEY_SIZE);
  const keys: TableKey[] = [];
  for (let i = 0; i < n; i++) keys.push(readKey(r));
  return keys;
}

function writeEntries(w: WireSink, entries: readonly TableEntry[]): void {
  w.int32(entries.length, 'entries.count');
  for (const e of entries) {
    writeKey(w, e.key, e.version);
    writeValue(w, e.value);
  }
}

function readEntries(r: WireReader): TableEntry[] {
  const n = r.listCount('entries.count', MIN_KEY_SIZE + MIN_VALUE_SIZE);
  const entries: TableEntry[] = [];
  for (let i = 0; i < n; i++) {
    const { key, version } = readKey(r);
    entries.push({ key, version, value: readValue(r) });
  }
  return entries;
}

/** iterator-args buffer: trailing-optional int length (0 when absent) + bytes */
function readArg(r: WireReader, field: string): Buffer {
  if (r.remaining < 4) return EMPTY;
  return r.bytes(field);
}

function writeArgs(w: WireSink, a: TableIteratorArgs): void {
  w.bytes(a.continuationToken, 'continuationToken');
  w.int32(0, 'prefixFilter');
  w.bytes(a.fromKey, 'fromKey');
  w.bytes(a.toKey, 'toKey');
}

function readArgs(r: WireReader): TableIteratorArgs {
  const continuationToken = readArg(r, 'continuationToken');
  readArg(r, 'prefixFilter');
  const fromKey = readArg(r, 'fromKey');
  const toKey = readArg(r, 'toKey');
  return { continuationToken, fromKey, toKey };
}

/**
 * CreateTableSegment (70): long requestId, String segment, String delegationToken,
 * bool sortedDeprecated?, int keyLength?, long rolloverSizeBytes?
 */
export const createTableSegmentCodec: CommandCodec<CreateTableSegment> = {
  code: WireCommandType.CREATE_TABLE_SEGMENT,
  type: 'createTableSegment',
  name: 'CreateTableSegment',
  kind: 'request',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.utf(c.delegationToken, 'delegationToken');
    w.bool(c.sortedDeprecated, 'sortedDeprecated');
    w.int32(c.keyLength, 'keyLength');
    w.int64(c.rolloverSizeBytes, 'rolloverSizeBytes');
  },
  read: (r) => ({
    type: 'createTableSegment',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    delegationToken: r.utf('delegationToken'),
    sortedDeprecated: r.remaining >= 1 ? r.bool('sortedDeprecated') : false,
    keyLength: r.remaining >= 4 ? r.int32('keyLength') : 0,
    rolloverSizeBytes: r.remaining >= 8 ? r.int64('rolloverSizeBytes') : 0n,
  }),
};

/** DeleteTableSegment (71): long requestId, String segment, bool mustBeEmpty, String delegationToken */
export const deleteTableSegmentCodec: CommandCodec<DeleteTableSegment> = {
  code: WireCommandType.DELETE_TABLE_SEGMENT,
  type: 'deleteTableSegment',
  name: 'DeleteTableSegment',
  kind: 'request',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.bool(c.mustBeEmpty, 'mustBeEmpty');
    w.utf(c.delegationToken, 'delegationToken');
  },
  read: (r) => ({
    type: 'deleteTableSegment',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    mustBeEmpty: r.bool('mustBeEmpty'),
    delegationToken: r.utf('delegationToken'),
  }),
};

/** GetTableSegmentInfo (68): long requestId, String segmentName, String delegationToken */
export const getTableSegmentInfoCodec = segmentRequestCodec<GetTableSegmentInfo>(
  WireCommandType.GET_TABLE_SEGMENT_INFO,
  'getTableSegmentInfo',
  'GetTableSegmentInfo',
);

/**
 * TableSegmentInfo (69): long requestId, String segmentName, long startOffset, long length,
 * long entryCount, int keyLength
 */
export const tableSegmentInfoCodec: CommandCodec<TableSegmentInfo> = {
  code: WireCommandType.TABLE_SEGMENT_INFO,
  type: 'tableSegmentInfo',
  name: 'TableSegmentInfo',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.int64(c.startOffset, 'startOffset');
    w.int64(c.length, 'length');
    w.int64(c.entryCount, 'entryCount');
    w.int32(c.keyLength, 'keyLength');
  },
  read: (r) => ({
    type: 'tableSegmentInfo',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    startOffset: r.int64('startOffset'),
    length: r.int64('length'),
    entryCount: r.int64('entryCount'),
    keyLength: r.int32('keyLength'),
  }),
};

/**
 * UpdateTableEntries (74): long requestId, String segment, String delegationToken, TableEntries,
 * long tableSegmentOffset?
 */
export const updateTableEntriesCodec: CommandCodec<UpdateTableEntries> = {
  code: WireCommandType.UPDATE_TABLE_ENTRIES,
  type: 'updateTableEntries',
  name: 'UpdateTableEntries',
  kind: 'request',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.utf(c.delegationToken, 'delegationToken');
    writeEntries(w, c.entries);
    w.int64(c.tableSegmentOffset, 'tableSegmentOffset');
  },
  read: (r) => ({
    type: 'updateTableEntries',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    delegationToken: r.utf('delegationToken'),
    entries: readEntries(r),
    // Java reads the long whenever any byte is left
    tableSegmentOffset: r.remaining > 0 ? r.int64('tableSegmentOffset') : -1n,
  }),
};

/** TableEntriesUpdated (75): long requestId, int n, n × long version */
export const tableEntriesUpdatedCodec: CommandCodec<TableEntriesUpdated> = {
  code: WireCommandType.TABLE_ENTRIES_UPDATED,
  type: 'tableEntriesUpdated',
  name: 'TableEntriesUpdated',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.int32(c.updatedVersions.length, 'updatedVersions.count');
    for (const v of c.updatedVersions) w.int64(v, 'updatedVersions');
  },
  read(r) {
    const requestId = r.int64('requestId');
    const n = r.listCount('updatedVersions.count', 8);
    const updatedVersions: bigint[] = [];
    for (let i = 0; i < n; i++) updatedVersions.push(r.int64('updatedVersions'));
    return { type: 'tableEntriesUpdated', requestId, updatedVersions };
  },
};

/**
 * RemoveTableKeys (76): long requestId, String segment, String delegationToken, int n,
 * n × TableKey, long tableSegmentOffset?
 */
export const removeTableKeysCodec: CommandCodec<RemoveTableKeys> = {
  code: WireCommandType.REMOVE_TABLE_KEYS,
  type: 'removeTableKeys',
  name: 'RemoveTableKeys',
  kind: 'request',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.utf(c.delegationToken, 'delegationToken');
    writeKeys(w, c.keys);
    w.int64(c.tableSegmentOffset, 'tableSegmentOffset');
  },
  read: (r) => ({
    type: 'removeTableKeys',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    delegationToken: r.utf('delegationToken'),
    keys: readKeys(r),
    tableSegmentOffset: r.remaining > 0 ? r.int64('tableSegmentOffset') : -1n,
  }),
};

/** TableKeysRemoved (77): long requestId, String segment */
export const tableKeysRemovedCodec = segmentReplyCodec<TableKeysRemoved>(
  WireCommandType.TABLE_KEYS_REMOVED,
  'tableKeysRemoved',
  'TableKeysRemoved',
);

/** ReadTable (78): long requestId, String segment, String delegationToken, int n, n × TableKey */
export const readTableCodec: CommandCodec<ReadTable> = {
  code: WireCommandType.READ_TABLE,
  type: 'readTable',
  name: 'ReadTable',
  kind: 'request',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.utf(c.delegationToken, 'delegationToken');
    writeKeys(w, c.keys);
  },
  read: (r) => ({
    type: 'readTable',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    delegationToken: r.utf('delegationToken'),
    keys: readKeys(r),
  }),
};

/** TableRead (79): long requestId, String segment, TableEntries */
export const tableReadCodec: CommandCodec<TableRead> = {
  code: WireCommandType.TABLE_READ,
  type: 'tableRead',
  name: 'TableRead',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    writeEntries(w, c.entries);
  },
  read: (r) => ({
    type: 'tableRead',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    entries: readEntries(r),
  }),
};

/**
 * ReadTableKeys (83): long requestId, String segment, String delegationToken, int suggestedKeyCount,
 * then four int-length-prefixed buffers (each trailing-optional): continuationToken,
 * prefixFilter (always empty), fromKey, toKey
 */
export const readTableKeysCodec: CommandCodec<ReadTableKeys> = {
  code: WireCommandType.READ_TABLE_KEYS,
  type: 'readTableKeys',
  name: 'ReadTableKeys',
  kind: 'request',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.utf(c.delegationToken, 'delegationToken');
    w.int32(c.suggestedKeyCount, 'suggestedKeyCount');
    writeArgs(w, c);
  },
  read: (r) => ({
    type: 'readTableKeys',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    delegationToken: r.utf('delegationToken'),
    suggestedKeyCount: r.int32('suggestedKeyCount'),
    ...readArgs(r),
  }),
};

/**
 * TableKeysRead (84): long requestId, String segment, int n, n × TableKey, int tokenLength,
 * continuation token
 */
export const tableKeysReadCodec: CommandCodec<TableKeysRead> = {
  code: WireCommandType.TABLE_KEYS_READ,
  type: 'tableKeysRead',
  name: 'TableKeysRead',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    writeKeys(w, c.keys);
    w.bytes(c.continuationToken, 'continuationToken');
  },
  read: (r) => ({
    type: 'tableKeysRead',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    keys: readKeys(r),
    continuationToken: r.bytes('continuationToken'),
  }),
};

/**
 * ReadTableEntries (85): long requestId, String segment, String delegationToken,
 * int suggestedEntryCount, then the four iterator buffers as in ReadTableKeys
 */
export const readTableEntriesCodec: CommandCodec<ReadTableEntries> = {
  code: WireCommandType.READ_TABLE_ENTRIES,
  type: 'readTableEntries',
  name: 'ReadTableEntries',
  kind: 'request',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.utf(c.delegationToken, 'delegationToken');
    w.int32(c.suggestedEntryCount, 'suggestedEntryCount');
    writeArgs(w, c);
  },
  read: (r) => ({
    type: 'readTableEntries',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    delegationToken: r.utf('delegationToken'),
    suggestedEntryCount: r.int32('suggestedEntryCount'),
    ...readArgs(r),
  }),
};

/** TableEntriesRead (86): long requestId, String segment, TableEntries, int tokenLength, token */
export const tableEntriesReadCodec: CommandCodec<TableEntriesRead> = {
  code: WireCommandType.TABLE_ENTRIES_READ,
  type: 'tableEntriesRead',
  name: 'TableEntriesRead',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    writeEntries(w, c.entries);
    w.bytes(c.continuationToken, 'continuationToken');
  },
  read: (r) => ({
    type: 'tableEntriesRead',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    entries: readEntries(r),
    continuationToken: r.bytes('continuationToken'),
  }),
};

/**
 * ReadTableEntriesDelta (88 — the request has the higher code): long requestId, String segment,
 * String delegationToken, long fromPosition, int suggestedEntryCount
 */
export const readTableEntriesDeltaCodec: CommandCodec<ReadTableEntriesDelta> = {
  code: WireCommandType.READ_TABLE_ENTRIES_DELTA,
  type: 'readTableEntriesDelta',
  name: 'ReadTableEntriesDelta',
  kind: 'request',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    w.utf(c.delegationToken, 'delegationToken');
    w.int64(c.fromPosition, 'fromPosition');
    w.int32(c.suggestedEntryCount, 'suggestedEntryCount');
  },
  read: (r) => ({
    type: 'readTableEntriesDelta',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    delegationToken: r.utf('delegationToken'),
    fromPosition: r.int64('fromPosition'),
    suggestedEntryCount: r.int32('suggestedEntryCount'),
  }),
};

/**
 * TableEntriesDeltaRead (87 — the reply has the lower code): long requestId, String segment,
 * TableEntries, bool shouldClear, bool reachedEnd, long lastPosition
 */
export const tableEntriesDeltaReadCodec: CommandCodec<TableEntriesDeltaRead> = {
  code: WireCommandType.TABLE_ENTRIES_DELTA_READ,
  type: 'tableEntriesDeltaRead',
  name: 'TableEntriesDeltaRead',
  kind: 'reply',
  write(w, c) {
    w.int64(c.requestId, 'requestId');
    w.utf(c.segment, 'segment');
    writeEntries(w, c.entries);
    w.bool(c.shouldClear, 'shouldClear');
    w.bool(c.reachedEnd, 'reachedEnd');
    w.int64(c.lastPosition, 'lastPosition');
  },
  read: (r) => ({
    type: 'tableEntriesDeltaRead',
    requestId: r.int64('requestId'),
    segment: r.utf('segment'),
    entries: readEntries(r),
    shouldClear: r.bool('shouldClear'),
    reachedEnd: r.bool('reachedEnd'),
    lastPosition: r.int64('lastPosition'),
  }),
};
