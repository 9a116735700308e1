/**
 * A job module for `tributary run` (see README, "Quick start"):
 *
 *     npx tributary run examples/orders-job.ts
 *
 * Reads orders from `shop/orders`, drops the invalid ones, converts totals to cents and writes the
 * result exactly once to `shop/orders-clean`, in order per customer. On its first run it creates
 * the streams and writes sample orders; Ctrl-C stops it, and running it again resumes from its
 * last checkpoint. More orders: `tributary write shop/orders --key-field customer < orders.ndjson`.
 */
import {
  PravegaSink,
  PravegaSource,
  acquireClient,
  jsonSerializer,
  type JobContext,
  type JobOptionsInput,
  type StreamEnvironment,
} from '../src/index.js';

interface Order {
  readonly id: number;
  readonly customer: string;
  readonly total: number;
}

export const name = 'clean-orders';

export const options: JobOptionsInput = {
  parallelism: 2,
  checkpoint: { intervalMs: 2_000 },
};

const INPUT = 'shop/orders';
const OUTPUT = 'shop/orders-clean';
const SAMPLE_ORDERS = 20_000;

/** Creates the streams and, on a new input stream, writes sample orders. */
async function prepare(ctx: JobContext): Promise<void> {
  const shared = await acquireClient(ctx.pravega);
  try {
    const client = shared.client;
    await client.createScope('shop');
    await client.createStream(OUTPUT, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
    if (!(await client.createStream(INPUT, { scalingPolicy: { type: 'fixed', minSegments: 2 } })))
      return;
    const writer = await client.createWriter(INPUT, jsonSerializer<Order>());
    for (let id = 0; id < SAMPLE_ORDERS; id++) {
      const customer = `c${id % 50}`;
      const total = id % 20 === 7 ? -1 : Math.round(Math.random() * 50_000) / 100 + 0.01;
      void writer.write({ id, customer, total }, customer);
      if (id % 5_000 === 0) await writer.ready();
    }
    await writer.close();
  } finally {
    await shared.release();
  }
}

export default async function build(env: StreamEnvironment, ctx: JobContext): Promise<void> {
  await prepare(ctx);
  env
    // slowed down so that the progress (and the status page) can be watched
    .fromSource(PravegaSource.forStream(INPUT).json<Order>().rateLimit(1_000), {
      name: 'orders',
      uid: 'orders',
    })
    .filter((o) => o.total > 0)
    .map((o) => ({ id: o.id, customer: o.customer, totalCents: Math.round(o.total * 100) }))
    .sinkTo(
      PravegaSink.forStream(OUTPUT)
        .json<{ id: number; customer: string; totalCents: number }>()
        .exactlyOnce()
        .routingKey((o) => o.customer),
      { name: 'orders-clean', uid: 'orders-clean' },
    );
}
