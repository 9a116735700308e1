import { inject, describe, expect, it } from 'vitest';
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { utf8Serializer } from '../../../src/pravega/client/serializer.js';
import { segmentName } from '../../../src/pravega/protocol/index.js';
import { randomScope } from '../../support/endpoints.js';

/**
 * The request timeout of the segment store client against the real server: a read waiting at the
 * tail of a segment (a long poll the server may hold for ever) outlives many request timeouts,
 * because the server answers the probes on its connection; it gets the event written later.
 */
describe('request timeouts on the real server', () => {
  it('a tail read waits past many request timeouts while the server answers probes, then gets the event', async () => {
    const client = await PravegaClient.connect({
      controllerUri: inject('pravega').controllerUri,
      requestTimeoutMs: 2_000,
    });
    try {
      const scope = randomScope('rto');
      await client.createScope(scope);
      await client.createStream(`${scope}/s`, { scalingPolicy: { type: 'fixed', minSegments: 1 } });
      const writer = await client.createWriter(`${scope}/s`, utf8Serializer);
      await writer.write('first');
      await writer.flush();
      const segment = segmentName(scope, 's', 0n);
      const { length } = await client.segmentStore.getInfo(segment);
      let settled = false;
      const read = client.segmentStore.read(segment, length, 1024).finally(() => (settled = true));
      // four request timeouts at the tail (eight probes): still waiting, not failed
      await new Promise((r) => setTimeout(r, 8_000));
      expect(settled).toBe(false);
      await writer.write('second');
      await writer.flush();
      await writer.close();
      const result = await read;
      expect(result.offset).toBe(length);
      expect(result.data.subarray(8).toString()).toBe('second');
    } finally {
      await client.close();
    }
  });
});
