import { z } from 'zod';
import { TributaryError, errorMessage } from '../../../errors.js';
import { streamKey, type StreamId } from '../../controller/types.js';
import { parseSegmentName } from '../../protocol/index.js';
import type { StreamCut } from '../stream-cut.js';

/**
 * A completed reader-group checkpoint: for every stream of the group, the offset of every segment
 * at which reading resumes. Each stream's positions form a full stream cut (segments already read
 * to their end appear at their end while their successors cannot start yet), so
 * {@link Checkpoint.streamCuts} can be handed to anything that takes a stream cut, and
 * `ReaderGroup.resetToCheckpoint` reads exactly the events after it.
 *
 * Serialisable for a job's state: {@link Checkpoint.toText} / {@link Checkpoint.parse} (JSON with
 * ids and offsets as decimal strings, so nothing is lost to floating point).
 */

const Dec = z.string().regex(/^\d+$/);

const CheckpointJsonSchema = z
  .object({
    v: z.literal(1),
    readerGroup: z.string().min(1),
    name: z.string().min(1),
    streams: z.record(z.string(), z.array(z.tuple([Dec, Dec]))),
  })
  .strict();

export type CheckpointJson = z.output<typeof CheckpointJsonSchema>;

export class Checkpoint {
  /** `scope/stream` → segment id → offset */
  readonly positions: ReadonlyMap<string, ReadonlyMap<bigint, bigint>>;

  constructor(
    /** `scope/group` */
    readonly readerGroup: string,
    readonly name: string,
    positions: ReadonlyMap<string, ReadonlyMap<bigint, bigint>>,
  ) {
    this.positions = positions;
  }

  /**
   * From per-segment positions keyed by qualified segment name; `streams` are listed even when
   * (impossible in a consistent state) no segment of theirs is in `segments`.
   */
  static fromSegments(
    readerGroup: string,
    name: string,
    segments: ReadonlyMap<string, bigint>,
    streams: readonly StreamId[],
  ): Checkpoint {
    const positions = new Map<string, Map<bigint, bigint>>();
    for (const s of streams) positions.set(streamKey(s), new Map());
    for (const [segment, offset] of segments) {
      const p = parseSegmentName(segment);
      const key = streamKey(p);
      let m = positions.get(key);
      if (m === undefined) {
        m = new Map();
        positions.set(key, m);
      }
      m.set(p.segmentId, offset);
    }
    return new Checkpoint(readerGroup, name, positions);
  }

  /** One stream cut per stream, keyed `scope/stream`. */
  get streamCuts(): ReadonlyMap<string, StreamCut> {
    const out = new Map<string, StreamCut>();
    for (const [key, positions] of this.positions) {
      const [scope = '', stream = ''] = key.split('/');
      out.set(key, { stream: { scope, stream }, positions });
    }
    return out;
  }

  streamCut(stream: string | StreamId): StreamCut | undefined {
    return this.streamCuts.get(typeof stream === 'string' ? stream : streamKey(stream));
  }

  toJSON(): CheckpointJson {
    const streams: Record<string, [string, string][]> = {};
    for (const [key, positions] of this.positions) {
      streams[key] = [...positions]
        .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
        .map(([s, o]) => [s.toString(), o.toString()]);
    }
    return { v: 1, readerGroup: this.readerGroup, name: this.name, streams };
  }

  toText(): string {
    return JSON.stringify(this.toJSON());
  }

  static fromJSON(value: unknown): Checkpoint {
    const parsed = CheckpointJsonSchema.safeParse(value);
    if (!parsed.success) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `not a reader-group checkpoint: ${parsed.error.issues
          .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
          .join('; ')}`,
      );
    }
    const positions = new Map<string, Map<bigint, bigint>>();
    for (const [key, list] of Object.entries(parsed.data.streams)) {
      const parts = key.split('/');
      if (parts.length !== 2 || !parts[0] || !parts[1]) {
        throw new TributaryError(
          'ILLEGAL_ARGUMENT',
          `not a reader-group checkpoint: stream ${key}`,
        );
      }
      positions.set(key, new Map(list.map(([s, o]) => [BigInt(s), BigInt(o)])));
    }
    return new Checkpoint(parsed.data.readerGroup, parsed.data.name, positions);
  }

  static parse(text: string): Checkpoint {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `not a reader-group checkpoint: ${errorMessage(err)}`,
        { cause: err },
      );
    }
    return Checkpoint.fromJSON(value);
  }
}
