import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import type { Command } from '../../../src/pravega/protocol/command.js';
import {
  CODECS,
  codecForCode,
  isErrorReply,
  requestIdOf,
  typeCodeOf,
} from '../../../src/pravega/protocol/command.js';
import {
  LONG_MAX,
  LONG_MIN,
  TABLE_KEY_NO_VERSION,
  WireCommandType,
} from '../../../src/pravega/protocol/constants.js';
import {
  decodeCommand,
  decodePayload,
  encodeCommand,
  encodeCommandParts,
  FrameDecoder,
} from '../../../src/pravega/protocol/framing.js';
import { ALL_SAMPLES, hex, R, SAMPLES, SEG, utf8, W } from './samples.js';

const clean = (h: string): string => h.replace(/\s+/g, '');

function roundTrip(cmd: Command): Command {
  const decoder = new FrameDecoder();
  const out = decoder.decode(encodeCommand(cmd));
  expect(out).toHaveLength(1);
  expect(decoder.bufferedBytes).toBe(0);
  return out[0] as Command;
}

describe('every command', () => {
  it('has a sample, a unique code and a codec', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(CODECS).sort());
    const codes = Object.values(CODECS).map((c) => c.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const codec of Object.values(CODECS)) expect(codecForCode(codec.code)).toBe(codec);
  });

  describe.each(ALL_SAMPLES.map((s) => [s.cmd.type, s] as const))('%s', (_type, sample) => {
    it('encodes to the bytes of the Java 0.13 encoder', () => {
      expect(encodeCommand(sample.cmd).toString('hex')).toBe(clean(sample.hex));
    });

    it('round-trips through the FrameDecoder', () => {
      expect(roundTrip(sample.cmd)).toEqual(sample.cmd);
    });

    it('decodes the Java bytes', () => {
      expect(decodeCommand(hex(sample.hex))).toEqual(sample.cmd);
    });

    it('encodes to the same bytes in parts (with and without zero copy)', () => {
      const whole = encodeCommand(sample.cmd);
      expect(Buffer.concat(encodeCommandParts(sample.cmd))).toEqual(whole);
      expect(Buffer.concat(encodeCommandParts(sample.cmd, 1))).toEqual(whole);
    });

    it('rejects every truncation of its payload with a DECODE_ERROR (or decodes the optional prefix)', () => {
      const frame = hex(sample.hex);
      const code = frame.readInt32BE(0);
      const payload = frame.subarray(8);
      for (let len = 0; len < payload.length; len++) {
        try {
          const cmd = decodePayload(code, payload.subarray(0, len));
          // only trailing-optional fields (and "rest of frame" payloads) may be cut off
          expect(cmd.type).toBe(sample.cmd.type);
        } catch (err) {
          expect(TributaryError.is(err, 'DECODE_ERROR')).toBe(true);
        }
      }
    });
  });
});

describe('reference test vectors (§1.9)', () => {
  it('Hello(16, 5)', () => {
    expect(encodeCommand({ type: 'hello', highVersion: 16, lowVersion: 5 }).toString('hex')).toBe(
      'ffffff81000000080000001000000005',
    );
  });

  it('KeepAlive', () => {
    expect(encodeCommand({ type: 'keepAlive' }).toString('hex')).toBe('0000006400000000');
  });

  it('SetupAppend', () => {
    const bytes = encodeCommand({
      type: 'setupAppend',
      requestId: 1n,
      writerId: W,
      segment: 'sc/st/0.#epoch.0',
      delegationToken: '',
    });
    expect(bytes.toString('hex')).toBe(
      clean(`00000001 0000002c 0000000000000001 00112233445566778899aabbccddeeff
             0010 73632f73742f302e2365706f63682e30 0000`),
    );
  });

  it('AppendBlockEnd with one event "hi"', () => {
    const bytes = encodeCommand({
      type: 'appendBlockEnd',
      writerId: W,
      sizeOfWholeEvents: 10,
      data: hex('00000000 00000002 6869'),
      numEvents: 1,
      lastEventNumber: 1n,
      requestId: 2n,
    });
    expect(bytes.toString('hex')).toBe(
      clean(`00000004 00000036 00112233445566778899aabbccddeeff 0000000a 0000000a
             00000000 00000002 6869 00000001 0000000000000001 0000000000000002`),
    );
  });

  it('ReadSegment', () => {
    const bytes = encodeCommand({
      type: 'readSegment',
      segment: 'sc/st/0.#epoch.0',
      offset: 0n,
      suggestedLength: 1024,
      delegationToken: '',
      requestId: 3n,
    });
    expect(bytes.toString('hex')).toBe(
      clean(`00000009 00000028 0010 73632f73742f302e2365706f63682e30 0000000000000000
             00000400 0000 0000000000000003`),
    );
  });
});

