import { describe, expect, it } from 'vitest';
import { OwnedSegment } from '../../../src/pravega/client/reader-group/owned-segment.js';
import { SegmentReader } from '../../../src/pravega/client/segment-reader.js';
import { frameEvents } from '../../../src/pravega/protocol/index.js';
import type {
  SegmentReadResult,
  SegmentStore,
} from '../../../src/pravega/segment/segment-store.js';

/**
 * Runs of payloads (no object per event): the offsets a caller derives from a run (each event
 * right after the previous one's 8-byte header and payload) are the events' true offsets, and
 * the position after a run is where reading resumes — with events of many sizes, reads that split
 * events, a start offset inside the segment, and runs cut short by `max`.
 */

function sealedSegment(data: Buffer, readSize: number): SegmentStore {
  return {
    read(_segment: string, offset: bigint): Promise<SegmentReadResult> {
      const chunk = data.subarray(Number(offset), Number(offset) + readSize);
      const end = Number(offset) + chunk.length >= data.length;
      return Promise.resolve({ offset, data: chunk, atTail: end, endOfSegment: end });
    },
  } as unknown as SegmentStore;
}

/** payloads of 0..299 bytes (a few empty ones), and the offset of each event */
function segmentData(count: number): { payloads: Buffer[]; offsets: number[]; data: Buffer } {
  const payloads = Array.from({ length: count }, (_, i) => Buffer.alloc((i * 37) % 300, i & 0xff));
  const offsets: number[] = [];
  let at = 0;
  for (const p of payloads) {
    offsets.push(at);
    at += 8 + p.length;
  }
  return { payloads, offsets, data: frameEvents(payloads) };
}

describe('payload runs', () => {
  it('SegmentReader.nextRun: derived offsets are the events offsets, from a start inside the segment', async () => {
    const { payloads, offsets, data } = segmentData(5_000);
    const from = 1_000;
    const reader = new SegmentReader(
      sealedSegment(data, 4099),
      's/t/0.#epoch.0',
      BigInt(offsets[from]!),
      {
        readSize: 4099,
        prefetchBytes: 16 * 1024,
      },
    );
    let i = from;
    for (;;) {
      const run = await reader.nextRun();
      let offset = run.offset;
      for (const p of run.payloads) {
        expect(offset).toBe(offsets[i]);
        expect(p.equals(payloads[i]!)).toBe(true);
        offset += 8 + p.length;
        i++;
      }
      expect(run.nextOffset).toBe(offset);
      expect(reader.position).toBe(BigInt(offset));
      if (run.end) break;
    }
    expect(i).toBe(payloads.length);
  });

  it('OwnedSegment.takeRun: runs of at most max events, every event once, the position after each', async () => {
    const { payloads, offsets, data } = segmentData(3_000);
    let wake: (() => void) | undefined;
    const seg = new OwnedSegment(
      sealedSegment(data, 1000),
      's/t/0.#epoch.0',
      0n,
      undefined,
      { readSize: 1000, prefetchBytes: 8 * 1024 },
      () => wake?.(),
      (err) => {
        throw err;
      },
    );
    let i = 0;
    while (!seg.finished) {
      const run = seg.takeRun(7);
      if (run === null) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
        continue;
      }
      expect(run.payloads.length).toBeGreaterThan(0);
      expect(run.payloads.length).toBeLessThanOrEqual(7);
      expect(run.offset).toBe(offsets[i]);
      let offset = run.offset;
      for (const p of run.payloads) {
        expect(p.equals(payloads[i]!)).toBe(true);
        offset += 8 + p.length;
        i++;
      }
      expect(seg.position).toBe(BigInt(offset));
    }
    expect(i).toBe(payloads.length);
    expect(seg.position).toBe(BigInt(data.length));
    seg.close();
  });
});
