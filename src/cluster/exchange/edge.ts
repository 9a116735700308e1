import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage, TributaryError } from '../../errors.js';
import { segmentName } from '../../pravega/protocol/index.js';
import type { PravegaClient } from '../../pravega/client/pravega-client.js';
import type { Serializer } from '../../pravega/client/serializer.js';
import type { StreamId } from '../../pravega/controller/types.js';
import type { Key } from '../../runtime/key-groups.js';
import { exchangeReaderGroupName, exchangeStreamId } from './names.js';

/** What both sides of one exchange edge agree on. */
export interface ExchangeEdge<T> {
  /** scope of the internal stream and the reader group */
  readonly scope: string;
  /** stable id of the edge within the job (names its stream and reader group) */
  readonly edgeUid: string;
  /** fixed number of segments S of the internal stream */
  readonly segments: number;
  /** K: the job's key groups (`maxParallelism`) */
  readonly keyGroups: number;
  readonly keySelector: (value: T) => Key;
  readonly serializer: Serializer<T>;
  /** Pravega connection; undefined: the job option `pravega` */
  readonly pravega: unknown;
  /** lease of the sender's transactions */
  readonly transactionLeaseMs: number;
  /** the receiver hands on the senders' event timestamps */
  readonly eventTime: boolean;
}

/** how long a stream that another side is creating may show no segments */
const CREATION_WAIT_MS = 30_000;

type EdgeName = Pick<ExchangeEdge<never>, 'scope' | 'edgeUid'>;

export function edgeStream(edge: EdgeName, jobName: string): StreamId {
  return exchangeStreamId(edge.scope, jobName, edge.edgeUid);
}

export function edgeReaderGroup(edge: EdgeName, jobName: string): string {
  return exchangeReaderGroupName(jobName, edge.edgeUid);
}

function streamText(id: StreamId): string {
  return `${id.scope}/${id.stream}`;
}

/**
 * Creates the edge's internal stream with its fixed segments, or checks the one there: the
 * key-group → segment mapping must never move, so an existing stream with another number of
 * segments (an edge whose `segments` changed between runs) is refused. A sealed stream (the edge
 * already ended) is accepted as is. Returns whether the stream is sealed.
 */
export async function ensureEdgeStream(
  client: PravegaClient,
  id: StreamId,
  segments: number,
): Promise<{ sealed: boolean }> {
  await client.controller.createScope(id.scope);
  const created = await client.controller.createStream(id, {
    scalingPolicy: { type: 'fixed', minSegments: segments },
  });
  if (created) return { sealed: false };
  // the stream exists, or is being created by the other side right now (the real controller then
  // lists no current segments yet): sealed only when its own segments say so
  const deadline = Date.now() + CREATION_WAIT_MS;
  for (;;) {
    const current = await client.controller.getCurrentSegments(id);
    if (current.length > 0) {
      if (current.length !== segments) {
        throw new TributaryError(
          'CONFIG_INVALID',
          `exchange ${streamText(id)}: the internal stream has ${current.length} segments, the edge wants ${segments}; the key-group mapping must not change while the job's checkpoints refer to it (delete the job's checkpoints and the stream to change it)`,
          { details: { stream: streamText(id), segments, existing: current.length } },
        );
      }
      return { sealed: false };
    }
    const first = (await client.controller.getEpochSegments(id, 0).catch(() => []))[0];
    if (first !== undefined) {
      const name = segmentName(id.scope, id.stream, first.segment.segmentId);
      const info = await client.segmentStore.getInfo(name).catch(() => undefined);
      if (info?.sealed === true) return { sealed: true };
    }
    if (Date.now() > deadline) {
      throw new TributaryError(
        'TIMEOUT',
        `exchange ${streamText(id)}: the internal stream has no segments after ${CREATION_WAIT_MS} ms and is not sealed`,
        { retryable: true },
      );
    }
    await sleep(50);
  }
}

/**
 * Seals and deletes an edge's stream (the job ended for good); one already gone is fine.
 * `what` names the caller in the error (INTERNAL) when the server refuses.
 */
export async function removeEdgeStream(
  client: PravegaClient,
  id: StreamId,
  what: string,
): Promise<void> {
  try {
    // a cancelled job's stream is still open; a stream is deleted only once sealed
    await client.controller.sealStream(id);
    await client.controller.deleteStream(id);
  } catch (err) {
    if (TributaryError.is(err, 'STREAM_NOT_FOUND')) return;
    throw new TributaryError(
      'INTERNAL',
      `${what}: deleting ${id.scope}/${id.stream} failed: ${errorMessage(err)}`,
      { cause: err },
    );
  }
}
