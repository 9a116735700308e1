import { TributaryError } from '../../errors.js';
import type { DataType, Row } from '../types.js';

/**
 * Row values ↔ JSON values as Flink's JSON format writes them (`json.timestamp-format.standard`
 * SQL: `2024-01-31 12:00:00.5`, ISO-8601: `2024-01-31T12:00:00.5`; TIMESTAMP_LTZ ends in `Z`;
 * DATE `2024-01-31`; TIME `12:00:00.5`; bytes base64; DECIMAL a number). Reading accepts both
 * timestamp spellings.
 */

export type TimestampStandard = 'SQL' | 'ISO-8601';

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

function fraction(ms: number): string {
  return ms === 0 ? '' : `.${pad(ms, 3).replace(/0+$/, '')}`;
}

function timeText(msOfDay: number): string {
  const s = Math.floor(msOfDay / 1000);
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}${fraction(msOfDay % 1000)}`;
}

function dateText(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

function timestampText(ms: number, standard: TimestampStandard, ltz: boolean): string {
  const dayMs = ((ms % 86_400_000) + 86_400_000) % 86_400_000;
  const days = (ms - dayMs) / 86_400_000;
  return `${dateText(days)}${standard === 'SQL' ? ' ' : 'T'}${timeText(dayMs)}${ltz ? 'Z' : ''}`;
}

function parseTime(text: string, path: string): number {
  const m = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/.exec(text);
  if (!m) throw bad(path, text, 'a TIME (HH:mm:ss[.SSS])');
  return (
    (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0)) * 1000 +
    Math.floor(Number(`0.${m[4] ?? '0'}`) * 1000 + 1e-6)
  );
}

function parseDate(text: string, path: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) throw bad(path, text, 'a DATE (yyyy-MM-dd)');
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 86_400_000;
}

function parseTimestamp(text: string, path: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z)?$/.exec(text);
  if (!m) throw bad(path, text, 'a TIMESTAMP (yyyy-MM-dd HH:mm:ss[.SSS] or ISO-8601)');
  return parseDate(m[1]!, path) * 86_400_000 + parseTime(m[2]!, path);
}

function bad(path: string, value: unknown, what: string): TributaryError {
  return new TributaryError(
    'DESERIALIZATION_FAILED',
    `field '${path}': ${JSON.stringify(value)?.slice(0, 80)} is not ${what}`,
  );
}

function textOf(value: unknown, path: string, what: string): string {
  if (typeof value !== 'string') throw bad(path, value, what);
  return value;
}

export function toJsonValue(
  t: DataType,
  value: unknown,
  path: string,
  standard: TimestampStandard,
): unknown {
  if (value === null || value === undefined) return null;
  switch (t.root) {
    case 'DATE':
      return dateText(Number(value));
    case 'TIME':
      return timeText(Number(value));
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      return timestampText(Number(value), standard, t.root === 'TIMESTAMP_LTZ');
    case 'BINARY':
    case 'VARBINARY':
    case 'BYTES':
      return Buffer.isBuffer(value) ? value.toString('base64') : value;
    case 'ARRAY':
      return (value as unknown[]).map((v, i) =>
        toJsonValue(t.element!, v, `${path}[${i}]`, standard),
      );
    case 'MAP':
      return Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([k, v]) => [
          k,
          toJsonValue(t.value!, v, `${path}.${k}`, standard),
        ]),
      );
    case 'ROW':
      return Object.fromEntries(
        (t.fields ?? []).map((f) => [
          f.name,
          toJsonValue(f.type, (value as Row)[f.name], `${path}.${f.name}`, standard),
        ]),
      );
    default:
      return value;
  }
}

export function fromJsonValue(t: DataType, value: unknown, path: string): unknown {
  if (value === null || value === undefined) return null;
  switch (t.root) {
    case 'BOOLEAN':
      if (typeof value !== 'boolean') throw bad(path, value, 'a BOOLEAN');
      return value;
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT':
    case 'FLOAT':
    case 'DOUBLE':
    case 'DECIMAL': {
      const n = typeof value === 'string' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw bad(path, value, `a ${t.root}`);
      if (t.root === 'BIGINT' && !Number.isSafeInteger(n))
        throw bad(path, value, 'a BIGINT within ±2^53');
      return n;
    }
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
      return typeof value === 'string' ? value : JSON.stringify(value);
    case 'BINARY':
    case 'VARBINARY':
    case 'BYTES':
      if (typeof value !== 'string') throw bad(path, value, 'base64 bytes');
      return Buffer.from(value, 'base64');
    case 'DATE':
      return parseDate(textOf(value, path, 'a DATE'), path);
    case 'TIME':
      return parseTime(textOf(value, path, 'a TIME'), path);
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      return typeof value === 'number'
        ? value
        : parseTimestamp(textOf(value, path, 'a TIMESTAMP'), path);
    case 'ARRAY':
      if (!Array.isArray(value)) throw bad(path, value, 'an ARRAY');
      return value.map((v, i) => fromJsonValue(t.element!, v, `${path}[${i}]`));
    case 'MAP':
    case 'ROW': {
      if (typeof value !== 'object' || Array.isArray(value)) throw bad(path, value, `a ${t.root}`);
      const obj = value as Record<string, unknown>;
      if (t.root === 'MAP') {
        return Object.fromEntries(
          Object.entries(obj).map(([k, v]) => [k, fromJsonValue(t.value!, v, `${path}.${k}`)]),
        );
      }
      return Object.fromEntries(
        (t.fields ?? []).map((f) => [
          f.name,
          fromJsonValue(f.type, obj[f.name], `${path}.${f.name}`),
        ]),
      );
    }
  }
}
