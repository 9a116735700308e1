import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { observe } from '../../../src/observe/observer.js';
import type { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { jsonSerializer } from '../../../src/pravega/client/serializer.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import type { Sink } from '../../../src/sink/sink.js';
import { PravegaSource } from '../../../src/source/pravega/pravega-source.js';
import { BACKENDS } from '../../support/backends.js';
import { randomScope } from '../../support/endpoints.js';

const EVENTS = 20_000;
const WAIT_MS = 120_000;

/** A sink that holds every write until `open()`: the job stops reading, the stream's tail stays ahead. */
function gateSink(): { sink: Sink<unknown>; open: () => void; written: () => number } {
  let release!: () => void;
  const opened = new Promise<void>((resolve) => (release = resolve));
  let written = 0;
  return {
    open: () => release(),
    written: () => written,
    sink: {
      createWriter: () => ({
        initialize: async () => {},
        writeBatch: async (records) => {
          await opened;
          written += records.length;
        },
        snapshotState: async () => [],
        notifyCheckpointComplete: async () => {},
        close: async () => {},
      }),
    },
  };
}

/** The value of `tributary_source_lag_<unit>` for `stream` in a scrape, undefined if absent. */
function lagOf(scrape: string, stream: string, unit = 'bytes'): number | undefined {
  for (const line of scrape.split('\n')) {
    if (!line.startsWith(`tributary_source_lag_${unit}{`)) continue;
    if (!line.includes(`stream="${stream}"`)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

async function scrapeUntil(
  url: string,
  what: string,
  test: (scrape: string) => boolean,
): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  let last = '';
  while (Date.now() < deadline) {
    last = await (await fetch(`${url}metrics`)).text();
    if (test(last)) return last;
    await sleep(100);
  }
  throw new Error(
    `${what}: not seen within ${WAIT_MS} ms; last lag lines: ${last
      .split('\n')
      .filter((l) => l.startsWith('tributary_source_lag'))
      .join(' | ')}`,
  );
}

describe.each(BACKENDS.map((b) => [b().name, b] as const))(
  'source lag metric on %s',
  (_name, makeBackend) => {
    const backend = makeBackend();
    let client: PravegaClient;
    const scope = randomScope('lag');

    beforeAll(async () => {
      client = await backend.connect();
      await client.createScope(scope);
    });
    afterAll(async () => {
      await backend.cleanup();
    });

    it('is above 0 while the job is behind the stream, then falls to 0', async () => {
      const stream = `${scope}/orders`;
      await client.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
      const writer = await client.createWriter(stream, jsonSerializer<{ i: number }>());
      await Promise.all(Array.from({ length: EVENTS }, (_, i) => writer.write({ i }, `k${i % 8}`)));
      await writer.close();

      const gate = gateSink();
      const env = StreamEnvironment.create({
        pravega: backend.uri(),
        checkpoint: { intervalMs: 500 },
      });
      env
        .fromSource(PravegaSource.forStream(stream).json<{ i: number }>(), { name: 'orders' })
        .sinkTo(gate.sink, { name: 'held' });
      const handle = env.execute('lag-probe');
      const observer = await observe(handle, {
        http: { port: 0 },
        log: { destination: new Writable({ write: (_c, _e, done) => done() }) },
        lagIntervalMs: 200,
      });
      try {
        const url = observer.urls[0] as string;
        const behind = await scrapeUntil(
          url,
          'lag > 0 in bytes and events',
          (s) => (lagOf(s, stream) ?? 0) > 0 && (lagOf(s, stream, 'events') ?? 0) > 0,
        );
        expect(lagOf(behind, stream)).toBeGreaterThan(0);
        // an estimate from the mean size of the events read so far (the first ones are shorter)
        expect(lagOf(behind, stream, 'events')).toBeLessThanOrEqual(EVENTS * 1.25);
        expect(gate.written()).toBeLessThan(EVENTS);
        gate.open();
        const caughtUp = await scrapeUntil(
          url,
          'lag back to 0',
          (s) => lagOf(s, stream) === 0 && gate.written() === EVENTS,
        );
        expect(lagOf(caughtUp, stream)).toBe(0);
        expect(lagOf(caughtUp, stream, 'events')).toBe(0);
        expect(observer.status().lag.sources).toEqual([
          expect.objectContaining({ stream, bytes: 0, events: 0, sourceName: 'orders' }),
        ]);
      } finally {
        gate.open();
        await handle.cancel();
        await observer.close();
      }
    });
  },
);
