import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { SegmentReader, type SegmentBatch } from '../../../src/pravega/client/segment-reader.js';
import { frameEvents } from '../../../src/pravega/protocol/index.js';
import type {
  SegmentReadResult,
  SegmentStore,
} from '../../../src/pravega/segment/segment-store.js';

/**
 * A sealed segment of ten 12-byte framed events (8-byte header + 4-byte payload), read 20 bytes
 * at a time, whose head is truncated to `truncateTo` right after the first read: the first read
 * ends inside the second event, the next one falls below the new start.
 */
function scriptedSegment(truncateTo: bigint): { store: SegmentStore; reads: bigint[] } {
  const payloads = Array.from({ length: 10 }, (_, i) => Buffer.from(`ev${i}.`.slice(0, 4)));
  const data = frameEvents(payloads);
  let start = 0n;
  const reads: bigint[] = [];
  const store = {
    read(_segment: string, offset: bigint, length: number): Promise<SegmentReadResult> {
      reads.push(offset);
      if (offset < start) {
        return Promise.reject(
          new TributaryError('SEGMENT_TRUNCATED', `truncated at ${start}`, {
            details: { segment: 's/t/0.#epoch.0', startOffset: start },
          }),
        );
      }
      const chunk = data.subarray(Number(offset), Number(offset) + length);
      const end = Number(offset) + chunk.length >= data.length;
      if (reads.length === 1) start = truncateTo; // truncated between the first and second read
      return Promise.resolve({ offset, data: chunk, atTail: end, endOfSegment: end });
    },
  } as unknown as SegmentStore;
  return { store, reads };
}

async function drain(reader: SegmentReader): Promise<SegmentBatch[]> {
  const batches: SegmentBatch[] = [];
  for (;;) {
    const batch = await reader.next();
    batches.push(batch);
    if (batch.end) return batches;
  }
}

describe('SegmentReader over a truncated segment', () => {
  it('fails with SEGMENT_TRUNCATED by default, after handing out what came before', async () => {
    const { store } = scriptedSegment(36n);
    const reader = new SegmentReader(store, 's/t/0.#epoch.0', 0n, { readSize: 20 });
    const first = await reader.next();
    expect(first.events.map((e) => e.data.toString())).toEqual(['ev0.']);
    await expect(reader.next()).rejects.toMatchObject({ code: 'SEGMENT_TRUNCATED' });
  });

  it("with 'skip': the events before the gap, then the gap from the first unread event, then the rest", async () => {
    const { store, reads } = scriptedSegment(36n);
    const reader = new SegmentReader(store, 's/t/0.#epoch.0', 0n, {
      readSize: 20,
      onTruncated: 'skip',
    });
    const batches = await drain(reader);
    const events = batches.flatMap((b) => b.events.map((e) => e.data.toString()));
    expect(events).toEqual(['ev0.', 'ev3.', 'ev4.', 'ev5.', 'ev6.', 'ev7.', 'ev8.', 'ev9.']);
    const gaps = batches.filter((b) => b.truncated !== undefined);
    expect(gaps).toEqual([{ events: [], end: false, truncated: { from: 12n, to: 36n } }]);
    // the gap comes after ev0 and before ev3
    const gapAt = batches.indexOf(gaps[0]!);
    expect(batches.slice(0, gapAt).flatMap((b) => b.events.map((e) => e.offset))).toEqual([0]);
    expect(reads.slice(0, 3)).toEqual([0n, 20n, 36n]);
    expect(reader.position).toBe(120n);
    expect(reader.isAtEnd).toBe(true);
  });

  it("with 'skip' and an end offset inside the gap: the gap, then the end", async () => {
    const { store } = scriptedSegment(60n);
    const reader = new SegmentReader(store, 's/t/0.#epoch.0', 0n, {
      readSize: 20,
      endOffset: 48n,
      onTruncated: 'skip',
    });
    const batches = await drain(reader);
    expect(batches.flatMap((b) => b.events.map((e) => e.data.toString()))).toEqual(['ev0.']);
    // the gap ends at the end offset: beyond it is not this reader's range
    expect(batches.at(-1)).toEqual({ events: [], end: true, truncated: { from: 12n, to: 48n } });
    expect(reader.position).toBe(48n);
  });
});
