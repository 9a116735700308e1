import type { PravegaClient } from '../../src/pravega/client/pravega-client.js';
import type { Serializer } from '../../src/pravega/client/serializer.js';
import { parseStreamName } from '../../src/pravega/client/stream-name.js';
import type { StreamId } from '../../src/pravega/controller/types.js';

/**
 * Every event committed to `stream` now: the segment ranges between the head and the tail as of
 * the call, each read to its end. Unlike a scan that stops after a quiet spell, it neither misses
 * events when the server is slow to answer nor waits to prove that nothing more comes. Events are
 * in segment-id order, so per routing key in write order (successors have higher ids).
 */
export async function readCommitted<T>(
  client: PravegaClient,
  stream: string | StreamId,
  serializer: Serializer<T>,
): Promise<T[]> {
  const batch = client.batchClient();
  const id = typeof stream === 'string' ? parseStreamName(stream) : stream;
  const ranges = await batch.listSegmentRanges(id);
  const perRange: T[][] = ranges.map(() => []);
  await Promise.all(
    ranges.map(async (range, i) => {
      for await (const events of batch.readRange(range, serializer)) perRange[i]!.push(...events);
    }),
  );
  return perRange.flat();
}
