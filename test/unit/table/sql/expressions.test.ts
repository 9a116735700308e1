import { describe, expect, it } from 'vitest';
import { parseExpression } from '../../../../src/table/sql/parse.js';
import { ExpressionCompiler } from '../../../../src/table/sql/expressions.js';
import { parseDataType } from '../../../../src/table/data-types.js';
import type { DataType, Row } from '../../../../src/table/types.js';

const scope = new Map<string, DataType>([
  ['i', parseDataType('INT')],
  ['n', parseDataType('INT')],
  ['d', parseDataType('DOUBLE')],
  ['s', parseDataType('STRING')],
  ['b', parseDataType('BOOLEAN')],
  ['nb', parseDataType('BOOLEAN')],
  ['ts', parseDataType('TIMESTAMP(3)')],
]);
const row: Row = {
  i: 7,
  n: null,
  d: 2.5,
  s: ' Hello ',
  b: true,
  nb: null,
  ts: Date.UTC(2024, 0, 2, 3, 4, 5, 6),
};

async function evaluate(text: string): Promise<unknown> {
  const compiled = new ExpressionCompiler(scope).compile(await parseExpression(text, 'test'));
  return compiled.eval(row);
}

describe('expressions', () => {
  it.each([
    // three-valued logic
    ['n = 1', null],
    ['n IS NULL', true],
    ['n IS NOT NULL', false],
    ['nb AND FALSE', false],
    ['nb AND TRUE', null],
    ['nb OR TRUE', true],
    ['nb OR FALSE', null],
    ['NOT nb', null],
    ['i IN (1, n)', null],
    ['i IN (7, n)', true],
    ['i NOT IN (1, 2)', true],
    ['i BETWEEN 1 AND 10', true],
    ['i NOT BETWEEN 1 AND 10', false],
    ['n + 1', null],
    // arithmetic
    ['i + 1', 8],
    ['i - 1 + 2', 8],
    ['i - 2 * 3', 1],
    ['(i - 1) * 2', 12],
    ['i / 2', 3],
    ['d * 2', 5],
    ['i % 4', 3],
    ['MOD(i, 4)', 3],
    ['ABS(-3)', 3],
    ['ROUND(d)', 3],
    ['ROUND(2.345, 2)', 2.35],
    ['FLOOR(d)', 2],
    ['CEIL(d)', 3],
    ['POWER(2, 10)', 1024],
    // the grammar reads SQRT and CHAR_LENGTH as keywords: back-quoted they are functions
    ['`SQRT`(16)', 4],
    ['`CHAR_LENGTH`(s)', 7],
    // strings
    ['UPPER(s)', ' HELLO '],
    ['LOWER(s)', ' hello '],
    ['TRIM(s)', 'Hello'],
    ["CONCAT(s, 'x')", ' Hello x'],
    ["CONCAT_WS('-', 'a', s, 'b')", 'a- Hello -b'],
    ["s || '!'", ' Hello !'],
    ['SUBSTRING(s, 2, 3)', 'Hel'],
    ['SUBSTR(s, 2)', 'Hello '],
    ["REPLACE(s, 'l', 'L')", ' HeLLo '],
    ["POSITION('llo' IN s)", 4],
    ["s LIKE '%ell%'", true],
    ["s LIKE '_Hell_ '", true],
    ["s NOT LIKE 'H%'", true],
    ["REGEXP(s, 'H.l+o')", true],
    // CAST
    ["CAST('42' AS INT)", 42],
    ['CAST(d AS INT)', 2],
    ['CAST(i AS STRING)', '7'],
    ["CAST('true' AS BOOLEAN)", true],
    ['CAST(n AS STRING)', null],
    ["CAST('2024-01-02 03:04:05' AS TIMESTAMP(3))", Date.UTC(2024, 0, 2, 3, 4, 5)],
    ['CAST(ts AS STRING)', '2024-01-02 03:04:05.006'],
    ["CAST('2024-01-02' AS DATE)", 19724],
    // conditionals
    ["CASE WHEN i > 5 THEN 'big' ELSE 'small' END", 'big'],
    ["CASE i WHEN 1 THEN 'one' WHEN 7 THEN 'seven' END", 'seven'],
    ["CASE WHEN n > 5 THEN 'big' END", null],
    ['COALESCE(n, i)', 7],
    ["IF(i > 1, 'y', 'n')", 'y'],
    ['NULLIF(i, 7)', null],
    // time
    ["DATE_FORMAT(ts, 'yyyy/MM/dd HH:mm')", '2024/01/02 03:04'],
    ["TO_TIMESTAMP('2024-01-02 03:04:05')", Date.UTC(2024, 0, 2, 3, 4, 5)],
    ["TO_TIMESTAMP('02.01.2024', 'dd.MM.yyyy')", Date.UTC(2024, 0, 2)],
    ['FROM_UNIXTIME(0)', '1970-01-01 00:00:00'],
    ["UNIX_TIMESTAMP('1970-01-01 00:01:00')", 60],
    ['TIMESTAMPADD(SECOND, 10, ts)', Date.UTC(2024, 0, 2, 3, 4, 15, 6)],
    ['TIMESTAMPADD(MONTH, 1, ts)', Date.UTC(2024, 1, 2, 3, 4, 5, 6)],
    ["TIMESTAMPDIFF(HOUR, TIMESTAMP '2024-01-01 00:00:00', ts)", 27],
    ["ts - INTERVAL '1' SECOND", Date.UTC(2024, 0, 2, 3, 4, 4, 6)],
    ['TO_TIMESTAMP_LTZ(1000, 3)', 1000],
  ])('%s → %j', async (text, expected) => {
    expect(await evaluate(text)).toEqual(expected);
  });

  it('CURRENT_TIMESTAMP is now', async () => {
    const before = Date.now();
    const v = (await evaluate('CURRENT_TIMESTAMP')) as number;
    expect(v).toBeGreaterThanOrEqual(before);
  });

  it.each([
    ['nope + 1', "column 'nope' not found"],
    ['UPPER(1)', 'UPPER: argument 1 must be string, got INT'],
    ["i + 'x'", 'operator + expects numeric'],
    ["i = 'x'", 'cannot compare INT with STRING'],
    ['NOT i', 'NOT expects boolean'],
    ['FOO(i)', 'unknown function FOO'],
    ['SUBSTRING(s)', 'SUBSTRING takes 2 to 3 argument(s), got 1'],
    ['SUM(i)', 'SUM is an aggregate'],
  ])('%s is refused at plan time: %s', async (text, message) => {
    await expect(evaluate(text)).rejects.toThrow(message);
  });

  it('an impossible CAST fails when evaluated, naming the value', async () => {
    await expect(evaluate("CAST('abc' AS INT)")).rejects.toThrow(
      "CAST of 'abc' (STRING) to INT is not possible",
    );
  });
});
