import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DataStream } from '../../../src/runtime/data-stream.js';
import { registerTableFactory } from '../../../src/table/factories.js';
import { TableEnvironment } from '../../../src/table/table-environment.js';
import type { ChangeRow, DynamicTableFactory, Row } from '../../../src/table/types.js';

/** A real in-memory sink table for assertions: rows land in `collected[<table option 'id'>]`. */
const collected = new Map<string, Row[]>();
const collectFactory: DynamicTableFactory = {
  identifier: 'test-collect',
  validate: () => undefined,
  createSource: () => Promise.reject(new Error('sink only')),
  createSink(stream: DataStream<Row> | DataStream<ChangeRow>, table) {
    const id = table.options['id'] ?? table.name;
    collected.set(id, []);
    (stream as DataStream<Row>).sinkTo(
      {
        createWriter: () => ({
          initialize: () => Promise.resolve(),
          writeBatch: (rows) => void collected.get(id)!.push(...(rows as Row[])),
          snapshotState: () => Promise.resolve([]),
          notifyCheckpointComplete: () => Promise.resolve(),
          close: () => Promise.resolve(),
        }),
      },
      { name: `collect ${id}`, uid: `collect-${id}` },
    );
    return Promise.resolve();
  },
  isBounded: () => false,
};
registerTableFactory(collectFactory);

/** A real changelog source for tests: the ChangeRows in option 'rows' (JSON), then the end. */
const changelogFactory: DynamicTableFactory = {
  identifier: 'test-changelog',
  validate: () => undefined,
  createSource(env, table) {
    const rows = JSON.parse(table.options['rows'] ?? '[]') as ChangeRow[];
    return Promise.resolve({
      changelogMode: 'all' as const,
      stream: env.fromAsyncIterable(rows, { name: 'changes', uid: 'changes' }),
    });
  },
  createSink: () => Promise.reject(new Error('source only')),
  isBounded: () => true,
};
registerTableFactory(changelogFactory);

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tableEnv(): TableEnvironment {
  const dir = mkdtempSync(join(tmpdir(), 'sql-datagen-'));
  dirs.push(dir);
  return TableEnvironment.create({
    job: { parallelism: 2, checkpoint: { dir } },
    execute: { stopOnSignals: false },
  });
}

const SOURCE = `CREATE TABLE src (id BIGINT, v INT, name STRING,
    ts AS TO_TIMESTAMP_LTZ(id * 1000, 3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
  WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '0',
        'fields.id.end' = '99', 'fields.v.min' = '1', 'fields.v.max' = '5', 'fields.name.length' = '4')`;

