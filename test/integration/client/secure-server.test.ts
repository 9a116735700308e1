import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { EventStreamWriter } from '../../../src/pravega/client/event-writer.js';
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { SegmentReader } from '../../../src/pravega/client/segment-reader.js';
import { utf8Serializer } from '../../../src/pravega/client/serializer.js';
import { parseControllerUri } from '../../../src/pravega/controller/uri.js';
import type { Controller } from '../../../src/pravega/controller/controller.js';
import { ConnectionPool } from '../../../src/pravega/connection/connection-pool.js';
import { segmentName } from '../../../src/pravega/protocol/index.js';
import { WireSegmentStore } from '../../../src/pravega/segment/wire-segment-store.js';
import { randomScope } from '../../support/endpoints.js';

/**
 * The token the server issued, expired an hour ago and signed again the way the standalone
 * signs its tokens (HS512, key "secret"), so the server accepts the signature and rejects the age.
 */
function expired(token: string): string {
  const [header = '', payload = ''] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<
    string,
    unknown
  >;
  const now = Math.floor(Date.now() / 1000);
  const body = Buffer.from(
    JSON.stringify({ ...claims, iat: now - 7200, exp: now - 3600 }),
  ).toString('base64url');
  const signature = createHmac('sha512', 'secret').update(`${header}.${body}`).digest('base64url');
  return `${header}.${body}.${signature}`;
}

async function roundTrip(client: PravegaClient, scope: string): Promise<string[]> {
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

describe('delegation tokens that expire', () => {
  it('an expired token is refreshed from the controller, not fatal: appends and reads go on', async () => {
    const endpoint = inject('pravegaAuth');
    const client = await PravegaClient.connect({
      controllerUri: endpoint.controllerUri,
      credentials: endpoint.credentials!,
    });
    const scope = randomScope('token');
    await client.createScope(scope);
    await client.createStream(`${scope}/s`, { scalingPolicy: { type: 'fixed', minSegments: 1 } });
    const stream = { scope, stream: 's' };
    const values = Array.from({ length: 50 }, (_, i) => `v${i}`);

    /** A segment store whose controller hands out an expired token first, then real ones. */
    function storeWithExpiredFirstToken(): { store: WireSegmentStore; issued: () => number } {
      let issued = 0;
      const controller = new Proxy(client.controller, {
        get(target, prop, receiver) {
          if (prop === 'getDelegationToken') {
            return async (...args: Parameters<Controller['getDelegationToken']>) => {
              const token = await target.getDelegationToken(...args);
              return issued++ === 0 ? expired(token) : token;
            };
          }
          const value: unknown = Reflect.get(target, prop, receiver);
          return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
        },
      });
      const host = parseControllerUri(endpoint.controllerUri).host;
      const store = new WireSegmentStore(controller, new ConnectionPool({ fallbackHost: host }));
      return { store, issued: () => issued };
    }

    async function readAll(store: WireSegmentStore): Promise<string[]> {
      const reader = new SegmentReader(store, segmentName(scope, 's', 0n), 0n);
      const read: string[] = [];
      while (read.length < values.length) {
        const batch = await reader.next();
        read.push(...batch.events.map((e) => e.data.toString()));
      }
      reader.close();
      return read;
    }

    try {
      // appends first: the server closes the append connection on the expired token
      const writing = storeWithExpiredFirstToken();
      const writer = await EventStreamWriter.create(
        client.controller,
        writing.store,
        stream,
        utf8Serializer,
      );
      await Promise.all(values.map((v) => writer.write(v, 'k')));
      await writer.close();
      expect(await readAll(writing.store)).toEqual(values);
      expect(writing.issued()).toBe(2); // the expired one, then a fresh one
      await writing.store.close();

      // a read first: the server answers TOKEN_EXPIRED
      const reading = storeWithExpiredFirstToken();
      expect(await readAll(reading.store)).toEqual(values);
      expect(reading.issued()).toBe(2);
      await reading.store.close();
    } finally {
      await client.close();
    }
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
