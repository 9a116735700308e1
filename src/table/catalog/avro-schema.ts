import { TributaryError } from '../../errors.js';
import type { DataType, Row } from '../types.js';

/**
 * Flink's mapping between table types and Avro schemas (as `AvroSchemaConverter` does it), and the
 * row values of `types.ts` to and from the values `avsc` reads and writes.
 *
 * Table → Avro: BOOLEAN boolean; TINYINT/SMALLINT/INT int; BIGINT long; FLOAT float; DOUBLE
 * double; CHAR/VARCHAR/STRING string; BINARY/VARBINARY/BYTES bytes; DECIMAL(p,s) bytes with
 * logicalType decimal; DATE int date; TIME int time-millis; TIMESTAMP(p≤3) and TIMESTAMP_LTZ long
 * timestamp-millis (p > 3 also timestamp-millis: micro/nanoseconds are not kept); ARRAY array;
 * MAP<STRING,V> map (Avro maps have string keys: any other key type is an error); ROW record named
 * `<parent>_<field>`; a nullable type is the union [null, T]. The top record is Flink's
 * `org.apache.flink.avro.generated.record`.
 *
 * Avro → table: the reverse, plus enum → STRING, fixed → BINARY(size) (or DECIMAL with the decimal
 * logical type), long timestamp-micros → TIMESTAMP(6), time-micros → TIME(6). Not representable
 * (an error that names the field): unions of two or more non-null types, and recursive records.
 * Without a logical type, TINYINT/SMALLINT and CHAR/VARCHAR lengths come back as INT and STRING.
 */

export const FLINK_AVRO_RECORD = 'org.apache.flink.avro.generated.record';

/** the length of STRING and BYTES (VARCHAR/VARBINARY of the largest length), as data-types.ts has it */
export const MAX_LENGTH = 2147483647;

export type AvroSchema = string | AvroSchema[] | { readonly [key: string]: unknown };

export interface Field {
  readonly name: string;
  readonly type: DataType;
}

function avroOfType(t: DataType, name: string, path: string): AvroSchema {
  const base = avroOfNonNull(t, name, path);
  return t.nullable ? ['null', base] : base;
}

function avroOfNonNull(t: DataType, name: string, path: string): AvroSchema {
  switch (t.root) {
    case 'BOOLEAN':
      return 'boolean';
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
      return 'int';
    case 'BIGINT':
      return 'long';
    case 'FLOAT':
      return 'float';
    case 'DOUBLE':
      return 'double';
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
      return 'string';
    case 'BINARY':
    case 'VARBINARY':
    case 'BYTES':
      return 'bytes';
    case 'DECIMAL':
      return {
        type: 'bytes',
        logicalType: 'decimal',
        precision: t.precision ?? 10,
        scale: t.scale ?? 0,
      };
    case 'DATE':
      return { type: 'int', logicalType: 'date' };
    case 'TIME':
      return { type: 'int', logicalType: 'time-millis' };
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      return { type: 'long', logicalType: 'timestamp-millis' };
    case 'ARRAY':
      return { type: 'array', items: avroOfType(t.element!, name, `${path}[]`) };
    case 'MAP': {
      const key = t.key!;
      if (!['STRING', 'VARCHAR', 'CHAR'].includes(key.root)) {
        throw new TributaryError(
          'CONFIG_INVALID',
          `column '${path}': Avro maps have string keys, so MAP with ${key.root} keys has no Avro schema; use MAP<STRING, ...>`,
        );
      }
      return { type: 'map', values: avroOfType(t.value!, name, `${path}{}`) };
    }
    case 'ROW':
      return avroRecord(t.fields ?? [], name, path);
  }
}

function avroRecord(fields: readonly Field[], name: string, path: string): AvroSchema {
  return {
    type: 'record',
    name,
    fields: fields.map((f) => ({
      name: f.name,
      type: avroOfType(f.type, `${name}_${f.name}`, path ? `${path}.${f.name}` : f.name),
    })),
  };
}

/** The Avro schema Flink derives for a row of these fields. */
export function avroSchemaOf(fields: readonly Field[], recordName = FLINK_AVRO_RECORD): AvroSchema {
  for (const f of fields) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(f.name)) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `column '${f.name}' is not a valid Avro field name (letters, digits and _, not starting with a digit); rename it`,
      );
    }
  }
  return avroRecord(fields, recordName, '');
}

// ---- Avro → table ----

function asObject(s: AvroSchema): Record<string, unknown> | undefined {
  return typeof s === 'object' && !Array.isArray(s) ? s : undefined;
}

