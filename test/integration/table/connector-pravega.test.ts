import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { jsonSerializer } from '../../../src/pravega/client/serializer.js';
import { streamCutToText, tailCut } from '../../../src/pravega/client/stream-cut.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import {
  parseDataType,
  pravegaTableFactory,
  type ResolvedTable,
  type Row,
} from '../../../src/table/index.js';
import { BACKENDS } from '../../support/backends.js';
import { randomScope } from '../../support/endpoints.js';
import { readCommitted } from '../../support/read-stream.js';

interface Order {
  id: number;
  customer: string;
  amount: number;
  ts: string;
}

const order = (id: number): Order => ({
  id,
  customer: `c${id % 3}`,
  amount: id + 0.25,
  ts: `2020-01-31 12:00:${String(id % 60).padStart(2, '0')}.5`,
});

/** Java's EventPointer bytes → segment, offset, length (to fetch the event with). */
function readPointer(b: Buffer): { segment: string; offset: number; length: number } {
  let pos = 8; // format, version, revision count, revision id, revision length
  const nameLength = b.readUInt16BE(pos);
  const segment = b.subarray(pos + 2, pos + 2 + nameLength).toString('utf8');
  pos += 2 + nameLength;
  // compact long: the top 2 bits give 1, 2, 4 or 8 bytes; compact int: 0x → 1 byte (7 bits),
  // 10 → 2 bytes, 11 → 4 bytes
  const compact = (widths: number[]): number => {
    const width = widths[b[pos]! >> 6]!;
    let v = b[pos]! & (width === 1 && widths[1] === 1 ? 0x7f : 0x3f);
    for (let i = 1; i < width; i++) v = v * 256 + b[pos + i]!;
    pos += width;
    return v;
  };
  const offset = compact([1, 2, 4, 8]);
  const length = compact([1, 1, 2, 4]);
  return { segment, offset, length };
}

