import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../../src/errors.js';
import {
  avroFormat,
  csvFormat,
  debeziumJsonFormat,
  jsonFormat,
  parseDataType,
  rawFormat,
  type FormatContext,
  type FormatFactory,
  type Row,
} from '../../../../src/table/index.js';

const columns = (spec: Record<string, string>): FormatContext['columns'] =>
  Object.entries(spec).map(([name, type]) => ({ name, type: parseDataType(type) }));

const ALL = columns({
  b: 'BOOLEAN',
  i: 'INT',
  big: 'BIGINT',
  d: 'DECIMAL(10, 2)',
  f: 'DOUBLE',
  s: 'STRING',
  bytes: 'BYTES',
  day: 'DATE',
  t: 'TIME(0)',
  ts: 'TIMESTAMP(3)',
  ltz: 'TIMESTAMP_LTZ(3)',
});

const ROW: Row = {
  b: true,
  i: -7,
  big: 9007199254740991,
  d: 12.34,
  f: 0.5,
  s: 'a,"quoted" text',
  bytes: Buffer.from([0, 1, 254, 255]),
  day: 18292, // 2020-01-31
  t: 45296000, // 12:34:56
  ts: 1580474096789, // 2020-01-31 12:34:56.789
  ltz: 1580474096000,
};

const NULLS: Row = Object.fromEntries(ALL.map((c) => [c.name, null]));

const ctx = (options: Record<string, string> = {}, cols = ALL): FormatContext => ({
  tableName: 't',
  columns: cols,
  options,
});

async function roundTrip(
  f: FormatFactory,
  row: Row,
  options: Record<string, string> = {},
  cols = ALL,
): Promise<Row[]> {
  const enc = await f.createEncoder(ctx(options, cols));
  const dec = await f.createDecoder(ctx(options, cols));
  return dec.decode(enc.encode(row, '+I')) as Row[];
}

async function decode(
  f: FormatFactory,
  text: string,
  options: Record<string, string> = {},
  cols = ALL,
): Promise<unknown[]> {
  return (await f.createDecoder(ctx(options, cols))).decode(Buffer.from(text));
}

