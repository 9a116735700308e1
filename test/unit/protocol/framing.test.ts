import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import type { Command } from '../../../src/pravega/protocol/command.js';
import { MAX_FRAME } from '../../../src/pravega/protocol/constants.js';
import {
  decodeCommand,
  encodeCommand,
  FrameDecoder,
} from '../../../src/pravega/protocol/framing.js';
import { ALL_SAMPLES, hex, SAMPLES, SEG } from './samples.js';

/** Cuts `bytes` at the given (sorted, deduplicated) positions. */
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

function expectCode(fn: () => unknown, code: 'DECODE_ERROR' | 'FRAME_TOO_LARGE'): TributaryError {
  try {
    fn();
  } catch (err) {
    expect(TributaryError.is(err, code), String(err)).toBe(true);
    return err as TributaryError;
  }
  throw new Error(`expected ${code}`);
}

describe('FrameDecoder', () => {
  const stream = Buffer.concat(ALL_SAMPLES.map((s) => encodeCommand(s.cmd)));
  const expected = ALL_SAMPLES.map((s) => s.cmd);

  it('decodes every command from one chunk', () => {
    const decoder = new FrameDecoder();
    expect(decoder.decode(stream)).toEqual(expected);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('decodes the same commands however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 40 }), (cuts) => {
        const decoder = new FrameDecoder();
        const out: Command[] = [];
        for (const chunk of split(stream, cuts)) out.push(...decoder.decode(chunk));
        expect(out).toEqual(expected);
        expect(decoder.bufferedBytes).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('decodes byte by byte', () => {
    const decoder = new FrameDecoder();
    const out: Command[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...decoder.decode(stream.subarray(i, i + 1)));
    expect(out).toEqual(expected);
  });

  it('hands out SegmentRead data as a view of the received chunk', () => {
    const data = Buffer.alloc(100_000, 0xab);
    const frame = encodeCommand({ ...SAMPLES.segmentRead.cmd, data });
    const chunk = Buffer.concat([Buffer.alloc(3), frame, Buffer.alloc(5)]).subarray(3);
    const decoder = new FrameDecoder();
    const [cmd] = decoder.decode(chunk);
    expect(cmd?.type).toBe('segmentRead');
    const read = cmd as Extract<Command, { type: 'segmentRead' }>;
    expect(read.data.equals(data)).toBe(true);
    expect(read.data.buffer).toBe(chunk.buffer);
    expect(decoder.bufferedBytes).toBe(5);
  });

  it('copies a frame split across chunks once, into a buffer of its exact size', () => {
    const data = Buffer.alloc(10_000, 1);
    const frame = encodeCommand({ ...SAMPLES.segmentRead.cmd, data });
    const decoder = new FrameDecoder();
    expect(decoder.decode(frame.subarray(0, 500))).toEqual([]);
    expect(decoder.decode(frame.subarray(500, 9000))).toEqual([]);
    const [cmd] = decoder.decode(frame.subarray(9000));
    const read = cmd as Extract<Command, { type: 'segmentRead' }>;
    expect(read.data.equals(data)).toBe(true);
    // the payload (frame minus header) was copied into a buffer of exactly its size
    expect(read.data.buffer.byteLength).toBe(frame.length - 8);
  });

  it('delivers the commands before a corrupt frame, then fails for good', () => {
    const good = encodeCommand(SAMPLES.keepAlive.cmd);
    const decoder = new FrameDecoder();
    const seen: Command[] = [];
    expectCode(
      () =>
        decoder.push(Buffer.concat([good, good, hex('00000006 00000000')]), (c) => seen.push(c)),
      'DECODE_ERROR',
    );
    expect(seen).toHaveLength(2);
    expect(decoder.failed).toBe(true);
    expectCode(() => decoder.decode(good), 'DECODE_ERROR');
  });

  it('rejects an unknown type as soon as the header arrives', () => {
    for (const code of ['00000000', '00000006', '0000002a', '00000065', 'ffffff80', '7fffffff']) {
      const err = expectCode(
        () => new FrameDecoder().decode(hex(code + '00000010')),
        'DECODE_ERROR',
      );
      expect(err.message).toContain('unknown wire command type');
    }
  });

  it('rejects a negative length', () => {
    const err = expectCode(
      () => new FrameDecoder().decode(hex('00000064 ffffffff')),
      'DECODE_ERROR',
    );
    expect(err.message).toContain('negative length');
  });

  it('rejects frames over 16 MiB − 1 (header included) before their body arrives', () => {
    // 8 + 0x00fffff8 = MAX_FRAME: accepted, waits for the body without allocating it
    const decoder = new FrameDecoder();
    expect(decoder.decode(hex('0000000a 00fffff7'))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(8);
    const err = expectCode(
      () => new FrameDecoder().decode(hex('0000000a 00fffff8')),
      'FRAME_TOO_LARGE',
    );
    expect(err.details).toMatchObject({ frameSize: MAX_FRAME + 1, maxFrameSize: MAX_FRAME });
    expectCode(() => new FrameDecoder().decode(hex('0000000a 7fffffff')), 'FRAME_TOO_LARGE');
    expectCode(
      () => new FrameDecoder({ maxFrameSize: 100 }).decode(hex('00000064 0000005d')),
      'FRAME_TOO_LARGE',
    );
  });

  it('rejects a payload shorter than its fields', () => {
    // a SegmentCreated frame whose payload is cut inside the segment name
    const err = expectCode(
      () => new FrameDecoder().decode(hex('00000015 0000000c 0000000000000001 0010 7363')),
      'DECODE_ERROR',
    );
    expect(err.message).toContain('SegmentCreated.segment');
  });

  it('rejects an out-of-range option', () => {
    expect(() => new FrameDecoder({ maxFrameSize: MAX_FRAME + 1 })).toThrow(TributaryError);
  });
});

describe('decodeCommand', () => {
  it('decodes exactly one frame', () => {
    expect(decodeCommand(encodeCommand(SAMPLES.sealSegment.cmd))).toEqual(SAMPLES.sealSegment.cmd);
  });

  it('rejects a short, long or headerless buffer', () => {
    const frame = encodeCommand({ type: 'segmentSealed', requestId: 1n, segment: SEG });
    expectCode(() => decodeCommand(frame.subarray(0, 5)), 'DECODE_ERROR');
    expectCode(() => decodeCommand(frame.subarray(0, frame.length - 1)), 'DECODE_ERROR');
    expectCode(() => decodeCommand(Buffer.concat([frame, hex('00')])), 'DECODE_ERROR');
  });
});
