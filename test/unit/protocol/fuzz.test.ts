import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import type { Command } from '../../../src/pravega/protocol/index.js';
import {
  CODECS,
  decodePayload,
  encodeCommand,
  EventParser,
  frameEvents,
  FrameDecoder,
} from '../../../src/pravega/protocol/index.js';
import { ALL_SAMPLES, hex } from './samples.js';

/**
 * Property tests: random, truncated and mutated bytes fed to every decoder, to the FrameDecoder
 * and to the EventParser. They must decode or throw a TributaryError (DECODE_ERROR, or
 * FRAME_TOO_LARGE for a frame header), never anything else, never hang, and never allocate more
 * than the bytes actually received.
 */

const CODES = Object.values(CODECS).map((c) => c.code);
const PAYLOADS = ALL_SAMPLES.map((s) => ({
  code: hex(s.hex).readInt32BE(0),
  payload: hex(s.hex).subarray(8),
}));

function expectTyped(err: unknown, ...codes: TributaryError['code'][]): void {
  if (!TributaryError.is(err) || !codes.includes(err.code)) {
    throw new Error(`expected a TributaryError ${codes.join('/')}, got ${String(err)}`, {
      cause: err,
    });
  }
}

/** decode(x) either throws DECODE_ERROR, or decodes to a command that re-encodes stably. */
function checkPayload(code: number, payload: Buffer): void {
  let cmd: Command;
  try {
    cmd = decodePayload(code, payload);
  } catch (err) {
    expectTyped(err, 'DECODE_ERROR');
    return;
  }
  expect(CODECS[cmd.type].code).toBe(code);
  // what was decoded re-encodes, and decodes back to the same command
  const again = decodePayload(code, encodeCommand(cmd).subarray(8));
  expect(again).toEqual(cmd);
}

/** Random edits of a valid payload: flips, cuts, inserted bytes, overwritten length fields. */
const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('int' as const),
    at: fc.nat(),
    value: fc.oneof(fc.integer(), fc.constantFrom(-1, 0, 0x7fffffff, -0x80000000, 0xffff, 0x10000)),
  }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(payload: Buffer, edits: Mutation[]): Buffer {
  let b = Buffer.from(payload);
  for (const e of edits) {
    const at = b.length === 0 ? 0 : e.at % (b.length + 1);
    switch (e.kind) {
      case 'flip':
        if (at < b.length) b[at] = e.value;
        break;
      case 'cut':
        b = b.subarray(0, at);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), e.bytes, b.subarray(at)]);
        break;
      case 'int':
        if (at + 4 <= b.length) b.writeInt32BE(e.value | 0, at);
        break;
    }
  }
  return b;
}

let allocations: number[] = [];

