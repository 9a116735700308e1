import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { ReaderGroup } from '../../../src/pravega/client/reader-group/reader-group.js';
import { launchChromium } from '../../support/chromium.js';
import { createFixedStreams, produce, readOutput } from '../../support/e2e.js';
import { randomScope } from '../../support/endpoints.js';
import { cli, RunningCli } from '../cli/cli-process.js';

const COPY_JOB = resolve(import.meta.dirname, '../cli/fixtures/copy-job.ts');
const KEYED_JOB = resolve(import.meta.dirname, 'fixtures/keyed-cli-job.ts');
const WAIT_MS = 120_000;

interface WorkerStatus {
  cluster?: {
    workerId: string;
    members: { workerId: string; state: string; leader: boolean }[];
    leader?: { workerId: string };
    completedCheckpoint?: number;
  };
}

async function statusOf(url: string): Promise<WorkerStatus> {
  const res = await fetch(new URL('api/status', url));
  return (await res.json()) as WorkerStatus;
}

/**
 * `tributary run job.ts --workers 2 --status-port 0` against the real server, as a user runs it:
 * both workers copy the input, each serves its own status page listing both workers (in a real
 * browser too), its metrics carry its worker id, and `tributary workers <job>` lists them.
 */
describe('tributary run --workers with status pages, and tributary workers (real server)', () => {
  let browser: Browser;
  let cwd: string;
  beforeAll(async () => {
    browser = await launchChromium(WAIT_MS);
    cwd = await mkdtemp(join(tmpdir(), 'tributary-workers-'));
  });
  afterAll(async () => {
    await browser?.close();
    await rm(cwd, { recursive: true, force: true });
  });

  it('every worker shows every worker; the workers command lists them; Ctrl-C stops them all', async () => {
    const uri = inject('pravega').controllerUri;
    const scope = randomScope('workers');
    const client = await PravegaClient.connect(uri);
    const running = new RunningCli(
      [
        '--controller',
        uri,
        'run',
        COPY_JOB,
        '--workers',
        '2',
        '--status-port',
        '0',
        '--cluster-scope',
        scope,
        '--checkpoint-interval',
        '500',
        '--',
        `${scope}/in`,
        `${scope}/out`,
      ],
      cwd,
    );
    try {
      await createFixedStreams(client, scope, { in: 4 });
      const pageLine = (w: number) => (l: string) => l.startsWith(`[w${w}] status page: `);
      const urls: string[] = [];
      for (const w of [0, 1]) {
        const index = await running.waitForLine(pageLine(w), `worker ${w}'s status page`);
        urls.push(running.lines[index]!.slice(`[w${w}] status page: `.length).trim());
      }
      expect(new Set(urls).size).toBe(2);
      await produce(client, `${scope}/in`, { keys: 4, perKey: 50 });

      // each page lists both workers alive, the same leader, and knows which one it is
      const ids: string[] = [];
      for (const url of urls) {
        await expect
          .poll(
            async () => {
              const c = (await statusOf(url)).cluster;
              return c?.members.filter((m) => m.state === 'alive').length ?? 0;
            },
            { timeout: WAIT_MS, interval: 250 },
          )
          .toBe(2);
        const c = (await statusOf(url)).cluster!;
        ids.push(c.workerId);
        expect(c.members.filter((m) => m.leader)).toHaveLength(1);
      }
      expect(new Set(ids).size).toBe(2);
      await expect
        .poll(async () => (await readOutput(client, `${scope}/out`)).length, {
          timeout: WAIT_MS,
          interval: 500,
        })
        .toBe(200);

      // metrics: every series with the worker's id, and the cluster gauges
      const metrics = await (await fetch(new URL('metrics', urls[1]))).text();
      expect(metrics).toContain(`worker_id="${ids[1]}"`);
      expect(metrics).toMatch(/tributary_cluster_workers\{state="alive",[^}]*\} 2/);
      expect(metrics).toMatch(/tributary_cluster_completed_checkpoint\{[^}]*\} [1-9]\d*/);

      // the page in a browser: the workers table with both, one leading
      const page = await browser.newPage();
      try {
        await page.goto(urls[1]!, { timeout: WAIT_MS });
        await expect
          .poll(() => page.locator('#workers tbody tr', { hasText: 'alive' }).count(), {
            timeout: WAIT_MS,
          })
          .toBe(2);
        expect(await page.locator('#workers-section').isVisible()).toBe(true);
        expect(await page.locator('#workers tbody tr', { hasText: '★ leader' }).count()).toBe(1);
        expect(
          await page.locator(`#workers tbody tr[data-worker="${ids[1]}"]`).textContent(),
        ).toContain('(this one)');
        expect(await page.locator('#workers-summary').textContent()).toMatch(
          /2 alive of 2 recorded · leader \S+ \(term \d+\) · completed checkpoint \d+/,
        );
      } finally {
        await page.close();
      }

      // from outside: tributary workers <job>
      const listed = await cli(['--controller', uri, 'workers', 'copy', '--cluster-scope', scope], {
        cwd,
      });
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(/job copy: 2 worker\(s\) alive of 2 recorded; leader \S+/);
      for (const id of ids) expect(listed.stdout).toContain(id);
      const json = await cli(
        ['--controller', uri, '--json', 'workers', 'copy', '--cluster-scope', scope],
        { cwd },
      );
      const view = JSON.parse(json.stdout) as { members: { workerId: string; state: string }[] };
      expect(view.members.map((m) => m.workerId).sort()).toEqual([...ids].sort());

      // a job with no table there: one clear line, exit code 1
      const missing = await cli(
        ['--controller', uri, 'workers', 'no-such-job', '--cluster-scope', scope],
        { cwd },
      );
      expect(missing.code).toBe(1);
      expect(missing.stderr.trim().split('\n')).toHaveLength(1);
      expect(missing.stderr).toMatch(/no scaled-out job "no-such-job" in scope/);

      // no purge while a worker beats
      const early = await cli(
        ['--controller', uri, 'workers', 'copy', '--cluster-scope', scope, '--purge'],
        { cwd },
      );
      expect(early.code).toBe(1);
      expect(early.stderr).toMatch(
        /job copy still runs: worker\(s\) .* beat within \d+ ms; stop every worker first/,
      );

      running.signal('SIGINT');
      const ended = await running.exit(WAIT_MS);
      expect(ended.stdout).toMatch(/\[w0\] exited/);
      expect(ended.stdout).toMatch(/\[w1\] exited/);
      // each worker says where its part goes on from
      for (const w of [0, 1])
        expect(ended.stdout).toMatch(
          new RegExp(
            `\\[w${w}\\] worker \\S+: stopped by SIGINT; its part of the job goes on from checkpoint \\d+ in the other workers, or when the job runs again`,
          ),
        );

      // nobody is left to declare them dead: still recorded alive, but their processes are gone
      const after = await cli(['--controller', uri, 'workers', 'copy', '--cluster-scope', scope], {
        cwd,
      });
      expect(after.code, after.stderr).toBe(0);
      expect(after.stdout).toMatch(
        /job copy: 0 worker\(s\) alive of 2 recorded \(2 more recorded alive whose process on this host is gone: stopped or killed, declared dead by the next leader\)/,
      );
      expect(after.stdout.match(/alive as recorded; process \d+ is gone/g)).toHaveLength(2);

      // the job ends for good: its reader group and coordination table are deleted
      const purged = await cli(
        ['--controller', uri, 'workers', 'copy', '--cluster-scope', scope, '--purge'],
        { cwd },
      );
      expect(purged.code, purged.stderr).toBe(0);
      expect(purged.stdout).toMatch(
        new RegExp(
          `job copy ended for good: \\d+ transaction\\(s\\) of checkpoint \\d+ committed, \\d+ aborted; deleted reader group\\(s\\) ${scope}/\\S+ and the coordination table`,
        ),
      );
      const gone = await cli(['--controller', uri, 'workers', 'copy', '--cluster-scope', scope], {
        cwd,
      });
      expect(gone.code).toBe(1);
      expect(gone.stderr).toMatch(/no scaled-out job "copy"/);
      const group = /deleted reader group\(s\) \S+?\/(\S+) and/.exec(purged.stdout)![1]!;
      await expect(ReaderGroup.get(client, scope, group)).rejects.toMatchObject({
        code: 'READER_GROUP_NOT_FOUND',
      });
    } finally {
      running.signal('SIGKILL');
      await client.close();
    }
  }, 300_000);

  it('refuses --workers N of a keyed job in one line, before any worker starts', async () => {
    const uri = inject('pravega').controllerUri;
    const scope = randomScope('keyedworkers');
    const result = await cli(
      [
        '--controller',
        uri,
        'run',
        KEYED_JOB,
        '--workers',
        '2',
        '--cluster-scope',
        scope,
        '--',
        `${scope}/in`,
        `${scope}/out`,
      ],
      { cwd },
    );
    expect(result.code).not.toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /keys its records .*runs on several workers only when it keys its records right after one keyByExchange edge/,
    );
    expect(result.stdout).not.toMatch(/starting 2 workers/);
  }, 120_000);
});
