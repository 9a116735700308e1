import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { ClusterWorker, type ClusterWorkerEvent } from '../../../src/cluster/cluster-worker.js';
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { ReaderGroup } from '../../../src/pravega/client/reader-group/reader-group.js';
import { bytesSerializer } from '../../../src/pravega/client/serializer.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { readerGroupName } from '../../../src/source/pravega/names.js';
import { PravegaSource } from '../../../src/source/pravega/pravega-source.js';
import { createFixedStreams, produce } from '../../support/e2e.js';
import { randomScope } from '../../support/endpoints.js';
import type { Seq } from '../../support/sequences.js';
import { CollectSink } from '../../unit/helpers/collect-sink.js';

const DEAD_AFTER_MS = 1_500;

/**
 * A worker that dies after its readers joined the job's reader group but before it joined the
 * coordination table leaves readers online that no live member owns: every reader-group
 * checkpoint waits for them. The leader takes such readers offline once it has seen them so for
 * 3 × deadAfterMs, and the job's checkpoints complete again (without it they would wait for the
 * group's own reader timeout, 10 minutes).
 */
describe('cluster worker: readers of no live member (real server)', () => {
  it('are taken offline by the leader and checkpoints complete again', async () => {
    const uri = inject('pravega').controllerUri;
    const scope = randomScope('orphans');
    const job = 'orphans';
    const client = await PravegaClient.connect(uri);
    const completed: { id: number; at: number }[] = [];
    const offline: string[] = [];
    let worker: ClusterWorker | undefined;
    try {
      await createFixedStreams(client, scope, { in: 2 });
      await produce(client, `${scope}/in`, { keys: 2, perKey: 20 });
      const env = StreamEnvironment.create({
        parallelism: 1,
        pravega: uri,
        checkpoint: { timeoutMs: 30_000 },
        metricsIntervalMs: 0,
      });
      env
        .fromSource(PravegaSource.forStream(`${scope}/in`).json<Seq>(), {
          name: 'input',
          uid: 'input',
        })
        .sinkTo(new CollectSink<Seq>(), { name: 'out', uid: 'out' });
      worker = await ClusterWorker.start(env, job, {
        pravega: uri,
        scope,
        checkpointIntervalMs: 300,
        checkpointTimeoutMs: 2_000,
        heartbeatMs: 150,
        deadAfterMs: DEAD_AFTER_MS,
        onEvent: (e: ClusterWorkerEvent) => {
          if (e.type === 'checkpoint-completed')
            completed.push({ id: e.record.id, at: Date.now() });
          if (e.type === 'orphan-readers-offline') offline.push(...e.readers);
        },
      });
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && completed.length < 2) await sleep(50);
      expect(completed.length).toBeGreaterThanOrEqual(2);

      // a worker's reader joins the group, and the worker is gone before it joined the table
      const group = await ReaderGroup.get(client, scope, readerGroupName(job, 'input'));
      const ghost = await group.createReader('ghost-host-4242-0', bytesSerializer);
      await ghost.close({ leaveGroup: false });
      const joinedAt = Date.now();
      expect(await group.getOnlineReaders()).toContain('ghost-host-4242-0');

      while (Date.now() < deadline && offline.length === 0) await sleep(50);
      expect(offline).toEqual(['ghost-host-4242-0']);
      const offlineAt = Date.now();
      expect(offlineAt - joinedAt).toBeGreaterThanOrEqual(3 * DEAD_AFTER_MS);
      expect(await group.getOnlineReaders()).not.toContain('ghost-host-4242-0');
      // checkpoints complete again
      while (Date.now() < deadline && !completed.some((c) => c.at > offlineAt)) await sleep(50);
      expect(completed.some((c) => c.at > offlineAt)).toBe(true);
      console.log(
        `[orphan readers] ghost reader taken offline ${offlineAt - joinedAt} ms after it joined (grace ${3 * DEAD_AFTER_MS} ms); checkpoints before it: ${completed.filter((c) => c.at < joinedAt).length}, while it was online: ${completed.filter((c) => c.at >= joinedAt && c.at <= offlineAt).length}`,
      );
    } finally {
      await worker?.close();
      await client.close();
    }
  }, 120_000);
});
