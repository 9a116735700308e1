import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { jsonSerializer } from '../../../src/pravega/client/serializer.js';
import { BACKENDS } from '../../support/backends.js';
import { randomScope } from '../../support/endpoints.js';

interface Seq {
  key: string;
  seq: number;
}

/** Every (key, seq) exactly once and, per key, in increasing order. */
function checkExactlyOnceInOrder(events: readonly Seq[], keys: number, perKey: number): void {
  const last = new Map<string, number>();
  const seen = new Set<string>();
  for (const e of events) {
    const id = `${e.key}#${e.seq}`;
    expect(seen.has(id), `duplicate ${id}`).toBe(false);
    seen.add(id);
    const prev = last.get(e.key) ?? -1;
    expect(e.seq, `order of key ${e.key}`).toBeGreaterThan(prev);
    last.set(e.key, e.seq);
  }
  expect(seen.size).toBe(keys * perKey);
}

describe.each(BACKENDS.map((b) => [b().name, b] as const))(
  'writer and reader on %s',
  (_name, makeBackend) => {
    const backend = makeBackend();
    let client: PravegaClient;
    const scope = randomScope('wr');

    beforeAll(async () => {
      client = await backend.connect();
      await client.createScope(scope);
    });
    afterAll(async () => {
      await client?.close();
      backend.cleanup();
    });

    it('writes 100 000 events over 16 routing keys into 3 segments and reads each once, in key order', async () => {
      const stream = `${scope}/hundred-k`;
      await client.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 3 } });
      const writer = await client.createWriter(stream, jsonSerializer<Seq>());
      const keys = 16;
      const perKey = 100_000 / keys;
      const started = Date.now();
      for (let i = 0; i < perKey; i++) {
        for (let k = 0; k < keys; k++) void writer.write({ key: `k${k}`, seq: i }, `k${k}`);
        if (i % 500 === 0) await writer.ready();
      }
      await writer.flush();
      const writeMs = Date.now() - started;
      await writer.close();

      const scanner = await client.scanStream(stream, jsonSerializer<Seq>());
      const events = await scanner.readUpTo(100_000, 3_000);
      scanner.close();
      console.log(`[${_name}] wrote 100 000 events in ${writeMs} ms, read back ${events.length}`);
      checkExactlyOnceInOrder(
        events.map((e) => e.value),
        keys,
        perKey,
      );
      // all three segments were used
      expect(new Set(events.map((e) => e.segment)).size).toBe(3);
    });

    it('rejects an event over 8 MiB and writes after close with typed errors', async () => {
      const stream = `${scope}/limits`;
      await client.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 1 } });
      const { bytesSerializer } = await import('../../../src/pravega/client/serializer.js');
      const writer = await client.createWriter(stream, bytesSerializer);
      expect(() => writer.write(Buffer.alloc(8 * 1024 * 1024 + 1))).toThrow(
        expect.objectContaining({ code: 'EVENT_TOO_LARGE' }) as Error,
      );
      await writer.write(Buffer.alloc(8 * 1024 * 1024)); // exactly the limit is fine
      await writer.close();
      expect(() => writer.write(Buffer.from('late'))).toThrow(
        expect.objectContaining({ code: 'CLOSED' }) as Error,
      );
    });

    it('refuses to write to a sealed stream and to a missing one', async () => {
      const stream = `${scope}/sealed`;
      await client.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
      const writer = await client.createWriter(stream, jsonSerializer<number>());
      await writer.write(1, 'a');
      await client.sealStream(stream);
      await expect(writer.write(2, 'a')).rejects.toMatchObject({ code: 'STREAM_SEALED' });
      await expect(client.createWriter(stream, jsonSerializer<number>())).rejects.toMatchObject({
        code: 'STREAM_SEALED',
      });
      await expect(
        client.createWriter(`${scope}/missing`, jsonSerializer<number>()),
      ).rejects.toMatchObject({
        code: 'STREAM_NOT_FOUND',
      });
    });
  },
);
