import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { utf8Serializer } from '../../../src/pravega/client/serializer.js';
import { randomScope } from '../../support/endpoints.js';

async function roundTrip(client: PravegaClient, scope: string): Promise<string[]> {
  await client.createScope(scope);
  await client.createStream(`${scope}/s`, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
  const writer = await client.createWriter(`${scope}/s`, utf8Serializer);
  await Promise.all(['a', 'b', 'c'].map((v) => writer.write(v, v)));
  await writer.close();
  const scanner = await client.scanStream(`${scope}/s`, utf8Serializer);
  const events = await scanner.readUpTo(3, 3_000);
  scanner.close();
  return events.map((e) => e.value).sort();
}

describe('client against a server with auth on', () => {
  it('says clearly that a wrong password is wrong', async () => {
    const endpoint = inject('pravegaAuth');
    const client = await PravegaClient.connect({
      controllerUri: endpoint.controllerUri,
      credentials: { username: endpoint.credentials!.username, password: 'not-the-password' },
    });
    await expect(client.createScope(randomScope('auth'))).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      message: expect.stringMatching(/password/) as string,
    });
    await client.close();
  });

  it('writes and reads with the right password (delegation tokens on the segment store)', async () => {
    const endpoint = inject('pravegaAuth');
    const client = await PravegaClient.connect({
      controllerUri: endpoint.controllerUri,
      credentials: endpoint.credentials!,
    });
    expect(await roundTrip(client, randomScope('auth'))).toEqual(['a', 'b', 'c']);
    await client.close();
  });
});

describe('client against a server with TLS on', () => {
  it('writes and reads over TLS when it trusts the test CA', async () => {
    const endpoint = inject('pravegaTls');
    const client = await PravegaClient.connect({
      controllerUri: endpoint.controllerUri,
      trustedCa: readFileSync(endpoint.caCertFile!, 'utf8'),
    });
    expect(await roundTrip(client, randomScope('tls'))).toEqual(['a', 'b', 'c']);
    await client.close();
  });
});
