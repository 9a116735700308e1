import { z } from 'zod';
import { TributaryError, errorMessage } from '../../errors.js';
import type { Controller } from '../controller/controller.js';
import type { StreamId } from '../controller/types.js';
import { segmentName } from '../protocol/index.js';
import type { SegmentStore } from '../segment/segment-store.js';

/**
 * A position in one stream: for each segment at the cut, the offset to read from. An empty map is
 * UNBOUNDED (start: the head of the stream; end: no end). Text form (for configs): base64 of a
 * small versioned JSON document.
 */
export interface StreamCut {
  readonly stream: StreamId;
  readonly positions: ReadonlyMap<bigint, bigint>;
}

export function unboundedCut(stream: StreamId): StreamCut {
  return { stream, positions: new Map() };
}

export function isUnbounded(cut: StreamCut): boolean {
  return cut.positions.size === 0;
}

const TextSchema = z
  .object({
    v: z.literal(1),
    scope: z.string().min(1),
    stream: z.string().min(1),
    positions: z.array(z.tuple([z.string().regex(/^\d+$/), z.string().regex(/^\d+$/)])),
  })
  .strict();

export function streamCutToText(cut: StreamCut): string {
  const doc = {
    v: 1,
    scope: cut.stream.scope,
    stream: cut.stream.stream,
    positions: [...cut.positions.entries()]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([s, o]) => [s.toString(), o.toString()]),
  };
  return Buffer.from(JSON.stringify(doc), 'utf8').toString('base64');
}

export function parseStreamCut(text: string): StreamCut {
  if (typeof text !== 'string') {
    throw new TributaryError(
      'CONFIG_INVALID',
      `parseStreamCut: text must be the text form of a stream cut (a string), got ${text === null ? 'null' : typeof text}`,
    );
  }
  let doc: z.output<typeof TextSchema>;
  try {
    doc = TextSchema.parse(JSON.parse(Buffer.from(text.trim(), 'base64').toString('utf8')));
  } catch (err) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `not a stream cut: ${JSON.stringify(text.slice(0, 40))} (${errorMessage(err).split('\n')[0]})`,
      {
        cause: err,
      },
    );
  }
  return {
    stream: { scope: doc.scope, stream: doc.stream },
    positions: new Map(doc.positions.map(([s, o]) => [BigInt(s), BigInt(o)])),
  };
}

/** The head of a stream: its first readable segments and their start offsets. */
export async function headCut(controller: Controller, stream: StreamId): Promise<StreamCut> {
  return { stream, positions: await controller.getHeadSegments(stream) };
}

/**
 * The tail of a stream now: every current segment at its length. For a sealed stream (no current
 * segments) the last segments, found by following successors from the head, at their final length.
 */
export async function tailCut(
  controller: Controller,
  store: SegmentStore,
  stream: StreamId,
): Promise<StreamCut> {
  let segments = (await controller.getCurrentSegments(stream)).map((s) => s.segment.segmentId);
  if (segments.length === 0) segments = await lastSegments(controller, stream);
  const positions = new Map<bigint, bigint>();
  await Promise.all(
    segments.map(async (id) => {
      const info = await store.getInfo(segmentName(stream.scope, stream.stream, id));
      positions.set(id, info.length);
    }),
  );
  return { stream, positions };
}

/** The segments of a sealed stream that have no successors. */
async function lastSegments(controller: Controller, stream: StreamId): Promise<bigint[]> {
  const last = new Set<bigint>();
  const seen = new Set<bigint>();
  let frontier = [...(await controller.getHeadSegments(stream)).keys()];
  while (frontier.length > 0) {
    const next: bigint[] = [];
    for (const id of frontier) {
      if (seen.has(id)) continue;
      seen.add(id);
      const successors = await controller.getSuccessors({ ...stream, segmentId: id });
      if (successors.length === 0) last.add(id);
      for (const s of successors) next.push(s.segment.segment.segmentId);
    }
    frontier = next;
  }
  return [...last];
}
