import { TributaryError } from '../../../errors.js';
import type { Controller } from '../../controller/controller.js';
import { streamKey, type SegmentWithRange, type StreamId } from '../../controller/types.js';
import { parseSegmentName, segmentName } from '../../protocol/index.js';
import type { KeyRange, SegmentKey } from './group-state.js';
import type { ReaderGroupConfig } from './reader-group-config.js';

/**
 * Key ranges of segments, from the controller: a segment is listed, with its range, in the
 * segments of the epoch it was created in (the epoch in its id). Cached per stream and epoch.
 */
export class SegmentRanges {
  private readonly epochs = new Map<string, Promise<SegmentWithRange[]>>();

  constructor(private readonly controller: Controller) {}

  private epochSegments(stream: StreamId, epoch: number): Promise<SegmentWithRange[]> {
    const key = `${streamKey(stream)}#${epoch}`;
    let p = this.epochs.get(key);
    if (p === undefined) {
      p = this.controller.getEpochSegments(stream, epoch);
      this.epochs.set(key, p);
      p.catch(() => this.epochs.delete(key));
    }
    return p;
  }

  async rangeOf(segment: SegmentKey): Promise<KeyRange> {
    const p = parseSegmentName(segment);
    const stream = { scope: p.scope, stream: p.stream };
    const found = (await this.epochSegments(stream, p.epoch)).find(
      (s) => s.segment.segmentId === p.segmentId,
    );
    if (found === undefined) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `segment ${segment} is not a segment of ${streamKey(stream)} (not created in epoch ${p.epoch})`,
      );
    }
    return [found.minKey, found.maxKey];
  }

  async locate(segments: readonly SegmentKey[]): Promise<Map<SegmentKey, KeyRange>> {
    const out = new Map<SegmentKey, KeyRange>();
    await Promise.all(
      segments.map(async (s) => {
        out.set(s, await this.rangeOf(s));
      }),
    );
    return out;
  }
}

export interface StartPoint {
  readonly start: Map<SegmentKey, bigint>;
  readonly ranges: Map<SegmentKey, KeyRange>;
}

/**
 * Where a group (re)starts: per stream the positions in `override` (a checkpoint), else the
 * configured start cut, else the head of the stream; plus the key range of each start segment.
 */
export async function resolveStart(
  controller: Controller,
  config: ReaderGroupConfig,
  override?: ReadonlyMap<string, ReadonlyMap<bigint, bigint>>,
): Promise<StartPoint> {
  const start = new Map<SegmentKey, bigint>();
  const ranges = new SegmentRanges(controller);
  for (const s of config.streams) {
    const key = streamKey(s.stream);
    let positions = override?.get(key);
    if (positions === undefined || positions.size === 0) positions = s.start?.positions;
    if (positions === undefined || positions.size === 0) {
      positions = await controller.getHeadSegments(s.stream);
    }
    for (const [id, offset] of positions) {
      start.set(segmentName(s.stream.scope, s.stream.stream, id), offset);
    }
  }
  return { start, ranges: await ranges.locate([...start.keys()]) };
}
