import { describe, expect, it } from 'vitest';
import {
  formatDate,
  formatTime,
  formatTimestamp,
  parseDataType,
  toJsonValue,
  toRowValue,
} from '../../../../src/table/index.js';

const place = { table: 'db.t', column: 'c' };
const SQL = { timestampFormat: 'SQL' } as const;
const ISO = { timestampFormat: 'ISO-8601' } as const;
const read = (v: unknown, type: string, opts: typeof SQL | typeof ISO = SQL): unknown =>
  toRowValue(v, parseDataType(type), place, opts);

describe('row values per type', () => {
  it('timestamps as Flink writes them, fraction only when not zero', () => {
    const ms = Date.UTC(2021, 11, 31, 23, 59, 58, 120);
    expect(formatTimestamp(ms, 'SQL', false)).toBe('2021-12-31 23:59:58.12');
    expect(formatTimestamp(ms, 'ISO-8601', false)).toBe('2021-12-31T23:59:58.12');
    expect(formatTimestamp(ms - 120, 'SQL', true)).toBe('2021-12-31 23:59:58Z');
    expect(read('2021-12-31 23:59:58.12', 'TIMESTAMP(3)')).toBe(ms);
    expect(read('2021-12-31T23:59:58.120', 'TIMESTAMP(3)', ISO)).toBe(ms);
    expect(read('2021-12-31 23:59:58.12Z', 'TIMESTAMP_LTZ(3)')).toBe(ms);
    expect(read(formatTimestamp(-1, 'SQL', false), 'TIMESTAMP(3)')).toBe(-1);
  });

  it('dates as days since 1970-01-01, times as ms of the day', () => {
    expect(read('1970-01-02', 'DATE')).toBe(1);
    expect(read('1969-12-31', 'DATE')).toBe(-1);
    expect(formatDate(18292)).toBe('2020-01-31');
    expect(read('01:00:00.5', 'TIME(3)')).toBe(3_600_500);
    expect(formatTime(3_600_500)).toBe('01:00:00.5');
  });

  it('bytes as base64 in JSON, Buffer in rows', () => {
    expect(read('AAH+/w==', 'BYTES')).toEqual(Buffer.from([0, 1, 254, 255]));
    expect(toJsonValue(Buffer.from([0, 1, 254, 255]), parseDataType('BYTES'), place, SQL)).toBe(
      'AAH+/w==',
    );
  });

  it('names table, column and value in every refusal', () => {
    expect(() => read(2 ** 53, 'BIGINT')).toThrow(
      "table db.t: column 'c' (BIGINT): value 9007199254740992 is beyond ±2^53",
    );
    expect(() => read(128, 'TINYINT')).toThrow("is outside TINYINT's range -128..127");
    expect(() => read(1.5, 'INT')).toThrow('value 1.5 is not an integer');
    expect(() => read(123.456, 'DECIMAL(4, 2)')).toThrow('does not fit DECIMAL(4, 2)');
    expect(() => read('2020-02-30', 'DATE')).toThrow('is not a date (yyyy-MM-dd)');
    expect(() => read('2020-01-31T00:00:00', 'TIMESTAMP(3)')).toThrow(
      "is not a SQL timestamp such as '2020-01-31 12:34:56.789'",
    );
    expect(() => read(null, 'INT NOT NULL')).toThrow('is null, but the type is NOT NULL');
    expect(() => read({ x: 'a' }, 'ROW<x INT>')).toThrow(
      'column \'c.x\' (INT): value "a" is not a number',
    );
    expect(() => toJsonValue('1', parseDataType('INT'), place, SQL)).toThrow(
      'table db.t: column \'c\' (INT): row value "1" is not a number',
    );
  });

  it('rounds DECIMAL half-up to its scale', () => {
    expect(read(1.005, 'DECIMAL(10, 2)')).toBe(1.01);
    expect(read(-1.005, 'DECIMAL(10, 2)')).toBe(-1.01);
    expect(read('12.5', 'DECIMAL(10, 0)')).toBe(13);
  });
});
