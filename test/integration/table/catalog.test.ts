import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { bytesSerializer } from '../../../src/pravega/client/serializer.js';
import { parseDataType } from '../../../src/table/data-types.js';
import { pravegaCatalogFactory } from '../../../src/table/catalog/pravega-catalog.js';
import { SchemaRegistryClient } from '../../../src/table/catalog/registry-client.js';
import { pravegaRegistryFormat } from '../../../src/table/formats/pravega-registry.js';
import { writeRegistryHeader } from '../../../src/table/formats/pravega-registry-header.js';
import type { Catalog, FormatContext, Row, TableSchema } from '../../../src/table/types.js';
import { ensureRegistryJars } from '../../../tools/schema-registry/jars.js';
import { embeddedBackend, realBackend } from '../../support/backends.js';
import { randomScope } from '../../support/endpoints.js';
import { readCommitted } from '../../support/read-stream.js';

/**
 * The Pravega catalog against the real schema registry (a Pravega-backed registry JVM started by
 * the global setup), over both backends: databases are scopes, tables are streams with a registry
 * group; rows written through the `pravega-registry` encoder come back through its decoder; and
 * (real server only) the registry's Java serializers read Tributary's events and the reverse.
 */

const registryUri = (): string => inject('schemaRegistry').uri;

const SCHEMA: TableSchema = {
  columns: [
    { kind: 'physical', name: 'id', type: parseDataType('INT') },
    { kind: 'physical', name: 'name', type: parseDataType('STRING') },
    { kind: 'physical', name: 'amount', type: parseDataType('DOUBLE') },
  ],
};

const rows = (n: number, prefix: string): Row[] =>
  Array.from({ length: n }, (_, i) => ({ id: i, name: `${prefix}-${i}`, amount: i * 1.5 }));

async function formatContext(catalog: Catalog, db: string, table: string): Promise<FormatContext> {
  const resolved = await catalog.getTable(db, table);
  return {
    tableName: resolved.name,
    columns: resolved.schema.columns.flatMap((c) =>
      c.kind === 'physical' ? [{ name: c.name, type: c.type }] : [],
    ),
    options: resolved.options,
  };
}

async function writeRows(client: PravegaClient, scope: string, stream: string, events: Buffer[]) {
  const writer = await client.createWriter({ scope, stream }, bytesSerializer);
  for (const e of events) void writer.write(e);
  await writer.flush();
  await writer.close();
}

