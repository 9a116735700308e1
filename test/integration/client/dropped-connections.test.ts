import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConnectionPool } from '../../../src/pravega/connection/connection-pool.js';
import { openSocketTransport } from '../../../src/pravega/connection/transport.js';
import { EventStreamWriter } from '../../../src/pravega/client/event-writer.js';
import { jsonSerializer } from '../../../src/pravega/client/serializer.js';
import { StreamScanner } from '../../../src/pravega/client/stream-scanner.js';
import { GrpcController } from '../../../src/pravega/controller/grpc-controller.js';
import { WireSegmentStore } from '../../../src/pravega/segment/wire-segment-store.js';
import { randomScope } from '../../support/endpoints.js';
import { expectExactlyOnceInOrder, keysOf, type Seq } from '../../support/sequences.js';
import { TcpProxy } from '../../support/tcp-proxy.js';

describe('writer on a real server through a proxy that cuts connections', () => {
  let controller: GrpcController;
  let proxy: TcpProxy;
  let store: WireSegmentStore;
  const scope = randomScope('drop');

  beforeAll(async () => {
    controller = new GrpcController({ uri: inject('pravega').controllerUri });
    await controller.createScope(scope);
    await controller.createStream(
      { scope, stream: 'cut' },
      { scalingPolicy: { type: 'fixed', minSegments: 3 } },
    );
    const endpoint = await controller.getEndpoint({ scope, stream: 'cut', segmentId: 0n });
    proxy = await TcpProxy.start('127.0.0.1', endpoint.port);
    // every segment-store connection of this client goes through the proxy
    const pool = new ConnectionPool({
      fallbackHost: '127.0.0.1',
      transportFactory: () =>
        openSocketTransport({ host: '127.0.0.1', port: proxy.port, connectTimeoutMs: 5_000 }),
    });
    store = new WireSegmentStore(controller, pool);
  });
  afterAll(async () => {
    await store?.close();
    await proxy?.close();
    await controller?.close();
  });

  it('loses nothing and duplicates nothing when connections drop mid-write', async () => {
    const stream = { scope, stream: 'cut' };
    const writer = await EventStreamWriter.create(
      controller,
      store,
      stream,
      jsonSerializer<Seq>(),
      {
        maxBlockBytes: 16 * 1024,
      },
    );
    const keys = keysOf(16);
    const perKey = 3_000;
    let cuts = 0;
    for (let i = 0; i < perKey; i++) {
      for (const key of keys) void writer.write({ key, seq: i }, key);
      if (i % 300 === 150) {
        // let some appends get in flight, then cut every connection under them (once the writer
        // has reconnected after the previous cut, so that every round cuts something)
        await new Promise((r) => setTimeout(r, 5));
        const deadline = Date.now() + 60_000;
        while (proxy.openConnections === 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 5));
        }
        cuts += proxy.cutAll();
      }
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await writer.flush();
    await writer.close();
    expect(cuts).toBeGreaterThan(5);

    const scanner = await StreamScanner.open(controller, store, stream, jsonSerializer<Seq>());
    const events = await scanner.readUpTo(keys.length * perKey, 60_000);
    scanner.close();
    console.log(
      `cut ${cuts} connections while writing ${keys.length * perKey} events; read back ${events.length}`,
    );
    expectExactlyOnceInOrder(
      events.map((e) => e.value),
      keys,
      perKey,
    );
  });

  it('a reader survives cut connections too', async () => {
    const stream = { scope, stream: 'cut' };
    const scanner = await StreamScanner.open(controller, store, stream, jsonSerializer<Seq>());
    const events: Seq[] = [];
    // until every event written above is read (an empty batch after a minute of nothing is a hang)
    while (events.length < 16 * 3_000) {
      const batch = await scanner.nextBatch(60_000);
      if (batch.length === 0) break;
      events.push(...batch.map((e) => e.value));
      proxy.cutAll();
    }
    expect(await scanner.nextBatch(500)).toEqual([]);
    scanner.close();
    expectExactlyOnceInOrder(events, keysOf(16), 3_000);
  });
});
