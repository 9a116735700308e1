/**
 * Row values per column type (the table in `../types.ts`): checking and converting what a format
 * decoded (JSON values, CSV text) into row values, and row values back into what a format writes.
 * Timestamps as Flink's JSON and CSV formats write them: `SQL` = `2020-01-31 12:34:56.789`,
 * `ISO-8601` = `2020-01-31T12:34:56.789` (TIMESTAMP_LTZ with a trailing `Z`), fraction only when
 * not zero; DATE `2020-01-31`, TIME `12:34:56`; BYTES as base64. Every error names the table, the
 * column and the value.
 */
import { TributaryError } from '../../errors.js';
import { formatDataType } from '../data-types.js';
import type { DataType } from '../types.js';

export type TimestampFormat = 'SQL' | 'ISO-8601';

/** Where a value belongs, for messages: `table t: column 'a.b'`. */
export interface ValuePlace {
  readonly table: string;
  readonly column: string;
}

const MS_PER_DAY = 86_400_000;

const INT_RANGE: Partial<Record<DataType['root'], readonly [number, number]>> = {
  TINYINT: [-128, 127],
  SMALLINT: [-32768, 32767],
  INT: [-2147483648, 2147483647],
  BIGINT: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function shown(value: unknown): string {
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  try {
    const s = JSON.stringify(value) ?? String(value);
    return s.length > 60 ? `${s.slice(0, 60)}…` : s;
  } catch {
    return String(value);
  }
}

export function valueError(
  place: ValuePlace,
  type: DataType,
  value: unknown,
  why: string,
): TributaryError {
  return new TributaryError(
    'DESERIALIZATION_FAILED',
    `table ${place.table}: column '${place.column}' (${formatDataType(type)}): value ${shown(value)} ${why}`,
    { details: { table: place.table, column: place.column } },
  );
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

function fraction(ms: number): string {
  return ms === 0 ? '' : `.${pad(ms, 3).replace(/0+$/, '')}`;
}

/** Epoch ms → `yyyy-MM-dd HH:mm:ss[.fff]` (SQL) or `yyyy-MM-ddTHH:mm:ss[.fff]` (ISO), UTC. */
export function formatTimestamp(ms: number, format: TimestampFormat, ltz: boolean): string {
  const d = new Date(ms);
  const date = formatDate(Math.floor(ms / MS_PER_DAY));
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${fraction(d.getUTCMilliseconds())}`;
  return `${date}${format === 'SQL' ? ' ' : 'T'}${time}${ltz ? 'Z' : ''}`;
}

export function formatDate(days: number): string {
  const d = new Date(days * MS_PER_DAY);
  const y = d.getUTCFullYear();
  const year = y < 0 ? `-${pad(-y, 4)}` : pad(y, 4);
  return `${year}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

export function formatTime(msOfDay: number): string {
  const s = Math.floor(msOfDay / 1000);
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}${fraction(msOfDay % 1000)}`;
}

const DATE_RE = /^(-?\d{4,})-(\d{2})-(\d{2})$/;
const TIME_RE = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;

function parseDateText(s: string): number | undefined {
  const m = DATE_RE.exec(s);
  if (m === null) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const check = new Date(ms);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return undefined;
  return Math.round(ms / MS_PER_DAY);
}

function parseTimeText(s: string): number | undefined {
  const m = TIME_RE.exec(s);
  if (m === null) return undefined;
  const [h, mi, sec] = [Number(m[1]), Number(m[2]), Number(m[3] ?? '0')];
  if (h > 23 || mi > 59 || sec > 59) return undefined;
  const frac = Math.floor(Number(`0.${m[4] ?? '0'}`) * 1000);
  return ((h * 60 + mi) * 60 + sec) * 1000 + frac;
}

/** A timestamp in the given format (the other separator is refused, as Flink does). */
function parseTimestampText(s: string, format: TimestampFormat, ltz: boolean): number | undefined {
  let text = s;
  if (ltz) {
    if (!text.endsWith('Z')) return undefined;
    text = text.slice(0, -1);
  }
  const sep = format === 'SQL' ? ' ' : 'T';
  const i = text.indexOf(sep);
  if (i < 0) return undefined;
  const days = parseDateText(text.slice(0, i));
  const time = parseTimeText(text.slice(i + 1));
  if (days === undefined || time === undefined) return undefined;
  return days * MS_PER_DAY + time;
}

/** A DECIMAL(p, s) value: rounded half-up to s digits; more than p − s integer digits is an error. */
function toDecimal(n: number, type: DataType, place: ValuePlace, raw: unknown): number {
  const p = type.precision ?? 10;
  const s = type.scale ?? 0;
  const f = 10 ** s;
  const rounded = Math.sign(n) * (Math.round(Math.abs(n) * f + 1e-9) / f);
  if (Math.abs(rounded) >= 10 ** (p - s)) {
    throw valueError(place, type, raw, `does not fit DECIMAL(${p}, ${s})`);
  }
  return rounded;
}

function toNumber(value: unknown, type: DataType, place: ValuePlace): number {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value.trim())))
    n = Number(value.trim());
  else if (typeof value === 'bigint') n = Number(value);
  else throw valueError(place, type, value, 'is not a number');
  const range = INT_RANGE[type.root];
  if (range !== undefined) {
    if (!Number.isInteger(n)) throw valueError(place, type, value, 'is not an integer');
    if (
      typeof value === 'bigint'
        ? value > BigInt(range[1]) || value < BigInt(range[0])
        : n < range[0] || n > range[1]
    ) {
      throw valueError(
        place,
        type,
        value,
        type.root === 'BIGINT'
          ? 'is beyond ±2^53, which a JavaScript number cannot hold exactly (never rounded silently)'
          : `is outside ${type.root}'s range ${range[0]}..${range[1]}`,
      );
    }
    return n;
  }
  if (type.root === 'DECIMAL') {
    if (!Number.isFinite(n)) throw valueError(place, type, value, 'is not a finite number');
    return toDecimal(n, type, place, value);
  }
  if (type.root === 'FLOAT') return Math.fround(n);
  return n;
}

