import { describe, expect, it } from 'vitest';
import { TableEnvironment } from '../../../../src/table/table-environment.js';

const DDL = `
CREATE TABLE src (id BIGINT, v INT, ts AS TO_TIMESTAMP_LTZ(id * 1000, 3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = '99');
CREATE TABLE out1 (k BIGINT, ws TIMESTAMP(3), c BIGINT, s INT) WITH ('connector' = 'blackhole');
`;
const WINDOW = `INSERT INTO out1 SELECT k, window_start, COUNT(*), SUM(v)
  FROM TABLE(TUMBLE(TABLE par, DESCRIPTOR(ts), INTERVAL '10' SECOND))
  WHERE v > 0 GROUP BY window_start, window_end, k`;

async function env(): Promise<TableEnvironment> {
  const t = TableEnvironment.create({ job: { parallelism: 2 } });
  await t.executeSql(DDL);
  await t.executeSql('CREATE TEMPORARY VIEW par AS SELECT id % 2 AS k, v, ts FROM src');
  return t;
}

describe('planner', () => {
  it('a tumbling-window query compiles to source → calc → hash → window aggregate → sink', async () => {
    const plan = await (await env()).explainSql(WINDOW);
    expect(plan).toContain('Source: default_catalog.default_database.src');
    expect(plan).toContain('Calc: select k, v, ts');
    expect(plan).toContain('Calc: where (v > 0)');
    expect(plan).toContain(
      "Window: TUMBLE(ts, INTERVAL '10' SECOND) group by [k] select COUNT(*), SUM(v)",
    );
    expect(plan).toContain('Sink: default_catalog.default_database.out1');
    expect(plan).toMatch(/\[\d\] -> \[\d\] {2}HASH/);
    expect(plan).toContain('parallelism 2');
  });

  it('operator uids are stable for the same SQL text and differ for another', async () => {
    const uids = (plan: string): string[] =>
      [...plan.matchAll(/uid (sql-[^)]+)\)/g)].map((m) => m[1]!);
    const a = uids(await (await env()).explainSql(WINDOW));
    const b = uids(await (await env()).explainSql(WINDOW));
    const c = uids(await (await env()).explainSql(WINDOW.replace('v > 0', 'v > 1')));
    expect(a.length).toBeGreaterThan(2);
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
  });

  it.each([
    [
      "INSERT INTO out1 SELECT k, window_start, COUNT(*), SUM(v) FROM TABLE(TUMBLE(TABLE par, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end",
      "column 'k' must be in GROUP BY or inside an aggregate function",
    ],
    [
      "INSERT INTO out1 SELECT k, window_start, COUNT(*), SUM(v) FROM TABLE(TUMBLE(TABLE par, DESCRIPTOR(v), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, k",
      'DESCRIPTOR(v) must be the event-time column',
    ],
    [
      'INSERT INTO out1 SELECT k, ts, COUNT(*), SUM(v) FROM par GROUP BY k',
      'GROUP BY without a window',
    ],
    ['INSERT INTO out1 SELECT k, ts FROM par', 'the query gives 2 column(s)'],
    ["INSERT INTO out1 SELECT k, ts, 'x', v FROM par", "column 3 'EXPR$2' is STRING"],
    ['INSERT INTO out1 SELECT * FROM nope', "table or view 'nope' not found"],
    ['INSERT INTO src SELECT * FROM par', 'the datagen connector is a source only'],
  ])('%s is refused: %s', async (sql, message) => {
    await expect((await env()).explainSql(sql)).rejects.toThrow(message);
  });

  it('catalog statements: SHOW, USE, CREATE DATABASE, DROP TABLE', async () => {
    const t = await env();
    expect((await t.executeSql('SHOW CATALOGS')).rows).toEqual(['default_catalog']);
    expect((await t.executeSql('SHOW TABLES')).rows).toEqual(['out1', 'par', 'src']);
    await t.executeSql("CREATE DATABASE db2 WITH ('k' = 'v'); USE db2");
    expect((await t.executeSql('SHOW DATABASES')).rows).toEqual(['db2', 'default_database']);
    expect((await t.executeSql('SHOW TABLES')).rows).toEqual([]);
    await t.executeSql('USE default_database; DROP TABLE out1');
    expect((await t.executeSql('SHOW TABLES')).rows).toEqual(['par', 'src']);
    await expect(t.executeSql('DROP TABLE out1')).rejects.toThrow('does not exist (use IF EXISTS)');
    await expect(t.executeSql("CREATE CATALOG c WITH ('type' = 'nope')")).rejects.toThrow(
      "'type' = 'nope' is not a known catalog type",
    );
  });
});
