import { describe, expect, it } from 'vitest';
import { SegmentReader, type SegmentEvent } from '../../../src/pravega/client/segment-reader.js';
import { frameEvents } from '../../../src/pravega/protocol/index.js';
import type {
  SegmentReadResult,
  SegmentStore,
} from '../../../src/pravega/segment/segment-store.js';

/**
 * The segment reader parses fetched bytes into events only as it hands them out, a slice at a
 * time: every event comes out once, in order, with its offsets, whatever the sizes of reads,
 * events and the prefetch bound (an event larger than the prefetch bound included).
 */

function sealedSegment(data: Buffer): { store: SegmentStore; reads: number[] } {
  const reads: number[] = [];
  const store = {
    read(_segment: string, offset: bigint, length: number): Promise<SegmentReadResult> {
      reads.push(Number(offset));
      const chunk = data.subarray(Number(offset), Number(offset) + length);
      const end = Number(offset) + chunk.length >= data.length;
      return Promise.resolve({ offset, data: chunk, atTail: end, endOfSegment: end });
    },
  } as unknown as SegmentStore;
  return { store, reads };
}

async function readAll(
  reader: SegmentReader,
): Promise<{ events: SegmentEvent[]; batches: number }> {
  const events: SegmentEvent[] = [];
  let batches = 0;
  for (;;) {
    const batch = await reader.next();
    batches++;
    events.push(...batch.events);
    if (batch.end) return { events, batches };
  }
}

function expectAll(events: readonly SegmentEvent[], payloads: readonly Buffer[]): void {
  expect(events.length).toBe(payloads.length);
  let offset = 0;
  events.forEach((e, i) => {
    expect(e.offset).toBe(offset);
    offset += 8 + payloads[i]!.length;
    expect(e.nextOffset).toBe(offset);
    expect(e.data.equals(payloads[i]!)).toBe(true);
  });
}

describe('SegmentReader parsing by slices', () => {
  it('hands out 30 000 events of 100 B read 1 MiB at a time, in batches of a slice each', async () => {
    const payloads = Array.from({ length: 30_000 }, (_, i) => Buffer.alloc(100, i & 0xff));
    const { store } = sealedSegment(frameEvents(payloads));
    const reader = new SegmentReader(store, 's/t/0.#epoch.0', 0n, { readSize: 1024 * 1024 });
    const { events, batches } = await readAll(reader);
    expectAll(events, payloads);
    // 3.2 MB in slices of 256 KiB: not one batch of everything
    expect(batches).toBeGreaterThanOrEqual(12);
    expect(reader.position).toBe(BigInt(30_000 * 108));
  });

  it('reads events larger than the prefetch bound, split across many reads', async () => {
    const payloads = [
      Buffer.alloc(10, 1),
      Buffer.alloc(300_000, 2),
      Buffer.alloc(5, 3),
      Buffer.alloc(700_000, 4),
      Buffer.alloc(1, 5),
    ];
    const { store, reads } = sealedSegment(frameEvents(payloads));
    const reader = new SegmentReader(store, 's/t/0.#epoch.0', 0n, {
      readSize: 16 * 1024,
      prefetchBytes: 64 * 1024,
    });
    const { events } = await readAll(reader);
    expectAll(events, payloads);
    expect(reads.length).toBeGreaterThan(60);
  });

  it('starts at an offset inside the segment', async () => {
    const payloads = Array.from({ length: 1000 }, (_, i) => Buffer.from(`event ${i}`));
    const data = frameEvents(payloads);
    const start = 8 + payloads[0]!.length + 8 + payloads[1]!.length;
    const { store } = sealedSegment(data);
    const reader = new SegmentReader(store, 's/t/0.#epoch.0', BigInt(start), { readSize: 1000 });
    const { events } = await readAll(reader);
    expect(events.map((e) => e.data.toString())).toEqual(payloads.slice(2).map(String));
    expect(events[0]!.offset).toBe(start);
  });
});