export interface ConvertOptions {
  readonly timestampFormat: TimestampFormat;
  /** timestamps may come as epoch-ms numbers (Avro's timestamp-millis), not only as text */
  readonly epochNumbers?: boolean;
}

/**
 * A decoded value (JSON value or text) → the row value of `type`. `null`/`undefined` → null
 * (an error for a NOT NULL type). Throws DESERIALIZATION_FAILED naming table, column, value.
 */
export function toRowValue(
  value: unknown,
  type: DataType,
  place: ValuePlace,
  opts: ConvertOptions,
): unknown {
  if (value === null || value === undefined) {
    if (!type.nullable) throw valueError(place, type, value, 'is null, but the type is NOT NULL');
    return null;
  }
  switch (type.root) {
    case 'BOOLEAN':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value.trim()))
        return value.trim().toLowerCase() === 'true';
      throw valueError(place, type, value, 'is not a boolean');
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT':
    case 'FLOAT':
    case 'DOUBLE':
    case 'DECIMAL':
      return toNumber(value, type, place);
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
        return String(value);
      return JSON.stringify(value);
    case 'BINARY':
    case 'VARBINARY':
    case 'BYTES':
      if (Buffer.isBuffer(value)) return value;
      if (value instanceof Uint8Array) return Buffer.from(value);
      if (
        typeof value === 'string' &&
        /^[A-Za-z0-9+/]*={0,2}$/.test(value) &&
        value.length % 4 === 0
      )
        return Buffer.from(value, 'base64');
      throw valueError(place, type, value, 'is not base64 bytes');
    case 'DATE': {
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      const days = typeof value === 'string' ? parseDateText(value.trim()) : undefined;
      if (days === undefined) throw valueError(place, type, value, 'is not a date (yyyy-MM-dd)');
      return days;
    }
    case 'TIME': {
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < MS_PER_DAY)
        return value;
      const ms = typeof value === 'string' ? parseTimeText(value.trim()) : undefined;
      if (ms === undefined) throw valueError(place, type, value, 'is not a time (HH:mm:ss[.fff])');
      return ms;
    }
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ': {
      if (value instanceof Date) return value.getTime();
      if (opts.epochNumbers === true && typeof value === 'number' && Number.isSafeInteger(value))
        return value;
      const ltz = type.root === 'TIMESTAMP_LTZ';
      const ms =
        typeof value === 'string'
          ? parseTimestampText(value.trim(), opts.timestampFormat, ltz)
          : undefined;
      if (ms === undefined) {
        const example = formatTimestamp(1580474096789, opts.timestampFormat, ltz);
        throw valueError(
          place,
          type,
          value,
          `is not a ${opts.timestampFormat} timestamp such as '${example}'`,
        );
      }
      return ms;
    }
    case 'ARRAY': {
      if (!Array.isArray(value)) throw valueError(place, type, value, 'is not an array');
      const element = type.element!;
      return value.map((v, i) =>
        toRowValue(v, element, { ...place, column: `${place.column}[${i}]` }, opts),
      );
    }
    case 'MAP': {
      if (typeof value !== 'object' || Array.isArray(value))
        throw valueError(place, type, value, 'is not an object');
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        out[k] = toRowValue(v, type.value!, { ...place, column: `${place.column}.${k}` }, opts);
      }
      return out;
    }
    case 'ROW': {
      if (typeof value !== 'object' || Array.isArray(value))
        throw valueError(place, type, value, 'is not an object');
      const input = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const f of type.fields ?? []) {
        out[f.name] = toRowValue(
          input[f.name],
          f.type,
          { ...place, column: `${place.column}.${f.name}` },
          opts,
        );
      }
      return out;
    }
  }
}

