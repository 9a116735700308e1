import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { acquireClient, type SharedClient } from '../../../src/pravega/client/client-registry.js';
import { ReaderGroup, type SegmentAt } from '../../../src/pravega/client/reader-group/index.js';
import { PravegaSourceReader } from '../../../src/source/pravega/pravega-reader.js';
import type { SourceReaderContext } from '../../../src/source/source.js';

/** The Pravega source reader passes its settings' acquisition hook to its group reader. */

let dir: string;
let uri: string;
let shared: SharedClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-reader-hooks-'));
  uri = `embedded:${dir}`;
  shared = await acquireClient(uri);
});

afterAll(async () => {
  await shared.release();
  await rm(dir, { recursive: true, force: true });
});

function readerContext(): SourceReaderContext {
  return {
    jobName: 'j',
    sourceUid: 's',
    attempt: 0,
    checkpointing: { intervalMs: 1000, timeoutMs: 60_000, minPauseMs: 0, tolerableFailures: 3 },
    connectors: { pravega: uri },
    subtask: 0,
    parallelism: 1,
    sendSplitRequest: () => undefined,
    count: () => undefined,
    warn: () => undefined,
  };
}

it('onAcquired of the reader settings is awaited before the first record of its segments', async () => {
  const client = shared.client;
  await client.createScope('hooks');
  await client.createStream('hooks/s', { scalingPolicy: { type: 'fixed', minSegments: 2 } });
  const writer = await client.createWriter('hooks/s', {
    serialize: (v: string) => Buffer.from(v),
    deserialize: (b: Buffer) => b.toString(),
  });
  for (let i = 0; i < 20; i++) void writer.write(`e${i}`, `k${i}`);
  await writer.flush();
  await writer.close();
  await ReaderGroup.create(client, 'hooks', 'g', { streams: ['hooks/s'] });

  const records: string[] = [];
  const acquired: { at: SegmentAt[]; recordsBefore: number }[] = [];
  let loaded = false;
  const reader = new PravegaSourceReader<string>(readerContext(), {
    deserialize: (b) => b.toString(),
    onDeserializationError: 'fail',
    onTruncatedData: 'fail',
    timestamp: undefined,
    maxBatchEvents: 100,
    maxQueuedBatches: 2,
    maxEventsPerSecond: undefined,
    pravega: undefined,
    onAcquired: async (at) => {
      acquired.push({ at: [...at], recordsBefore: records.length });
      await sleep(300);
      loaded = true;
    },
  });
  reader.start();
  reader.addSplits([
    { splitId: 'r0', readerGroupScope: 'hooks', readerGroup: 'g', readerId: 'r0' },
  ]);
  const deadline = Date.now() + 30_000;
  while (records.length < 20 && Date.now() < deadline) {
    const polled = reader.pollNext();
    if (typeof polled === 'object') {
      if (polled.records.length > 0) expect(loaded).toBe(true);
      records.push(...polled.records);
    } else await Promise.race([reader.isAvailable(), sleep(100)]);
  }
  expect(records.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `e${i}`).sort());
  expect(acquired).toHaveLength(1);
  expect(acquired[0]!.recordsBefore).toBe(0);
  expect(acquired[0]!.at.map((a) => a.offset)).toEqual([0n, 0n]);
  await reader.close('stopped');
});
