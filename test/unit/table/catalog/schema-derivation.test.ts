import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import {
  avroSchemaOf,
  fieldsOfAvro,
  fromAvroValue,
  sameFields,
  toAvroValue,
  FLINK_AVRO_RECORD,
  type Field,
} from '../../../../src/table/catalog/avro-schema.js';
import { fieldsOfJsonSchema, jsonSchemaOf } from '../../../../src/table/catalog/json-schema.js';
import { parseDataType } from '../../../../src/table/data-types.js';
import type { DataType, Row } from '../../../../src/table/types.js';

const f = (name: string, type: string): Field => ({ name, type: parseDataType(type) });

/** types whose trip through an Avro schema and back gives the very same type */
const EXACT: Field[] = [
  f('b', 'BOOLEAN'),
  f('i', 'INT'),
  f('l', 'BIGINT NOT NULL'),
  f('fl', 'FLOAT'),
  f('d', 'DOUBLE'),
  f('s', 'STRING NOT NULL'),
  f('by', 'BYTES'),
  f('dec', 'DECIMAL(12, 3)'),
  f('day', 'DATE'),
  f('t', 'TIME(3)'),
  f('ts', 'TIMESTAMP(3) NOT NULL'),
  f('arr', 'ARRAY<INT NOT NULL>'),
  f('m', 'MAP<STRING NOT NULL, DOUBLE>'),
  f('r', 'ROW<city STRING, zip INT NOT NULL, inner ROW<x BIGINT>>'),
  f('bin', 'BINARY(16)'),
];

describe('table columns ↔ Avro schema (Flink’s mapping)', () => {
  it('round-trips every representable type exactly', () => {
    const schema = avroSchemaOf(EXACT.filter((x) => x.name !== 'bin'));
    expect(fieldsOfAvro(JSON.stringify(schema))).toEqual(EXACT.filter((x) => x.name !== 'bin'));
    // fixed comes back as BINARY(size)
    expect(
      fieldsOfAvro({
        type: 'record',
        name: 'x',
        fields: [{ name: 'bin', type: ['null', { type: 'fixed', name: 'f16', size: 16 }] }],
      }),
    ).toEqual([EXACT.find((x) => x.name === 'bin')]);
  });

  it('names records and nullable unions as Flink does', () => {
    const schema = avroSchemaOf([
      f('a', 'INT'),
      f('r', 'ROW<x INT NOT NULL>'),
      f('ts', 'TIMESTAMP(3)'),
    ]);
    expect(schema).toEqual({
      type: 'record',
      name: FLINK_AVRO_RECORD,
      fields: [
        { name: 'a', type: ['null', 'int'] },
        {
          name: 'r',
          type: [
            'null',
            {
              type: 'record',
              name: `${FLINK_AVRO_RECORD}_r`,
              fields: [{ name: 'x', type: 'int' }],
            },
          ],
        },
        { name: 'ts', type: ['null', { type: 'long', logicalType: 'timestamp-millis' }] },
      ],
    });
  });

  it('loses what Avro does not keep, in the documented way', () => {
    const back = fieldsOfAvro(
      JSON.stringify(
        avroSchemaOf([
          f('a', 'TINYINT'),
          f('b', 'VARCHAR(10)'),
          f('c', 'TIMESTAMP_LTZ(3)'),
          f('d', 'TIMESTAMP(6)'),
        ]),
      ),
    );
    expect(back.map((x) => x.type.root)).toEqual(['INT', 'STRING', 'TIMESTAMP', 'TIMESTAMP']);
    expect(
      fieldsOfAvro({
        type: 'record',
        name: 'e',
        fields: [{ name: 'e', type: { type: 'enum', name: 'E', symbols: ['A'] } }],
      })[0]!.type.root,
    ).toBe('STRING');
  });

  it('refuses what no table type can hold, naming the field', () => {
    expect(() =>
      fieldsOfAvro({ type: 'record', name: 'x', fields: [{ name: 'u', type: ['int', 'string'] }] }),
    ).toThrow(/field 'u'.*union/);
    expect(() =>
      fieldsOfAvro({
        type: 'record',
        name: 'n',
        fields: [{ name: 'next', type: ['null', { type: 'record', name: 'n', fields: [] }] }],
      }),
    ).toThrow(/field 'next'.*recursive/);
    expect(() => fieldsOfAvro('"int"')).toThrow(/not a record/);
    expect(() => avroSchemaOf([f('m', 'MAP<INT, INT>')])).toThrow(/column 'm'.*string keys/);
    expect(() => avroSchemaOf([f('bad-name', 'INT')])).toThrow(
      /'bad-name' is not a valid Avro field name/,
    );
  });

  it('writes and reads row values with avsc, nulls, decimals and nesting included', () => {
    const fields = EXACT.filter((x) => x.name !== 'bin');
    const row: DataType = { root: 'ROW', nullable: false, fields };
    const type = avro.Type.forSchema(avroSchemaOf(fields) as avro.Schema);
    const value: Row = {
      b: true,
      i: -7,
      l: 2 ** 40,
      fl: 1.5,
      d: -2.25,
      s: 'x',
      by: Buffer.from([0, 255]),
      dec: -1234.567,
      day: 19_000,
      t: 45_296_789,
      ts: 1_700_000_000_123,
      arr: [1, 2],
      m: { k: 0.5 },
      r: { city: null, zip: 1, inner: { x: 3 } },
    };
    const bytes = type.toBuffer(toAvroValue(row, value, ''));
    expect(fromAvroValue(row, row, type.fromBuffer(bytes))).toEqual(value);
    const nulls = Object.fromEntries(
      fields.map((x) => [x.name, x.type.nullable ? null : value[x.name]]),
    );
    expect(
      fromAvroValue(row, row, type.fromBuffer(type.toBuffer(toAvroValue(row, nulls, '')))),
    ).toEqual(nulls);
    expect(() => toAvroValue(row, { ...value, s: null }, '')).toThrow(/column '.s' is NOT NULL/);
  });

  it('compares column lists by the Avro schema they derive', () => {
    expect(sameFields([f('a', 'VARCHAR(3)')], [f('a', 'STRING')])).toBe(true);
    expect(sameFields([f('a', 'INT')], [f('a', 'BIGINT')])).toBe(false);
  });
});

