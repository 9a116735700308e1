import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { jsonSerializer } from '../../../src/pravega/client/serializer.js';
import { tailCut } from '../../../src/pravega/client/stream-cut.js';
import { BACKENDS } from '../../support/backends.js';
import { randomScope } from '../../support/endpoints.js';
import { readCommitted } from '../../support/read-stream.js';
import { truncateAndWait } from '../../support/truncation.js';
import { keysOf, type Seq } from '../../support/sequences.js';

describe.each(BACKENDS.map((b) => [b().name, b] as const))(
  'truncation on %s',
  (_name, makeBackend) => {
    const backend = makeBackend();
    let client: PravegaClient;
    const scope = randomScope('trunc');

    beforeAll(async () => {
      client = await backend.connect();
      await client.createScope(scope);
    });
    afterAll(async () => {
      await backend.cleanup();
    });

    it('truncates a stream at a stream cut: the head moves there and older events are gone', async () => {
      const id = { scope, stream: 't' };
      await client.createStream(id, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
      const writer = await client.createWriter(id, jsonSerializer<Seq>());
      const keys = keysOf(8);
      for (let i = 0; i < 100; i++) for (const key of keys) void writer.write({ key, seq: i }, key);
      await writer.flush();
      const cut = await tailCut(client.controller, client.segmentStore, id);
      for (let i = 100; i < 200; i++)
        for (const key of keys) void writer.write({ key, seq: i }, key);
      await writer.close();

      await truncateAndWait(client, id, cut.positions);

      const events = await readCommitted(client, id, jsonSerializer<Seq>());
      expect(events).toHaveLength(keys.length * 100);
      expect(Math.min(...events.map((e) => e.seq))).toBe(100);
    });
  },
);
