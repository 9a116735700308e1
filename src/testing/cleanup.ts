import { getContainerRuntimeClient } from 'testcontainers';
import { LABEL_MANAGED, LABEL_OWNER, LABEL_RUN, ownerIsGone } from './container-labels.js';

/** Removing the containers of a finished run, and of runs that died without cleaning up. */

export interface RemovedContainer {
  readonly id: string;
  readonly run: string;
  readonly owner: string;
}

async function removeWhere(
  filter: Record<string, string[]>,
  select: (labels: Record<string, string>) => boolean,
): Promise<RemovedContainer[]> {
  const client = await getContainerRuntimeClient();
  const docker = client.container.dockerode;
  const found = await docker.listContainers({ all: true, filters: filter });
  const chosen = found.filter((c) => select(c.Labels));
  await Promise.all(
    chosen.map(async (c) => {
      try {
        await docker.getContainer(c.Id).remove({ force: true, v: true });
      } catch (err) {
        // already removed by someone else: that is what we wanted
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      }
    }),
  );
  return chosen.map((c) => ({
    id: c.Id.slice(0, 12),
    run: c.Labels[LABEL_RUN] ?? '',
    owner: c.Labels[LABEL_OWNER] ?? '',
  }));
}

/** Removes every container labelled with this test run (running or not). */
export function removeRunContainers(run: string): Promise<RemovedContainer[]> {
  return removeWhere({ label: [`${LABEL_RUN}=${run}`] }, () => true);
}

/**
 * Removes the containers left by earlier runs whose owning process is gone (killed before its
 * teardown ran). Containers of live runs — another test run on the same machine — stay.
 */
export function removeLeftoverContainers(): Promise<RemovedContainer[]> {
  return removeWhere({ label: [`${LABEL_MANAGED}=true`] }, (labels) =>
    ownerIsGone(labels[LABEL_OWNER] ?? ''),
  );
}
