/**
 * `format = 'debezium-json'`: Debezium change events read as a changelog — `c`/`r` → +I(after),
 * `u` → -U(before), +U(after), `d` → -D(before); a tombstone (empty or `null` event) is skipped.
 * With `debezium-json.schema-include` the envelope sits under `payload` (Kafka Connect's JSON
 * converter with schemas). The encoder writes envelopes as Flink does: +I/+U as `c` with `after`,
 * -U/-D as `d` with `before`.
 */
import { TributaryError } from '../../errors.js';
import { registerFormat } from '../factories.js';
import type {
  ChangeRow,
  FormatContext,
  FormatDecoder,
  FormatEncoder,
  FormatFactory,
  Row,
  RowKind,
} from '../types.js';
import {
  boolOption,
  decodeError,
  formatOptionError,
  refuseUnimplemented,
} from './format-options.js';
import { jsonObjectToRow, jsonRowOptions, parseJson, rowToJsonObject } from './json.js';

const P = 'debezium-json';
const UNIMPLEMENTED = [
  `${P}.map-null-key.mode`,
  `${P}.map-null-key.literal`,
  `${P}.encode.decimal-as-plain-number`,
  `${P}.encode.ignore-null-fields`,
];

export const debeziumJsonFormat: FormatFactory = {
  identifier: P,
  optionKeys: [
    `${P}.schema-include`,
    `${P}.ignore-parse-errors`,
    `${P}.timestamp-format.standard`,
    ...UNIMPLEMENTED,
  ],
  async createDecoder(ctx: FormatContext): Promise<FormatDecoder> {
    refuseUnimplemented(ctx, UNIMPLEMENTED, P);
    const schemaInclude = boolOption(ctx, `${P}.schema-include`, false);
    const o = jsonRowOptions(ctx, P, false);
    const image = (v: unknown, field: string): Row => {
      if (v === null || v === undefined)
        throw decodeError(ctx, P, `the '${field}' image is missing`);
      return jsonObjectToRow(ctx, v, o);
    };
    const decodeOne = (payload: Buffer): ChangeRow[] => {
      if (payload.length === 0) return [];
      let doc = parseJson(ctx, P, payload);
      if (doc === null) return [];
      if (schemaInclude) {
        if (typeof doc !== 'object' || !('payload' in doc)) {
          throw decodeError(
            ctx,
            P,
            `no 'payload' field ('${P}.schema-include' is true: expected {"schema": …, "payload": …})`,
          );
        }
        doc = doc.payload;
      }
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
        throw decodeError(ctx, P, 'expected a Debezium envelope object');
      }
      const env = doc as Record<string, unknown>;
      switch (env['op']) {
        case 'c':
        case 'r':
          return [{ kind: '+I', row: image(env['after'], 'after') }];
        case 'u':
          if (env['before'] === null || env['before'] === undefined) {
            throw decodeError(
              ctx,
              P,
              `the 'before' image of an update is null (a Postgres source needs REPLICA IDENTITY FULL)`,
            );
          }
          return [
            { kind: '-U', row: image(env['before'], 'before') },
            { kind: '+U', row: image(env['after'], 'after') },
          ];
        case 'd':
          return [{ kind: '-D', row: image(env['before'], 'before') }];
        default:
          if (!schemaInclude && 'schema' in env && 'payload' in env) {
            throw decodeError(
              ctx,
              P,
              `the event has 'schema' and 'payload': set '${P}.schema-include' = 'true'`,
            );
          }
          throw decodeError(
            ctx,
            P,
            `unknown operation 'op' = ${JSON.stringify(env['op'])} (expected c, r, u or d)`,
          );
      }
    };
    return {
      changelogMode: 'all',
      decode(payload: Buffer): ChangeRow[] {
        try {
          return decodeOne(payload);
        } catch (err) {
          if (o.ignoreParseErrors && err instanceof TributaryError) return [];
          throw err;
        }
      },
    };
  },
  async createEncoder(ctx: FormatContext): Promise<FormatEncoder> {
    refuseUnimplemented(ctx, UNIMPLEMENTED, P);
    if (boolOption(ctx, `${P}.schema-include`, false)) {
      throw formatOptionError(
        ctx,
        `${P}.schema-include`,
        `applies to reading only: the encoder writes envelopes without a schema (as Flink's)`,
      );
    }
    const { convert } = jsonRowOptions(ctx, P, false);
    return {
      acceptsChanges: true,
      encode(row: Row, kind: RowKind): Buffer {
        const image = rowToJsonObject(ctx, row, convert);
        const insert = kind === '+I' || kind === '+U';
        const env = insert
          ? { before: null, after: image, op: 'c' }
          : { before: image, after: null, op: 'd' };
        return Buffer.from(JSON.stringify(env), 'utf8');
      },
    };
  },
};

registerFormat(debeziumJsonFormat);
