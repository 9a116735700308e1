/**
 * Table formats: rows per second each format encodes and decodes (one event per row), for a
 * typical row (INT, STRING, DECIMAL, TIMESTAMP, BYTES), single-threaded, in process. Printed, not
 * asserted: it tells what a format costs against the ~µs a Pravega event costs on the wire.
 *
 *   npx tsx bench/table-formats.ts [rows] [rounds]
 */
import {
  avroFormat,
  csvFormat,
  debeziumJsonFormat,
  jsonFormat,
  parseDataType,
  type FormatContext,
  type FormatFactory,
  type Row,
} from '../src/table/index.js';

const ROWS = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 3);

const ctx: FormatContext = {
  tableName: 'bench',
  columns: [
    ['id', 'INT'],
    ['customer', 'STRING'],
    ['amount', 'DECIMAL(10, 2)'],
    ['ts', 'TIMESTAMP(3)'],
    ['tag', 'BYTES'],
  ].map(([name, type]) => ({ name: name!, type: parseDataType(type!) })),
  options: {},
};

const rows: Row[] = Array.from({ length: 1000 }, (_, i) => ({
  id: i,
  customer: `customer-${i % 97}`,
  amount: (i * 37) / 100,
  ts: 1_700_000_000_000 + i * 1000,
  tag: Buffer.from([i & 0xff, 1, 2, 3]),
}));

async function measure(
  format: FormatFactory,
): Promise<{ encode: number; decode: number; bytes: number }> {
  const enc = await format.createEncoder(ctx);
  const dec = await format.createDecoder(ctx);
  let best = { encode: 0, decode: 0, bytes: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const payloads: Buffer[] = new Array<Buffer>(ROWS);
    let t = process.hrtime.bigint();
    for (let i = 0; i < ROWS; i++) payloads[i] = enc.encode(rows[i % rows.length]!, '+I');
    const encodeS = Number(process.hrtime.bigint() - t) / 1e9;
    t = process.hrtime.bigint();
    let decoded = 0;
    for (const p of payloads) decoded += dec.decode(p).length;
    const decodeS = Number(process.hrtime.bigint() - t) / 1e9;
    if (decoded !== ROWS) throw new Error(`${format.identifier}: decoded ${decoded} of ${ROWS}`);
    const bytes = payloads.reduce((n, p) => n + p.length, 0) / ROWS;
    best = {
      encode: Math.max(best.encode, ROWS / encodeS),
      decode: Math.max(best.decode, ROWS / decodeS),
      bytes,
    };
  }
  return best;
}

console.log(`table formats: ${ROWS} rows × ${ROUNDS} rounds (best round), node ${process.version}`);
for (const f of [jsonFormat, csvFormat, avroFormat, debeziumJsonFormat]) {
  const r = await measure(f);
  console.log(
    `${f.identifier.padEnd(14)} encode ${Math.round(r.encode).toLocaleString('en').padStart(10)} rows/s   decode ${Math.round(r.decode).toLocaleString('en').padStart(10)} rows/s   ${r.bytes.toFixed(1)} bytes/event`,
  );
}
