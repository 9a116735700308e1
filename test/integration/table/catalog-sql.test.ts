/**
 * The SQL path through the Pravega catalog, on both backends: `CREATE CATALOG ... WITH ('type' =
 * 'pravega', ...)`, `CREATE TABLE cat.db.t (...)` (a stream + registry group), `INSERT INTO
 * cat.db.big SELECT ... FROM cat.db.orders WHERE ...`, then the sink's events decoded with the
 * `pravega-registry` decoder (and their header checked).
 *
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { bytesSerializer } from '../../../src/pravega/client/serializer.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import '../../../src/table/index.js';
import { pravegaRegistryFormat } from '../../../src/table/formats/pravega-registry.js';
import { TableEnvironment } from '../../../src/table/table-environment.js';
import type { Catalog, Row } from '../../../src/table/types.js';
import { pravegaCatalogFactory } from '../../../src/table/catalog/pravega-catalog.js';
import { embeddedBackend, realBackend } from '../../support/backends.js';
import { randomScope } from '../../support/endpoints.js';
import { readCommitted } from '../../support/read-stream.js';

async function sql(tableEnv: TableEnvironment, statement: string) {
  return tableEnv.executeSql(statement);
}

async function waitFor(what: string, check: () => Promise<boolean>, deadlineMs = 120_000) {
  const until = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.each([
  ['real', realBackend],
  ['embedded', embeddedBackend],
] as const)('SQL through the Pravega catalog (%s backend)', (_name, makeBackend) => {
  const backend = makeBackend();
  const db = randomScope('catsql');
  let client: PravegaClient;
  let catalog: Catalog;

  beforeAll(async () => {
    client = await backend.connect();
    await client.createScope(db);
    catalog = pravegaCatalogFactory.create('check', {
      'controller-uri': backend.uri(),
      'schema-registry-uri': inject('schemaRegistry').uri,
      'default-database': db,
    });
    await catalog.open();
  });
  afterAll(async () => {
    await catalog?.close();
    await backend.cleanup();
  });

  it('CREATE CATALOG, CREATE TABLE in it, INSERT INTO ... SELECT ... WHERE between catalog tables', async () => {
    const tableEnv = TableEnvironment.create(StreamEnvironment.create({ parallelism: 1 }));
    await sql(
      tableEnv,
      `CREATE CATALOG cat WITH ('type' = 'pravega', 'controller-uri' = '${backend.uri()}',
        'schema-registry-uri' = '${inject('schemaRegistry').uri}', 'default-database' = '${db}')`,
    );
    await sql(tableEnv, `CREATE TABLE cat.\`${db}\`.orders (id INT, name STRING, amount DOUBLE)`);
    await sql(tableEnv, `CREATE TABLE cat.\`${db}\`.big (id INT, name STRING, amount DOUBLE)`);
    expect(await catalog.listTables(db)).toEqual(['big', 'orders']);

    // the input, written through the format the catalog's tables use
    const table = await catalog.getTable(db, 'orders');
    const ctx = {
      tableName: table.name,
      columns: table.schema.columns.flatMap((c) =>
        c.kind === 'physical' ? [{ name: c.name, type: c.type }] : [],
      ),
      options: table.options,
    };
    const encoder = await pravegaRegistryFormat.createEncoder(ctx);
    const writer = await client.createWriter({ scope: db, stream: 'orders' }, bytesSerializer);
    const input: Row[] = Array.from({ length: 100 }, (_, i) => ({
      id: i,
      name: `n${i}`,
      amount: i * 10,
    }));
    for (const r of input) void writer.write(encoder.encode(r, '+I'));
    await writer.flush();
    await writer.close();

    const job = await sql(
      tableEnv,
      `INSERT INTO cat.\`${db}\`.big SELECT id, UPPER(name) AS name, amount FROM cat.\`${db}\`.orders WHERE amount >= 500`,
    );
    const expected = input
      .filter((r) => (r.amount as number) >= 500)
      .map((r) => ({ ...r, name: String(r.name).toUpperCase() }));
    await waitFor('the filtered rows in cat.db.big', async () => {
      const events = await readCommitted(client, { scope: db, stream: 'big' }, bytesSerializer);
      return events.length >= expected.length;
    });
    expect(job.kind).toBe('job');
    await job.job?.stop();

    const decoder = await pravegaRegistryFormat.createDecoder({
      ...ctx,
      options: (await catalog.getTable(db, 'big')).options,
    });
    const events = await readCommitted(client, { scope: db, stream: 'big' }, bytesSerializer);
    expect(events.every((e) => Buffer.from(e)[0] === 1)).toBe(true);
    const output = events.flatMap((e) => decoder.decode(Buffer.from(e)) as Row[]);
    expect(output.sort((a, b) => (a.id as number) - (b.id as number))).toEqual(expected);

    await sql(tableEnv, `DROP TABLE cat.\`${db}\`.big`);
    expect(await catalog.tableExists(db, 'big')).toBe(false);
  });
});
