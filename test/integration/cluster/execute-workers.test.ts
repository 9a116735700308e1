import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ClusterWorker } from '../../../src/cluster/cluster-worker.js';
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { readerGroupName } from '../../../src/source/pravega/names.js';
import { createFixedStreams, produce, readOutput } from '../../support/e2e.js';
import { randomScope } from '../../support/endpoints.js';
import { expectExactlyOnceInOrder, keysOf } from '../../support/sequences.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/execute-workers.ts', import.meta.url));
const WAIT_MS = 120_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `env.execute(name, { workers: 2 })` in a user's script against the real server: the script's
 * process is the first worker and starts one more running the same script; both are members of
 * the job; the output is every event once, in order per key; SIGTERM to the first ends both.
 */
describe('execute(name, { workers }) (real server)', () => {
  const pids: number[] = [];
  afterAll(() => {
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });

  it('runs the job in 2 worker processes from one script; SIGTERM ends them all', async () => {
    const uri = inject('pravega').controllerUri;
    const scope = randomScope('execworkers');
    const client = await PravegaClient.connect(uri);
    try {
      await createFixedStreams(client, scope, { in: 4, out: 2 });
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', SCRIPT, uri, scope, `${scope}/in`, `${scope}/out`],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      pids.push(child.pid!);
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));

      // both processes become members of the job
      await expect
        .poll(
          async () =>
            (
              await ClusterWorker.describe(uri, scope, 'copy-workers').catch(() => undefined)
            )?.members.filter((m) => m.state === 'alive').length ?? 0,
          { timeout: WAIT_MS, interval: 250 },
        )
        .toBe(2);
      const view = await ClusterWorker.describe(uri, scope, 'copy-workers');
      const memberPids = view.members.map((m) => m.pid);
      pids.push(...memberPids);
      expect(memberPids).toContain(child.pid);
      expect(output).toMatch(new RegExp(`^first ${child.pid} running$`, 'm'));
      expect(output).toMatch(/^spawned \d+ running$/m);

      await produce(client, `${scope}/in`, { keys: 4, perKey: 200 });
      await expect
        .poll(async () => (await readOutput(client, `${scope}/out`)).length, {
          timeout: WAIT_MS,
          interval: 500,
        })
        .toBeGreaterThanOrEqual(800);
      expectExactlyOnceInOrder(await readOutput(client, `${scope}/out`), keysOf(4), 200);

      child.kill('SIGTERM');
      const code = await Promise.race([
        exited,
        new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), WAIT_MS)),
      ]);
      expect(code, output).toBe(0);
      expect(output).toMatch(new RegExp(`^first ${child.pid} ended cancelled$`, 'm'));
      // the spawned worker ends with the first one
      await expect
        .poll(() => memberPids.filter(alive).length, { timeout: 30_000, interval: 100 })
        .toBe(0);
      await ClusterWorker.purge(uri, scope, 'copy-workers', [
        `${scope}/${readerGroupName('copy-workers', 'in')}`,
      ]);
    } finally {
      await client.close();
    }
  }, 300_000);
});
