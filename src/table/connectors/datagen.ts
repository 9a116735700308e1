/**
 * `connector = 'datagen'` (Flink's option keys): rows generated from a sequence source, so a
 * restart resumes exactly where the last checkpoint was. `number-of-rows` bounds the table;
 * `rows-per-second` throttles it; per field `fields.<f>.kind` = `sequence` (`start`..`end`, which
 * also bounds the table) or `random` (`min`/`max` for numbers, `length` for strings). Random
 * values are a hash of the row number, so a replay regenerates the same rows. TIMESTAMP fields:
 * sequence = epoch ms from `start`; random = the current time (as Flink does).
 */
import { z } from 'zod';
import { TributaryError } from '../../errors.js';
import type { DataStream } from '../../runtime/data-stream.js';
import { WatermarkStrategy } from '../../runtime/watermark-strategy.js';
import { SequenceSource } from '../../source/sequence/sequence-source.js';
import { registerTableFactory } from '../factories.js';
import type { DataType, DynamicTableFactory, ResolvedTable, Row } from '../types.js';
import { intOption, parseTableOptions } from './connector-options.js';

const numberText = z
  .string()
  .regex(/^-?\d+(\.\d+)?$/, 'must be a number')
  .transform(Number);

function schemaFor(table: ResolvedTable): z.ZodType<Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = {
    'number-of-rows': intOption.optional(),
    'rows-per-second': intOption.refine((n) => n > 0, 'must be positive').optional(),
  };
  for (const c of table.schema.columns) {
    if (c.kind !== 'physical') continue;
    shape[`fields.${c.name}.kind`] = z.enum(['sequence', 'random']).optional();
    shape[`fields.${c.name}.start`] = numberText.optional();
    shape[`fields.${c.name}.end`] = numberText.optional();
    shape[`fields.${c.name}.min`] = numberText.optional();
    shape[`fields.${c.name}.max`] = numberText.optional();
    shape[`fields.${c.name}.length`] = intOption.optional();
  }
  return z.object(shape).strict();
}

interface Field {
  readonly name: string;
  readonly type: DataType;
  readonly kind: 'sequence' | 'random';
  readonly start: number;
  readonly end: number | undefined;
  readonly min: number;
  readonly max: number;
  readonly length: number;
}

interface Plan {
  readonly fields: readonly Field[];
  readonly rows: number | undefined;
  readonly rowsPerSecond: number | undefined;
}

const INT_MAX: Partial<Record<string, number>> = {
  TINYINT: 127,
  SMALLINT: 32767,
  INT: 2147483647,
  BIGINT: Number.MAX_SAFE_INTEGER,
};

function plan(table: ResolvedTable): Plan {
  const o = parseTableOptions(schemaFor(table), table);
  const get = <T>(key: string): T | undefined => o[key] as T | undefined;
  let rows = get<number>('number-of-rows');
  const fields: Field[] = [];
  for (const c of table.schema.columns) {
    if (c.kind === 'metadata') {
      throw new TributaryError(
        'CONFIG_INVALID',
        `table '${table.name}': the datagen connector has no metadata (column '${c.name}')`,
      );
    }
    if (c.kind !== 'physical') continue;
    const kind = get<'sequence' | 'random'>(`fields.${c.name}.kind`) ?? 'random';
    const start = get<number>(`fields.${c.name}.start`);
    const end = get<number>(`fields.${c.name}.end`);
    if (kind === 'sequence') {
      if (start === undefined || end === undefined) {
        throw new TributaryError(
          'CONFIG_INVALID',
          `table '${table.name}': 'fields.${c.name}.start' and 'fields.${c.name}.end' are required for a sequence field`,
        );
      }
      if (end < start)
        throw new TributaryError(
          'CONFIG_INVALID',
          `table '${table.name}': 'fields.${c.name}.end' must be ≥ start`,
        );
      rows = Math.min(rows ?? Infinity, end - start + 1);
    }
    const max =
      get<number>(`fields.${c.name}.max`) ?? INT_MAX[c.type.root] ?? Number.MAX_SAFE_INTEGER;
    const min =
      get<number>(`fields.${c.name}.min`) ??
      (c.type.root === 'FLOAT' || c.type.root === 'DOUBLE' ? 0 : -max - 1);
    if (min > max)
      throw new TributaryError(
        'CONFIG_INVALID',
        `table '${table.name}': 'fields.${c.name}.min' must be ≤ max`,
      );
    fields.push({
      name: c.name,
      type: c.type,
      kind,
      start: start ?? 0,
      end,
      min,
      max,
      length: get<number>(`fields.${c.name}.length`) ?? 100,
    });
  }
  return { fields, rows, rowsPerSecond: get<number>('rows-per-second') };
}

