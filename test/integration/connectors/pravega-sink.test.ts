import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { jsonSerializer } from '../../../src/pravega/client/serializer.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { PravegaSink } from '../../../src/sink/pravega/pravega-sink.js';
import { SequenceSource } from '../../../src/source/sequence/sequence-source.js';
import { BACKENDS } from '../../support/backends.js';
import { gatedSource } from '../../support/gated-source.js';
import { randomScope } from '../../support/endpoints.js';
import { readCommitted } from '../../support/read-stream.js';
import { expectExactlyOnceInOrder, keysOf, type Seq } from '../../support/sequences.js';

const KEYS = 16;

/**
 * sequence → (key, seq) → map that fails once after checkpoints → keyBy → Pravega sink (p=2).
 * The source pauses after `failAfter.records` records until `failAfter.checkpoints` checkpoints
 * completed, and the map fails on the next record: the failure comes after those checkpoints and
 * mid-input however fast or slow the machine is.
 */
function buildJob(
  pravega: string,
  stream: string,
  total: number,
  sink: PravegaSink<Seq>,
  failAfter: { records: number; checkpoints: number } | undefined,
) {
  const env = StreamEnvironment.create({
    parallelism: 2,
    pravega,
    checkpoint: { intervalMs: 200, timeoutMs: 20_000 },
    restart: { type: 'fixed-delay', maxAttempts: 3, delayMs: 50 },
  });
  let checkpoints = 0;
  let armed = false;
  let failed = false;
  const numbers = gatedSource(
    SequenceSource.bounded(0, total, { batchSize: 200 }),
    failAfter === undefined
      ? []
      : [
          {
            afterRecords: failAfter.records,
            until: () => (armed ||= checkpoints >= failAfter.checkpoints),
          },
        ],
  );
  env
    .fromSource(numbers, { name: 'numbers', uid: 'numbers', parallelism: 1 })
    .map((v): Seq => ({ key: `key-${v % KEYS}`, seq: Math.floor(v / KEYS) }), {
      parallelism: 1,
      uid: 'to-seq',
    })
    .map(
      (s) => {
        if (armed && !failed) {
          failed = true;
          throw new Error('intentional failure');
        }
        return s;
      },
      { parallelism: 1, uid: 'failing-map' },
    )
    .keyBy((s) => s.key)
    .process<Seq>((s, _ctx, out) => out.collect(s), { uid: 'by-key' })
    .sinkTo(
      sink.routingKey((s) => s.key),
      { uid: 'pravega-sink' },
    );
  const handle = env.execute(`sink-${stream}`);
  handle.events$.subscribe((e) => {
    if (e.type === 'checkpoint-completed') checkpoints++;
  });
  return { handle, failed: () => failed };
}

describe.each(BACKENDS.map((b) => [b().name, b] as const))(
  'Pravega sink on %s',
  (name, makeBackend) => {
    const backend = makeBackend();
    let client: PravegaClient;
    let uri: string;
    const scope = randomScope('sink');

    beforeAll(async () => {
      client = await backend.connect();
      uri = client.uri;
      await client.createScope(scope);
    });
    afterAll(async () => {
      await backend.cleanup();
    });

    function readBack(stream: string): Promise<Seq[]> {
      return readCommitted(client, `${scope}/${stream}`, jsonSerializer<Seq>());
    }

    it('writes every record exactly once, in key order, through a failure and restart (exactly-once)', async () => {
      const total = 20_000;
      await client.createStream(`${scope}/eo`, {
        scalingPolicy: { type: 'fixed', minSegments: 4 },
      });
      const sink = PravegaSink.forStream(`${scope}/eo`)
        .json<Seq>()
        .exactlyOnce({ leaseMs: 60_000 });
      const job = buildJob(uri, 'eo', total, sink, { records: 8_000, checkpoints: 2 });
      const result = await job.handle.result;
      expect(result.status).toBe('finished');
      expect(job.failed()).toBe(true);
      expect(result.restarts).toBe(1);
      const events = await readBack('eo');
      console.log(`[${name}] exactly-once sink: ${events.length} events read back`);
      expectExactlyOnceInOrder(
        events,
        keysOf(KEYS).map((k) => k.replace('key-', 'key-')),
        total / KEYS,
      );
    });

    it('loses nothing through a failure in at-least-once mode (duplicates allowed)', async () => {
      const total = 8_000;
      await client.createStream(`${scope}/alo`, {
        scalingPolicy: { type: 'fixed', minSegments: 2 },
      });
      const sink = PravegaSink.forStream(`${scope}/alo`).json<Seq>().atLeastOnce();
      const job = buildJob(uri, 'alo', total, sink, { records: 3_000, checkpoints: 1 });
      const result = await job.handle.result;
      expect(result.status).toBe('finished');
      expect(job.failed()).toBe(true);
      const events = await readBack('alo');
      const distinct = new Set(events.map((e) => `${e.key}#${e.seq}`));
      expect(distinct.size).toBe(total);
      expect(events.length).toBeGreaterThanOrEqual(total);
    });

    it('refuses a lease that cannot outlast a checkpoint', async () => {
      await client.createStream(`${scope}/lease`, {
        scalingPolicy: { type: 'fixed', minSegments: 1 },
      });
      const env = StreamEnvironment.create({
        pravega: uri,
        checkpoint: { intervalMs: 30_000, timeoutMs: 60_000 },
        restart: { type: 'none' },
      });
      env
        .fromSource(SequenceSource.bounded(0, 10), { name: 'n' })
        .map((v): Seq => ({ key: 'k', seq: v }))
        .sinkTo(
          PravegaSink.forStream(`${scope}/lease`).json<Seq>().exactlyOnce({ leaseMs: 20_000 }),
        );
      const result = await env.execute('lease-check').result.catch((e: unknown) => e);
      expect(result).toMatchObject({
        cause: {
          code: 'TXN_LEASE_INVALID',
          message: expect.stringMatching(/cannot outlast/) as string,
        },
      });
    });
  },
);
