import { parseDataType } from '../src/table/data-types.js';
import { pravegaRegistryFormat } from '../src/table/formats/pravega-registry.js';
import type { FormatContext, Row } from '../src/table/types.js';
import { startRegistryServer } from '../tools/schema-registry/index.js';

/**
 * The `pravega-registry` format's codec cost: rows/s and bytes per event for encoding and
 * decoding (header + Avro binary, header + JSON) of a 6-column row, and the registry's start time.
 * The registry runs in memory (no Pravega needed); the data path itself never calls it.
 * `npm run bench:registry-format [-- --rows N]`
 */

const argv = process.argv.slice(2);
const rowsArg = argv.indexOf('--rows');
const ROWS = rowsArg >= 0 ? Number(argv[rowsArg + 1]) : 200_000;

const columns = [
  { name: 'id', type: parseDataType('BIGINT') },
  { name: 'name', type: parseDataType('STRING') },
  { name: 'amount', type: parseDataType('DOUBLE') },
  { name: 'price', type: parseDataType('DECIMAL(10, 2)') },
  { name: 'ts', type: parseDataType('TIMESTAMP(3)') },
  { name: 'tags', type: parseDataType('ARRAY<STRING>') },
];

const rows: Row[] = Array.from({ length: 1000 }, (_, i) => ({
  id: i,
  name: `customer-${i}`,
  amount: i * 1.5,
  price: i + 0.25,
  ts: 1_700_000_000_000 + i,
  tags: ['a', `t${i % 7}`],
}));

async function main(): Promise<void> {
  const registry = await startRegistryServer({ store: 'InMemory' });
  console.log(`schema registry (in memory) ready in ${registry.startSeconds.toFixed(1)} s`);
  try {
    for (const format of ['Avro', 'Json'] as const) {
      const ctx: FormatContext = {
        tableName: `bench.${format}`,
        columns,
        options: {
          'pravega-registry.uri': registry.uri,
          'pravega-registry.namespace': 'bench',
          'pravega-registry.group-id': `rows${format}`,
          'pravega-registry.format': format,
        },
      };
      const encoder = await pravegaRegistryFormat.createEncoder(ctx);
      const decoder = await pravegaRegistryFormat.createDecoder(ctx);
      const events: Buffer[] = new Array<Buffer>(ROWS);
      let started = process.hrtime.bigint();
      for (let i = 0; i < ROWS; i++) events[i] = encoder.encode(rows[i % rows.length]!, '+I');
      const encodeS = Number(process.hrtime.bigint() - started) / 1e9;
      started = process.hrtime.bigint();
      let decoded = 0;
      for (const e of events) decoded += decoder.decode(e).length;
      const decodeS = Number(process.hrtime.bigint() - started) / 1e9;
      const bytes = events.reduce((n, e) => n + e.length, 0);
      console.log(
        `${format.padEnd(4)}  encode ${Math.round(ROWS / encodeS).toLocaleString('en')} rows/s` +
          `  decode ${Math.round(decoded / decodeS).toLocaleString('en')} rows/s` +
          `  ${(bytes / ROWS).toFixed(1)} B/event (5 B header)`,
      );
    }
  } finally {
    await registry.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
