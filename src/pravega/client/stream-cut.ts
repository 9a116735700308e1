import { TributaryError, errorMessage } from '../../errors.js';
import type { Controller } from '../controller/controller.js';
import { streamKey, type StreamId } from '../controller/types.js';
import {
  decodeLegacyStreamCutText,
  decodeStreamCutBytes,
  decodeStreamCutText,
  encodeStreamCutBytes,
  encodeStreamCutText,
  isLegacyStreamCutText,
  segmentName,
  type StreamCutFields,
  UNBOUNDED_CUT_TEXT,
  type UnboundedCut,
} from '../protocol/index.js';
import type { SegmentStore } from '../segment/segment-store.js';

/**
 * A position in one stream: for each segment at the cut, the offset to read from. An empty map is
 * UNBOUNDED (start: the head of the stream; end: no end).
 *
 * Text and bytes are the Java client's (`StreamCut.asText()` / `StreamCut.from`, `toBytes()` /
 * `StreamCut.fromBytes`), so cuts move between Tributary, Flink jobs and Java programs both ways:
 * an unbounded cut is `UNBOUNDED` / no bytes, which name no stream, so reading them needs the
 * stream they are for. Segments are written in the map's order, as Java writes its map's.
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

function toFields(cut: StreamCut): StreamCutFields | UnboundedCut {
  if (isUnbounded(cut)) return UNBOUNDED_CUT_TEXT;
  return { scope: cut.stream.scope, stream: cut.stream.stream, positions: cut.positions };
}

/** `StreamCut.asText()`: what Java's `StreamCut.from` reads (`UNBOUNDED` for an unbounded cut). */
export function streamCutToText(cut: StreamCut): string {
  return encodeStreamCutText(toFields(cut));
}

/** `StreamCut.toBytes()`: what Java's `StreamCut.fromBytes` reads (empty for an unbounded cut). */
export function streamCutToBytes(cut: StreamCut): Buffer {
  return encodeStreamCutBytes(toFields(cut));
}

const TEXT_FORMS =
  "the Java client's StreamCut.asText() (base64 of gzip, starting H4sI), UNBOUNDED, " +
  "or Tributary's earlier text (base64 of JSON, starting eyJ)";

function fromFields(
  fields: StreamCutFields | UnboundedCut,
  stream: StreamId | undefined,
  shown: string,
): StreamCut {
  if (fields === UNBOUNDED_CUT_TEXT) {
    if (stream === undefined) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `stream cut ${shown} is UNBOUNDED, which names no stream: pass the stream it is for`,
      );
    }
    return unboundedCut({ scope: stream.scope, stream: stream.stream });
  }
  const cut = {
    stream: { scope: fields.scope, stream: fields.stream },
    positions: fields.positions,
  };
  if (stream !== undefined && streamKey(stream) !== streamKey(cut.stream)) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `stream cut ${shown} is a cut of ${streamKey(cut.stream)}, not of ${streamKey(stream)}`,
    );
  }
  return cut;
}

/**
 * Reads Java's cut text (`StreamCut.asText()`), `UNBOUNDED` (with `stream`: its unbounded cut),
 * or Tributary's earlier text (still read; no longer written). With `stream`, the cut must be of
 * that stream. Anything else is CONFIG_INVALID naming the forms expected.
 */
export function parseStreamCut(text: string, stream?: StreamId): StreamCut {
  if (typeof text !== 'string') {
    throw new TributaryError(
      'CONFIG_INVALID',
      `parseStreamCut: text must be the text form of a stream cut (a string), got ${text === null ? 'null' : typeof text}`,
    );
  }
  const shown = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
  let fields: StreamCutFields | UnboundedCut;
  try {
    fields = isLegacyStreamCutText(text)
      ? decodeLegacyStreamCutText(text)
      : decodeStreamCutText(text);
  } catch (err) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `not a stream cut: ${shown} (expected ${TEXT_FORMS}; ${errorMessage(err)})`,
      { cause: err },
    );
  }
  return fromFields(fields, stream, shown);
}

/**
 * Reads Java's cut bytes (`StreamCut.toBytes()`; no bytes: with `stream`, its unbounded cut).
 * With `stream`, the cut must be of that stream.
 */
export function streamCutFromBytes(bytes: Uint8Array, stream?: StreamId): StreamCut {
  let fields: StreamCutFields | UnboundedCut;
  try {
    fields = decodeStreamCutBytes(bytes);
  } catch (err) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `not a stream cut's bytes (expected the Java client's StreamCut.toBytes(); ${errorMessage(err)})`,
      { cause: err },
    );
  }
  return fromFields(fields, stream, `of ${bytes.length} bytes`);
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
  const lengths = await Promise.all(
    segments.map(
      async (id) => (await store.getInfo(segmentName(stream.scope, stream.stream, id))).length,
    ),
  );
  // in the order of `segments`, not of the replies, so the cut's text is the same every time
  return { stream, positions: new Map(segments.map((id, i) => [id, lengths[i] as bigint])) };
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