describe.each(BACKENDS.map((b) => [b().name, b] as const))(
  'Pravega table connector on %s',
  (name, makeBackend) => {
    const backend = makeBackend();
    let client: PravegaClient;
    const scope = randomScope('table-conn');

    beforeAll(async () => {
      client = await backend.connect();
      await client.createScope(scope);
    });
    afterAll(async () => {
      await backend.cleanup();
    });

    const table = (tableName: string, options: Record<string, string>): ResolvedTable => ({
      name: tableName,
      schema: {
        columns: [
          { kind: 'physical', name: 'id', type: parseDataType('INT NOT NULL') },
          { kind: 'physical', name: 'customer', type: parseDataType('STRING') },
          { kind: 'physical', name: 'amount', type: parseDataType('DECIMAL(10, 2)') },
          { kind: 'physical', name: 'ts', type: parseDataType('TIMESTAMP(3)') },
          {
            kind: 'metadata',
            name: 'ptr',
            type: parseDataType('BYTES'),
            key: 'event_pointer',
            virtual: true,
          },
        ],
      },
      options: {
        connector: 'pravega',
        'controller-uri': backend.uri(),
        scope,
        format: 'json',
        ...options,
      },
    });

    async function write(stream: string, orders: readonly Order[]): Promise<void> {
      const writer = await client.createWriter(`${scope}/${stream}`, jsonSerializer<Order>());
      await writer.writeBatch(orders, (o) => o.customer);
      await writer.close();
    }

    const cut = async (stream: string): Promise<string> =>
      streamCutToText(await tailCut(client.controller, client.segmentStore, { scope, stream }));

    it('reads JSON events through createSource (streaming, up to an end cut) and writes them exactly-once through createSink', async () => {
      await client.createStream(`${scope}/orders`, {
        scalingPolicy: { type: 'fixed', minSegments: 2 },
      });
      await client.createStream(`${scope}/big-orders`, {
        scalingPolicy: { type: 'fixed', minSegments: 1 },
      });
      const orders = Array.from({ length: 200 }, (_, i) => order(i));
      await write('orders', orders);
      // the gate: the source is streaming (a reader group) and ends at the tail as of now
      const source = table('orders', {
        'scan.streams': 'orders',
        'scan.end-streamcuts': await cut('orders'),
      });
      const sink = table('big_orders', {
        'sink.stream': 'big-orders',
        'sink.semantic': 'exactly-once',
        'sink.routing-key.field.name': 'customer',
      });
      expect(pravegaTableFactory.isBounded(source)).toBe(true);
      pravegaTableFactory.validate(sink, 'sink');

      const env = StreamEnvironment.create({
        parallelism: 2,
        pravega: backend.uri(),
        checkpoint: { intervalMs: 200, timeoutMs: 30_000 },
      });
      const pointers: { id: number; ptr: Buffer }[] = [];
      const timestamps: number[] = [];
      const result = await pravegaTableFactory.createSource(env, source, {
        project: (row) => ({ ...row, double: (row['id'] as number) * 2 }),
        eventTime: { timestamp: (row) => row['ts'] as number, maxOutOfOrdernessMs: 1000 },
        name: 'orders',
      });
      expect(result.changelogMode).toBe('insert-only');
      if (result.changelogMode !== 'insert-only') return;
      const rows = result.stream
        .map((row: Row) => {
          expect(row['double']).toBe((row['id'] as number) * 2);
          pointers.push({ id: row['id'] as number, ptr: row['ptr'] as Buffer });
          timestamps.push(row['ts'] as number);
          return row;
        })
        .filter((row) => (row['amount'] as number) >= 100);
      await pravegaTableFactory.createSink(rows, sink, false);
      const run = await env.execute(`table-stream-${name}`).result;
      expect(run.status).toBe('finished');

      expect(pointers.map((p) => p.id).sort((a, b) => a - b)).toEqual(orders.map((o) => o.id));
      expect(timestamps).toContain(Date.UTC(2020, 0, 31, 12, 0, 7, 500));
      // every pointer fetches its event: its bytes at the offset are the header and the JSON
      for (const { id, ptr } of pointers.slice(0, 10)) {
        const p = readPointer(ptr);
        expect(p.segment.startsWith(`${scope}/orders/`)).toBe(true);
        const read = await client.segmentStore.read(p.segment, BigInt(p.offset), p.length);
        const event = JSON.parse(read.data.subarray(8, p.length).toString()) as Order;
        expect(event.id).toBe(id);
      }

      const written = await readCommitted(
        client,
        `${scope}/big-orders`,
        jsonSerializer<Record<string, unknown>>(),
      );
      expect(written.map((o) => o['id']).sort((a, b) => Number(a) - Number(b))).toEqual(
        orders.filter((o) => o.amount >= 100).map((o) => o.id),
      );
      expect(written[0]).toEqual({
        id: expect.any(Number) as number,
        customer: expect.any(String) as string,
        amount: expect.any(Number) as number,
        ts: expect.stringMatching(/^2020-01-31 12:00:\d\d\.5$/) as string,
      });
    });

    it('reads between two cuts in batch mode, and finishes', async () => {
      await client.createStream(`${scope}/history`, {
        scalingPolicy: { type: 'fixed', minSegments: 3 },
      });
      await write(
        'history',
        Array.from({ length: 50 }, (_, i) => order(i)),
      );
      const from = await cut('history');
      await write(
        'history',
        Array.from({ length: 70 }, (_, i) => order(100 + i)),
      );
      const to = await cut('history');
      await write(
        'history',
        Array.from({ length: 30 }, (_, i) => order(500 + i)),
      );

      const source = table('history', {
        'scan.streams': `${scope}/history`,
        'scan.execution.type': 'batch',
        'scan.start-streamcuts': from,
        'scan.end-streamcuts': to,
      });
      expect(pravegaTableFactory.isBounded(source)).toBe(true);
      const env = StreamEnvironment.create({ parallelism: 2, pravega: backend.uri() });
      const ids: number[] = [];
      const result = await pravegaTableFactory.createSource(env, source);
      if (result.changelogMode !== 'insert-only') throw new Error('expected insert-only');
      await pravegaTableFactory.createSink(
        result.stream.map((row: Row) => {
          ids.push(row['id'] as number);
          return row;
        }),
        table('history_copy', { 'sink.stream': 'history-copy' }),
        false,
      );
      await client.createStream(`${scope}/history-copy`, {
        scalingPolicy: { type: 'fixed', minSegments: 1 },
      });
      const run = await env.execute(`table-batch-${name}`).result;
      expect(run.status).toBe('finished');
      expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: 70 }, (_, i) => 100 + i));
      const copied = await readCommitted(client, `${scope}/history-copy`, jsonSerializer<Order>());
      expect(copied.length).toBe(70);
    });

    it('reads debezium-json as a changelog and writes the changes back as envelopes', async () => {
      await client.createStream(`${scope}/cdc`, {
        scalingPolicy: { type: 'fixed', minSegments: 1 },
      });
      await client.createStream(`${scope}/cdc-out`, {
        scalingPolicy: { type: 'fixed', minSegments: 1 },
      });
      const a = { id: 1, name: 'a' };
      const b = { id: 1, name: 'b' };
      const writer = await client.createWriter(`${scope}/cdc`, jsonSerializer<unknown>());
      await writer.writeBatch(
        [
          { before: null, after: a, op: 'c', source: {}, ts_ms: 1 },
          { before: a, after: b, op: 'u', source: {}, ts_ms: 2 },
          { before: b, after: null, op: 'd', source: {}, ts_ms: 3 },
        ],
        () => 'k',
      );
      await writer.close();
      const cdc = (tableName: string, options: Record<string, string>): ResolvedTable => ({
        name: tableName,
        schema: {
          columns: [
            { kind: 'physical', name: 'id', type: parseDataType('INT') },
            { kind: 'physical', name: 'name', type: parseDataType('STRING') },
          ],
        },
        options: {
          connector: 'pravega',
          'controller-uri': backend.uri(),
          scope,
          format: 'debezium-json',
          ...options,
        },
      });
      const env = StreamEnvironment.create({ parallelism: 1, pravega: backend.uri() });
      const result = await pravegaTableFactory.createSource(
        env,
        cdc('cdc', { 'scan.streams': 'cdc', 'scan.execution.type': 'batch' }),
      );
      expect(result.changelogMode).toBe('all');
      if (result.changelogMode !== 'all') return;
      const kinds: string[] = [];
      await pravegaTableFactory.createSink(
        result.stream.map((c) => {
          kinds.push(c.kind);
          return c;
        }),
        cdc('cdc_out', { 'sink.stream': 'cdc-out' }),
        true,
      );
      expect((await env.execute(`table-cdc-${name}`).result).status).toBe('finished');
      expect(kinds).toEqual(['+I', '-U', '+U', '-D']);
      const out = await readCommitted(client, `${scope}/cdc-out`, jsonSerializer<unknown>());
      expect(out).toEqual([
        { before: null, after: a, op: 'c' },
        { before: a, after: null, op: 'd' },
        { before: null, after: b, op: 'c' },
        { before: b, after: null, op: 'd' },
      ]);
    });
  },
);
