/**
 * `format = 'json'`, as Flink's JSON format: one JSON object per event (a top-level array gives a
 * row per element), columns by name; timestamps in `json.timestamp-format.standard` (`SQL`
 * default, or `ISO-8601`), BYTES as base64, DECIMAL as a plain number.
 */
import { TributaryError, errorMessage } from '../../errors.js';
import { registerFormat } from '../factories.js';
import type { FormatContext, FormatDecoder, FormatEncoder, FormatFactory, Row } from '../types.js';
import { toJsonValue, toRowValue, type ConvertOptions } from '../types/values.js';
import {
  boolOption,
  decodeError,
  formatOptionError,
  refuseUnimplemented,
  timestampOption,
} from './format-options.js';

const UNIMPLEMENTED = [
  'json.map-null-key.mode',
  'json.map-null-key.literal',
  'json.encode.decimal-as-plain-number',
  'json.encode.ignore-null-fields',
  'json.decode.json-parser.enabled',
];

export interface JsonRowOptions {
  readonly failOnMissingField: boolean;
  readonly ignoreParseErrors: boolean;
  readonly convert: ConvertOptions;
}

/** The JSON options under `prefix` (`json`, or `debezium-json` for the debezium format). */
export function jsonRowOptions(
  ctx: FormatContext,
  prefix: string,
  withMissing: boolean,
): JsonRowOptions {
  const failOnMissingField = withMissing
    ? boolOption(ctx, `${prefix}.fail-on-missing-field`, false)
    : false;
  const ignoreParseErrors = boolOption(ctx, `${prefix}.ignore-parse-errors`, false);
  if (failOnMissingField && ignoreParseErrors) {
    throw formatOptionError(
      ctx,
      `${prefix}.fail-on-missing-field`,
      `cannot be true together with '${prefix}.ignore-parse-errors' = true (choose one)`,
    );
  }
  return {
    failOnMissingField,
    ignoreParseErrors,
    convert: timestampOption(ctx, `${prefix}.timestamp-format.standard`),
  };
}

/** A JSON object → a row of the context's columns (throws DESERIALIZATION_FAILED). */
export function jsonObjectToRow(ctx: FormatContext, value: unknown, o: JsonRowOptions): Row {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw decodeError(
      ctx,
      'json',
      `expected a JSON object, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`,
    );
  }
  const input = value as Record<string, unknown>;
  const row: Row = {};
  for (const c of ctx.columns) {
    const v = input[c.name];
    if (v === undefined && o.failOnMissingField) {
      throw decodeError(
        ctx,
        'json',
        `field '${c.name}' is missing ('json.fail-on-missing-field' is true)`,
      );
    }
    row[c.name] = toRowValue(v, c.type, { table: ctx.tableName, column: c.name }, o.convert);
  }
  return row;
}

/** A row → the JSON object Flink writes (columns in order). */
export function rowToJsonObject(
  ctx: FormatContext,
  row: Row,
  convert: ConvertOptions,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of ctx.columns) {
    out[c.name] = toJsonValue(
      row[c.name],
      c.type,
      { table: ctx.tableName, column: c.name },
      convert,
    );
  }
  return out;
}

export function parseJson(ctx: FormatContext, format: string, payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8')) as unknown;
  } catch (err) {
    throw decodeError(ctx, format, `not JSON (${errorMessage(err)})`, err);
  }
}

export const jsonFormat: FormatFactory = {
  identifier: 'json',
  optionKeys: [
    'json.fail-on-missing-field',
    'json.ignore-parse-errors',
    'json.timestamp-format.standard',
    ...UNIMPLEMENTED,
  ],
  async createDecoder(ctx: FormatContext): Promise<FormatDecoder> {
    refuseUnimplemented(ctx, UNIMPLEMENTED, 'json');
    const o = jsonRowOptions(ctx, 'json', true);
    return {
      changelogMode: 'insert-only',
      decode(payload: Buffer): Row[] {
        try {
          const value = parseJson(ctx, 'json', payload);
          return Array.isArray(value)
            ? value.map((v) => jsonObjectToRow(ctx, v, o))
            : [jsonObjectToRow(ctx, value, o)];
        } catch (err) {
          if (o.ignoreParseErrors && err instanceof TributaryError) return [];
          throw err;
        }
      },
    };
  },
  async createEncoder(ctx: FormatContext): Promise<FormatEncoder> {
    refuseUnimplemented(ctx, UNIMPLEMENTED, 'json');
    const { convert } = jsonRowOptions(ctx, 'json', true);
    return {
      acceptsChanges: false,
      encode(row: Row, kind): Buffer {
        if (kind !== '+I' && kind !== '+U') {
          throw new TributaryError(
            'ILLEGAL_STATE',
            `table ${ctx.tableName}: the json format writes inserts only, got a ${kind} row (use 'debezium-json' for changes)`,
          );
        }
        return Buffer.from(JSON.stringify(rowToJsonObject(ctx, row, convert)), 'utf8');
      },
    };
  },
};

registerFormat(jsonFormat);