beforeEach(() => {
  allocations = [];
  const allocUnsafe = Buffer.allocUnsafe.bind(Buffer);
  const alloc = Buffer.alloc.bind(Buffer);
  vi.spyOn(Buffer, 'allocUnsafe').mockImplementation((size: number) => {
    allocations.push(size);
    return allocUnsafe(size);
  });
  vi.spyOn(Buffer, 'alloc').mockImplementation(
    (size: number, fill?: string | number | Uint8Array) => {
      allocations.push(size);
      return alloc(size, fill);
    },
  );
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('command decoders', () => {
  it('random payloads for every wire type: decode or DECODE_ERROR', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CODES), fc.uint8Array({ maxLength: 256 }), (code, bytes) => {
        checkPayload(code, Buffer.from(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it('every truncation of every valid payload: decode or DECODE_ERROR', () => {
    for (const { code, payload } of PAYLOADS) {
      for (let len = 0; len <= payload.length; len++) checkPayload(code, payload.subarray(0, len));
    }
  });

  it('mutated valid payloads: decode or DECODE_ERROR', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PAYLOADS),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        ({ code, payload }, edits) => {
          checkPayload(code, mutate(payload, edits));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('huge counts and lengths inside a small payload allocate nothing big', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PAYLOADS),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        ({ code, payload }, edits) => {
          const bytes = mutate(payload, edits);
          allocations = [];
          try {
            decodePayload(code, bytes);
          } catch {
            // checked above
          }
          for (const size of allocations) expect(size).toBeLessThanOrEqual(bytes.length);
        },
      ),
      { numRuns: 2000 },
    );
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

function feedFrames(bytes: Buffer, cuts: number[]): void {
  const decoder = new FrameDecoder();
  let fed = 0;
  try {
    for (const chunk of split(bytes, cuts)) {
      fed += chunk.length;
      allocations = [];
      decoder.decode(chunk);
      for (const size of allocations) expect(size).toBeLessThanOrEqual(fed);
      expect(decoder.bufferedBytes).toBeLessThanOrEqual(fed);
    }
  } catch (err) {
    expectTyped(err, 'DECODE_ERROR', 'FRAME_TOO_LARGE');
    expect(decoder.failed).toBe(true);
  }
}

describe('FrameDecoder', () => {
  const valid = Buffer.concat(ALL_SAMPLES.map((s) => encodeCommand(s.cmd)));

  it('random byte streams in random chunks: commands or a typed error', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 512 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (bytes, cuts) => {
          feedFrames(Buffer.from(bytes), cuts);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('random bytes behind a valid header: commands or a typed error', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CODES),
        fc.integer({ min: -16, max: 0x01000000 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (code, length, body, cuts) => {
          const header = Buffer.alloc(8);
          header.writeInt32BE(code, 0);
          header.writeInt32BE(length, 4);
          feedFrames(Buffer.concat([header, body]), cuts);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('a mutated stream of valid frames: commands or a typed error', () => {
    fc.assert(
      fc.property(
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (edits, cuts) => {
          feedFrames(mutate(valid, edits), cuts);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a frame announcing 16 MiB − 1 bytes allocates only once all of them have arrived', () => {
    const decoder = new FrameDecoder();
    const payloadLength = 0x00fffff7;
    decoder.decode(hex('0000000a 00fffff7'));
    const chunk = Buffer.alloc(64 * 1024);
    allocations = [];
    let left = payloadLength;
    while (left > chunk.length) {
      expect(decoder.decode(chunk)).toEqual([]);
      left -= chunk.length;
    }
    expect(allocations).toEqual([]);
    expect(decoder.bufferedBytes).toBe(8 + payloadLength - left);
    const [cmd] = decoder.decode(chunk.subarray(0, left));
    expect(cmd?.type).toBe('segmentRead');
    // the split frame was copied once, into a buffer of exactly its payload size
    expect(allocations).toEqual([payloadLength]);
  });
});

describe('EventParser', () => {
  it('random segment bytes: events or DECODE_ERROR, bounded buffering', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 512 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (bytes, cuts) => {
          const parser = new EventParser();
          let fed = 0;
          try {
            for (const chunk of split(Buffer.from(bytes), cuts)) {
              fed += chunk.length;
              allocations = [];
              parser.parse(chunk);
              for (const size of allocations) expect(size).toBeLessThanOrEqual(fed);
              expect(parser.receivedOffset).toBe(fed);
            }
          } catch (err) {
            expectTyped(err, 'DECODE_ERROR');
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('mutated framed events: events or DECODE_ERROR', () => {
    const valid = frameEvents([
      Buffer.from('one'),
      Buffer.alloc(40, 1),
      Buffer.alloc(0),
      Buffer.from('four'),
    ]);
    fc.assert(
      fc.property(
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (edits, cuts) => {
          const parser = new EventParser();
          try {
            for (const chunk of split(mutate(valid, edits), cuts)) {
              for (const e of parser.parse(chunk))
                expect(e.nextOffset - e.offset).toBe(8 + e.data.length);
            }
          } catch (err) {
            expectTyped(err, 'DECODE_ERROR');
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
