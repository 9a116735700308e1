/**
 * SQL end to end on both backends: `CREATE TABLE` source and sink on Pravega (json),
 * `INSERT INTO … SELECT` with a filter and a tumbling window, exactly-once across a crash in the
 * middle of the run (the job is cancelled after a committed checkpoint and the same SQL started
 * again in a new TableEnvironment over the same checkpoint directory, resuming from it); and a
 * batch read between two stream cuts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { jsonSerializer } from '../../../src/pravega/client/serializer.js';
import { streamCutToText, tailCut } from '../../../src/pravega/client/stream-cut.js';
import { TableEnvironment } from '../../../src/table/index.js';
import { BACKENDS } from '../../support/backends.js';
import { randomScope } from '../../support/endpoints.js';
import { readCommitted } from '../../support/read-stream.js';

interface Event {
  readonly id: number;
  readonly k: string;
  readonly v: number;
  readonly t_ms: number;
}
type Out = Record<string, unknown>;

const KEYS = ['a', 'b', 'c'];
const WINDOW_MS = 10_000;
/** event i: key i % 3, value i % 7 (v = 0 is filtered out), one event per 100 ms of event time */
const event = (i: number): Event => ({ id: i, k: KEYS[i % 3]!, v: i % 7, t_ms: i * 100 });

/** What the window query must give for events [0, n): per (key, window start) count and sum of v > 0. */
function expected(n: number): Map<string, { c: number; s: number }> {
  const m = new Map<string, { c: number; s: number }>();
  for (let i = 0; i < n; i++) {
    const e = event(i);
    if (e.v <= 0) continue;
    const key = `${e.k}@${Math.floor(e.t_ms / WINDOW_MS) * WINDOW_MS}`;
    const cur = m.get(key) ?? { c: 0, s: 0 };
    m.set(key, { c: cur.c + 1, s: cur.s + e.v });
  }
  return m;
}

