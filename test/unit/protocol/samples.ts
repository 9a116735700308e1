import type { Command, CommandOf, CommandType } from '../../../src/pravega/protocol/command.js';
import type { TableEntry, TableKey } from '../../../src/pravega/protocol/commands/tables.js';
import {
  AttributeUpdateType,
  LONG_MAX,
  LONG_MIN,
  ScaleType,
  TABLE_KEY_NO_VERSION,
} from '../../../src/pravega/protocol/constants.js';

/**
 * One sample of every wire command. `hex` is the frame the real Pravega 0.13.0 Java encoder
 * (`WireCommands.*.writeFields` from pravega-shared-protocol-0.13.0.jar, header added as
 * `CommandEncoder` does) produced for the same values; the Java decoder read each frame back to an
 * equal command. AppendBlock has no Java vector (its contents are written outside `writeFields`);
 * its hex is built from the reference's field table.
 */

export const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
export const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

export const W = '00112233-4455-6677-8899-aabbccddeeff';
export const A = 'f0e1d2c3-b4a5-9687-7869-5a4b3c2d1e0f';
export const SEG = 'sc/st/0.#epoch.0';
export const TOK = 'tok';
/** NUL, a 2-byte, a 3-byte and a supplementary character: modified UTF-8 edge cases */
export const ST = 'trace\u0000\u00e9\u20ac\ud83d\ude00';
export const R = 0x0102030405060708n;
export const EMPTY = Buffer.alloc(0);

export const ENTRIES: TableEntry[] = [
  { key: utf8('k1'), version: TABLE_KEY_NO_VERSION, value: utf8('v1') },
  { key: utf8('k2'), version: -1n, value: EMPTY },
  { key: EMPTY, version: TABLE_KEY_NO_VERSION, value: utf8('v3') },
];

export const KEYS: TableKey[] = [
  { key: utf8('k1'), version: 3n },
  { key: EMPTY, version: TABLE_KEY_NO_VERSION },
];

export interface Sample<T extends CommandType> {
  readonly cmd: CommandOf<T>;
  readonly hex: string;
}

type Samples = { readonly [T in CommandType]: Sample<T> };

