import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import type { Command } from '../../../src/pravega/protocol/command.js';
import { MAX_EVENT_SIZE } from '../../../src/pravega/protocol/constants.js';
import type { ParsedEvent } from '../../../src/pravega/protocol/events.js';
import {
  encodeAppendBlockHeader,
  encodeEventAppend,
  EventParser,
  frameEvents,
  MAX_APPEND_DATA,
} from '../../../src/pravega/protocol/events.js';
import { encodeCommand, FrameDecoder } from '../../../src/pravega/protocol/framing.js';
import { hex, utf8, W } from './samples.js';

function expectCode(fn: () => unknown, code: TributaryError['code']): TributaryError {
  try {
    fn();
  } catch (err) {
    expect(TributaryError.is(err, code), String(err)).toBe(true);
    return err as TributaryError;
  }
  throw new Error(`expected ${code}`);
}

const payloads = fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 30 });

describe('frameEvents', () => {
  it('frames each payload as [int32 0][int32 length][payload]', () => {
    expect(frameEvents([]).length).toBe(0);
    expect(frameEvents([utf8('hi')]).toString('hex')).toBe('00000000000000026869');
    expect(frameEvents([utf8('a'), Buffer.alloc(0), utf8('bc')]).toString('hex')).toBe(
      '0000000000000001' + '61' + '0000000000000000' + '0000000000000002' + '6263',
    );
  });

  it('rejects a payload over 8 MiB with EVENT_TOO_LARGE', () => {
    expect(frameEvents([Buffer.alloc(MAX_EVENT_SIZE)]).length).toBe(MAX_EVENT_SIZE + 8);
    const err = expectCode(
      () => frameEvents([Buffer.alloc(MAX_EVENT_SIZE + 1)]),
      'EVENT_TOO_LARGE',
    );
    expect(err.details).toMatchObject({ size: MAX_EVENT_SIZE + 1 });
  });
});

describe('encodeEventAppend', () => {
  it('builds the reference AppendBlockEnd vector', () => {
    const bytes = encodeEventAppend({
      writerId: W,
      events: [utf8('hi')],
      lastEventNumber: 1n,
      requestId: 2n,
    });
    expect(bytes).toEqual(
      hex(`00000004 00000036 00112233445566778899aabbccddeeff 0000000a 0000000a
           00000000 00000002 6869 00000001 0000000000000001 0000000000000002`),
    );
  });

  it('is byte-identical to encodeCommand(appendBlockEnd) over frameEvents', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 30 }),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.uuid(),
        (events, lastEventNumber, requestId, writerId) => {
          const data = frameEvents(events);
          const viaCommand = encodeCommand({
            type: 'appendBlockEnd',
            writerId,
            sizeOfWholeEvents: data.length,
            data,
            numEvents: events.length,
            lastEventNumber,
            requestId,
          });
          expect(encodeEventAppend({ writerId, events, lastEventNumber, requestId })).toEqual(
            viaCommand,
          );
        },
      ),
    );
  });

  it('takes an explicit event count', () => {
    const bytes = encodeEventAppend({
      writerId: W,
      events: [utf8('a'), utf8('b')],
      lastEventNumber: 7n,
      requestId: 0n,
      numEvents: 1,
    });
    const [cmd] = new FrameDecoder().decode(bytes);
    expect(cmd).toMatchObject({ type: 'appendBlockEnd', numEvents: 1, lastEventNumber: 7n });
  });

  it('rejects bad arguments and batches over one frame', () => {
    const base = { writerId: W, events: [utf8('x')], lastEventNumber: 1n, requestId: 1n };
    expectCode(() => encodeEventAppend({ ...base, events: [] }), 'ILLEGAL_ARGUMENT');
    expectCode(() => encodeEventAppend({ ...base, writerId: 'nope' }), 'ILLEGAL_ARGUMENT');
    expectCode(() => encodeEventAppend({ ...base, requestId: 2n ** 63n }), 'ILLEGAL_ARGUMENT');
    expectCode(
      () => encodeEventAppend({ ...base, events: [Buffer.alloc(MAX_EVENT_SIZE + 1)] }),
      'EVENT_TOO_LARGE',
    );
    const half = Buffer.alloc(MAX_EVENT_SIZE);
    expectCode(() => encodeEventAppend({ ...base, events: [half, half] }), 'FRAME_TOO_LARGE');
    const fits = Buffer.alloc(MAX_APPEND_DATA - MAX_EVENT_SIZE - 16);
    expect(encodeEventAppend({ ...base, events: [half, fits] }).length).toBe(0x00ffffff);
  });
});

