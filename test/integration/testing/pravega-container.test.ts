import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { utf8Serializer } from '../../../src/pravega/client/serializer.js';
import { PravegaContainer, type StartedPravegaContainer } from '../../../src/testing/index.js';
import { randomScope } from '../../support/endpoints.js';

/**
 * PravegaContainer with auth and TLS on, as a user starts it: the client reaches it with the
 * credentials and CA the container hands out, and is refused without them. Runs where the
 * integration servers are containers (the image comes from the global setup).
 */
const image = inject('pravegaImage');

async function roundTrip(client: PravegaClient): Promise<string[]> {
  const scope = randomScope('container');
  await client.createScope(scope);
  await client.createStream(`${scope}/s`, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
  const writer = await client.createWriter(`${scope}/s`, utf8Serializer);
  await Promise.all(['a', 'b', 'c'].map((v) => writer.write(v, v)));
  await writer.close();
  const scanner = await client.scanStream(`${scope}/s`, utf8Serializer);
  const events = await scanner.readUpTo(3, 60_000);
  scanner.close();
  return events.map((e) => e.value).sort();
}

describe.skipIf(image === '')(
  `PravegaContainer with auth and TLS (${image || 'no image: servers are local JVMs'})`,
  () => {
    let pravega: StartedPravegaContainer;

    beforeAll(async () => {
      pravega = await new PravegaContainer(image)
        .withAuth({ username: 'tester', password: 'pa55word' })
        .withTls()
        .withHeapMb(512)
        .start();
      console.log(
        `[pravega] PravegaContainer (auth, TLS) ready in ${pravega.getStartSeconds().toFixed(1)} s at ${pravega.getControllerUri()}`,
      );
    }, 360_000);
    afterAll(async () => {
      await pravega?.stop();
    });

    it('hands out a tls:// URI, the credentials and the CA, and a client with them writes and reads', async () => {
      expect(pravega.getControllerUri()).toMatch(/^tls:\/\/localhost:\d+$/);
      expect(pravega.getCredentials()).toEqual({ username: 'tester', password: 'pa55word' });
      expect(pravega.getCaCert()).toContain('-----BEGIN CERTIFICATE-----');
      const client = await PravegaClient.connect(pravega.getClientConfig());
      try {
        expect(await roundTrip(client)).toEqual(['a', 'b', 'c']);
      } finally {
        await client.close();
      }
    });

    it('refuses a wrong password', async () => {
      const client = await PravegaClient.connect({
        ...pravega.getClientConfig(),
        credentials: { username: 'tester', password: 'wrong' },
      });
      try {
        await expect(client.createScope(randomScope('denied'))).rejects.toMatchObject({
          code: 'AUTH_FAILED',
        });
      } finally {
        await client.close();
      }
    });

    it('is not trusted without its CA', async () => {
      const { trustedCa: _ca, ...withoutCa } = pravega.getClientConfig();
      // connect() waits for the controller, so the unverifiable certificate is its error
      await expect(PravegaClient.connect(withoutCa)).rejects.toThrow(
        /unable to verify|self.signed|certificate/i,
      );
    });

    it('labels its container with the test run and the owning process', () => {
      const labels = pravega.getLabels();
      expect(labels['tributary.testing']).toBe('true');
      expect(labels['tributary.testing.run']).toBe(process.env['TRIBUTARY_TEST_RUN_ID']);
      expect(labels['tributary.testing.owner']).toMatch(/^.+:\d+:\S+$/);
    });
  },
);