/**
 * A row value of `type` → a JSON value as Flink's JSON format writes it (numbers, strings for
 * dates/times/timestamps, base64 for bytes). Checks the value has the type's shape.
 */
export function toJsonValue(
  value: unknown,
  type: DataType,
  place: ValuePlace,
  opts: ConvertOptions,
): unknown {
  if (value === null || value === undefined) {
    if (!type.nullable) throw rowError(place, type, value, 'is null, but the type is NOT NULL');
    return null;
  }
  const wrap = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof TributaryError && err.code === 'DESERIALIZATION_FAILED') {
        throw new TributaryError('ILLEGAL_ARGUMENT', err.message, { cause: err });
      }
      throw err;
    }
  };
  switch (type.root) {
    case 'BOOLEAN':
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT':
    case 'FLOAT':
    case 'DOUBLE':
    case 'DECIMAL':
      if (
        typeof value !== (type.root === 'BOOLEAN' ? 'boolean' : 'number') &&
        typeof value !== 'bigint'
      )
        throw rowError(
          place,
          type,
          value,
          `is not a ${type.root === 'BOOLEAN' ? 'boolean' : 'number'}`,
        );
      return wrap(() => toRowValue(value, type, place, opts));
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
      if (typeof value !== 'string') throw rowError(place, type, value, 'is not a string');
      return value;
    case 'BINARY':
    case 'VARBINARY':
    case 'BYTES':
      if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
      if (typeof value === 'string') return value; // base64 already (state form)
      throw rowError(place, type, value, 'is not a Buffer');
    case 'DATE':
      if (!Number.isInteger(value)) throw rowError(place, type, value, 'is not a day number');
      return formatDate(value as number);
    case 'TIME':
      if (!Number.isInteger(value))
        throw rowError(place, type, value, 'is not milliseconds of the day');
      return formatTime(value as number);
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw rowError(place, type, value, 'is not epoch milliseconds');
      return formatTimestamp(value, opts.timestampFormat, type.root === 'TIMESTAMP_LTZ');
    case 'ARRAY':
      if (!Array.isArray(value)) throw rowError(place, type, value, 'is not an array');
      return value.map((v, i) =>
        toJsonValue(v, type.element!, { ...place, column: `${place.column}[${i}]` }, opts),
      );
    case 'MAP':
    case 'ROW': {
      if (typeof value !== 'object' || Array.isArray(value))
        throw rowError(place, type, value, 'is not an object');
      const input = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      if (type.root === 'MAP') {
        for (const [k, v] of Object.entries(input))
          out[k] = toJsonValue(v, type.value!, { ...place, column: `${place.column}.${k}` }, opts);
      } else {
        for (const f of type.fields ?? [])
          out[f.name] = toJsonValue(
            input[f.name],
            f.type,
            { ...place, column: `${place.column}.${f.name}` },
            opts,
          );
      }
      return out;
    }
  }
}

/** A row value that does not fit its column when writing: ILLEGAL_ARGUMENT naming the place. */
export function rowError(
  place: ValuePlace,
  type: DataType,
  value: unknown,
  why: string,
): TributaryError {
  return new TributaryError(
    'ILLEGAL_ARGUMENT',
    `table ${place.table}: column '${place.column}' (${formatDataType(type)}): row value ${shown(value)} ${why}`,
    { details: { table: place.table, column: place.column } },
  );
}
