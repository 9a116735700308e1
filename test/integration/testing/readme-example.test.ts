import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  jsonSerializer,
  PravegaClient,
  PravegaSink,
  PravegaSource,
  StreamEnvironment,
  tailCut,
  type StreamCut,
} from 'tributary';
import {
  PravegaContainer,
  type PravegaConnection,
  type StartedPravegaContainer,
} from 'tributary/testing';

interface Order {
  id: number;
  customer: string;
  total: number;
}
interface CleanOrder extends Order {
  totalCents: number;
}

// The job under test: drop invalid orders, add cents, write exactly once. It fails once on
// purpose after 300 orders: the restart from the last checkpoint must not duplicate anything.
function cleanOrders(pravega: PravegaConnection, end: StreamCut) {
  const env = StreamEnvironment.create({
    pravega,
    parallelism: 2,
    checkpoint: { intervalMs: 200, dir: mkdtempSync(join(tmpdir(), 'checkpoints-')) },
    restart: { type: 'fixed-delay', maxAttempts: 3, delayMs: 100 },
  });
  let seen = 0;
  env
    .fromSource(PravegaSource.forStream('shop/orders', { end }).json<Order>(), { name: 'orders' })
    .filter((o) => o.total > 0)
    .map((o): CleanOrder => {
      if (++seen === 300) throw new Error('injected failure');
      return { ...o, totalCents: Math.round(o.total * 100) };
    })
    .sinkTo(
      PravegaSink.forStream('shop/clean')
        .json<CleanOrder>()
        .exactlyOnce()
        .routingKey((o) => o.customer),
    );
  return env.execute('clean-orders');
}

let pravega: StartedPravegaContainer;
let client: PravegaClient;

beforeAll(async () => {
  // the official pravega/pravega image by default; any image laid out like it works too
  pravega = await new PravegaContainer(process.env['TRIBUTARY_PRAVEGA_IMAGE']).start();
  client = await PravegaClient.connect(pravega.getClientConfig());
}, 360_000);

afterAll(async () => {
  await client?.close();
  await pravega?.stop();
});

it('cleans every valid order exactly once, through a failure', async () => {
  await client.createScope('shop');
  for (const stream of ['shop/orders', 'shop/clean']) {
    await client.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
  }
  const writer = await client.createWriter('shop/orders', jsonSerializer<Order>());
  const orders = Array.from({ length: 1000 }, (_, id) => ({
    id,
    customer: `c${id % 10}`,
    total: id % 10 === 3 ? -1 : id + 0.5,
  }));
  await Promise.all(orders.map((o) => writer.write(o, o.customer)));
  await writer.close();
  const end = await tailCut(client.controller, client.segmentStore, {
    scope: 'shop',
    stream: 'orders',
  });

  const result = await cleanOrders(pravega.getClientConfig(), end).result;
  expect(result.restarts).toBe(1);

  const scanner = await client.scanStream('shop/clean', jsonSerializer<CleanOrder>());
  const out = (await scanner.readUpTo(1001, 5_000)).map((e) => e.value);
  scanner.close();
  expect(out.map((o) => o.id).sort((a, b) => a - b)).toEqual(
    orders.filter((o) => o.total > 0).map((o) => o.id),
  );
}, 360_000);