describe('table columns ↔ JSON schema', () => {
  it('round-trips every type exactly through x-flink-type', () => {
    const fields = [
      ...EXACT,
      f('tiny', 'TINYINT NOT NULL'),
      f('v', 'VARCHAR(20)'),
      f('ltz', 'TIMESTAMP_LTZ(3)'),
    ];
    expect(fieldsOfJsonSchema(JSON.stringify(jsonSchemaOf(fields)))).toEqual(fields);
  });

  it('writes a standard JSON schema', () => {
    const schema = jsonSchemaOf([
      f('a', 'INT NOT NULL'),
      f('s', 'STRING'),
      f('ts', 'TIMESTAMP(3)'),
    ]);
    expect(schema).toMatchObject({
      type: 'object',
      required: ['a'],
      properties: {
        a: { type: 'integer' },
        s: { type: ['string', 'null'] },
        ts: { type: ['string', 'null'], format: 'date-time' },
      },
    });
  });

  it('reads JSON schemas without x-flink-type, Flink’s own included', () => {
    const flinks =
      '{"title": "Json Schema", "type": "object", "properties": { "id": {"type": "number"},"name": {"type": "string"},"ts": {"type": "string", "format": "date-time"}}}';
    expect(fieldsOfJsonSchema(flinks).map((x) => [x.name, x.type.root, x.type.nullable])).toEqual([
      ['id', 'DOUBLE', true],
      ['name', 'STRING', true],
      ['ts', 'TIMESTAMP', true],
    ]);
    const plain = {
      type: 'object',
      required: ['n'],
      properties: {
        n: { type: 'integer' },
        tags: { type: 'array', items: { type: 'string' } },
        attrs: { type: 'object', additionalProperties: { type: 'boolean' } },
        raw: { type: 'string', contentEncoding: 'base64' },
      },
    };
    expect(fieldsOfJsonSchema(plain).map((x) => [x.name, x.type.root, x.type.nullable])).toEqual([
      ['n', 'BIGINT', false],
      ['tags', 'ARRAY', true],
      ['attrs', 'MAP', true],
      ['raw', 'BYTES', true],
    ]);
  });

  it('refuses what no table type can hold, naming the property', () => {
    expect(() => fieldsOfJsonSchema({ type: 'object', properties: { u: { oneOf: [] } } })).toThrow(
      /property 'u'.*oneOf/,
    );
    expect(() =>
      fieldsOfJsonSchema({ type: 'object', properties: { u: { type: ['string', 'integer'] } } }),
    ).toThrow(/property 'u'/);
    expect(() =>
      fieldsOfJsonSchema({ type: 'object', properties: { o: { type: 'object' } } }),
    ).toThrow(/property 'o'/);
    expect(() => fieldsOfJsonSchema('{"type":"string"}')).toThrow(/object with 'properties'/);
    expect(() => fieldsOfJsonSchema('{')).toThrow(/not valid JSON/);
  });
});
