import { describe, expect, it } from 'vitest';
import { datagenTableFactory } from '../../../../src/table/connectors/datagen.js';
import { formatPrintedRow, printTableFactory } from '../../../../src/table/connectors/print.js';
import { parseDataType } from '../../../../src/table/data-types.js';
import type { ResolvedTable } from '../../../../src/table/types.js';

const table = (options: Record<string, string>): ResolvedTable => ({
  name: 'default_catalog.default_database.t',
  schema: {
    columns: [
      { kind: 'physical', name: 'id', type: parseDataType('BIGINT') },
      { kind: 'physical', name: 's', type: parseDataType('STRING') },
    ],
  },
  options: { connector: 'datagen', ...options },
});

describe('datagen options', () => {
  it('accepts Flink keys and knows when it is bounded', () => {
    const t = table({
      'fields.id.kind': 'sequence',
      'fields.id.start': '1',
      'fields.id.end': '10',
      'fields.s.length': '3',
    });
    expect(() => datagenTableFactory.validate(t, 'source')).not.toThrow();
    expect(datagenTableFactory.isBounded(t)).toBe(true);
    expect(datagenTableFactory.isBounded(table({ 'rows-per-second': '5' }))).toBe(false);
    expect(datagenTableFactory.isBounded(table({ 'number-of-rows': '5' }))).toBe(true);
  });

  it.each([
    [{ 'fields.nope.kind': 'random' }, "'fields.nope.kind'"],
    [{ 'rows-per-second': 'fast' }, "'rows-per-second': must be a non-negative integer"],
    [{ 'fields.id.kind': 'sequence' }, "'fields.id.start' and 'fields.id.end' are required"],
    [{ 'fields.id.kind': 'zigzag' }, "'fields.id.kind'"],
    [{ 'fields.id.min': '5', 'fields.id.max': '1' }, "'fields.id.min' must be ≤ max"],
  ])('%j is refused naming the key', (options, message) => {
    expect(() => datagenTableFactory.validate(table(options), 'source')).toThrow(message);
  });

  it('is a source only', () => {
    expect(() => datagenTableFactory.validate(table({}), 'sink')).toThrow('source only');
  });
});

describe('print', () => {
  it('formats rows as Flink prints them', () => {
    expect(
      formatPrintedRow('+I', { a: 1, b: 'x', c: null, ts: Date.UTC(2024, 0, 2, 3, 4, 5, 6) }, [
        { name: 'a' },
        { name: 'b' },
        { name: 'c' },
        { name: 'ts', root: 'TIMESTAMP' },
      ]),
    ).toBe('+I[1, x, null, 2024-01-02T03:04:05.006]');
    expect(formatPrintedRow('-D', { a: true }, [{ name: 'a' }])).toBe('-D[true]');
  });

  it('refuses unknown options and use as a source', () => {
    const t = { ...table({}), options: { connector: 'print', colour: 'red' } };
    expect(() => printTableFactory.validate(t, 'sink')).toThrow("'colour'");
    expect(() =>
      printTableFactory.validate({ ...t, options: { connector: 'print' } }, 'source'),
    ).toThrow('sink only');
  });
});