describe('pitfalls (§8)', () => {
  it('the delta pair is numbered in reverse: request 88, reply 87', () => {
    expect(typeCodeOf('readTableEntriesDelta')).toBe(0x58);
    expect(typeCodeOf('tableEntriesDeltaRead')).toBe(0x57);
    expect(encodeCommand(SAMPLES.readTableEntriesDelta.cmd).readInt32BE(0)).toBe(88);
    expect(encodeCommand(SAMPLES.tableEntriesDeltaRead.cmd).readInt32BE(0)).toBe(87);
  });

  it('CreateSegment writes targetRate (int) before scaleType (byte)', () => {
    const bytes = encodeCommand({
      type: 'createSegment',
      requestId: 0n,
      segment: 's',
      targetRate: 0x01020304,
      scaleType: 2,
      delegationToken: '',
      rolloverSizeBytes: 0n,
    });
    // header 8, requestId 8, segment 2 + 1
    expect(bytes.subarray(19, 24).toString('hex')).toBe('0102030402');
  });

  it('a TableKey omits the version when the key is empty', () => {
    const bytes = encodeCommand({
      type: 'readTable',
      requestId: 0n,
      segment: 's',
      delegationToken: '',
      keys: [{ key: Buffer.alloc(0), version: 5n }],
    });
    // ... int n = 1, int payloadSize = 12, int keyLength = 0 and nothing more
    expect(bytes.subarray(bytes.length - 12).toString('hex')).toBe('00000001000000' + '0c00000000');
    const back = roundTrip({
      type: 'readTable',
      requestId: 0n,
      segment: 's',
      delegationToken: '',
      keys: [{ key: Buffer.alloc(0), version: 5n }],
    });
    expect(back).toMatchObject({ keys: [{ key: Buffer.alloc(0), version: TABLE_KEY_NO_VERSION }] });
  });

  it('ReadSegment and SegmentRead put the requestId last, DataAppended 4th', () => {
    const read = encodeCommand(SAMPLES.readSegment.cmd);
    expect(read.readBigInt64BE(read.length - 8)).toBe(R);
    const segRead = encodeCommand(SAMPLES.segmentRead.cmd);
    expect(segRead.readBigInt64BE(segRead.length - 8)).toBe(R);
    const acked = encodeCommand(SAMPLES.dataAppended.cmd);
    // header 8, writerId 16, eventNumber 8, previousEventNumber 8
    expect(acked.readBigInt64BE(8 + 16 + 16)).toBe(R);
  });

  it('AppendBlock counts its block contents in the frame length', () => {
    const bytes = encodeCommand({ type: 'appendBlock', writerId: W, data: Buffer.alloc(100) });
    expect(bytes.readInt32BE(4)).toBe(116);
    expect(bytes.length).toBe(124);
  });

  it('longs are fixed 8-byte big-endian; Long.MIN_VALUE and MAX_VALUE round-trip', () => {
    for (const value of [LONG_MIN, LONG_MAX, -1n, 0n, 1n << 32n]) {
      const cmd: Command = { type: 'segmentAttribute', requestId: value, value };
      const bytes = encodeCommand(cmd);
      expect(bytes.length).toBe(8 + 16);
      expect(roundTrip(cmd)).toEqual(cmd);
    }
    expect(
      encodeCommand({ type: 'segmentAttribute', requestId: 0n, value: LONG_MIN }).subarray(16),
    ).toEqual(hex('8000000000000000'));
  });
});

