/**
 * An exactly-once ETL job: read orders from Pravega, drop the invalid ones, convert totals to
 * cents, and write the result to another stream — each order exactly once, in order per customer,
 * whatever crashes and restarts happen on the way.
 */
import {
  PravegaSink,
  PravegaSource,
  StreamEnvironment,
  type JobOptionsInput,
  type StreamCut,
} from '../src/index.js';

export interface Order {
  readonly id: number;
  readonly customer: string;
  /** the customer's n-th order */
  readonly seq: number;
  readonly total: number;
}

export interface CleanOrder {
  readonly id: number;
  readonly customer: string;
  readonly seq: number;
  readonly totalCents: number;
}

export interface CleanOrdersJob {
  /** e.g. 'embedded:./data' or 'tcp://localhost:9090' */
  readonly pravega: string;
  readonly input: string;
  readonly output: string;
  /** stop at this cut (a bounded job); omit to run until cancelled */
  readonly end?: StreamCut;
  readonly checkpointDir: string;
  /** throw once after this many orders, to show a restart from the last checkpoint */
  readonly failOnceAfter?: number;
  /** read at most this many orders per second per reader (to watch it go) */
  readonly ratePerReader?: number;
  readonly options?: JobOptionsInput;
}

export function cleanOrders(job: CleanOrdersJob) {
  const env = StreamEnvironment.create({
    pravega: job.pravega,
    parallelism: 2,
    checkpoint: { intervalMs: 500, dir: job.checkpointDir },
    restart: { type: 'fixed-delay', maxAttempts: 3, delayMs: 200 },
    ...job.options,
  });
  let seen = 0;
  let failed = job.failOnceAfter === undefined;

  env
    .fromSource(source(job), { name: 'orders' })
    .filter((o) => o.total > 0)
    .map((o): CleanOrder => {
      if (!failed && ++seen >= (job.failOnceAfter ?? 0)) {
        failed = true;
        throw new Error(`chaos: failing once after ${seen} orders`);
      }
      return { id: o.id, customer: o.customer, seq: o.seq, totalCents: Math.round(o.total * 100) };
    })
    .sinkTo(
      PravegaSink.forStream(job.output)
        .json<CleanOrder>()
        .exactlyOnce()
        .routingKey((o) => o.customer),
      { name: 'clean-orders' },
    );

  return env.execute('clean-orders');
}

function source(job: CleanOrdersJob) {
  const orders = PravegaSource.forStream(job.input, job.end ? { end: job.end } : {}).json<Order>();
  return job.ratePerReader === undefined ? orders : orders.rateLimit(job.ratePerReader);
}
