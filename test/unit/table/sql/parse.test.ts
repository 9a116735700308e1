import { describe, expect, it } from 'vitest';
import { parseSql } from '../../../../src/table/sql/parse.js';
import { TributaryError } from '../../../../src/errors.js';

async function refused(sql: string): Promise<TributaryError> {
  const e = await parseSql(sql).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(TributaryError.is(e)).toBe(true);
  return e as TributaryError;
}

describe('parseSql: supported statements', () => {
  it('CREATE TABLE with physical, computed and metadata columns, watermark, primary key, options', async () => {
    const [s] = await parseSql(
      "CREATE TABLE t (a INT NOT NULL, b AS a + 1, ptr BYTES METADATA FROM 'event_pointer' VIRTUAL, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND, PRIMARY KEY (a) NOT ENFORCED) WITH ('connector' = 'datagen', 'x' = 'y')",
    );
    expect(s).toMatchObject({
      kind: 'createTable',
      name: 't',
      temporary: false,
      schema: {
        columns: [
          { kind: 'physical', name: 'a', type: { root: 'INT', nullable: false } },
          { kind: 'computed', name: 'b', expression: 'a + 1' },
          { kind: 'metadata', name: 'ptr', key: 'event_pointer', virtual: true },
          { kind: 'physical', name: 'ts', type: { root: 'TIMESTAMP', precision: 3 } },
        ],
        watermark: { column: 'ts', expression: "ts - INTERVAL '5' SECOND" },
        primaryKey: ['a'],
      },
      options: { connector: 'datagen', x: 'y' },
    });
  });

  it('CREATE TABLE without WITH (a catalog table: its options come from the catalog)', async () => {
    const statements = await parseSql(
      "CREATE TABLE c.d.t (id INT, name STRING);\nCREATE TABLE c.d.u (id INT) COMMENT 'x'; INSERT INTO c.d.u SELECT id FROM c.d.t",
    );
    expect(statements.map((s) => s.kind)).toEqual(['createTable', 'createTable', 'insert']);
    for (const s of statements.slice(0, 2)) {
      expect(s.kind === 'createTable' && s.options).toEqual({});
    }
    await expect(parseSql('CREATE TABLE t (id INT')).rejects.toThrow('line 1, column 23');
  });

  it('several statements, catalogs and databases', async () => {
    const s = await parseSql(
      "CREATE TEMPORARY TABLE IF NOT EXISTS t (a INT) WITH ('connector' = 'blackhole'); CREATE CATALOG c WITH ('type' = 'pravega'); USE CATALOG c; CREATE DATABASE d WITH ('k' = 'v'); USE d; SHOW CATALOGS; SHOW DATABASES; SHOW TABLES; DROP TABLE IF EXISTS c.d.t",
    );
    expect(s.map((x) => x.kind)).toEqual([
      'createTable',
      'createCatalog',
      'useCatalog',
      'createDatabase',
      'useDatabase',
      'show',
      'show',
      'show',
      'dropTable',
    ]);
    expect(s[0]).toMatchObject({ temporary: true, ifNotExists: true });
    expect(s[1]).toMatchObject({ name: 'c', options: { type: 'pravega' } });
    expect(s[8]).toMatchObject({ name: 'c.d.t', ifExists: true });
  });

  it('INSERT INTO with a window TVF, GROUP BY, aggregates, WHERE', async () => {
    const [s] = await parseSql(
      "INSERT INTO s SELECT window_start, k, COUNT(*) AS c, SUM(v), COUNT(DISTINCT a) FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '1' MINUTES)) WHERE v > 2 AND k IS NOT NULL GROUP BY window_start, window_end, k",
    );
    expect(s).toMatchObject({
      kind: 'insert',
      table: 's',
      query: {
        kind: 'select',
        from: {
          kind: 'window',
          fn: 'HOP',
          table: 't',
          timeColumn: 'ts',
          intervalsMs: [1000, 60000],
        },
        items: [
          { expr: { k: 'col', name: 'window_start' } },
          { expr: { k: 'col', name: 'k' } },
          { alias: 'c', expr: { k: 'call', name: 'COUNT', star: true } },
          { expr: { k: 'call', name: 'SUM', args: [{ k: 'col', name: 'v' }] } },
          { expr: { k: 'call', name: 'COUNT', distinct: true } },
        ],
        where: { k: 'bin', op: 'AND' },
        groupBy: [{ name: 'window_start' }, { name: 'window_end' }, { name: 'k' }],
      },
    });
  });

  it('views, UNION ALL, EXPLAIN and statement sets', async () => {
    const s = await parseSql(
      'CREATE TEMPORARY VIEW v AS SELECT a FROM t; INSERT INTO s SELECT a FROM t UNION ALL SELECT a FROM u UNION ALL SELECT a FROM v; EXPLAIN INSERT INTO s SELECT * FROM t; EXECUTE STATEMENT SET BEGIN INSERT INTO s SELECT a FROM t; INSERT INTO s2 SELECT a FROM t; END',
    );
    expect(s[0]).toMatchObject({ kind: 'createView', name: 'v', text: 'SELECT a FROM t' });
    expect(s[1]).toMatchObject({ kind: 'insert', query: { kind: 'union' } });
    expect((s[1] as unknown as { query: { inputs: unknown[] } }).query.inputs).toHaveLength(3);
    expect(s[2]).toMatchObject({ kind: 'explain', statement: { kind: 'insert' } });
    expect(s[3]).toMatchObject({
      kind: 'statementSet',
      inserts: [{ table: 's' }, { table: 's2' }],
    });
  });

  it('expressions: CASE, CAST, IN, BETWEEN, LIKE, literals, intervals', async () => {
    const [s] = await parseSql(
      "INSERT INTO s SELECT CASE WHEN a IN (1, 2) THEN 'x' ELSE NULL END, 'it''s', ts + INTERVAL '1' HOUR AS h, CAST(a AS BIGINT), s NOT LIKE 'a%', -1, a NOT BETWEEN 1 AND 2, TIMESTAMP '2020-01-01 00:00:00' FROM t",
    );
    const items = (s as unknown as { query: { items: { expr: unknown }[] } }).query.items.map(
      (i) => i.expr,
    );
    expect(items).toMatchObject([
      {
        k: 'case',
        whens: [{ when: { k: 'in', list: [{ value: 1 }, { value: 2 }] } }],
        otherwise: { value: null },
      },
      { k: 'lit', value: "it's" },
      { k: 'bin', op: '+', l: { k: 'col', name: 'ts' }, r: { k: 'interval', ms: 3_600_000 } },
      { k: 'cast', type: { root: 'BIGINT' } },
      { k: 'like', not: true, pattern: { value: 'a%' } },
      { k: 'lit', value: -1 },
      { k: 'between', not: true },
      { k: 'cast', type: { root: 'TIMESTAMP' }, e: { value: '2020-01-01 00:00:00' } },
    ]);
  });
});