describe('trailing-optional fields', () => {
  /** The sample's frame with its last `cut` payload bytes removed. */
  function cut(sample: { hex: string }, bytes: number): Command {
    const frame = hex(sample.hex);
    return decodePayload(frame.readInt32BE(0), frame.subarray(8, frame.length - bytes));
  }

  it('decode to their documented defaults when absent', () => {
    expect(cut(SAMPLES.wrongHost, 2 + 18)).toMatchObject({ serverStackTrace: '' });
    expect(cut(SAMPLES.segmentIsSealed, 8)).toMatchObject({ offset: -1n });
    expect(cut(SAMPLES.segmentIsSealed, 8 + 20)).toMatchObject({
      serverStackTrace: '',
      offset: -1n,
    });
    expect(cut(SAMPLES.noSuchSegment, 8)).toMatchObject({ offset: -1n });
    expect(cut(SAMPLES.invalidEventNumber, 8 + 20)).toMatchObject({
      serverStackTrace: '',
      eventNumber: -1n,
    });
    expect(cut(SAMPLES.segmentIsTruncated, 8)).toMatchObject({ startOffset: 100n, offset: -1n });
    expect(cut(SAMPLES.authTokenCheckFailed, 4)).toMatchObject({ errorCode: -1 });
    expect(cut(SAMPLES.authTokenCheckFailed, 4 + 20)).toMatchObject({
      serverStackTrace: '',
      errorCode: -1,
    });
    expect(cut(SAMPLES.appendBlockEnd, 8)).toMatchObject({ requestId: -1n });
    expect(cut(SAMPLES.conditionalAppend, 8)).toMatchObject({ requestId: -1n });
    expect(cut(SAMPLES.dataAppended, 24)).toMatchObject({
      previousEventNumber: -1n,
      requestId: -1n,
      currentSegmentWriteOffset: -1n,
    });
    expect(cut(SAMPLES.conditionalCheckFailed, 8)).toMatchObject({ requestId: -1n });
    expect(cut(SAMPLES.readSegment, 8)).toMatchObject({ requestId: -1n });
    expect(cut(SAMPLES.segmentRead, 8)).toMatchObject({ requestId: -1n, data: utf8('data!') });
    expect(cut(SAMPLES.streamSegmentInfo, 8)).toMatchObject({ startOffset: 0n });
    expect(cut(SAMPLES.createSegment, 8)).toMatchObject({ rolloverSizeBytes: 0n });
    expect(cut(SAMPLES.segmentsMerged, 8)).toMatchObject({ newTargetWriteOffset: -1n });
    expect(cut(SAMPLES.mergeSegments, 4 + 33)).toMatchObject({ attributeUpdates: [] });
    expect(cut(SAMPLES.createTableSegment, 13)).toMatchObject({
      sortedDeprecated: false,
      keyLength: 0,
      rolloverSizeBytes: 0n,
    });
    expect(cut(SAMPLES.updateTableEntries, 8)).toMatchObject({ tableSegmentOffset: -1n });
    expect(cut(SAMPLES.removeTableKeys, 8)).toMatchObject({ tableSegmentOffset: -1n });
    expect(cut(SAMPLES.readTableKeys, 4 + 1 + 4 + 1)).toMatchObject({
      continuationToken: utf8('ct'),
      fromKey: Buffer.alloc(0),
      toKey: Buffer.alloc(0),
    });
  });

  it('are ignored when extra bytes follow the known fields (newer peers)', () => {
    const frame = encodeCommand(SAMPLES.segmentCreated.cmd);
    const payload = Buffer.concat([frame.subarray(8), hex('deadbeef')]);
    expect(decodePayload(WireCommandType.SEGMENT_CREATED, payload)).toEqual(
      SAMPLES.segmentCreated.cmd,
    );
  });
});

describe('requestIdOf and isErrorReply', () => {
  it('gives every command its request id uniformly', () => {
    expect(requestIdOf(SAMPLES.hello.cmd)).toBe(0n);
    expect(requestIdOf(SAMPLES.keepAlive.cmd)).toBe(-1n);
    expect(requestIdOf(SAMPLES.appendBlock.cmd)).toBeUndefined();
    expect(requestIdOf(SAMPLES.partialEvent.cmd)).toBeUndefined();
    expect(requestIdOf(SAMPLES.padding.cmd)).toBeUndefined();
    expect(requestIdOf(SAMPLES.appendBlockEnd.cmd)).toBe(2n);
    const others = ALL_SAMPLES.filter(
      (s) =>
        ![
          'hello',
          'keepAlive',
          'appendBlock',
          'partialEvent',
          'padding',
          'appendBlockEnd',
        ].includes(s.cmd.type),
    );
    for (const s of others) expect(requestIdOf(s.cmd), s.cmd.type).toBe(R);
  });

  it('classifies the twelve error replies', () => {
    const errors = ALL_SAMPLES.filter((s) => isErrorReply(s.cmd)).map((s) => s.cmd.type);
    expect(errors.sort()).toEqual(
      [
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
      ].sort(),
    );
  });
});