describe.each([
  ['real', realBackend],
  ['embedded', embeddedBackend],
] as const)('Pravega catalog over the real schema registry (%s backend)', (name, makeBackend) => {
  const backend = makeBackend();
  const db = randomScope('catdb');
  let client: PravegaClient;
  let catalog: Catalog;

  beforeAll(async () => {
    client = await backend.connect();
    await client.createScope(db);
    catalog = pravegaCatalogFactory.create('cat', {
      type: 'pravega',
      'controller-uri': backend.uri(),
      'schema-registry-uri': registryUri(),
      'default-database': db,
    });
    await catalog.open();
  });
  afterAll(async () => {
    await catalog?.close();
    await backend.cleanup();
  });

  it('creates, lists and drops databases; refuses a non-empty drop without cascade', async () => {
    const other = randomScope('catother');
    await catalog.createDatabase(other, false);
    expect(await catalog.databaseExists(other)).toBe(true);
    expect(await catalog.listDatabases()).toEqual(expect.arrayContaining([db, other]));
    await expect(catalog.createDatabase(other, false)).rejects.toMatchObject({
      code: 'SCOPE_EXISTS',
    });
    await catalog.createDatabase(other, true);

    await catalog.createTable(other, 't1', { schema: SCHEMA, options: {} }, false);
    await expect(catalog.dropDatabase(other, false, false)).rejects.toThrow(
      /database 'catother-[0-9a-f]+' still holds tables \(t1\)/,
    );
    await expect(catalog.dropDatabase(other, false, false)).rejects.toMatchObject({
      code: 'SCOPE_NOT_EMPTY',
    });
    await catalog.dropDatabase(other, false, true);
    expect(await catalog.databaseExists(other)).toBe(false);
    // the group went with it
    expect(
      await new SchemaRegistryClient({ uri: registryUri(), namespace: other }).groupExists('t1'),
    ).toBe(false);
    await expect(catalog.dropDatabase(other, false, false)).rejects.toMatchObject({
      code: 'SCOPE_NOT_FOUND',
    });
    await catalog.dropDatabase(other, true, false);
  });

  it('creates a table as a stream + registry group + schema, resolves it with connector options, drops it', async () => {
    await catalog.createTable(db, 'orders', { schema: SCHEMA, options: {} }, false);
    expect(await catalog.listTables(db)).toEqual(['orders']);
    expect(await client.controller.streamExists({ scope: db, stream: 'orders' })).toBe(true);
    const registry = new SchemaRegistryClient({ uri: registryUri(), namespace: db });
    const group = await registry.getGroup('orders');
    expect(group).toMatchObject({ serializationFormat: 'Avro', compatibility: 'AllowAny' });

    const table = await catalog.getTable(db, 'orders');
    expect(table.schema.columns).toEqual(SCHEMA.columns);
    expect(table.options).toMatchObject({
      connector: 'pravega',
      'controller-uri': backend.uri(),
      scope: db,
      'scan.streams': 'orders',
      'sink.stream': 'orders',
      format: 'pravega-registry',
      'pravega-registry.uri': registryUri(),
      'pravega-registry.namespace': db,
      'pravega-registry.group-id': 'orders',
      'pravega-registry.format': 'Avro',
    });

    await expect(
      catalog.createTable(db, 'orders', { schema: SCHEMA, options: {} }, false),
    ).rejects.toMatchObject({
      code: 'STREAM_EXISTS',
    });
    await catalog.createTable(db, 'orders', { schema: SCHEMA, options: {} }, true);
    await expect(
      catalog.createTable(db, 'bad', { schema: SCHEMA, options: { connector: 'kafka' } }, false),
    ).rejects.toThrow(/remove 'connector'/);
    await expect(catalog.getTable(db, 'missing')).rejects.toMatchObject({
      code: 'STREAM_NOT_FOUND',
    });
    await expect(catalog.listTables('no-such-db')).rejects.toMatchObject({
      code: 'SCOPE_NOT_FOUND',
    });

    // a stream without a group is no table, and hidden names stay hidden
    await client.createStream(
      { scope: db, stream: 'plain' },
      { scalingPolicy: { type: 'fixed', minSegments: 1 } },
    );
    expect(await catalog.listTables(db)).toEqual(['orders']);

    await catalog.dropTable(db, 'orders', false);
    expect(await catalog.tableExists(db, 'orders')).toBe(false);
    expect(await client.controller.streamExists({ scope: db, stream: 'orders' })).toBe(false);
    expect(await registry.groupExists('orders')).toBe(false);
    await expect(catalog.dropTable(db, 'orders', false)).rejects.toMatchObject({
      code: 'STREAM_NOT_FOUND',
    });
    await catalog.dropTable(db, 'orders', true);
  });

  it('refuses a default database that does not exist', async () => {
    const bad = pravegaCatalogFactory.create('bad', {
      'controller-uri': backend.uri(),
      'schema-registry-uri': registryUri(),
      'default-database': randomScope('nodb'),
    });
    await expect(bad.open()).rejects.toThrow(
      /'default-database' = 'nodb-[0-9a-f]+' is not an existing scope/,
    );
  });

  it.each(['Avro', 'Json'] as const)(
    'round-trips rows through the %s encoder, the stream and the decoder',
    async (format) => {
      const cat = pravegaCatalogFactory.create(`cat${format}`, {
        'controller-uri': backend.uri(),
        'schema-registry-uri': registryUri(),
        'default-database': db,
        'serialization.format': format,
      });
      await cat.open();
      try {
        const table = `rt${format.toLowerCase()}`;
        const schema: TableSchema = {
          columns: [
            ...SCHEMA.columns,
            { kind: 'physical', name: 'ts', type: parseDataType('TIMESTAMP(3)') },
            { kind: 'physical', name: 'day', type: parseDataType('DATE') },
            { kind: 'physical', name: 'price', type: parseDataType('DECIMAL(10, 2)') },
            { kind: 'physical', name: 'tags', type: parseDataType('ARRAY<STRING>') },
            { kind: 'physical', name: 'attrs', type: parseDataType('MAP<STRING, INT>') },
            {
              kind: 'physical',
              name: 'addr',
              type: parseDataType('ROW<city STRING, zip INT NOT NULL>'),
            },
            { kind: 'physical', name: 'raw', type: parseDataType('BYTES') },
          ],
        };
        await cat.createTable(db, table, { schema, options: {} }, false);
        const ctx = await formatContext(cat, db, table);
        expect(ctx.options['pravega-registry.format']).toBe(format);
        const encoder = await pravegaRegistryFormat.createEncoder(ctx);
        const input: Row[] = rows(200, format).map((r, i) => ({
          ...r,
          ts: 1_700_000_000_000 + i * 1001,
          day: 19_000 + i,
          price: i + 0.25,
          tags: [`t${i}`, 'x'],
          attrs: { a: i },
          addr: { city: i % 2 === 0 ? null : 'Lyon', zip: 69000 + i },
          raw: Buffer.from([i & 0xff, 1, 2]),
        }));
        input[3] = { ...input[3]!, name: null, price: null, tags: null, addr: null };
        await writeRows(
          client,
          db,
          table,
          input.map((r) => encoder.encode(r, '+I')),
        );
        const events = await readCommitted(client, { scope: db, stream: table }, bytesSerializer);
        expect(events).toHaveLength(200);
        expect(events[0]![0]).toBe(1); // the registry's protocol byte
        const decoder = await pravegaRegistryFormat.createDecoder(ctx);
        const output = events.flatMap((e) => decoder.decode(Buffer.from(e)) as Row[]);
        expect(output).toEqual(input);
        expect(() => encoder.encode(input[0]!, '-D')).toThrow(/inserts only/);
        expect(() => decoder.decode(Buffer.from('{"id":1}'))).toThrow(/schema registry header/);
        // an encoding the registry handed out after the decoder opened: a clear error, no stall
        expect(() => decoder.decode(writeRegistryHeader(999, Buffer.alloc(1)))).toThrow(
          /encoding id 999 of group 'rt(avro|json)' was not registered when the job started.*restart the job/,
        );
      } finally {
        await cat.close();
      }
    },
  );

  it.runIf(name === 'real')(
    "the registry's Java serializers read Tributary's events, and Tributary reads theirs",
    async () => {
      await catalog.createTable(db, 'interop', { schema: SCHEMA, options: {} }, false);
      const ctx = await formatContext(catalog, db, 'interop');
      const encoder = await pravegaRegistryFormat.createEncoder(ctx);
      await writeRows(
        client,
        db,
        'interop',
        rows(5, 'ts').map((r) => encoder.encode(r, '+I')),
      );

      const install = ensureRegistryJars();
      const program = fileURLToPath(new URL('./java/RegistryInterop.java', import.meta.url));
      const java = async (mode: string, count: number) =>
        (
          await promisify(execFile)(
            install.java,
            [
              '-cp',
              install.classpath,
              program,
              registryUri(),
              backend.uri(),
              db,
              'interop',
              mode,
              String(count),
            ],
            { timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
          )
        ).stdout
          .split('\n')
          .filter((l) => /^(read|wrote)\t/.test(l));

      const read = await java('read', 5);
      expect(read.map((l) => JSON.parse(l.split('\t')[1]!) as Row)).toEqual(rows(5, 'ts'));

      expect(await java('write', 4)).toEqual(['wrote\t4']);
      const events = await readCommitted(client, { scope: db, stream: 'interop' }, bytesSerializer);
      expect(events).toHaveLength(9);
      const decoder = await pravegaRegistryFormat.createDecoder(ctx);
      const all = events.flatMap((e) => decoder.decode(Buffer.from(e)) as Row[]);
      expect(all.filter((r) => String(r['name']).startsWith('java-'))).toEqual(rows(4, 'java'));
      // both sides named the same encoding (the same registered schema, no codec)
      expect(new Set(events.map((e) => Buffer.from(e).readInt32BE(1))).size).toBe(1);
    },
    // two Java source launches (each compiles first): slow on a loaded machine
    600_000,
  );

  it('says which key is wrong in catalog options', () => {
    const base = {
      'controller-uri': backend.uri(),
      'schema-registry-uri': registryUri(),
      'default-database': db,
    };
    expect(() =>
      pravegaCatalogFactory.create('c', { ...base, 'serialization.format': 'Xml' }),
    ).toThrow(/serialization\.format/);
    expect(() => pravegaCatalogFactory.create('c', { ...base, 'scan.streams': 'x' })).toThrow(
      /scan\.streams/,
    );
    expect(TributaryError.is(new Error('x'))).toBe(false);
  });
});

describe('schema registry REST client against the real registry', () => {
  const namespace = randomScope('regns');
  const registry = (): SchemaRegistryClient =>
    new SchemaRegistryClient({ uri: registryUri(), namespace });
  const avroSchema = (fields: { name: string; type: unknown; default?: unknown }[]) => ({
    type: 'rec',
    serializationFormat: 'Avro' as const,
    schema: JSON.stringify({ type: 'record', name: 'rec', fields }),
    properties: {},
  });

  afterAll(async () => {
    const r = registry();
    for (const g of (await r.listGroups()).keys()) await r.removeGroup(g);
  });

  it('lists groups page by page, follows continuation tokens, adds, gets and removes', async () => {
    const r = registry();
    const names = ['g0', 'g1', 'g2', 'g3', 'g4'];
    for (const g of names) expect(await r.addGroup(g, { serializationFormat: 'Avro' })).toBe(true);
    expect(await r.addGroup('g0')).toBe(false);
    expect([...(await r.listGroups(2)).keys()].sort()).toEqual(names);
    // namespaces are apart
    expect((await r.withNamespace(randomScope('empty')).listGroups()).size).toBe(0);
    expect(await r.getGroup('g1')).toMatchObject({
      serializationFormat: 'Avro',
      compatibility: 'AllowAny',
      allowMultipleTypes: false,
    });
    expect(await r.removeGroup('g4')).toBe(true);
    expect(await r.removeGroup('g4')).toBe(false);
    await expect(r.getGroup('g4')).rejects.toMatchObject({ code: 'REGISTRY_NOT_FOUND' });
    await expect(r.getGroup('g4')).rejects.toThrow(
      /getGroup of 'regns-[0-9a-f]+\/g4' failed with HTTP 404/,
    );
  });

  it('adds schemas, finds them by id, version and content, and gives encoding ids', async () => {
    const r = registry();
    await r.addGroup('s', { serializationFormat: 'Avro', compatibility: 'Backward' });
    const v0 = await r.addSchema('s', avroSchema([{ name: 'a', type: 'int' }]));
    expect(v0).toEqual({ type: 'rec', serializationFormat: 'Avro', version: 0, id: 0 });
    // the same schema again is the same version
    expect(await r.addSchema('s', avroSchema([{ name: 'a', type: 'int' }]))).toEqual(v0);
    const v1 = await r.addSchema(
      's',
      avroSchema([
        { name: 'a', type: 'int' },
        { name: 'b', type: ['null', 'string'], default: null },
      ]),
    );
    expect(v1.version).toBe(1);
    // Backward: a new field without a default cannot read old data
    await expect(
      r.addSchema('s', avroSchema([{ name: 'c', type: 'string' }])),
    ).rejects.toMatchObject({ code: 'REGISTRY_CONFLICT' });
    expect(await r.validateSchema('s', avroSchema([{ name: 'c', type: 'string' }]))).toBe(false);
    await r.updateCompatibility('s', 'AllowAny');
    expect(await r.validateSchema('s', avroSchema([{ name: 'c', type: 'string' }]))).toBe(true);

    expect((await r.getLatestSchema('s')).version).toEqual(v1);
    expect((await r.getSchemaVersions('s')).map((s) => s.version.version)).toEqual([0, 1]);
    expect((await r.getSchemas('s')).length).toBeGreaterThanOrEqual(1);
    expect(JSON.parse((await r.getSchemaById('s', v0.id)).schema)).toMatchObject({ name: 'rec' });
    expect((await r.getSchemaByVersion('s', 'Avro', 'rec', 1)).schema).toContain('"b"');
    expect(await r.getVersionForSchema('s', avroSchema([{ name: 'a', type: 'int' }]))).toEqual(v0);

    const e0 = await r.getEncodingId('s', v0);
    const e1 = await r.getEncodingId('s', v1);
    expect(e1).not.toBe(e0);
    expect(await r.getEncodingId('s', v0)).toBe(e0);
    expect(await r.getEncodingInfo('s', e1)).toMatchObject({ version: v1, codecType: '' });
    await expect(r.getEncodingInfo('s', 999)).rejects.toMatchObject({ code: 'REGISTRY_NOT_FOUND' });
    await expect(
      r.addSchema('s', { ...avroSchema([]), schema: 'not a schema' }),
    ).rejects.toMatchObject({ code: 'ILLEGAL_ARGUMENT' });
  });
});

describe('Pravega catalog security options on the auth-enabled server', () => {
  it("passes 'security.auth-type' Basic + 'security.auth-token' to the Pravega client", async () => {
    const endpoint = inject('pravegaAuth');
    const credentials = endpoint.credentials!;
    const token = (user: string, pass: string) =>
      Buffer.from(`${user}:${pass}`, 'utf8').toString('base64');
    const db = randomScope('catauth');
    const options = (auth: string) => ({
      'controller-uri': endpoint.controllerUri,
      'schema-registry-uri': registryUri(),
      'default-database': db,
      'security.auth-type': 'Basic',
      'security.auth-token': auth,
    });
    const admin = await PravegaClient.connect({
      controllerUri: endpoint.controllerUri,
      credentials,
    });
    try {
      await admin.createScope(db);
      const catalog = pravegaCatalogFactory.create(
        'auth',
        options(token(credentials.username, credentials.password)),
      );
      await catalog.open();
      try {
        const other = randomScope('catauth2');
        await catalog.createDatabase(other, false);
        expect(await catalog.listDatabases()).toEqual(expect.arrayContaining([db, other]));
        await catalog.dropDatabase(other, false, false);
      } finally {
        await catalog.close();
      }
      const wrong = pravegaCatalogFactory.create(
        'wrong',
        options(token(credentials.username, 'not-the-password')),
      );
      await expect(wrong.open()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
      const bearer = pravegaCatalogFactory.create('bearer', {
        ...options('x'),
        'security.auth-type': 'Bearer',
      });
      await expect(bearer.open()).rejects.toThrow(
        /'security.auth-type' = 'Bearer' is not supported/,
      );
    } finally {
      await admin.deleteScope(db).catch(() => undefined);
      await admin.close();
    }
  });
});
