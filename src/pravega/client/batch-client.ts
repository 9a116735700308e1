import PQueue from 'p-queue';
import { TributaryError } from '../../errors.js';
import { checkPositions, checkStream } from './arguments.js';
import type { Controller } from '../controller/controller.js';
import type { StreamId } from '../controller/types.js';
import { segmentName } from '../protocol/index.js';
import type { SegmentStore } from '../segment/segment-store.js';
import { SegmentReader } from './segment-reader.js';
import type { Serializer } from './serializer.js';
import { headCut, isUnbounded, tailCut, type StreamCut } from './stream-cut.js';

/**
 * Batch reads: the segment ranges between two stream cuts (also across scales), each readable on
 * its own, in parallel and in any order — throughput over order. Ranges are plain data, so a
 * reader elsewhere (another task, another process) can read one.
 */

export interface SegmentRange {
  readonly stream: StreamId;
  readonly segmentId: bigint;
  readonly segment: string;
  readonly startOffset: bigint;
  readonly endOffset: bigint;
}

export class BatchClient {
  constructor(
    private readonly controller: Controller,
    private readonly store: SegmentStore,
  ) {}

  /** Every segment range between `from` (default: head) and `to` (default: the tail now). */
  async listSegmentRanges(
    stream: StreamId,
    fromCut?: StreamCut,
    toCut?: StreamCut,
  ): Promise<SegmentRange[]> {
    const where = 'listSegmentRanges';
    const id = checkStream(where, stream);
    if (id.scope !== stream.scope || id.stream !== stream.stream) stream = id;
    checkCut(where, fromCut, 'fromCut', id);
    checkCut(where, toCut, 'toCut', id);
    // the controller wants explicit cuts: unbounded means the head and the tail as of now
    const from =
      fromCut && !isUnbounded(fromCut) ? fromCut : await headCut(this.controller, stream);
    const to =
      toCut && !isUnbounded(toCut) ? toCut : await tailCut(this.controller, this.store, stream);
    const segments = await this.controller.getSegmentsBetween(stream, from.positions, to.positions);
    const ranges = await Promise.all(
      segments.map(async (s): Promise<SegmentRange> => {
        const name = segmentName(stream.scope, stream.stream, s.segmentId);
        const fromOffset = from.positions.get(s.segmentId);
        const toOffset = to.positions.get(s.segmentId);
        const info =
          fromOffset === undefined || toOffset === undefined
            ? await this.store.getInfo(name)
            : undefined;
        return {
          stream,
          segmentId: s.segmentId,
          segment: name,
          startOffset: fromOffset ?? info?.startOffset ?? 0n,
          endOffset: toOffset ?? info?.length ?? 0n,
        };
      }),
    );
    return ranges
      .filter((r) => r.endOffset > r.startOffset)
      .sort((a, b) => (a.segmentId < b.segmentId ? -1 : 1));
  }

  /** The events of one range, in batches. */
  async *readRange<T>(range: SegmentRange, serializer: Serializer<T>): AsyncGenerator<T[]> {
    const reader = new SegmentReader(this.store, range.segment, range.startOffset, {
      endOffset: range.endOffset,
    });
    try {
      for (;;) {
        const batch = await reader.next();
        if (batch.events.length > 0) yield batch.events.map((e) => serializer.deserialize(e.data));
        if (batch.end) return;
      }
    } finally {
      reader.close();
    }
  }

  /** Reads every range with at most `concurrency` at once, handing each batch to `onBatch`. */
  async readRanges<T>(
    ranges: readonly SegmentRange[],
    serializer: Serializer<T>,
    onBatch: (events: T[], range: SegmentRange) => void | Promise<void>,
    concurrency = 4,
  ): Promise<void> {
    const queue = new PQueue({ concurrency });
    await Promise.all(
      ranges.map((range) =>
        queue.add(async () => {
          for await (const events of this.readRange(range, serializer))
            await onBatch(events, range);
        }),
      ),
    );
  }
}

function checkCut(where: string, cut: StreamCut | undefined, arg: string, stream: StreamId): void {
  if (cut === undefined) return;
  if (typeof cut !== 'object' || cut === null || typeof cut.stream !== 'object') {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `${where}: ${arg} must be a stream cut (headCut, tailCut, parseStreamCut, a reader group's getStreamCuts), got ${cut === null ? 'null' : typeof cut}`,
      { details: { argument: arg } },
    );
  }
  checkPositions(where, cut.positions, `${arg}.positions`);
  if (cut.stream.scope !== stream.scope || cut.stream.stream !== stream.stream) {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `${where}: ${arg} is a cut of ${cut.stream.scope}/${cut.stream.stream}, not of ${stream.scope}/${stream.stream}`,
      { details: { argument: arg } },
    );
  }
}
