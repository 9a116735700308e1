import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { bytesSerializer, jsonSerializer } from '../../../src/pravega/client/serializer.js';
import { BACKENDS } from '../../support/backends.js';
import { randomScope } from '../../support/endpoints.js';
import { expectExactlyOnceInOrder, keysOf, type Seq } from '../../support/sequences.js';

describe.each(BACKENDS.map((b) => [b().name, b] as const))(
  'writer and reader on %s',
  (name, makeBackend) => {
    const backend = makeBackend();
    let client: PravegaClient;
    const scope = randomScope('wr');

    beforeAll(async () => {
      client = await backend.connect();
      await client.createScope(scope);
    });
    afterAll(async () => {
      await backend.cleanup();
    });

    it('writes 100 000 events over 16 routing keys into 3 segments and reads each once, in key order', async () => {
      const stream = `${scope}/hundred-k`;
      await client.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 3 } });
      const writer = await client.createWriter(stream, jsonSerializer<Seq>());
      const keys = keysOf(16);
      const perKey = 100_000 / keys.length;
      const started = Date.now();
      for (let i = 0; i < perKey; i++) {
        for (const key of keys) void writer.write({ key, seq: i }, key);
        if (i % 500 === 0) await writer.ready();
      }
      await writer.flush();
      const writeMs = Date.now() - started;
      await writer.close();

      const scanner = await client.scanStream(stream, jsonSerializer<Seq>());
      const events = await scanner.readUpTo(100_000, 60_000);
      scanner.close();
      console.log(`[${name}] wrote 100 000 events in ${writeMs} ms, read back ${events.length}`);
      expectExactlyOnceInOrder(
        events.map((e) => e.value),
        keys,
        perKey,
      );
      expect(new Set(events.map((e) => e.segment)).size).toBe(3);
    });

    it('keeps every event and per-key order across a split of a segment while writing', async () => {
      const stream = `${scope}/split`;
      await client.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 3 } });
      const writer = await client.createWriter(stream, jsonSerializer<Seq>());
      const keys = keysOf(16);
      const perKey = 2_000;
      let scaled: Promise<unknown> | undefined;
      for (let i = 0; i < perKey; i++) {
        for (const key of keys) void writer.write({ key, seq: i }, key);
        if (i === perKey / 4) {
          // split segment 0 ([0, 1/3)) into two while the writer keeps going
          scaled = client.scaleStream(
            stream,
            [0n],
            [
              [0, 1 / 6],
              [1 / 6, 1 / 3],
            ],
          );
        }
        // the last quarter is written once the scale is done, so it certainly meets the seal
        if (i === (perKey * 3) / 4) await scaled;
        if (i % 100 === 0) await new Promise((r) => setImmediate(r));
      }
      await writer.flush();
      await writer.close();
      const current = await client.controller.getCurrentSegments({ scope, stream: 'split' });
      expect(current.map((s) => s.segment.segmentId >> 32n)).toContain(1n); // new segments live in epoch 1
      expect(current.length).toBe(4);

      const scanner = await client.scanStream(stream, jsonSerializer<Seq>());
      const events = await scanner.readUpTo(keys.length * perKey, 60_000);
      scanner.close();
      expectExactlyOnceInOrder(
        events.map((e) => e.value),
        keys,
        perKey,
      );
      // the successors were written to
      expect(events.some((e) => e.segment.endsWith('.#epoch.1'))).toBe(true);
    });

    it('rejects an event over 8 MiB and writes after close with typed errors', async () => {
      const stream = `${scope}/limits`;
      await client.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 1 } });
      const writer = await client.createWriter(stream, bytesSerializer);
      expect(() => writer.write(Buffer.alloc(8 * 1024 * 1024 + 1))).toThrow(
        expect.objectContaining({ code: 'EVENT_TOO_LARGE' }) as Error,
      );
      await writer.write(Buffer.alloc(8 * 1024 * 1024)); // exactly the limit is fine
      await writer.close();
      expect(() => writer.write(Buffer.from('late'))).toThrow(
        expect.objectContaining({ code: 'CLOSED' }) as Error,
      );
      const scanner = await client.scanStream(stream, bytesSerializer);
      const events = await scanner.readUpTo(1, 60_000);
      scanner.close();
      expect(events.map((e) => e.value.length)).toEqual([8 * 1024 * 1024]);
    });

    it('refuses to write to a sealed stream and to a missing one', async () => {
      const stream = `${scope}/sealed`;
      await client.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
      const writer = await client.createWriter(stream, jsonSerializer<number>());
      await writer.write(1, 'a');
      await client.sealStream(stream);
      await expect(writer.write(2, 'a')).rejects.toMatchObject({ code: 'STREAM_SEALED' });
      await expect(writer.flush()).rejects.toMatchObject({ code: 'STREAM_SEALED' });
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
