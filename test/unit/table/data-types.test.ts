import { describe, expect, it } from 'vitest';
import { formatDataType, parseDataType } from '../../../src/table/data-types.js';

describe('Flink type strings', () => {
  it.each([
    ['INT', 'INT'],
    ['integer not null', 'INT NOT NULL'],
    ['BIGINT NOT NULL', 'BIGINT NOT NULL'],
    ['DECIMAL', 'DECIMAL(10, 0)'],
    ['DECIMAL(10,2)', 'DECIMAL(10, 2)'],
    ['VARCHAR(20)', 'VARCHAR(20)'],
    ['STRING', 'STRING'],
    ['BYTES', 'BYTES'],
    ['TIMESTAMP(3)', 'TIMESTAMP(3)'],
    ['TIMESTAMP', 'TIMESTAMP(6)'],
    ['TIMESTAMP(3) WITH LOCAL TIME ZONE', 'TIMESTAMP_LTZ(3)'],
    ['TIMESTAMP_LTZ(3)', 'TIMESTAMP_LTZ(3)'],
    ['TIME', 'TIME(0)'],
    ['DATE', 'DATE'],
    ['ARRAY<INT NOT NULL>', 'ARRAY<INT NOT NULL>'],
    ['MAP<STRING, INT>', 'MAP<STRING, INT>'],
    ['ROW<a INT, `b c` STRING>', 'ROW<a INT, `b c` STRING>'],
    ['ROW(a INT, b ARRAY<DOUBLE>) NOT NULL', 'ROW<a INT, b ARRAY<DOUBLE>> NOT NULL'],
  ])('%s prints as %s, and that parses to the same type', (text, printed) => {
    const type = parseDataType(text);
    expect(formatDataType(type)).toBe(printed);
    expect(parseDataType(printed)).toEqual(type);
  });

  it.each([
    ['INTT', "data type 'INTT': unknown type 'INTT'"],
    ['DECIMAL(40, 2)', 'DECIMAL precision must be 1..38'],
    ['DECIMAL(5, 6)', 'scale must not exceed'],
    ['ARRAY<INT', 'ends too early'],
    ['MAP<STRING>', "expected ',', found '>'"],
    ['INT NOT', 'ends too early'],
    ['ROW<a INT, a STRING>', "field 'a' appears twice"],
    ['TIMESTAMP(3) WITH TIME ZONE', 'not supported'],
    ['INT INT', "unexpected 'INT'"],
  ])('%s is refused: %s', (text, message) => {
    expect(() => parseDataType(text)).toThrow(message);
  });
});
