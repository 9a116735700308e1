import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { jsonSerializer } from '../../../src/pravega/client/serializer.js';
import {
  headCut,
  parseStreamCut,
  streamCutToText,
  tailCut,
} from '../../../src/pravega/client/stream-cut.js';
import { BACKENDS } from '../../support/backends.js';
import { randomScope } from '../../support/endpoints.js';
import { keysOf, type Seq } from '../../support/sequences.js';

const seq = jsonSerializer<Seq>();

describe.each(BACKENDS.map((b) => [b().name, b] as const))(
  'batch reads and stream cuts on %s',
  (_name, makeBackend) => {
    const backend = makeBackend();
    let client: PravegaClient;
    const scope = randomScope('batch');

    beforeAll(async () => {
      client = await backend.connect();
      await client.createScope(scope);
    });
    afterAll(async () => {
      await backend.cleanup();
    });

    it('lists the segment ranges between two cuts, across a scale, and reads them in parallel', async () => {
      const name = 'ranges';
      const id = { scope, stream: name };
      await client.createStream(id, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
      const writer = await client.createWriter(id, seq);
      const keys = keysOf(64); // enough keys to land in every segment
      const write = async (from: number, to: number) => {
        for (let i = from; i < to; i++)
          for (const key of keys) void writer.write({ key, seq: i }, key);
        await writer.flush();
      };
      await write(0, 100);
      const middle = await tailCut(client.controller, client.segmentStore, id);
      expect(parseStreamCut(streamCutToText(middle))).toEqual(middle);
      await write(100, 200);
      await client.scaleStream(
        id,
        [0n],
        [
          [0, 0.25],
          [0.25, 0.5],
        ],
      );
      await write(200, 300);
      await writer.close();

      const batch = client.batchClient();
      const all = await batch.listSegmentRanges(id);
      expect(all.length).toBe(4); // 2 original + 2 successors, all holding data
      expect(all.filter((r) => r.segmentId >> 32n === 1n).length).toBe(2);
      let total = 0;
      const seen = new Set<string>();
      await batch.readRanges(all, seq, (events) => {
        total += events.length;
        for (const e of events) seen.add(`${e.key}#${e.seq}`);
      });
      expect(total).toBe(keys.length * 300);
      expect(seen.size).toBe(keys.length * 300);

      // from the middle cut to the tail: exactly the events written after it
      const after = await batch.listSegmentRanges(id, middle);
      let later = 0;
      let minSeq = Infinity;
      await batch.readRanges(after, seq, (events) => {
        later += events.length;
        for (const e of events) minSeq = Math.min(minSeq, e.seq);
      });
      expect(later).toBe(keys.length * 200);
      expect(minSeq).toBe(100);

      // from the head to the middle cut: exactly the events written before it
      const before = await batch.listSegmentRanges(
        id,
        await headCut(client.controller, id),
        middle,
      );
      let earlier = 0;
      await batch.readRanges(before, seq, (events) => {
        earlier += events.length;
        for (const e of events) expect(e.seq).toBeLessThan(100);
      });
      expect(earlier).toBe(keys.length * 100);
    });

    it('rejects text that is not a stream cut', () => {
      expect(() => parseStreamCut('not a cut')).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error,
      );
    });
  },
);
