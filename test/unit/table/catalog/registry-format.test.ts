import { describe, expect, it } from 'vitest';
import { pravegaCatalogFactory } from '../../../../src/table/catalog/pravega-catalog.js';
import { SchemaRegistryClient } from '../../../../src/table/catalog/registry-client.js';
import { findCatalogFactory, findFormat } from '../../../../src/table/factories.js';
import { pravegaRegistryFormat } from '../../../../src/table/formats/pravega-registry.js';
import {
  readRegistryHeader,
  writeRegistryHeader,
} from '../../../../src/table/formats/pravega-registry-header.js';
import { fromJsonValue, toJsonValue } from '../../../../src/table/formats/pravega-registry-json.js';
import { parseDataType } from '../../../../src/table/data-types.js';

describe("the schema registry's encoding header", () => {
  it('is protocol byte 0x01 + the encoding id as a big-endian int32, then the payload', () => {
    const event = writeRegistryHeader(0x01020304, Buffer.from('abc'));
    expect(event.toString('hex')).toBe('0101020304616263');
    expect(readRegistryHeader(event, 't')).toEqual({
      encodingId: 0x01020304,
      body: Buffer.from('abc'),
    });
    expect(readRegistryHeader(writeRegistryHeader(0, Buffer.alloc(0)), 't').encodingId).toBe(0);
  });

  it('refuses an event without it, saying what it saw', () => {
    expect(() => readRegistryHeader(Buffer.from('{"a":1}'), 'cat.db.t')).toThrow(
      /cat\.db\.t: the event \(7 bytes, first byte 0x7b\) does not start with the schema registry header/,
    );
    expect(() => readRegistryHeader(Buffer.from([1, 0]), 't')).toThrow(/2 bytes/);
  });
});

describe('JSON values as Flink’s JSON format writes them', () => {
  it('writes SQL or ISO-8601 timestamps and reads both', () => {
    const ts = parseDataType('TIMESTAMP(3)');
    const ms = Date.UTC(2024, 0, 31, 12, 0, 0, 500);
    expect(toJsonValue(ts, ms, 'ts', 'SQL')).toBe('2024-01-31 12:00:00.5');
    expect(toJsonValue(ts, ms, 'ts', 'ISO-8601')).toBe('2024-01-31T12:00:00.5');
    expect(toJsonValue(parseDataType('TIMESTAMP_LTZ(3)'), ms, 'ts', 'SQL')).toBe(
      '2024-01-31 12:00:00.5Z',
    );
    expect(fromJsonValue(ts, '2024-01-31 12:00:00.5', 'ts')).toBe(ms);
    expect(fromJsonValue(ts, '2024-01-31T12:00:00.500Z', 'ts')).toBe(ms);
    expect(toJsonValue(parseDataType('DATE'), 19_753, 'd', 'SQL')).toBe('2024-01-31');
    expect(fromJsonValue(parseDataType('TIME(3)'), '01:02:03.004', 't')).toBe(3_723_004);
    expect(() => fromJsonValue(ts, 'yesterday', 'ts')).toThrow(
      /field 'ts': "yesterday" is not a TIMESTAMP/,
    );
    expect(() => fromJsonValue(parseDataType('BIGINT'), 2 ** 60, 'n')).toThrow(/within ±2\^53/);
  });
});

describe('options', () => {
  const good = {
    type: 'pravega',
    'controller-uri': 'tcp://localhost:9090',
    'schema-registry-uri': 'http://localhost:9092',
    'default-database': 'db',
  };

  it.each([
    [{ ...good, 'controller-uri': undefined }, /controller-uri/],
    [{ ...good, 'controller-uri': 'http://x' }, /controller-uri: must be a controller URI/],
    [
      { ...good, 'schema-registry-uri': 'localhost:9092' },
      /schema-registry-uri: must be the schema registry's http:\/\/ URL/,
    ],
    [{ ...good, 'default-database': '' }, /default-database: must name an existing scope/],
    [
      { ...good, 'serialization.format': 'Protobuf' },
      /serialization\.format: must be 'Avro' or 'Json'/,
    ],
    [
      { ...good, 'security.auth-type': 'Basic' },
      /'security.auth-type' and 'security.auth-token' go together/,
    ],
    [{ ...good, 'security.validate-hostname': 'yes' }, /security\.validate-hostname/],
    [{ ...good, 'json.timestamp-format.standard': 'RFC' }, /json\.timestamp-format\.standard/],
    [{ ...good, 'scan.streams': 's' }, /scan\.streams/],
    [{ ...good, type: 'hive' }, /type/],
  ])('catalog options %# are refused with a message naming the key', (options, message) => {
    const clean = Object.fromEntries(
      Object.entries(options).filter(([, v]) => v !== undefined),
    ) as Record<string, string>;
    expect(() => pravegaCatalogFactory.create('c', clean)).toThrow(message);
  });

  it('registers the catalog factory and the format by identifier', () => {
    expect(findCatalogFactory('pravega', 'c')).toBe(pravegaCatalogFactory);
    expect(findFormat('pravega-registry', 't')).toBe(pravegaRegistryFormat);
    expect(pravegaCatalogFactory.create('c', good).defaultDatabase).toBe('db');
  });

  it.each([
    [
      { 'pravega-registry.namespace': 'n', 'pravega-registry.group-id': 'g' },
      /pravega-registry\.uri/,
    ],
    [
      { 'pravega-registry.uri': 'http://r:1', 'pravega-registry.group-id': 'g' },
      /pravega-registry\.namespace/,
    ],
    [
      {
        'pravega-registry.uri': 'http://r:1',
        'pravega-registry.namespace': 'n',
        'pravega-registry.group-id': 'g',
        'pravega-registry.format': 'Csv',
      },
      /pravega-registry\.format: must be 'Avro' or 'Json'/,
    ],
    [
      {
        'pravega-registry.uri': 'http://r:1',
        'pravega-registry.namespace': 'n',
        'pravega-registry.group-id': 'g',
        'pravega-registry.colour': 'red',
      },
      /'pravega-registry\.colour' is not an option of format 'pravega-registry'/,
    ],
  ])('format options %# are refused before the registry is asked', async (options, message) => {
    const ctx = { tableName: 't', columns: [], options };
    await expect(pravegaRegistryFormat.createEncoder(ctx)).rejects.toThrow(message);
    await expect(pravegaRegistryFormat.createDecoder(ctx)).rejects.toThrow(message);
  });

  it('refuses a registry URI that is not http(s)', () => {
    expect(() => new SchemaRegistryClient({ uri: 'tcp://x:1' })).toThrow(
      /not an http:\/\/ or https:\/\/ URL/,
    );
  });

  it('fails a call to a registry that is not there with a retryable connection error', async () => {
    const client = new SchemaRegistryClient({ uri: 'http://127.0.0.1:9', timeoutMs: 5_000 });
    await expect(client.listGroups()).rejects.toMatchObject({
      code: 'CONNECTION_FAILED',
      retryable: true,
    });
  });
});
