import { TributaryError } from '../../errors.js';
import { formatDataType, parseDataType } from '../data-types.js';
import type { DataType } from '../types.js';
import { MAX_LENGTH, type Field } from './avro-schema.js';

/**
 * Table types ↔ JSON Schema (draft-07) for registry groups of format Json.
 *
 * Table → JSON Schema: BOOLEAN boolean; TINYINT…BIGINT integer; FLOAT/DOUBLE/DECIMAL number;
 * CHAR/VARCHAR/STRING string; BINARY/VARBINARY/BYTES string with contentEncoding base64; DATE,
 * TIME, TIMESTAMP/TIMESTAMP_LTZ string with format date, time, date-time; ARRAY array with items;
 * MAP object with additionalProperties (string keys only); ROW object with properties and
 * `required` for its NOT NULL fields; a nullable type adds "null" to `type`. Each property also
 * carries `x-flink-type` (the Flink type string), which JSON Schema readers ignore and which gives
 * the exact type back (TINYINT vs BIGINT, DECIMAL precision, lengths). Flink's own converter
 * writes a looser schema (every number a `number`, no nesting); this one reads Flink's too.
 *
 * JSON Schema → table, where `x-flink-type` is absent: integer BIGINT; number DOUBLE; string
 * STRING (date DATE, time TIME(3), date-time TIMESTAMP(3), base64 BYTES); boolean BOOLEAN;
 * array ARRAY; object with properties ROW; object with only additionalProperties MAP<STRING, V>.
 * Not representable (an error naming the property): `oneOf`/`anyOf`/`allOf`, `$ref`, a `type`
 * list with two non-null types, an object with neither properties nor additionalProperties.
 */

type JsonSchema = Record<string, unknown>;

function withNull(schema: JsonSchema, nullable: boolean): JsonSchema {
  if (!nullable) return schema;
  return { ...schema, type: [schema['type'] as string, 'null'] };
}

function jsonOfType(t: DataType, path: string): JsonSchema {
  let s: JsonSchema;
  switch (t.root) {
    case 'BOOLEAN':
      s = { type: 'boolean' };
      break;
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT':
      s = { type: 'integer' };
      break;
    case 'FLOAT':
    case 'DOUBLE':
    case 'DECIMAL':
      s = { type: 'number' };
      break;
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
      s = { type: 'string' };
      break;
    case 'BINARY':
    case 'VARBINARY':
    case 'BYTES':
      s = { type: 'string', contentEncoding: 'base64' };
      break;
    case 'DATE':
      s = { type: 'string', format: 'date' };
      break;
    case 'TIME':
      s = { type: 'string', format: 'time' };
      break;
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      s = { type: 'string', format: 'date-time' };
      break;
    case 'ARRAY':
      s = { type: 'array', items: jsonOfType(t.element!, `${path}[]`) };
      break;
    case 'MAP':
      if (!['STRING', 'VARCHAR', 'CHAR'].includes(t.key!.root)) {
        throw new TributaryError(
          'CONFIG_INVALID',
          `column '${path}': JSON objects have string keys, so MAP with ${t.key!.root} keys has no JSON schema; use MAP<STRING, ...>`,
        );
      }
      s = { type: 'object', additionalProperties: jsonOfType(t.value!, `${path}{}`) };
      break;
    case 'ROW':
      s = objectOf(t.fields ?? [], path);
      break;
  }
  return { ...withNull(s, t.nullable), 'x-flink-type': formatDataType({ ...t, rowtime: false }) };
}

function objectOf(fields: readonly Field[], path: string): JsonSchema {
  const required = fields.filter((f) => !f.type.nullable).map((f) => f.name);
  return {
    type: 'object',
    properties: Object.fromEntries(
      fields.map((f) => [f.name, jsonOfType(f.type, path ? `${path}.${f.name}` : f.name)]),
    ),
    ...(required.length > 0 ? { required } : {}),
  };
}

/** The JSON schema of a row of these fields (its text is what the registry stores). */
export function jsonSchemaOf(fields: readonly Field[], title = 'Json Schema'): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title,
    ...objectOf(fields, ''),
  };
}

