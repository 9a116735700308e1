import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FileCheckpointStore,
  checkpointFileName,
} from '../../../src/checkpoint/checkpoint-storage.js';
import { randomScope } from '../../support/endpoints.js';
import { cli, jsonLines, RunningCli, type CliResult } from './cli-process.js';

/** The subcommands that need no Pravega (checkpoints) or bring their own (server). */

function ok(result: CliResult): CliResult {
  if (result.code !== 0) {
    throw new Error(
      `exit code ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
  return result;
}

describe('tributary CLI without a backend', () => {
  let cwd: string;

  beforeEach(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'tributary-cli-'));
  });

  afterEach(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it('lists checkpoints, verified, with a corrupt one shown as such, and shows the newest intact one', async () => {
    const dir = join(cwd, 'checkpoints');
    const store = await FileCheckpointStore.open(dir, 10);
    for (const id of [1, 2, 3]) {
      await store.store({
        checkpointId: id,
        jobName: 'orders',
        triggeredAt: 1_000 * id,
        completedAt: 1_000 * id + 25,
        operators: { src: { parallelism: 1, subtasks: [{ items: ['a', 'b'], keyGroups: [] }] } },
        enumerators: { src: { next: id } },
      });
    }
    // checkpoint 3 torn: its body cut short
    const newest = join(dir, checkpointFileName(3));
    const bytes = await readFile(newest);
    await writeFile(newest, bytes.subarray(0, bytes.length - 5));

    const listed = jsonLines<{ checkpointId: number; state: string; durationMs: number }[]>(
      ok(await cli(['checkpoints', 'list', dir, '--json'], { cwd })).stdout,
    )[0]!;
    expect(listed.map((c) => [c.checkpointId, c.state.split(':')[0]])).toEqual([
      [1, 'intact'],
      [2, 'intact'],
      [3, 'corrupt'],
    ]);
    expect(listed[0]!.durationMs).toBe(25);
    expect(listed[2]!.state).toMatch(/torn write/);

    const human = ok(await cli(['checkpoints', 'list', dir], { cwd })).stdout;
    expect(human.split('\n')[0]).toMatch(/^ID\s+JOB\s+COMPLETED\s+DURATION\s+SIZE\s+STATE$/);

    const shown = jsonLines(
      ok(await cli(['checkpoints', 'show', dir, '--json'], { cwd })).stdout,
    )[0]!;
    expect(shown).toMatchObject({
      checkpointId: 2,
      jobName: 'orders',
      operators: [{ uid: 'src', parallelism: 1, items: 2, keyGroups: 0 }],
    });
    const one = ok(await cli(['checkpoints', 'show', dir, '--id', '1'], { cwd })).stdout;
    expect(one).toMatch(/^checkpoint 1 of job orders/);

    const corrupt = await cli(['checkpoints', 'show', dir, '--id', '3'], { cwd });
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr.trim().split('\n')).toHaveLength(1);
    expect(corrupt.stderr).toMatch(/is corrupt: .*torn write.*\[STATE_CORRUPT\]$/m);
  }, 400_000);

  it('starts a real Pravega server that the other commands can use, and stops it on SIGINT', async () => {
    const server = new RunningCli(['--json', 'server', '--heap', '512'], cwd);
    const at = await server.waitForLine(
      (l) => l.includes('"controllerUri"'),
      'the controller URI',
      0,
      240_000,
    );
    const { controllerUri } = JSON.parse(server.lines[at]!) as { controllerUri: string };
    expect(controllerUri).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const scope = randomScope('cli-server');
    ok(await cli(['--controller', controllerUri, 'scopes', 'create', scope], { cwd }));
    const scopes = jsonLines<{ scope: string }[]>(
      ok(await cli(['--controller', controllerUri, '--json', 'scopes', 'list'], { cwd })).stdout,
    )[0]!;
    expect(scopes.map((s) => s.scope)).toContain(scope);
    server.signal('SIGINT');
    const ended = await server.exit();
    expect(ended.code).toBe(0);
    expect(jsonLines(ended.stdout).at(-1)).toEqual({ stopped: true });
  }, 400_000);
});
