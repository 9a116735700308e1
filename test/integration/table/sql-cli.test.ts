import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../../src/cli/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'sql-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await runCli(args);
    return { code, stdout, stderr };
  } finally {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  }
}

describe('tributary sql', () => {
  it('runs a file: SHOW and EXPLAIN print, the INSERT job runs to its end and prints its rows', async () => {
    const file = join(dir, 'job.sql');
    writeFileSync(
      file,
      `CREATE TABLE nums (x INT) WITH ('connector' = 'datagen', 'fields.x.kind' = 'sequence',
         'fields.x.start' = '1', 'fields.x.end' = '3');
       CREATE TABLE shown (y INT, label STRING) WITH ('connector' = 'print');
       SHOW TABLES;
       EXPLAIN INSERT INTO shown SELECT x * 10, CAST(x AS STRING) FROM nums;
       INSERT INTO shown SELECT x * 10, CAST(x AS STRING) FROM nums;`,
    );
    const r = await run([
      '--controller',
      `embedded:${join(dir, 'store')}`,
      'sql',
      '-f',
      file,
      '--checkpoint-dir',
      join(dir, 'cp'),
      '--parallelism',
      '1',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('nums\nshown\n');
    expect(r.stdout).toContain('== Job graph ==');
    for (const line of ['+I[10, 1]', '+I[20, 2]', '+I[30, 3]']) expect(r.stdout).toContain(line);
    expect(r.stdout).toMatch(/job insert-into_default_catalog\.default_database\.shown finished/);
  });

  it('an unsupported statement is one error line with its position, exit code 1', async () => {
    const r = await run([
      'sql',
      '-e',
      "CREATE TABLE t (a INT) WITH ('connector' = 'print');\nINSERT INTO t SELECT a FROM t ORDER BY a",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ORDER BY on a stream is not supported .*\(line 2, column 31\)/);
  });

  it('needs exactly one of -f and -e', async () => {
    const r = await run(['sql']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give exactly one of -f <file.sql> and -e <statements>');
  });
});