describe('encodeAppendBlockHeader', () => {
  it('announces 16 + blockSize bytes; the block contents follow', () => {
    const contents = Buffer.concat([frameEvents([utf8('hi')]), hex('ffffffff 00000004 00000000')]);
    const header = encodeAppendBlockHeader(W, contents.length);
    expect(header.toString('hex')).toBe(
      '00000003' + '00000026' + '00112233445566778899aabbccddeeff',
    );
    const [cmd] = new FrameDecoder().decode(Buffer.concat([header, contents]));
    expect(cmd).toEqual({ type: 'appendBlock', writerId: W, data: contents });
  });

  it('rejects a block over the frame limit', () => {
    expectCode(() => encodeAppendBlockHeader(W, 0x00ffffff - 24 + 1), 'FRAME_TOO_LARGE');
    expect(encodeAppendBlockHeader(W, 0x00ffffff - 24).readInt32BE(4)).toBe(0x00ffffff - 8);
  });
});

/** Cuts `bytes` at the given positions. */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

describe('EventParser', () => {
  it('reassembles events split anywhere and reports their offsets', () => {
    fc.assert(
      fc.property(
        payloads,
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.nat({ max: 2 ** 40 }),
        (events, cuts, start) => {
          const data = frameEvents(events);
          const parser = new EventParser(BigInt(start));
          const out: ParsedEvent[] = [];
          let at = start;
          for (const chunk of split(data, cuts)) {
            out.push(...parser.parse(chunk, at));
            at += chunk.length;
          }
          expect(out.map((e) => Buffer.from(e.data))).toEqual(events.map((e) => Buffer.from(e)));
          let offset = start;
          for (const [i, e] of out.entries()) {
            expect(e.offset).toBe(offset);
            offset += 8 + (events[i] as Uint8Array).length;
            expect(e.nextOffset).toBe(offset);
          }
          expect(parser.offset).toBe(start + data.length);
          expect(parser.receivedOffset).toBe(start + data.length);
          expect(parser.hasPartialEvent).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('returns events that arrived in one piece as views, split ones as copies', () => {
    const data = frameEvents([utf8('one'), utf8('two')]);
    const parser = new EventParser();
    const [first] = parser.parse(data.subarray(0, 15));
    expect(first?.data.buffer).toBe(data.buffer);
    expect(parser.hasPartialEvent).toBe(true);
    expect(parser.bufferedBytes).toBe(4);
    expect(parser.offset).toBe(11);
    expect(parser.receivedOffset).toBe(15);
    const [second] = parser.parse(data.subarray(15));
    expect(second).toEqual({ data: utf8('two'), offset: 11, nextOffset: 22 });
    expect(parser.hasPartialEvent).toBe(false);
  });

  it('delivers events through a callback without allocating per event', () => {
    const parser = new EventParser(100);
    const seen: [string, number, number][] = [];
    parser.push(frameEvents([utf8('a'), utf8('bb')]), (d, o, n) => seen.push([d.toString(), o, n]));
    expect(seen).toEqual([
      ['a', 100, 109],
      ['bb', 109, 119],
    ]);
  });

  it('appends payloads to an array (pushInto) as push hands them out, split anywhere', () => {
    fc.assert(
      fc.property(
        payloads,
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.nat({ max: 2 ** 40 }),
        (events, cuts, start) => {
          const data = frameEvents(events);
          const parser = new EventParser(start);
          const out: Buffer[] = [];
          let at = start;
          let offset = start;
          for (const chunk of split(data, cuts)) {
            const before = out.length;
            parser.pushInto(chunk, out, at);
            at += chunk.length;
            for (const p of out.slice(before)) offset += 8 + p.length;
            // the parser's offset is just after the last payload appended
            expect(parser.offset).toBe(offset);
          }
          expect(out.map((p) => Buffer.from(p))).toEqual(events.map((e) => Buffer.from(e)));
          expect(out.every((p) => Buffer.isBuffer(p))).toBe(true);
          expect(parser.offset).toBe(start + data.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('pushInto: whole events are views of the pushed data; the ones before corrupt data come first', () => {
    const data = frameEvents([utf8('one'), utf8(''), utf8('two')]);
    const parser = new EventParser(7);
    const out: Buffer[] = [];
    parser.pushInto(data, out);
    expect(out.map((p) => p.toString())).toEqual(['one', '', 'two']);
    expect(out[0]!.buffer).toBe(data.buffer);
    expect(out[0]!.byteOffset).toBe(data.byteOffset + 8);
    expect(parser.offset).toBe(7 + data.length);
    const err = expectCode(
      () =>
        parser.pushInto(Buffer.concat([frameEvents([utf8('ok')]), hex('deadbeef 00000000')]), out),
      'DECODE_ERROR',
    );
    expect(out.map((p) => p.toString())).toEqual(['one', '', 'two', 'ok']);
    expect(err.message).toContain(`offset ${7 + data.length + 10}`);
  });

  it('rejects a record whose type is not 0', () => {
    const parser = new EventParser(5);
    const err = expectCode(() => parser.parse(hex('00000001 00000000')), 'DECODE_ERROR');
    expect(err.message).toContain('offset 5');
    // failed until reset
    expectCode(() => parser.parse(frameEvents([utf8('x')])), 'DECODE_ERROR');
    parser.reset(0);
    expect(parser.parse(frameEvents([utf8('x')]))).toHaveLength(1);
  });

  it('rejects lengths over 8 MiB or negative, before waiting for the body', () => {
    expectCode(() => new EventParser().parse(hex('00000000 00800001')), 'DECODE_ERROR');
    expectCode(() => new EventParser().parse(hex('00000000 ffffffff')), 'DECODE_ERROR');
    const parser = new EventParser();
    expect(parser.parse(hex('00000000 00800000'))).toEqual([]);
    expect(parser.bufferedBytes).toBe(8);
  });

  it('delivers the events before corrupt data, then throws', () => {
    const parser = new EventParser();
    const seen: string[] = [];
    expectCode(
      () =>
        parser.push(Buffer.concat([frameEvents([utf8('ok')]), hex('deadbeef 00000000')]), (d) =>
          seen.push(d.toString()),
        ),
      'DECODE_ERROR',
    );
    expect(seen).toEqual(['ok']);
  });

  it('checks that pushed data is contiguous', () => {
    const parser = new EventParser(10n);
    parser.parse(hex('0000'), 10n);
    expectCode(() => parser.parse(hex('0000'), 11), 'ILLEGAL_ARGUMENT');
    expect(parser.parse(hex('0000 00000001 61'), 12)).toEqual([
      { data: utf8('a'), offset: 10, nextOffset: 19 },
    ]);
  });

  it('rejects offsets beyond 2^53 or negative', () => {
    expectCode(() => new EventParser(2n ** 60n), 'ILLEGAL_ARGUMENT');
    expectCode(() => new EventParser(-1), 'ILLEGAL_ARGUMENT');
  });

  it('reads back what a FrameDecoder hands out as SegmentRead data', () => {
    const events = [utf8('first'), Buffer.alloc(5000, 9), utf8('third')];
    const data = frameEvents(events);
    const replies: Command[] = [
      {
        type: 'segmentRead',
        segment: 's',
        offset: 0n,
        atTail: false,
        endOfSegment: false,
        data: data.subarray(0, 2000),
        requestId: 1n,
      },
      {
        type: 'segmentRead',
        segment: 's',
        offset: 2000n,
        atTail: true,
        endOfSegment: false,
        data: data.subarray(2000),
        requestId: 2n,
      },
    ];
    const decoder = new FrameDecoder();
    const parser = new EventParser();
    const out: Buffer[] = [];
    for (const reply of decoder.decode(Buffer.concat(replies.map((r) => encodeCommand(r))))) {
      if (reply.type !== 'segmentRead') throw new Error('unexpected');
      for (const e of parser.parse(reply.data, reply.offset)) out.push(e.data);
    }
    expect(out).toEqual(events);
  });
});
