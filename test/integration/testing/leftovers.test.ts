import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getContainerRuntimeClient } from 'testcontainers';
import { describe, expect, inject, it } from 'vitest';
import { removeLeftoverContainers } from '../../../src/testing/index.js';

/**
 * A process that started a Pravega container is SIGKILLed, so no teardown of it runs: its
 * container is left behind, and the next sweep (what every test run does first) removes it,
 * while the containers of this live run stay.
 */
const image = inject('pravegaImage');
const CHILD = fileURLToPath(new URL('./start-container.ts', import.meta.url));

describe.skipIf(image === '')('containers of a killed run', () => {
  it('are removed by the next sweep; live runs keep theirs', async () => {
    const docker = (await getContainerRuntimeClient()).container.dockerode;
    // its own run: the child owns its containers, not this test run
    const env = { ...process.env };
    delete env['TRIBUTARY_TEST_RUN_ID'];
    delete env['TRIBUTARY_TEST_RUN_OWNER'];
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, image], {
      env,
      stdio: 'ignore',
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const pid = child.pid!;
    const mine = async () =>
      (
        await docker.listContainers({
          all: true,
          filters: { label: ['tributary.testing=true'] },
        })
      ).filter((c) => (c.Labels['tributary.testing.owner'] ?? '').split(':')[1] === String(pid));
    // gate on progress: kill it once its container exists (it is still starting the server)
    const deadline = Date.now() + 120_000;
    let found = await mine();
    while (found.length === 0) {
      expect(Date.now(), 'the child never created its container').toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 200));
      found = await mine();
    }
    child.kill('SIGKILL');
    await exited;
    expect((await mine()).map((c) => c.Id)).toEqual(found.map((c) => c.Id));

    const live = (
      await docker.listContainers({
        filters: { label: [`tributary.testing.run=${process.env['TRIBUTARY_TEST_RUN_ID']}`] },
      })
    ).map((c) => c.Id);
    const removed = await removeLeftoverContainers();
    expect(removed.map((c) => c.id)).toEqual(
      expect.arrayContaining(found.map((c) => c.Id.slice(0, 12))),
    );
    expect(await mine()).toEqual([]);
    const stillLive = (await docker.listContainers({ all: true })).map((c) => c.Id);
    for (const id of live) expect(stillLive).toContain(id);
  }, 180_000);
});