function typeOfAvro(s: AvroSchema, path: string, seen: Set<string>): DataType {
  if (Array.isArray(s)) {
    const branches = s.filter((b) => b !== 'null');
    if (branches.length !== 1) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `field '${path}': the Avro union ${JSON.stringify(s)} has no table type (only [null, T] unions do)`,
      );
    }
    return { ...typeOfAvro(branches[0]!, path, seen), nullable: s.length > 1 };
  }
  const obj = asObject(s);
  const type = obj ? obj['type'] : s;
  const logical = obj?.['logicalType'];
  const notNull = (t: Omit<DataType, 'nullable'>): DataType => ({ ...t, nullable: false });
  if (typeof type === 'object') return typeOfAvro(type as AvroSchema, path, seen);
  switch (type) {
    case 'null':
      throw new TributaryError(
        'CONFIG_INVALID',
        `field '${path}': a lone Avro null has no table type`,
      );
    case 'boolean':
      return notNull({ root: 'BOOLEAN' });
    case 'int':
      if (logical === 'date') return notNull({ root: 'DATE' });
      if (logical === 'time-millis') return notNull({ root: 'TIME', precision: 3 });
      return notNull({ root: 'INT' });
    case 'long':
      if (logical === 'timestamp-millis') return notNull({ root: 'TIMESTAMP', precision: 3 });
      if (logical === 'timestamp-micros') return notNull({ root: 'TIMESTAMP', precision: 6 });
      if (logical === 'local-timestamp-millis') return notNull({ root: 'TIMESTAMP', precision: 3 });
      if (logical === 'time-micros') return notNull({ root: 'TIME', precision: 6 });
      return notNull({ root: 'BIGINT' });
    case 'float':
      return notNull({ root: 'FLOAT' });
    case 'double':
      return notNull({ root: 'DOUBLE' });
    case 'string':
    case 'enum':
      return notNull({ root: 'STRING', precision: MAX_LENGTH });
    case 'bytes':
    case 'fixed':
      if (logical === 'decimal') {
        return notNull({
          root: 'DECIMAL',
          precision: Number(obj?.['precision'] ?? 10),
          scale: Number(obj?.['scale'] ?? 0),
        });
      }
      return type === 'fixed'
        ? notNull({ root: 'BINARY', precision: Number(obj?.['size'] ?? 1) })
        : notNull({ root: 'BYTES', precision: MAX_LENGTH });
    case 'array':
      return notNull({
        root: 'ARRAY',
        element: typeOfAvro(obj!['items'] as AvroSchema, `${path}[]`, seen),
      });
    case 'map':
      return notNull({
        root: 'MAP',
        key: { root: 'STRING', nullable: false, precision: MAX_LENGTH },
        value: typeOfAvro(obj!['values'] as AvroSchema, `${path}{}`, seen),
      });
    case 'record': {
      const name = String(obj!['name']);
      if (seen.has(name)) {
        throw new TributaryError(
          'CONFIG_INVALID',
          `field '${path}': the Avro record '${name}' is recursive, which no table type can hold`,
        );
      }
      const inner = new Set(seen).add(name);
      const fields = (obj!['fields'] as { name: string; type: AvroSchema }[]).map((f) => ({
        name: f.name,
        type: typeOfAvro(f.type, path ? `${path}.${f.name}` : f.name, inner),
      }));
      return notNull({ root: 'ROW', fields });
    }
    default:
      throw new TributaryError(
        'CONFIG_INVALID',
        `field '${path}': the Avro type ${JSON.stringify(type)} is not known (a named type defined elsewhere is not supported)`,
      );
  }
}