describe('encoding validates its input', () => {
  const expectIllegal = (fn: () => unknown, field: string): void => {
    try {
      fn();
      expect.unreachable('should have thrown');
    } catch (err) {
      expect(TributaryError.is(err, 'ILLEGAL_ARGUMENT')).toBe(true);
      expect((err as TributaryError).message).toContain(field);
    }
  };

  it('rejects out-of-range numbers and malformed UUIDs, naming the field', () => {
    const base = SAMPLES.setupAppend.cmd;
    expectIllegal(() => encodeCommand({ ...base, requestId: 1n << 63n }), 'SetupAppend.requestId');
    expectIllegal(() => encodeCommand({ ...base, writerId: 'not-a-uuid' }), 'SetupAppend.writerId');
    expectIllegal(
      () => encodeCommand({ type: 'hello', highVersion: 2 ** 31, lowVersion: 5 }),
      'Hello.highVersion',
    );
    expectIllegal(
      () => encodeCommand({ type: 'hello', highVersion: 1.5, lowVersion: 5 }),
      'highVersion',
    );
    expectIllegal(() => encodeCommand({ type: 'padding', length: -1 }), 'Padding.length');
    expectIllegal(
      () => encodeCommand({ ...SAMPLES.createSegment.cmd, scaleType: 256 }),
      'CreateSegment.scaleType',
    );
  });

  it('rejects strings over 65535 encoded bytes', () => {
    expectIllegal(
      () => encodeCommand({ ...SAMPLES.segmentCreated.cmd, segment: 'x'.repeat(65536) }),
      'SegmentCreated.segment',
    );
    expectIllegal(
      () => encodeCommand({ ...SAMPLES.segmentCreated.cmd, segment: '\u0800'.repeat(21846) }),
      '65535',
    );
    expect(() =>
      encodeCommand({ ...SAMPLES.segmentCreated.cmd, segment: 'x'.repeat(65535) }),
    ).not.toThrow();
  });

  it('rejects frames over 16 MiB − 1 with FRAME_TOO_LARGE', () => {
    const big = Buffer.alloc(0x00ffffff);
    try {
      encodeCommand({ type: 'partialEvent', data: big });
      expect.unreachable('should have thrown');
    } catch (err) {
      expect(TributaryError.is(err, 'FRAME_TOO_LARGE')).toBe(true);
    }
    // exactly at the limit is fine
    const atLimit = big.subarray(8);
    const parts = encodeCommandParts({ type: 'partialEvent', data: atLimit });
    expect(parts).toHaveLength(2);
    expect(parts[1] === atLimit).toBe(true);
  });

  it('rejects a ConditionalAppend over 8 MiB with EVENT_TOO_LARGE', () => {
    try {
      encodeCommand({ ...SAMPLES.conditionalAppend.cmd, data: Buffer.alloc(8 * 1024 * 1024 + 1) });
      expect.unreachable('should have thrown');
    } catch (err) {
      expect(TributaryError.is(err, 'EVENT_TOO_LARGE')).toBe(true);
    }
  });
});

describe('encodeCommandParts', () => {
  it('passes large byte fields by reference', () => {
    const data = Buffer.alloc(64 * 1024, 7);
    const parts = encodeCommandParts({
      type: 'appendBlockEnd',
      writerId: W,
      sizeOfWholeEvents: data.length,
      data,
      numEvents: 1,
      lastEventNumber: 1n,
      requestId: 9n,
    });
    expect(parts).toHaveLength(3);
    expect(parts[1]).toBe(data);
    expect(parts[0]?.length).toBe(8 + 16 + 4 + 4);
    expect(parts[2]?.length).toBe(4 + 8 + 8);
  });

  it('copies small byte fields into the header buffer', () => {
    const parts = encodeCommandParts({
      type: 'segmentRead',
      segment: SEG,
      offset: 0n,
      atTail: false,
      endOfSegment: false,
      data: utf8('small'),
      requestId: 1n,
    });
    expect(parts).toHaveLength(1);
  });
});
