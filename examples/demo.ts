/**
 * `npm run demo`: the clean-orders job on the embedded store, no setup needed. Writes sample
 * orders, runs the job (with one injected failure and a restart from the last checkpoint), then
 * reads the output and checks that every valid order arrived exactly once, in order per customer.
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { acquireClient, jsonSerializer, tailCut, type JobEvent } from '../src/index.js';
import { cleanOrders, type CleanOrder, type Order } from './clean-orders.js';

const ORDERS = Number(process.env['DEMO_ORDERS'] ?? 100_000);
const CUSTOMERS = 100;
/** the source is slowed to this many orders/s so the progress and the restart can be watched */
const RATE = Number(process.env['DEMO_RATE'] ?? 40_000);
const home = resolve(process.env['DEMO_DIR'] ?? '.tributary-demo');
const pravega = `embedded:${home}/data`;
const input = 'shop/orders';
const output = 'shop/orders-clean';

function line(text: string): void {
  process.stdout.write(`${text}\n`);
}

async function main(): Promise<number> {
  rmSync(home, { recursive: true, force: true });
  line(`Tributary demo: exactly-once ETL on the embedded Pravega store in ${home}`);

  // 1. sample input
  const shared = await acquireClient(pravega);
  const client = shared.client;
  await client.createScope('shop');
  await client.createStream(input, { scalingPolicy: { type: 'fixed', minSegments: 4 } });
  await client.createStream(output, { scalingPolicy: { type: 'fixed', minSegments: 4 } });
  const writer = await client.createWriter(input, jsonSerializer<Order>());
  const perCustomer = new Array<number>(CUSTOMERS).fill(0);
  let invalid = 0;
  const started = Date.now();
  for (let id = 0; id < ORDERS; id++) {
    const c = id % CUSTOMERS;
    const total = id % 20 === 7 ? -1 : Math.round(Math.random() * 50_000) / 100 + 0.01;
    if (total <= 0) invalid++;
    void writer.write({ id, customer: `c${c}`, seq: perCustomer[c]!++, total }, `c${c}`);
    if (id % 5_000 === 0) await writer.ready();
  }
  await writer.close();
  const end = await tailCut(client.controller, client.segmentStore, {
    scope: 'shop',
    stream: 'orders',
  });
  line(
    `1. wrote ${ORDERS.toLocaleString()} orders (${invalid.toLocaleString()} invalid) to ${input} in ${Date.now() - started} ms`,
  );

  // 2. the job, bounded by the input's current end, failing once on purpose
  line(
    `2. running clean-orders (parallelism 2, checkpoints every 500 ms, one injected failure, source at ${RATE.toLocaleString()} orders/s) ...`,
  );
  const jobStarted = Date.now();
  const handle = cleanOrders({
    pravega,
    input,
    output,
    end,
    checkpointDir: `${home}/checkpoints`,
    failOnceAfter: Math.floor(ORDERS * 0.6),
    ratePerReader: RATE / 2,
  });
  let checkpoints = 0;
  handle.events$.subscribe((e: JobEvent) => {
    if (e.type === 'checkpoint-completed') checkpoints++;
    if (e.type === 'restart') {
      line(
        `   restart ${e.attempt} after "${e.error.message}" from checkpoint ${e.fromCheckpoint ?? '(none)'}`,
      );
    }
    if (e.type === 'metrics') {
      const source = e.operators.find((o) => o.name === 'orders');
      if (source)
        line(`   ${source.recordsOut.toLocaleString()} orders read, ${checkpoints} checkpoints`);
    }
  });
  const result = await handle.result;
  const jobMs = Date.now() - jobStarted;
  line(
    `   ${result.status} in ${jobMs} ms with ${result.restarts} restart(s), ${checkpoints} checkpoints`,
  );

  // 3. verify the output: every valid order exactly once, per customer in order
  const scanner = await client.scanStream(output, jsonSerializer<CleanOrder>());
  const out = (await scanner.readUpTo(ORDERS + 1, 2_000)).map((e) => e.value);
  scanner.close();
  await shared.release();
  const ids = new Set<number>();
  let duplicates = 0;
  let outOfOrder = 0;
  const last = new Map<string, number>();
  for (const o of out) {
    if (ids.has(o.id)) duplicates++;
    ids.add(o.id);
    if (o.seq <= (last.get(o.customer) ?? -1)) outOfOrder++;
    last.set(o.customer, o.seq);
  }
  const expected = ORDERS - invalid;
  const missing = expected - ids.size;
  line(
    `3. verified ${output}: ${out.length.toLocaleString()} clean orders (expected ${expected.toLocaleString()})`,
  );
  line(`   duplicates ${duplicates}, missing ${missing}, out of order ${outOfOrder}`);
  const ok = duplicates === 0 && missing === 0 && outOfOrder === 0 && out.length === expected;
  line(ok ? 'exactly once ✔' : 'NOT exactly once ✘');
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