describe.each(BACKENDS.map((b) => [b().name, b] as const))(
  'SQL on Pravega (%s)',
  (_name, makeBackend) => {
    const backend = makeBackend();
    const scope = randomScope('sql');
    const dirs: string[] = [];
    let client: PravegaClient;
    let uri: string;

    beforeAll(async () => {
      client = await backend.connect();
      uri = client.uri;
      await client.createScope(scope);
    });
    afterAll(async () => {
      dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
      await backend.cleanup();
    });

    async function write(stream: string, from: number, to: number): Promise<void> {
      const w = await client.createWriter(`${scope}/${stream}`, jsonSerializer<Event>());
      const pending: Promise<void>[] = [];
      for (let i = from; i < to; i++) pending.push(w.write(event(i), event(i).k));
      await Promise.all(pending);
      await w.close();
    }

    const read = (stream: string): Promise<Out[]> =>
      readCommitted(client, `${scope}/${stream}`, jsonSerializer<Out>());

    async function waitUntil(
      what: string,
      test: () => Promise<boolean>,
      timeoutMs = 120_000,
    ): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!(await test())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(250);
      }
    }

    function ddl(extraSource: string): string {
      return `
      CREATE TABLE events (id BIGINT, k STRING, v INT, t_ms BIGINT,
          ts AS TO_TIMESTAMP_LTZ(t_ms, 3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
        WITH ('connector' = 'pravega', 'controller-uri' = '${uri}', 'scope' = '${scope}',
              'scan.streams' = 'in', 'format' = 'json'${extraSource});
      CREATE TABLE totals (k STRING, window_start TIMESTAMP(3), c BIGINT, s BIGINT)
        WITH ('connector' = 'pravega', 'controller-uri' = '${uri}', 'scope' = '${scope}',
              'sink.stream' = 'out', 'sink.semantic' = 'exactly-once', 'format' = 'json')`;
    }

    const INSERT = `INSERT INTO totals
    SELECT k, window_start, COUNT(*), SUM(v)
    FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND))
    WHERE v > 0
    GROUP BY window_start, window_end, k`;

    function tableEnv(dir: string): TableEnvironment {
      return TableEnvironment.create({
        job: { parallelism: 2, checkpoint: { dir, intervalMs: 300 } },
        execute: { stopOnSignals: false },
        // a reader the reader group has not given a segment yet must not hold event time back
        config: { 'table.exec.source.idle-timeout': '2 s' },
      });
    }

    it('filter + tumbling window, exactly once across a crash and a resume from the checkpoint', async () => {
      await client.createStream(`${scope}/in`, {
        scalingPolicy: { type: 'fixed', minSegments: 2 },
      });
      await client.createStream(`${scope}/out`, {
        scalingPolicy: { type: 'fixed', minSegments: 1 },
      });
      const dir = mkdtempSync(join(tmpdir(), 'sql-pravega-'));
      dirs.push(dir);
      const half = 1_500;
      const total = 3_000;
      await write('in', 0, half);

      // first run: until some windows are committed, then a crash (cancel: no final checkpoint)
      const first = tableEnv(dir);
      await first.executeSql(ddl(''));
      const run1 = await first.executeSql(INSERT);
      let checkpoints = 0;
      run1.job!.events$.subscribe((e) => {
        if (e.type === 'checkpoint-completed') checkpoints++;
      });
      await waitUntil(
        'committed windows of the first run',
        async () => checkpoints >= 2 && (await read('out')).length > 0,
      );
      await run1.job!.cancel();

      // the rest of the input, then an event far ahead on every routing key (so on every segment
      // that holds data: each reader's watermark passes the last window); v = 0 is filtered out
      await write('in', half, total);
      const w = await client.createWriter(`${scope}/in`, jsonSerializer<Event>());
      for (const k of KEYS) await w.write({ id: -1, k, v: 0, t_ms: total * 100 + 60_000 }, k);
      await w.close();

      // second run: same SQL, same checkpoint directory → resumes
      const second = tableEnv(dir);
      await second.executeSql(ddl(''));
      const run2 = await second.executeSql(INSERT);
      const want = expected(total);
      await waitUntil('every window', async () => (await read('out')).length >= want.size);
      await run2.job!.stop();

      const rows = await read('out');
      const got = new Map<string, { c: number; s: number }>();
      for (const r of rows) {
        const key = `${r['k'] as string}@${String(r['window_start'])}`;
        expect(got.has(key), `window ${key} written twice`).toBe(false);
        got.set(key, { c: r['c'] as number, s: r['s'] as number });
      }
      expect(rows).toHaveLength(want.size);
      // window_start's JSON spelling is the format's business: compare per key the multiset of (c, s)
      const per = (m: Map<string, { c: number; s: number }>, k: string) =>
        [...m.entries()]
          .filter(([key]) => key.startsWith(`${k}@`))
          .map(([, x]) => `${x.c}/${x.s}`)
          .sort();
      for (const k of KEYS) expect(per(got, k)).toEqual(per(want, k));
    });

    it('batch mode reads exactly the events between two cuts and finishes', async () => {
      await client.createStream(`${scope}/bin`, {
        scalingPolicy: { type: 'fixed', minSegments: 2 },
      });
      await client.createStream(`${scope}/bout`, {
        scalingPolicy: { type: 'fixed', minSegments: 1 },
      });
      const cut = async () =>
        streamCutToText(
          await tailCut(client.controller, client.segmentStore, { scope, stream: 'bin' }),
        );
      await write('bin', 0, 100);
      const start = await cut();
      await write('bin', 100, 250);
      const end = await cut();
      await write('bin', 250, 300);
      const dir = mkdtempSync(join(tmpdir(), 'sql-pravega-batch-'));
      dirs.push(dir);
      const t = tableEnv(dir);
      await t.executeSql(`
      CREATE TABLE src (id BIGINT, k STRING, v INT, t_ms BIGINT)
        WITH ('connector' = 'pravega', 'controller-uri' = '${uri}', 'scope' = '${scope}',
              'scan.streams' = 'bin', 'scan.execution.type' = 'batch',
              'scan.start-streamcuts' = '${start}', 'scan.end-streamcuts' = '${end}', 'format' = 'json');
      CREATE TABLE dst (id BIGINT, label STRING)
        WITH ('connector' = 'pravega', 'controller-uri' = '${uri}', 'scope' = '${scope}',
              'sink.stream' = 'bout', 'sink.semantic' = 'exactly-once', 'format' = 'json')`);
      const r = await t.executeSql(
        "INSERT INTO dst SELECT id, CONCAT(k, '-', CAST(v AS STRING)) FROM src WHERE MOD(id, 2) = 0",
      );
      const result = await r.job!.result;
      expect(result.status).toBe('finished');
      const rows = await read('bout');
      const ids = rows.map((x) => x['id'] as number).sort((a, b) => a - b);
      expect(ids).toEqual(Array.from({ length: 75 }, (_, i) => 100 + 2 * i));
      for (const row of rows) {
        const e = event(row['id'] as number);
        expect(row['label']).toBe(`${e.k}-${e.v}`);
      }
    });
  },
);