function typeOfJson(s: JsonSchema, path: string, required: boolean): DataType {
  for (const k of ['oneOf', 'anyOf', 'allOf', '$ref']) {
    if (k in s) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `property '${path}': JSON Schema '${k}' has no table type`,
      );
    }
  }
  const flink = s['x-flink-type'];
  const types = Array.isArray(s['type']) ? (s['type'] as string[]) : [s['type'] as string];
  const nullable = types.includes('null') || !required;
  if (typeof flink === 'string') {
    try {
      return { ...parseDataType(flink), nullable: types.includes('null') };
    } catch {
      // fall through to the JSON types
    }
  }
  const real = types.filter((t) => t !== 'null');
  if (real.length !== 1) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `property '${path}': JSON Schema type ${JSON.stringify(s['type'])} has no table type (one type, optionally with null)`,
    );
  }
  const t = real[0];
  switch (t) {
    case 'boolean':
      return { root: 'BOOLEAN', nullable };
    case 'integer':
      return { root: 'BIGINT', nullable };
    case 'number':
      return { root: 'DOUBLE', nullable };
    case 'string':
      if (s['contentEncoding'] === 'base64')
        return { root: 'BYTES', nullable, precision: MAX_LENGTH };
      if (s['format'] === 'date') return { root: 'DATE', nullable };
      if (s['format'] === 'time') return { root: 'TIME', precision: 3, nullable };
      if (s['format'] === 'date-time') return { root: 'TIMESTAMP', precision: 3, nullable };
      return { root: 'STRING', nullable, precision: MAX_LENGTH };
    case 'array': {
      const items = s['items'];
      if (typeof items !== 'object' || items === null || Array.isArray(items)) {
        throw new TributaryError(
          'CONFIG_INVALID',
          `property '${path}': an array needs one 'items' schema`,
        );
      }
      return {
        root: 'ARRAY',
        nullable,
        element: typeOfJson(items as JsonSchema, `${path}[]`, false),
      };
    }
    case 'object': {
      const props = s['properties'];
      if (typeof props === 'object' && props !== null) {
        return { root: 'ROW', nullable, fields: fieldsOfObject(s, path) };
      }
      const extra = s['additionalProperties'];
      if (typeof extra === 'object' && extra !== null) {
        return {
          root: 'MAP',
          nullable,
          key: { root: 'STRING', nullable: false, precision: MAX_LENGTH },
          value: typeOfJson(extra as JsonSchema, `${path}{}`, false),
        };
      }
      throw new TributaryError(
        'CONFIG_INVALID',
        `property '${path}': an object with neither 'properties' nor an 'additionalProperties' schema has no table type`,
      );
    }
    default:
      throw new TributaryError(
        'CONFIG_INVALID',
        `property '${path}': JSON Schema type ${JSON.stringify(t)} has no table type`,
      );
  }
}

function fieldsOfObject(s: JsonSchema, path: string): Field[] {
  const required = new Set(Array.isArray(s['required']) ? (s['required'] as string[]) : []);
  return Object.entries(s['properties'] as Record<string, JsonSchema>).map(([name, p]) => ({
    name,
    type: typeOfJson(p, path ? `${path}.${name}` : name, required.has(name)),
  }));
}

/** The table columns of a JSON object schema (its text or parsed). */
export function fieldsOfJsonSchema(schema: string | JsonSchema): Field[] {
  let parsed: unknown;
  try {
    parsed = typeof schema === 'string' ? JSON.parse(schema) : schema;
  } catch (err) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `the JSON schema is not valid JSON: ${(err as Error).message}`,
    );
  }
  const s = parsed as JsonSchema;
  if (typeof s !== 'object' || s === null || typeof s['properties'] !== 'object') {
    throw new TributaryError(
      'CONFIG_INVALID',
      `the JSON schema does not describe an object with 'properties'; a table needs one`,
    );
  }
  return fieldsOfObject(s, '');
}
