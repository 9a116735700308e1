import { expect } from 'vitest';
import type { PravegaClient } from '../../src/pravega/client/pravega-client.js';
import { headCut } from '../../src/pravega/client/stream-cut.js';
import type { StreamCutPositions, StreamId } from '../../src/pravega/controller/types.js';

/**
 * Truncates `stream` at `positions` and waits until its head is there: a real server's controller
 * moves the head asynchronously.
 */
export async function truncateAndWait(
  client: PravegaClient,
  stream: StreamId,
  positions: StreamCutPositions,
): Promise<void> {
  await client.controller.truncateStream(stream, positions);
  const deadline = Date.now() + 90_000;
  let head = await headCut(client.controller, stream);
  while (
    [...positions].some(([segment, offset]) => head.positions.get(segment) !== offset) &&
    Date.now() < deadline
  ) {
    await new Promise((r) => setTimeout(r, 200));
    head = await headCut(client.controller, stream);
  }
  expect(head.positions).toEqual(positions);
}