/** Exhaustive by type: adding a command without a sample fails to compile. */
export const SAMPLES: Samples = {
  hello: {
    cmd: { type: 'hello', highVersion: 16, lowVersion: 5 },
    hex: 'ffffff81000000080000001000000005',
  },
  keepAlive: {
    cmd: { type: 'keepAlive' },
    hex: '0000006400000000',
  },
  wrongHost: {
    cmd: { type: 'wrongHost', requestId: R, segment: SEG, correctHost: '', serverStackTrace: ST },
    hex: '00000032000000300102030405060708001073632f73742f302e2365706f63682e30000000127472616365c080c3a9e282aceda0bdedb880',
  },
  segmentIsSealed: {
    cmd: { type: 'segmentIsSealed', requestId: R, segment: SEG, serverStackTrace: ST, offset: 42n },
    hex: '00000033000000360102030405060708001073632f73742f302e2365706f63682e3000127472616365c080c3a9e282aceda0bdedb880000000000000002a',
  },
  segmentAlreadyExists: {
    cmd: { type: 'segmentAlreadyExists', requestId: R, segment: SEG, serverStackTrace: ST },
    hex: '000000340000002e0102030405060708001073632f73742f302e2365706f63682e3000127472616365c080c3a9e282aceda0bdedb880',
  },
  noSuchSegment: {
    cmd: { type: 'noSuchSegment', requestId: R, segment: SEG, serverStackTrace: ST, offset: -1n },
    hex: '00000035000000360102030405060708001073632f73742f302e2365706f63682e3000127472616365c080c3a9e282aceda0bdedb880ffffffffffffffff',
  },
  invalidEventNumber: {
    cmd: {
      type: 'invalidEventNumber',
      writerId: W,
      requestId: R,
      serverStackTrace: ST,
      eventNumber: 7n,
    },
    hex: '000000370000003400112233445566778899aabbccddeeff010203040506070800127472616365c080c3a9e282aceda0bdedb8800000000000000007',
  },
  segmentIsTruncated: {
    cmd: {
      type: 'segmentIsTruncated',
      requestId: R,
      segment: SEG,
      startOffset: 100n,
      serverStackTrace: ST,
      offset: 50n,
    },
    hex: '000000380000003e0102030405060708001073632f73742f302e2365706f63682e30000000000000006400127472616365c080c3a9e282aceda0bdedb8800000000000000032',
  },
  operationUnsupported: {
    cmd: { type: 'operationUnsupported', requestId: R, operationName: 'op', serverStackTrace: ST },
    hex: '0000003900000020010203040506070800026f7000127472616365c080c3a9e282aceda0bdedb880',
  },
  authTokenCheckFailed: {
    cmd: { type: 'authTokenCheckFailed', requestId: R, serverStackTrace: ST, errorCode: 1 },
    hex: '0000003c00000020010203040506070800127472616365c080c3a9e282aceda0bdedb88000000001',
  },
  errorMessage: {
    cmd: { type: 'errorMessage', requestId: R, segment: SEG, message: 'msg', errorCode: 0 },
    hex: '0000003d000000230102030405060708001073632f73742f302e2365706f63682e3000036d736700000000',
  },
  tableSegmentNotEmpty: {
    cmd: { type: 'tableSegmentNotEmpty', requestId: R, segment: SEG, serverStackTrace: ST },
    hex: '000000500000002e0102030405060708001073632f73742f302e2365706f63682e3000127472616365c080c3a9e282aceda0bdedb880',
  },
  tableKeyDoesNotExist: {
    cmd: { type: 'tableKeyDoesNotExist', requestId: R, segment: SEG, serverStackTrace: ST },
    hex: '000000510000002e0102030405060708001073632f73742f302e2365706f63682e3000127472616365c080c3a9e282aceda0bdedb880',
  },
  tableKeyBadVersion: {
    cmd: { type: 'tableKeyBadVersion', requestId: R, segment: SEG, serverStackTrace: ST },
    hex: '000000520000002e0102030405060708001073632f73742f302e2365706f63682e3000127472616365c080c3a9e282aceda0bdedb880',
  },
  setupAppend: {
    cmd: { type: 'setupAppend', requestId: R, writerId: W, segment: SEG, delegationToken: TOK },
    hex: '000000010000002f010203040506070800112233445566778899aabbccddeeff001073632f73742f302e2365706f63682e300003746f6b',
  },
  appendSetup: {
    cmd: {
      type: 'appendSetup',
      requestId: R,
      segment: SEG,
      writerId: A,
      lastEventNumber: LONG_MIN,
    },
    hex: '00000002000000320102030405060708001073632f73742f302e2365706f63682e30f0e1d2c3b4a5968778695a4b3c2d1e0f8000000000000000',
  },
  appendBlock: {
    // block contents: the framed event "hi", then a Padding frame of 4 zero bytes
    cmd: {
      type: 'appendBlock',
      writerId: W,
      data: hex('00000000 00000002 6869 ffffffff 00000004 00000000'),
    },
    // the length (0x26 = 16 + 22) counts the block contents
    hex: '00000003 00000026 00112233445566778899aabbccddeeff 00000000000000026869 ffffffff0000000400000000',
  },
  appendBlockEnd: {
    cmd: {
      type: 'appendBlockEnd',
      writerId: W,
      sizeOfWholeEvents: 10,
      data: hex('00000000000000026869'),
      numEvents: 1,
      lastEventNumber: 1n,
      requestId: 2n,
    },
    hex: '000000040000003600112233445566778899aabbccddeeff0000000a0000000a000000000000000268690000000100000000000000010000000000000002',
  },
  conditionalAppend: {
    cmd: {
      type: 'conditionalAppend',
      writerId: W,
      eventNumber: 5n,
      expectedOffset: 1000n,
      data: utf8('payload'),
      requestId: R,
    },
    hex: '000000050000003700112233445566778899aabbccddeeff000000000000000500000000000003e800000000000000077061796c6f61640102030405060708',
  },
  conditionalBlockEnd: {
    cmd: {
      type: 'conditionalBlockEnd',
      writerId: W,
      eventNumber: 5n,
      expectedOffset: 1000n,
      data: hex('000000000000000178'),
      requestId: R,
    },
    hex: '000000590000003500112233445566778899aabbccddeeff000000000000000500000000000003e8000000090000000000000001780102030405060708',
  },
  dataAppended: {
    cmd: {
      type: 'dataAppended',
      writerId: W,
      eventNumber: 9n,
      previousEventNumber: LONG_MIN,
      requestId: R,
      currentSegmentWriteOffset: 4096n,
    },
    hex: '000000070000003000112233445566778899aabbccddeeff0000000000000009800000000000000001020304050607080000000000001000',
  },
  conditionalCheckFailed: {
    cmd: { type: 'conditionalCheckFailed', writerId: W, eventNumber: 5n, requestId: R },
    hex: '000000080000002000112233445566778899aabbccddeeff00000000000000050102030405060708',
  },
  partialEvent: {
    cmd: { type: 'partialEvent', data: utf8('part') },
    hex: 'fffffffe0000000470617274',
  },
  padding: {
    cmd: { type: 'padding', length: 11 },
    hex: 'ffffffff0000000b0000000000000000000000',
  },
  readSegment: {
    cmd: {
      type: 'readSegment',
      segment: SEG,
      offset: 1n << 40n,
      suggestedLength: 1024,
      delegationToken: TOK,
      requestId: R,
    },
    hex: '000000090000002b001073632f73742f302e2365706f63682e300000010000000000000004000003746f6b0102030405060708',
  },
  segmentRead: {
    cmd: {
      type: 'segmentRead',
      segment: SEG,
      offset: 1n << 40n,
      atTail: true,
      endOfSegment: false,
      data: utf8('data!'),
      requestId: R,
    },
    hex: '0000000a0000002d001073632f73742f302e2365706f63682e30000001000000000001000000000564617461210102030405060708',
  },
  getStreamSegmentInfo: {
    cmd: { type: 'getStreamSegmentInfo', requestId: R, segment: SEG, delegationToken: TOK },
    hex: '0000000b0000001f0102030405060708001073632f73742f302e2365706f63682e300003746f6b',
  },
  streamSegmentInfo: {
    cmd: {
      type: 'streamSegmentInfo',
      requestId: R,
      segment: SEG,
      exists: true,
      isSealed: false,
      isDeleted: true,
      lastModified: 1700000000000n,
      writeOffset: 123456n,
      startOffset: 100n,
    },
    hex: '0000000c000000350102030405060708001073632f73742f302e2365706f63682e300100010000018bcfe56800000000000001e2400000000000000064',
  },
  createSegment: {
    cmd: {
      type: 'createSegment',
      requestId: R,
      segment: SEG,
      targetRate: 1000,
      scaleType: ScaleType.EventRate,
      delegationToken: TOK,
      rolloverSizeBytes: 1n << 30n,
    },
    hex: '000000140000002c0102030405060708001073632f73742f302e2365706f63682e30000003e8020003746f6b0000000040000000',
  },
  segmentCreated: {
    cmd: { type: 'segmentCreated', requestId: R, segment: SEG },
    hex: '000000150000001a0102030405060708001073632f73742f302e2365706f63682e30',
  },
  createTransientSegment: {
    cmd: {
      type: 'createTransientSegment',
      requestId: R,
      writerId: W,
      parentSegment: SEG,
      delegationToken: TOK,
    },
    hex: '000000280000002f010203040506070800112233445566778899aabbccddeeff001073632f73742f302e2365706f63682e300003746f6b',
  },
  sealSegment: {
    cmd: { type: 'sealSegment', requestId: R, segment: SEG, delegationToken: TOK },
    hex: '0000001c0000001f0102030405060708001073632f73742f302e2365706f63682e300003746f6b',
  },
  segmentSealed: {
    cmd: { type: 'segmentSealed', requestId: R, segment: SEG },
    hex: '0000001d0000001a0102030405060708001073632f73742f302e2365706f63682e30',
  },
  truncateSegment: {
    cmd: {
      type: 'truncateSegment',
      requestId: R,
      segment: SEG,
      truncationOffset: 77n,
      delegationToken: TOK,
    },
    hex: '00000026000000270102030405060708001073632f73742f302e2365706f63682e30000000000000004d0003746f6b',
  },
  segmentTruncated: {
    cmd: { type: 'segmentTruncated', requestId: R, segment: SEG },
    hex: '000000270000001a0102030405060708001073632f73742f302e2365706f63682e30',
  },
  deleteSegment: {
    cmd: { type: 'deleteSegment', requestId: R, segment: SEG, delegationToken: TOK },
    hex: '0000001e0000001f0102030405060708001073632f73742f302e2365706f63682e300003746f6b',
  },
  segmentDeleted: {
    cmd: { type: 'segmentDeleted', requestId: R, segment: SEG },
    hex: '0000001f0000001a0102030405060708001073632f73742f302e2365706f63682e30',
  },
  updateSegmentPolicy: {
    cmd: {
      type: 'updateSegmentPolicy',
      requestId: R,
      segment: SEG,
      targetRate: 500,
      scaleType: ScaleType.Throughput,
      delegationToken: TOK,
    },
    hex: '00000020000000240102030405060708001073632f73742f302e2365706f63682e30000001f4010003746f6b',
  },
  segmentPolicyUpdated: {
    cmd: { type: 'segmentPolicyUpdated', requestId: R, segment: SEG },
    hex: '000000210000001a0102030405060708001073632f73742f302e2365706f63682e30',
  },
  mergeSegments: {
    cmd: {
      type: 'mergeSegments',
      requestId: R,
      target: 't',
      source: 's',
      delegationToken: TOK,
      attributeUpdates: [
        {
          attributeId: A,
          updateType: AttributeUpdateType.ReplaceIfEquals,
          newValue: 10n,
          oldValue: LONG_MIN,
        },
      ],
    },
    hex: '0000003a0000003801020304050607080001740001730003746f6b00000001f0e1d2c3b4a5968778695a4b3c2d1e0f04000000000000000a8000000000000000',
  },
  segmentsMerged: {
    cmd: {
      type: 'segmentsMerged',
      requestId: R,
      target: 't',
      source: 's',
      newTargetWriteOffset: 999n,
    },
    hex: '0000003b00000016010203040506070800017400017300000000000003e7',
  },
  mergeSegmentsBatch: {
    cmd: {
      type: 'mergeSegmentsBatch',
      requestId: R,
      target: 't',
      sources: ['s1', 's2'],
      delegationToken: TOK,
    },
    hex: '0000005a0000001c01020304050607080001740000000200027331000273320003746f6b',
  },
  segmentsBatchMerged: {
    cmd: {
      type: 'segmentsBatchMerged',
      requestId: R,
      target: 't',
      merged: [
        { source: 's1', newTargetWriteOffset: 10n },
        { source: 's2', newTargetWriteOffset: 20n },
      ],
    },
    hex: '0000005b0000002701020304050607080001740000000200027331000000000000000a000273320000000000000014',
  },
  getSegmentAttribute: {
    cmd: {
      type: 'getSegmentAttribute',
      requestId: R,
      segment: SEG,
      attributeId: A,
      delegationToken: TOK,
    },
    hex: '000000220000002f0102030405060708001073632f73742f302e2365706f63682e30f0e1d2c3b4a5968778695a4b3c2d1e0f0003746f6b',
  },
  segmentAttribute: {
    cmd: { type: 'segmentAttribute', requestId: R, value: LONG_MIN },
    hex: '000000230000001001020304050607088000000000000000',
  },
  updateSegmentAttribute: {
    cmd: {
      type: 'updateSegmentAttribute',
      requestId: R,
      segment: SEG,
      attributeId: A,
      newValue: 5n,
      expectedValue: LONG_MIN,
      delegationToken: TOK,
    },
    hex: '000000240000003f0102030405060708001073632f73742f302e2365706f63682e30f0e1d2c3b4a5968778695a4b3c2d1e0f000000000000000580000000000000000003746f6b',
  },
  segmentAttributeUpdated: {
    cmd: { type: 'segmentAttributeUpdated', requestId: R, success: true },
    hex: '0000002500000009010203040506070801',
  },
  createTableSegment: {
    cmd: {
      type: 'createTableSegment',
      requestId: R,
      segment: SEG,
      delegationToken: TOK,
      sortedDeprecated: false,
      keyLength: 16,
      rolloverSizeBytes: 4096n,
    },
    hex: '000000460000002c0102030405060708001073632f73742f302e2365706f63682e300003746f6b00000000100000000000001000',
  },
  deleteTableSegment: {
    cmd: {
      type: 'deleteTableSegment',
      requestId: R,
      segment: SEG,
      mustBeEmpty: true,
      delegationToken: TOK,
    },
    hex: '00000047000000200102030405060708001073632f73742f302e2365706f63682e30010003746f6b',
  },
  getTableSegmentInfo: {
    cmd: { type: 'getTableSegmentInfo', requestId: R, segment: SEG, delegationToken: TOK },
    hex: '000000440000001f0102030405060708001073632f73742f302e2365706f63682e300003746f6b',
  },
  tableSegmentInfo: {
    cmd: {
      type: 'tableSegmentInfo',
      requestId: R,
      segment: SEG,
      startOffset: 1n,
      length: 2n,
      entryCount: 3n,
      keyLength: 16,
    },
    hex: '00000045000000360102030405060708001073632f73742f302e2365706f63682e3000000000000000010000000000000002000000000000000300000010',
  },
  updateTableEntries: {
    cmd: {
      type: 'updateTableEntries',
      requestId: R,
      segment: SEG,
      delegationToken: TOK,
      entries: ENTRIES,
      tableSegmentOffset: -1n,
    },
    hex: '0000004a000000730102030405060708001073632f73742f302e2365706f63682e300003746f6b000000030000000e000000026b318000000000000000000000060000000276310000000e000000026b32ffffffffffffffff00000004000000000000000c0000000000000006000000027633ffffffffffffffff',
  },
  tableEntriesUpdated: {
    cmd: { type: 'tableEntriesUpdated', requestId: R, updatedVersions: [1n, 2n, LONG_MAX] },
    hex: '0000004b00000024010203040506070800000003000000000000000100000000000000027fffffffffffffff',
  },
  removeTableKeys: {
    cmd: {
      type: 'removeTableKeys',
      requestId: R,
      segment: SEG,
      delegationToken: TOK,
      keys: KEYS,
      tableSegmentOffset: 55n,
    },
    hex: '0000004c000000450102030405060708001073632f73742f302e2365706f63682e300003746f6b000000020000000e000000026b3100000000000000030000000c000000000000000000000037',
  },
  tableKeysRemoved: {
    cmd: { type: 'tableKeysRemoved', requestId: R, segment: SEG },
    hex: '0000004d0000001a0102030405060708001073632f73742f302e2365706f63682e30',
  },
  readTable: {
    cmd: { type: 'readTable', requestId: R, segment: SEG, delegationToken: TOK, keys: KEYS },
    hex: '0000004e0000003d0102030405060708001073632f73742f302e2365706f63682e300003746f6b000000020000000e000000026b3100000000000000030000000c00000000',
  },
  tableRead: {
    cmd: { type: 'tableRead', requestId: R, segment: SEG, entries: ENTRIES },
    hex: '0000004f000000660102030405060708001073632f73742f302e2365706f63682e30000000030000000e000000026b318000000000000000000000060000000276310000000e000000026b32ffffffffffffffff00000004000000000000000c0000000000000006000000027633',
  },
  readTableKeys: {
    cmd: {
      type: 'readTableKeys',
      requestId: R,
      segment: SEG,
      delegationToken: TOK,
      suggestedKeyCount: 10,
      continuationToken: utf8('ct'),
      fromKey: utf8('a'),
      toKey: utf8('z'),
    },
    hex: '00000053000000370102030405060708001073632f73742f302e2365706f63682e300003746f6b0000000a000000026374000000000000000161000000017a',
  },
  tableKeysRead: {
    cmd: {
      type: 'tableKeysRead',
      requestId: R,
      segment: SEG,
      keys: KEYS,
      continuationToken: utf8('next'),
    },
    hex: '00000054000000400102030405060708001073632f73742f302e2365706f63682e30000000020000000e000000026b3100000000000000030000000c00000000000000046e657874',
  },
  readTableEntries: {
    cmd: {
      type: 'readTableEntries',
      requestId: R,
      segment: SEG,
      delegationToken: TOK,
      suggestedEntryCount: 20,
      continuationToken: EMPTY,
      fromKey: EMPTY,
      toKey: EMPTY,
    },
    hex: '00000055000000330102030405060708001073632f73742f302e2365706f63682e300003746f6b0000001400000000000000000000000000000000',
  },
  tableEntriesRead: {
    cmd: {
      type: 'tableEntriesRead',
      requestId: R,
      segment: SEG,
      entries: ENTRIES,
      continuationToken: utf8('next'),
    },
    hex: '000000560000006e0102030405060708001073632f73742f302e2365706f63682e30000000030000000e000000026b318000000000000000000000060000000276310000000e000000026b32ffffffffffffffff00000004000000000000000c0000000000000006000000027633000000046e657874',
  },
  readTableEntriesDelta: {
    cmd: {
      type: 'readTableEntriesDelta',
      requestId: R,
      segment: SEG,
      delegationToken: TOK,
      fromPosition: 12n,
      suggestedEntryCount: 30,
    },
    hex: '000000580000002b0102030405060708001073632f73742f302e2365706f63682e300003746f6b000000000000000c0000001e',
  },
  tableEntriesDeltaRead: {
    cmd: {
      type: 'tableEntriesDeltaRead',
      requestId: R,
      segment: SEG,
      entries: ENTRIES,
      shouldClear: true,
      reachedEnd: false,
      lastPosition: 99n,
    },
    hex: '00000057000000700102030405060708001073632f73742f302e2365706f63682e30000000030000000e000000026b318000000000000000000000060000000276310000000e000000026b32ffffffffffffffff00000004000000000000000c000000000000000600000002763301000000000000000063',
  },
  flushToStorage: {
    cmd: { type: 'flushToStorage', containerId: 3, delegationToken: TOK, requestId: R },
    hex: 'fffffffd00000011000000030003746f6b0102030405060708',
  },
  flushedToStorage: {
    cmd: { type: 'flushedToStorage', requestId: R },
    hex: 'fffffffc000000080102030405060708',
  },
  listStorageChunks: {
    cmd: { type: 'listStorageChunks', segment: SEG, delegationToken: TOK, requestId: R },
    hex: 'fffffffb0000001f001073632f73742f302e2365706f63682e300003746f6b0102030405060708',
  },
  storageChunksListed: {
    cmd: {
      type: 'storageChunksListed',
      requestId: R,
      chunks: [
        {
          lengthInMetadata: 1n,
          lengthInStorage: 2n,
          startOffset: 3n,
          chunkName: 'chunk',
          existsInStorage: true,
        },
      ],
    },
    hex: 'fffffffa0000002c01020304050607080000000100000000000000010000000000000002000000000000000300056368756e6b01',
  },
};

export const ALL_SAMPLES: readonly { readonly cmd: Command; readonly hex: string }[] =
  Object.values(SAMPLES);
