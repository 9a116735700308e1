import { z } from 'zod';
import { TributaryError, errorMessage } from '../../../errors.js';
import { streamKey, type StreamId } from '../../controller/types.js';
import { parseConfig } from '../../../config.js';
import { validateName } from '../../protocol/index.js';
import { parseStreamCut, type StreamCut } from '../stream-cut.js';
import { parseStreamName } from '../stream-name.js';

/**
 * What a reader group reads and how its readers behave. Every reader of the group works with the
 * settings stored in the group's state, so they are the same for all readers.
 */

function isStreamCut(value: unknown): value is StreamCut {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { stream?: unknown; positions?: unknown };
  return (
    typeof v.stream === 'object' &&
    v.stream !== null &&
    typeof (v.stream as StreamId).scope === 'string' &&
    typeof (v.stream as StreamId).stream === 'string' &&
    v.positions instanceof Map
  );
}

/**
 * A stream cut object, or its text form (the Java client's `StreamCut.asText()`, see
 * `streamCutToText`), read once the entry's stream is known (`UNBOUNDED` names none).
 */
const StreamCutInputSchema = z.union([
  z.string().min(1),
  z.custom<StreamCut>(isStreamCut, { message: 'expected a stream cut or its text' }),
]);

const StreamIdSchema = z.union([
  z.string().min(1),
  z.object({ scope: z.string().min(1), stream: z.string().min(1) }).strict(),
]);

/** `'scope/stream'`, `{ scope, stream }`, or `{ stream, start?, end? }`. */
const StreamEntrySchema = z.preprocess(
  (v) => (typeof v === 'string' ? { stream: v } : v),
  z
    .object({
      /** with `scope`, `stream` is the stream's name in it */
      scope: z.string().min(1).optional(),
      stream: StreamIdSchema,
      /** where the group starts; default: the head of the stream */
      start: StreamCutInputSchema.optional(),
      /** where it ends (exclusive per segment); default: no end */
      end: StreamCutInputSchema.optional(),
    })
    .strict(),
);

export const ReaderGroupConfigSchema = z
  .object({
    streams: z.array(StreamEntrySchema).min(1),
    /** initiateCheckpoint fails with CHECKPOINT_LIMIT when this many are outstanding */
    maxOutstandingCheckpoints: z.number().int().min(1).max(100).default(3),
    /** how often a reader looks at the group's state (checkpoints, segments to take or give) */
    refreshIntervalMs: z.number().int().min(5).max(60_000).default(100),
    /** how often a reader that is being read from tells the group it is alive (and its position) */
    heartbeatIntervalMs: z.number().int().min(10).max(600_000).default(1_000),
    /** a reader not heard from for this long is declared offline by the others */
    readerTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000),
    /**
     * When a segment given back by one reader, or a successor made readable by the completion of
     * its predecessors, may be taken by another reader:
     * - `immediate`: at once (readers deliver each key in order; what they do with it is theirs);
     * - `at-checkpoint`: only by a reader that has passed a checkpoint initiated after the handover
     *   (or by the one reader that read it before). For pipelines whose checkpoints align barriers:
     *   every event the previous reader handed out is then before a barrier the next reader's
     *   events are after, so per-key order survives the handover downstream. Needs checkpoints
     *   to be taken for segments to move between readers.
     */
    handover: z.enum(['immediate', 'at-checkpoint']).default('immediate'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.readerTimeoutMs < 3 * c.heartbeatIntervalMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['readerTimeoutMs'],
        message: `must be at least 3 × heartbeatIntervalMs (${3 * c.heartbeatIntervalMs})`,
      });
    }
  });

/** A stream to read: `'scope/stream'`, `{ scope, stream }`, or with start and end cuts. */
export type ReaderGroupStreamInput =
  | string
  | {
      readonly scope?: string;
      readonly stream: string | StreamId;
      readonly start?: StreamCut | string;
      readonly end?: StreamCut | string;
    };

export type ReaderGroupConfigInput = Omit<z.input<typeof ReaderGroupConfigSchema>, 'streams'> & {
  readonly streams: readonly ReaderGroupStreamInput[];
};

export interface ReaderGroupStream {
  readonly stream: StreamId;
  /** absent: the head of the stream */
  readonly start?: StreamCut;
  /** absent: read forever (or until the stream is sealed and read to its end) */
  readonly end?: StreamCut;
}

export interface ReaderGroupConfig {
  readonly streams: readonly ReaderGroupStream[];
  readonly maxOutstandingCheckpoints: number;
  readonly refreshIntervalMs: number;
  readonly heartbeatIntervalMs: number;
  readonly readerTimeoutMs: number;
  readonly handover: 'immediate' | 'at-checkpoint';
}

/** Validates a reader-group config; CONFIG_INVALID names the key and the reason. */
export function parseReaderGroupConfig(input: unknown): ReaderGroupConfig {
  const c = parseConfig(ReaderGroupConfigSchema, input, 'reader group config');
  const streams: ReaderGroupStream[] = [];
  const seen = new Set<string>();
  c.streams.forEach((entry, i) => {
    const spec = {
      ...entry,
      stream:
        entry.scope !== undefined && typeof entry.stream === 'string'
          ? { scope: entry.scope, stream: entry.stream }
          : entry.stream,
    };
    let stream: StreamId;
    try {
      stream = toStreamId(spec.stream);
    } catch (err) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `invalid reader group config: streams.${i}: ${errorMessage(err)}`,
      );
    }
    const key = streamKey(stream);
    if (seen.has(key)) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `invalid reader group config: streams.${i}: ${key} is listed twice`,
      );
    }
    seen.add(key);
    const cuts: { start?: StreamCut; end?: StreamCut } = {};
    for (const which of ['start', 'end'] as const) {
      const input = spec[which];
      if (input === undefined) continue;
      let cut: StreamCut;
      try {
        cut = typeof input === 'string' ? parseStreamCut(input, stream) : input;
      } catch (err) {
        throw new TributaryError(
          'CONFIG_INVALID',
          `invalid reader group config: streams.${i}.${which}: ${errorMessage(err)}`,
          { cause: err },
        );
      }
      if (streamKey(cut.stream) !== key) {
        throw new TributaryError(
          'CONFIG_INVALID',
          `invalid reader group config: streams.${i}.${which}: a cut of ${streamKey(cut.stream)}, not of ${key}`,
        );
      }
      cuts[which] = cut;
    }
    streams.push({
      stream: { scope: stream.scope, stream: stream.stream },
      ...(cuts.start !== undefined && cuts.start.positions.size > 0 ? { start: cuts.start } : {}),
      ...(cuts.end !== undefined && cuts.end.positions.size > 0 ? { end: cuts.end } : {}),
    });
  });
  return {
    streams,
    maxOutstandingCheckpoints: c.maxOutstandingCheckpoints,
    refreshIntervalMs: c.refreshIntervalMs,
    heartbeatIntervalMs: c.heartbeatIntervalMs,
    readerTimeoutMs: c.readerTimeoutMs,
    handover: c.handover,
  };
}

function toStreamId(stream: string | StreamId): StreamId {
  const id = parseStreamName(stream);
  validateName('scope', id.scope);
  // internal streams (`_` prefix, e.g. an exchange edge's `_tributary-x-…`) can be read too
  validateName('stream', id.stream, true);
  return id;
}