describe('json format', () => {
  it('round-trips every type, and nulls', async () => {
    expect(await roundTrip(jsonFormat, ROW)).toEqual([ROW]);
    expect(await roundTrip(jsonFormat, NULLS)).toEqual([NULLS]);
    expect(
      await roundTrip(jsonFormat, ROW, { 'json.timestamp-format.standard': 'ISO-8601' }),
    ).toEqual([ROW]);
  });

  it('writes timestamps, dates and bytes as Flink does', async () => {
    const enc = await jsonFormat.createEncoder(ctx());
    const doc = JSON.parse(enc.encode(ROW, '+I').toString()) as Record<string, unknown>;
    expect(doc).toMatchObject({
      ts: '2020-01-31 12:34:56.789',
      ltz: '2020-01-31 12:34:56Z',
      day: '2020-01-31',
      t: '12:34:56',
      bytes: 'AAH+/w==',
      d: 12.34,
    });
    const iso = await jsonFormat.createEncoder(
      ctx({ 'json.timestamp-format.standard': 'ISO-8601' }),
    );
    expect(JSON.parse(iso.encode(ROW, '+I').toString())).toMatchObject({
      ts: '2020-01-31T12:34:56.789',
    });
  });

  it('reads missing fields as null unless fail-on-missing-field', async () => {
    const cols = columns({ a: 'INT', b: 'STRING' });
    expect(await decode(jsonFormat, '{"a":1}', {}, cols)).toEqual([{ a: 1, b: null }]);
    await expect(
      decode(jsonFormat, '{"a":1}', { 'json.fail-on-missing-field': 'true' }, cols),
    ).rejects.toThrow("field 'b' is missing");
  });

  it('a top-level array gives a row per element', async () => {
    const cols = columns({ a: 'INT' });
    expect(await decode(jsonFormat, '[{"a":1},{"a":2}]', {}, cols)).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('refuses malformed input, or skips it with ignore-parse-errors', async () => {
    const cols = columns({ a: 'BIGINT', ts: 'TIMESTAMP(3)' });
    for (const bad of [
      '{"a":',
      '{"a":"x"}',
      '{"a":9007199254740993}',
      '{"ts":"2020-01-31T12:00:00"}',
      '42',
    ]) {
      await expect(decode(jsonFormat, bad, {}, cols)).rejects.toBeInstanceOf(TributaryError);
      expect(await decode(jsonFormat, bad, { 'json.ignore-parse-errors': 'true' }, cols)).toEqual(
        [],
      );
    }
    await expect(decode(jsonFormat, '{"a":9007199254740993}', {}, cols)).rejects.toThrow(
      "table t: column 'a' (BIGINT): value 9007199254740992 is beyond ±2^53",
    );
  });

  it('rounds DECIMAL to its scale and refuses what does not fit', async () => {
    const cols = columns({ d: 'DECIMAL(5, 2)' });
    expect(await decode(jsonFormat, '{"d":1.005}', {}, cols)).toEqual([{ d: 1.01 }]);
    await expect(decode(jsonFormat, '{"d":1000}', {}, cols)).rejects.toThrow(
      'does not fit DECIMAL(5, 2)',
    );
  });

  it('refuses an unimplemented Flink key by name', async () => {
    await expect(
      jsonFormat.createDecoder(ctx({ 'json.map-null-key.mode': 'DROP' })),
    ).rejects.toThrow(
      "option 'json.map-null-key.mode': is a Flink option that Tributary's json format does not implement",
    );
  });
});

describe('csv format', () => {
  it('round-trips every type, and nulls', async () => {
    expect(await roundTrip(csvFormat, ROW)).toEqual([ROW]);
    expect(await roundTrip(csvFormat, NULLS)).toEqual([NULLS]);
    expect(
      await roundTrip(csvFormat, ROW, { 'csv.field-delimiter': '|', 'csv.null-literal': 'N/A' }),
    ).toEqual([ROW]);
    expect(await roundTrip(csvFormat, { ...ROW, s: '' })).toEqual([{ ...ROW, s: '' }]);
  });

  it('reads quotes, escapes, comments and the null literal', async () => {
    const cols = columns({ a: 'INT', s: 'STRING', ts: 'TIMESTAMP(3)' });
    expect(await decode(csvFormat, '1,"x, ""y""",2020-01-31 12:34:56.5\n', {}, cols)).toEqual([
      { a: 1, s: 'x, "y"', ts: 1580474096500 },
    ]);
    expect(await decode(csvFormat, ',"",', {}, cols)).toEqual([{ a: null, s: '', ts: null }]);
    expect(await decode(csvFormat, ',,', {}, cols)).toEqual([{ a: null, s: null, ts: null }]);
    expect(
      await decode(
        csvFormat,
        'null;null;null',
        { 'csv.field-delimiter': ';', 'csv.null-literal': 'null' },
        cols,
      ),
    ).toEqual([{ a: null, s: null, ts: null }]);
    expect(await decode(csvFormat, '1,a\\,b,', { 'csv.escape-character': '\\' }, cols)).toEqual([
      { a: 1, s: 'a,b', ts: null },
    ]);
    expect(await decode(csvFormat, '# comment', { 'csv.allow-comments': 'true' }, cols)).toEqual(
      [],
    );
  });

  it('refuses malformed lines, or skips them with ignore-parse-errors', async () => {
    const cols = columns({ a: 'INT', s: 'STRING' });
    for (const bad of ['1', '1,2,3', 'x,a', '1,"open']) {
      await expect(decode(csvFormat, bad, {}, cols)).rejects.toBeInstanceOf(TributaryError);
      expect(await decode(csvFormat, bad, { 'csv.ignore-parse-errors': 'true' }, cols)).toEqual([]);
    }
  });

  it('refuses nested columns and unimplemented keys', async () => {
    await expect(csvFormat.createDecoder(ctx({}, columns({ a: 'ARRAY<INT>' })))).rejects.toThrow(
      "the csv format cannot hold column 'a' of type ARRAY<INT>",
    );
    await expect(
      csvFormat.createDecoder(ctx({ 'csv.array-element-delimiter': ';' })),
    ).rejects.toThrow("option 'csv.array-element-delimiter': is a Flink option");
    await expect(csvFormat.createDecoder(ctx({ 'csv.field-delimiter': '::' }))).rejects.toThrow(
      "option 'csv.field-delimiter': expected a single character",
    );
  });
});

describe('raw format', () => {
  it.each([
    ['STRING', 'héllo', {}],
    ['STRING', 'héllo', { 'raw.charset': 'ISO-8859-1' }],
    ['BYTES', Buffer.from([1, 2, 3]), {}],
    ['INT', -123456, { 'raw.endianness': 'little-endian' }],
    ['BIGINT', 2 ** 40, {}],
    ['DOUBLE', 1.5, {}],
    ['BOOLEAN', true, {}],
  ] as const)('round-trips %s', async (type, value, options) => {
    const cols = columns({ v: type });
    expect(await roundTrip(rawFormat, { v: value }, options, cols)).toEqual([{ v: value }]);
  });

  it('writes big-endian by default, as Flink', async () => {
    const enc = await rawFormat.createEncoder(ctx({}, columns({ v: 'INT' })));
    expect(enc.encode({ v: 1 }, '+I')).toEqual(Buffer.from([0, 0, 0, 1]));
  });

  it('refuses two columns, a wrong size, a BIGINT beyond 2^53, a null', async () => {
    await expect(rawFormat.createDecoder(ctx({}, columns({ a: 'INT', b: 'INT' })))).rejects.toThrow(
      'the raw format needs exactly one physical column, the table has 2',
    );
    await expect(decode(rawFormat, 'abc', {}, columns({ v: 'INT' }))).rejects.toThrow(
      'expected 4 bytes, got 3',
    );
    const dec = await rawFormat.createDecoder(ctx({}, columns({ v: 'BIGINT' })));
    expect(() => dec.decode(Buffer.from('7fffffffffffffff', 'hex'))).toThrow('beyond ±2^53');
    const enc = await rawFormat.createEncoder(ctx({}, columns({ v: 'STRING' })));
    expect(() => enc.encode({ v: null }, '+I')).toThrow('cannot write null');
    await expect(
      rawFormat.createDecoder(ctx({ 'raw.charset': 'EBCDIC' }, columns({ v: 'STRING' }))),
    ).rejects.toThrow("option 'raw.charset': 'EBCDIC' is not supported");
  });
});

describe('avro format', () => {
  it('round-trips every type, and nulls', async () => {
    expect(await roundTrip(avroFormat, ROW)).toEqual([ROW]);
    expect(await roundTrip(avroFormat, NULLS)).toEqual([NULLS]);
    const nested = columns({
      a: 'ARRAY<INT>',
      m: 'MAP<STRING, DOUBLE>',
      r: 'ROW<x INT, y STRING>',
      neg: 'DECIMAL(6, 3)',
    });
    const row = { a: [1, 2], m: { k: 1.5 }, r: { x: 1, y: 'z' }, neg: -123.456 };
    expect(await roundTrip(avroFormat, row, {}, nested)).toEqual([row]);
  });

  it('writes a plain binary datum: INT 1 NOT NULL is one zig-zag byte', async () => {
    const enc = await avroFormat.createEncoder(ctx({}, columns({ a: 'INT NOT NULL' })));
    expect(enc.encode({ a: 1 }, '+I')).toEqual(Buffer.from([2]));
    const nullable = await avroFormat.createEncoder(ctx({}, columns({ a: 'INT' })));
    // union branch 1 ("int"), then the value
    expect(nullable.encode({ a: 1 }, '+I')).toEqual(Buffer.from([2, 2]));
  });

  it('refuses a truncated datum and avro.codec', async () => {
    await expect(
      decode(avroFormat, '\u0002', {}, columns({ a: 'INT', b: 'STRING' })),
    ).rejects.toThrow("not an Avro datum of the table's schema");
    await expect(avroFormat.createEncoder(ctx({ 'avro.codec': 'snappy' }))).rejects.toThrow(
      "option 'avro.codec': applies to Avro container files only",
    );
  });
});

describe('debezium-json format', () => {
  const cols = columns({ id: 'INT', name: 'STRING' });
  const ev = (op: string, before: unknown, after: unknown): string =>
    JSON.stringify({ before, after, op, source: {}, ts_ms: 1 });

  it('reads c/r/u/d as a changelog', async () => {
    const dec = await debeziumJsonFormat.createDecoder(ctx({}, cols));
    expect(dec.changelogMode).toBe('all');
    const a = { id: 1, name: 'a' };
    const b = { id: 1, name: 'b' };
    expect(dec.decode(Buffer.from(ev('c', null, a)))).toEqual([{ kind: '+I', row: a }]);
    expect(dec.decode(Buffer.from(ev('r', null, a)))).toEqual([{ kind: '+I', row: a }]);
    expect(dec.decode(Buffer.from(ev('u', a, b)))).toEqual([
      { kind: '-U', row: a },
      { kind: '+U', row: b },
    ]);
    expect(dec.decode(Buffer.from(ev('d', b, null)))).toEqual([{ kind: '-D', row: b }]);
    expect(dec.decode(Buffer.from(''))).toEqual([]);
  });

  it('reads envelopes under payload with schema-include', async () => {
    const dec = await debeziumJsonFormat.createDecoder(
      ctx({ 'debezium-json.schema-include': 'true' }, cols),
    );
    const doc = JSON.stringify({
      schema: {},
      payload: { before: null, after: { id: 2, name: 'x' }, op: 'c' },
    });
    expect(dec.decode(Buffer.from(doc))).toEqual([{ kind: '+I', row: { id: 2, name: 'x' } }]);
    const plain = await debeziumJsonFormat.createDecoder(ctx({}, cols));
    expect(() => plain.decode(Buffer.from(doc))).toThrow(
      "set 'debezium-json.schema-include' = 'true'",
    );
  });

  it('refuses a bad op and an update without before, unless ignore-parse-errors', async () => {
    const dec = await debeziumJsonFormat.createDecoder(ctx({}, cols));
    expect(() => dec.decode(Buffer.from(ev('x', null, {})))).toThrow(
      'unknown operation \'op\' = "x"',
    );
    expect(() => dec.decode(Buffer.from(ev('u', null, { id: 1 })))).toThrow(
      "the 'before' image of an update is null",
    );
    const lenient = await debeziumJsonFormat.createDecoder(
      ctx({ 'debezium-json.ignore-parse-errors': 'true' }, cols),
    );
    expect(lenient.decode(Buffer.from(ev('x', null, {})))).toEqual([]);
  });

  it('writes envelopes that read back as the same changes', async () => {
    const enc = await debeziumJsonFormat.createEncoder(ctx({}, cols));
    const dec = await debeziumJsonFormat.createDecoder(ctx({}, cols));
    expect(enc.acceptsChanges).toBe(true);
    const row = { id: 3, name: 'q' };
    expect(JSON.parse(enc.encode(row, '-D').toString())).toEqual({
      before: row,
      after: null,
      op: 'd',
    });
    expect(dec.decode(enc.encode(row, '+I'))).toEqual([{ kind: '+I', row }]);
    expect(dec.decode(enc.encode(row, '-U'))).toEqual([{ kind: '-D', row }]);
    await expect(
      debeziumJsonFormat.createEncoder(ctx({ 'debezium-json.schema-include': 'true' }, cols)),
    ).rejects.toThrow('applies to reading only');
  });
});