/** The table columns of an Avro record schema (its text or parsed JSON). */
export function fieldsOfAvro(schema: string | AvroSchema): Field[] {
  let parsed: AvroSchema;
  try {
    // a schema's text is JSON ('"int"', '{...}'); a bare primitive name ('int') is allowed too
    parsed =
      typeof schema === 'string' && /^\s*[[{"]/.test(schema)
        ? (JSON.parse(schema) as AvroSchema)
        : schema;
  } catch (err) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `the Avro schema is not valid JSON: ${(err as Error).message}`,
    );
  }
  const top = typeOfAvro(parsed, '', new Set());
  if (top.root !== 'ROW') {
    throw new TributaryError(
      'CONFIG_INVALID',
      `the Avro schema is a ${top.root}, not a record; a table needs a record schema`,
    );
  }
  return [...(top.fields ?? [])];
}

// ---- values ----

const DAY_MS = 86_400_000;

function decimalToBytes(value: number, scale: number, path: string): Buffer {
  if (!Number.isFinite(value)) {
    throw new TributaryError('ILLEGAL_ARGUMENT', `column '${path}': ${value} is not a DECIMAL`);
  }
  let unscaled = BigInt(Math.round(value * 10 ** scale));
  const bytes: number[] = [];
  // two's complement, big-endian, minimal length
  for (;;) {
    bytes.unshift(Number(unscaled & 0xffn));
    const rest = unscaled >> 8n;
    const signBit = (bytes[0]! & 0x80) !== 0;
    if ((rest === 0n && !signBit) || (rest === -1n && signBit)) break;
    unscaled = rest;
  }
  return Buffer.from(bytes);
}

function bytesToDecimal(buf: Buffer, scale: number): number {
  let v = 0n;
  for (const b of buf) v = (v << 8n) | BigInt(b);
  if (buf.length > 0 && (buf[0]! & 0x80) !== 0) v -= 1n << BigInt(buf.length * 8);
  return Number(v) / 10 ** scale;
}

/** A row value (types.ts table) → what avsc writes for the Avro type derived from `t`. */
export function toAvroValue(t: DataType, value: unknown, path: string): unknown {
  if (value === null || value === undefined) {
    if (!t.nullable) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `column '${path}' is NOT NULL but the row has no value`,
      );
    }
    return null;
  }
  switch (t.root) {
    case 'DECIMAL':
      return decimalToBytes(Number(value), t.scale ?? 0, path);
    case 'BINARY':
    case 'VARBINARY':
    case 'BYTES':
      return Buffer.isBuffer(value)
        ? value
        : Buffer.from(typeof value === 'string' ? value : '', 'base64');
    case 'ARRAY':
      return (value as unknown[]).map((v, i) => toAvroValue(t.element!, v, `${path}[${i}]`));
    case 'MAP':
      return Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([k, v]) => [
          k,
          toAvroValue(t.value!, v, `${path}.${k}`),
        ]),
      );
    case 'ROW':
      return Object.fromEntries(
        (t.fields ?? []).map((f) => [
          f.name,
          toAvroValue(f.type, (value as Row)[f.name], `${path}.${f.name}`),
        ]),
      );
    default:
      return value;
  }
}

/**
 * What avsc read (with the writer's schema) → the row value of table type `t`. The writer's
 * logical types decide the unit: a DECIMAL column reads decimal bytes, a TIMESTAMP column reads
 * epoch milliseconds (microseconds when the writer said timestamp-micros).
 */
export function fromAvroValue(t: DataType, writer: DataType | undefined, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (t.root) {
    case 'DECIMAL':
      return Buffer.isBuffer(value)
        ? bytesToDecimal(value, writer?.scale ?? t.scale ?? 0)
        : Number(value);
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      return writer?.root === 'TIMESTAMP' && (writer.precision ?? 3) > 3
        ? Math.floor(Number(value) / 1000)
        : Number(value);
    case 'TIME':
      return writer?.root === 'TIME' && (writer.precision ?? 3) > 3
        ? Math.floor(Number(value) / 1000) % DAY_MS
        : Number(value);
    case 'ARRAY':
      return (value as unknown[]).map((v) => fromAvroValue(t.element!, writer?.element, v));
    case 'MAP':
      return Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([k, v]) => [
          k,
          fromAvroValue(t.value!, writer?.value, v),
        ]),
      );
    case 'ROW': {
      const out: Row = {};
      const record = value as Record<string, unknown>;
      for (const f of t.fields ?? []) {
        const w = writer?.fields?.find((x) => x.name === f.name)?.type;
        out[f.name] = fromAvroValue(f.type, w, record[f.name]);
      }
      return out;
    }
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT':
    case 'FLOAT':
    case 'DOUBLE':
      return typeof value === 'bigint' ? Number(value) : value;
    case 'BINARY':
    case 'VARBINARY':
    case 'BYTES':
      return Buffer.isBuffer(value) ? Buffer.from(value) : value;
    default:
      return value;
  }
}

/**
 * Whether two column lists describe the same Avro record (their derived schemas are equal), so a
 * registered schema can be reused for a table: lengths, map-key nullability and the like that
 * Avro does not keep are not compared.
 */
export function sameFields(a: readonly Field[], b: readonly Field[]): boolean {
  try {
    return JSON.stringify(avroSchemaOf(a)) === JSON.stringify(avroSchemaOf(b));
  } catch {
    return false;
  }
}