describe('SQL end to end on datagen', () => {
  it('the same SQL resumes from its checkpoint after a stop (uids derive from the statement)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sql-resume-'));
    dirs.push(dir);
    const start = (sinkId: string) => {
      const t = TableEnvironment.create({
        job: { parallelism: 2, checkpoint: { dir, intervalMs: 200 } },
        execute: { stopOnSignals: false },
      });
      return t
        .executeSql(
          `CREATE TABLE slow (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '1000',
             'rows-per-second' = '200', 'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = '999');
           CREATE TABLE sunk (id BIGINT) WITH ('connector' = 'test-collect', 'id' = '${sinkId}')`,
        )
        .then(() => t.executeSql('INSERT INTO sunk SELECT id FROM slow WHERE id >= 0'));
    };
    const first = await start('r1');
    // two checkpoints completed (a deadline, not a sleep: the wait ends on the event)
    await new Promise<void>((resolve, reject) => {
      let checkpoints = 0;
      const timer = setTimeout(() => reject(new Error('no 2 checkpoints within 60 s')), 60_000);
      const sub = first.job!.events$.subscribe((e) => {
        if (e.type === 'checkpoint-completed' && ++checkpoints === 2) {
          clearTimeout(timer);
          sub.unsubscribe();
          resolve();
        }
      });
    });
    await first.job!.stop();
    const second = await start('r2');
    const result = await second.job!.result;
    expect(result.status).toBe('finished');
    const a = collected.get('r1')!.map((r) => r['id'] as number);
    const b = collected.get('r2')!.map((r) => r['id'] as number);
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeLessThan(1000); // resumed, not started over
    expect(new Set([...a, ...b]).size).toBe(1000); // nothing lost
  });

  it('a changelog passes through projection and filter with its row kinds; a window over it is refused', async () => {
    const t = tableEnv();
    const changes: ChangeRow[] = [
      { kind: '+I', row: { id: 1, name: 'a' } },
      { kind: '+I', row: { id: 2, name: 'b' } },
      { kind: '-U', row: { id: 1, name: 'a' } },
      { kind: '+U', row: { id: 1, name: 'aa' } },
      { kind: '-D', row: { id: 2, name: 'b' } },
    ];
    await t.executeSql(`CREATE TABLE cl (id BIGINT, name STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
        WITH ('connector' = 'test-changelog', 'rows' = '${JSON.stringify(changes)}');
      CREATE TABLE out_c (id BIGINT, up STRING) WITH ('connector' = 'test-collect', 'id' = 'c')`);
    const r = await t.executeSql('INSERT INTO out_c SELECT id, UPPER(name) FROM cl WHERE id > 0');
    await r.job!.result;
    expect(collected.get('c')).toEqual([
      { kind: '+I', row: { id: 1, up: 'A' } },
      { kind: '+I', row: { id: 2, up: 'B' } },
      { kind: '-U', row: { id: 1, up: 'A' } },
      { kind: '+U', row: { id: 1, up: 'AA' } },
      { kind: '-D', row: { id: 2, up: 'B' } },
    ]);
    await expect(
      t.executeSql(`INSERT INTO out_c SELECT COUNT(*), 'x'
        FROM TABLE(TUMBLE(TABLE cl, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY window_start, window_end`),
    ).rejects.toThrow('the input is a changelog');
  });

  it('projection, WHERE and scalar functions', async () => {
    const t = tableEnv();
    await t.executeSql(`${SOURCE};
      CREATE TABLE out_p (id BIGINT, label STRING, big BOOLEAN) WITH ('connector' = 'test-collect', 'id' = 'p')`);
    const r = await t.executeSql(
      "INSERT INTO out_p SELECT id, CONCAT('#', CAST(id AS STRING), '-', UPPER(name)), v > 3 FROM src WHERE MOD(id, 10) = 3",
    );
    expect(r.kind).toBe('job');
    await r.job!.result;
    const rows = collected.get('p')!.sort((a, b) => (a['id'] as number) - (b['id'] as number));
    expect(rows.map((x) => x['id'])).toEqual([3, 13, 23, 33, 43, 53, 63, 73, 83, 93]);
    for (const row of rows) {
      expect(row['label']).toMatch(new RegExp(`^#${row['id'] as number}-[A-Z0-9]{4}$`));
      expect(typeof row['big']).toBe('boolean');
    }
  });

  it('a tumbling-window aggregation per key gives exact counts and sums', async () => {
    const t = tableEnv();
    await t.executeSql(`${SOURCE};
      CREATE TABLE out_w (k BIGINT, ws TIMESTAMP(3), we TIMESTAMP(3), c BIGINT, s INT, mx INT)
        WITH ('connector' = 'test-collect', 'id' = 'w')`);
    // group keys are columns: an expression key goes through a view
    await t.executeSql('CREATE TEMPORARY VIEW keyed AS SELECT id % 2 AS k, id, v, ts FROM src');
    const job = await t.executeSql(`INSERT INTO out_w
      SELECT k, window_start, window_end, COUNT(*), SUM(v), MAX(v)
      FROM TABLE(TUMBLE(TABLE keyed, DESCRIPTOR(ts), INTERVAL '10' SECOND))
      GROUP BY window_start, window_end, k`);
    await job.job!.result;
    const rows = collected.get('w')!;
    expect(rows).toHaveLength(20); // 10 windows × 2 keys
    for (const row of rows) {
      expect(row['we'] as number).toBe((row['ws'] as number) + 10_000);
      expect(row['c']).toBe(5);
      expect(row['mx'] as number).toBeLessThanOrEqual(5);
      expect(row['s'] as number).toBeGreaterThanOrEqual(5);
    }
    const total = rows.reduce((n, row) => n + (row['c'] as number), 0);
    expect(total).toBe(100);
  });

  it('UNION ALL of two selections and a HOP window', async () => {
    const t = tableEnv();
    await t.executeSql(`${SOURCE};
      CREATE TABLE out_u (id BIGINT) WITH ('connector' = 'test-collect', 'id' = 'u');
      CREATE TABLE out_h (ws TIMESTAMP(3), c BIGINT) WITH ('connector' = 'test-collect', 'id' = 'h')`);
    const u = await t.executeSql(
      'INSERT INTO out_u SELECT id FROM src WHERE id < 3 UNION ALL SELECT id + 1000 FROM src WHERE id >= 98',
    );
    await u.job!.result;
    expect(
      collected
        .get('u')!
        .map((r) => r['id'])
        .sort((a, b) => (a as number) - (b as number)),
    ).toEqual([0, 1, 2, 1098, 1099]);
    const h = await t.executeSql(`INSERT INTO out_h SELECT window_start, COUNT(*)
      FROM TABLE(HOP(TABLE src, DESCRIPTOR(ts), INTERVAL '50' SECOND, INTERVAL '100' SECOND))
      GROUP BY window_start, window_end`);
    await h.job!.result;
    const counts = new Map(collected.get('h')!.map((r) => [r['ws'] as number, r['c']]));
    expect(counts).toEqual(
      new Map([
        [-50_000, 50],
        [0, 100],
        [50_000, 50],
      ]),
    );
  });
});