/** splitmix32 of (row, field): a repeatable pseudo-random number in [0, 1). */
function random(i: number, f: number): number {
  let x = (Math.imul(i, 0x9e3779b1) ^ Math.imul(f + 1, 0x85ebca6b)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97) >>> 0;
  return ((x ^ (x >>> 15)) >>> 0) / 4294967296;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function value(field: Field, i: number, f: number): unknown {
  const root = field.type.root;
  if (field.kind === 'sequence') {
    const v = field.start + i;
    return ['CHAR', 'VARCHAR', 'STRING'].includes(root) ? String(v) : v;
  }
  const r = random(i, f);
  switch (root) {
    case 'BOOLEAN':
      return r < 0.5;
    case 'FLOAT':
    case 'DOUBLE':
    case 'DECIMAL':
      return field.min + r * (field.max - field.min);
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT':
      return Math.floor(field.min + r * (field.max - field.min + 1));
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING': {
      let s = '';
      for (let k = 0; k < field.length; k++)
        s += ALPHABET[Math.floor(random(i, f * 1000 + k + 7) * ALPHABET.length)];
      return s;
    }
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      return Date.now();
    case 'DATE':
      return Math.floor(Date.now() / 86_400_000);
    case 'BYTES':
    case 'VARBINARY':
    case 'BINARY':
      return Buffer.from(String(Math.floor(r * 1e9)));
    default:
      throw new TributaryError(
        'CONFIG_INVALID',
        `datagen: type ${root} of field '${field.name}' is not supported`,
      );
  }
}

export const datagenTableFactory: DynamicTableFactory = {
  identifier: 'datagen',
  validate(table, use) {
    if (use === 'sink')
      throw new TributaryError(
        'CONFIG_INVALID',
        `table '${table.name}': the datagen connector is a source only`,
      );
    plan(table);
  },
  createSource(env, table, hooks) {
    const p = plan(table);
    const make = (i: number): Row => {
      const row: Row = {};
      p.fields.forEach((f, n) => (row[f.name] = value(f, i, n)));
      return hooks?.project ? hooks.project(row) : row;
    };
    // the timestamp assigner sees the row number first: the row it generated is kept until the
    // map that follows it asks for the same number (a batch at most), so each row is made once
    const made = new Map<number, Row>();
    const generateForTimestamp = (i: number): Row => {
      if (made.size >= 100_000) made.clear();
      const row = make(i);
      made.set(i, row);
      return row;
    };
    const generate = (i: number): Row => {
      const row = made.get(i);
      if (row === undefined) return make(i);
      made.delete(i);
      return row;
    };
    const parallelism = env.options.parallelism;
    const rate = p.rowsPerSecond === undefined ? undefined : p.rowsPerSecond / parallelism;
    const source =
      p.rows === undefined
        ? SequenceSource.unbounded(0, { ratePerSecond: rate })
        : SequenceSource.bounded(0, p.rows, { ratePerSecond: rate });
    const eventTime = hooks?.eventTime;
    const name = hooks?.name ?? table.name;
    const watermarkStrategy =
      eventTime === undefined
        ? undefined
        : WatermarkStrategy.forBoundedOutOfOrderness<number>(
            eventTime.maxOutOfOrdernessMs,
          ).withTimestampAssigner((i) => eventTime.timestamp(generateForTimestamp(i)));
    const numbers = env.fromSource(source, {
      name: `Source: ${name}`,
      uid: `source-${name}`,
      ...(watermarkStrategy
        ? {
            watermarkStrategy: eventTime?.idleTimeoutMs
              ? watermarkStrategy.withIdleness(eventTime.idleTimeoutMs)
              : watermarkStrategy,
          }
        : {}),
    });
    const stream: DataStream<Row> = numbers.map(generate, {
      name: `datagen: ${name}`,
      uid: `datagen-${name}`,
    });
    return Promise.resolve({ changelogMode: 'insert-only', stream });
  },
  createSink(_stream, table) {
    return Promise.reject(
      new TributaryError(
        'CONFIG_INVALID',
        `table '${table.name}': the datagen connector is a source only`,
      ),
    );
  },
  isBounded: (table) => plan(table).rows !== undefined,
};

registerTableFactory(datagenTableFactory);