describe('parseSql: refused constructs name themselves and their position', () => {
  it.each([
    ['INSERT INTO s SELECT a FROM t JOIN u ON t.a = u.a', 'JOIN', 1, 31],
    ['INSERT INTO s SELECT a FROM t ORDER BY a', 'ORDER BY', 1, 31],
    ['INSERT INTO s SELECT a FROM t LIMIT 3', 'LIMIT', 1, 31],
    ['INSERT INTO s SELECT a FROM t WHERE a IN (SELECT b FROM u)', 'IN (subquery)', 1, 39],
    ['INSERT INTO s SELECT a FROM t UNION SELECT a FROM u', 'UNION without ALL', 1, 31],
    ['SELECT a FROM t', 'a SELECT on its own', 1, 1],
    ['CREATE VIEW v AS SELECT a FROM t', 'CREATE VIEW', 1, 1],
    ['INSERT INTO s SELECT DISTINCT a FROM t', 'SELECT DISTINCT', 1, 15],
    ['INSERT INTO s\nSELECT a FROM t\nGROUP BY a HAVING COUNT(*) > 1', 'HAVING', 3, 12],
  ])('%s', async (sql, construct, line, column) => {
    const e = await refused(sql);
    expect(e.code).toBe('OPERATION_UNSUPPORTED');
    expect(e.message).toContain(construct);
    expect(e.message).toContain(`line ${line}, column ${column}`);
  });

  it('a syntax error names the offending text and its position', async () => {
    const e = await refused('CREATE TABLE t (a INT) WITH (\n  )) oops');
    expect(e.code).toBe('ILLEGAL_ARGUMENT');
    expect(e.message).toMatch(/^SQL: syntax error: .* at line 2, column \d+$/);
  });

  it('a keyword the grammar refuses as a function name is named', async () => {
    const e = await refused('INSERT INTO s SELECT a FROM t WHERE SQRT(a) > 1');
    expect(e.message).toContain("'SQRT' cannot be read here");
    expect(e.message).toContain('line 1, column');
  });

  it('month intervals have no fixed length', async () => {
    const e = await refused(
      "INSERT INTO s SELECT a FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MONTH)) GROUP BY window_start, window_end",
    );
    expect(e.message).toContain('MONTH');
  });
});
