import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { ClusterMemberView, ClusterView } from '../../../src/cluster/cluster-view.js';
import type { ClusterReading, ClusterStatus } from '../../../src/observe/job-state.js';
import { observe } from '../../../src/observe/observer.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { SequenceSource } from '../../../src/source/sequence/sequence-source.js';
import { CollectSink } from '../helpers/collect-sink.js';

// src/observe declares the member shape itself (it never imports src/cluster); the type-check
// (npm run typecheck, in CI) fails here when the two drift apart
expectTypeOf<ClusterStatus['members'][number]>().toEqualTypeOf<ClusterMemberView>();
expectTypeOf<ClusterView>().toMatchTypeOf<ClusterReading>();

const silent = { destination: new Writable({ write: (_c, _e, done) => done() }) };

function view(beat: number, leader = 'w-a'): ClusterView {
  return {
    job: 'scaled',
    where: 'table segment s/_tributary-cluster-scaled/0.#epoch.0',
    members: [
      {
        workerId: 'w-a',
        state: 'alive',
        epoch: 1,
        host: 'h1',
        pid: 11,
        joinedAt: 1,
        beat,
        leader: leader === 'w-a',
      },
      {
        workerId: 'w-b',
        state: 'alive',
        epoch: 2,
        host: 'h2',
        pid: 22,
        joinedAt: 2,
        beat: beat + 1,
        leader: leader === 'w-b',
      },
      {
        workerId: 'w-c',
        state: 'dead',
        epoch: 1,
        host: 'h3',
        pid: 33,
        joinedAt: 3,
        beat: 5,
        leader: false,
        deadBy: 'w-a',
      },
    ],
    leader: { workerId: leader, term: 3 },
    completedCheckpoint: 7 + beat,
    pendingCheckpoint: undefined,
  };
}

describe('observer of one worker of a job in several processes', () => {
  it('lists every worker on /api/status, labels every metric with worker_id, and keeps the last view when a read fails', async () => {
    const env = StreamEnvironment.create({ parallelism: 1, metricsIntervalMs: 0 });
    env
      .fromSource(SequenceSource.unbounded(0, { batchSize: 10 }), {
        name: 'n',
        uid: 'n',
      })
      .sinkTo(new CollectSink<number>(), { name: 'out', uid: 'out' });
    const handle = env.execute('scaled');
    let reads = 0;
    let failing = false;
    const observer = await observe(handle, {
      http: { port: 0 },
      log: silent,
      cluster: {
        workerId: 'w-a',
        intervalMs: 100,
        read: async () => {
          reads++;
          if (failing) throw new Error('table segment unreachable');
          return view(reads);
        },
      },
    });
    try {
      await expect
        .poll(() => observer.status().cluster?.measuredAt, { timeout: 10_000 })
        .toBeDefined();
      const res = await fetch(new URL('/api/status', observer.urls[0]));
      const status = (await res.json()) as {
        cluster: {
          workerId: string;
          members: { workerId: string; state: string; leader: boolean }[];
          leader: { workerId: string };
        };
      };
      expect(status.cluster.workerId).toBe('w-a');
      expect(status.cluster.members.map((m) => [m.workerId, m.state, m.leader])).toEqual([
        ['w-a', 'alive', true],
        ['w-b', 'alive', false],
        ['w-c', 'dead', false],
      ]);
      const metrics = await (await fetch(new URL('/metrics', observer.urls[0]))).text();
      expect(metrics).toMatch(
        /tributary_cluster_workers\{state="alive",job_name="scaled",worker_id="w-a"\} 2/,
      );
      expect(metrics).toMatch(
        /tributary_cluster_workers\{state="dead",job_name="scaled",worker_id="w-a"\} 1/,
      );
      expect(metrics).toMatch(/tributary_cluster_leader\{job_name="scaled",worker_id="w-a"\} 1/);
      expect(metrics).toMatch(
        /tributary_cluster_completed_checkpoint\{job_name="scaled",worker_id="w-a"\} \d+/,
      );
      // every series carries the worker id, the job's own too
      expect(metrics).toMatch(/tributary_job_uptime_seconds\{job_name="scaled",worker_id="w-a"\}/);

      failing = true;
      const before = observer.status().cluster!;
      await expect
        .poll(() => observer.status().cluster?.error, { timeout: 10_000 })
        .toBe('table segment unreachable');
      expect(observer.status().cluster?.members).toEqual(before.members);
      failing = false;
      await expect
        .poll(() => observer.status().cluster?.error, { timeout: 10_000 })
        .toBeUndefined();
    } finally {
      await handle.cancel();
      await handle.result.catch(() => undefined);
      await observer.close();
    }
    const stoppedAt = reads;
    await sleep(300);
    expect(reads).toBe(stoppedAt); // no read after close
  });

  it('a job not in several processes has no cluster section and no worker_id label', async () => {
    const env = StreamEnvironment.create({ parallelism: 1, metricsIntervalMs: 0 });
    env
      .fromSource(SequenceSource.bounded(0, 100), { name: 'n', uid: 'n' })
      .sinkTo(new CollectSink<number>(), { name: 'out', uid: 'out' });
    const handle = env.execute('single');
    const observer = await observe(handle, { log: silent, closeWhenJobEnds: false });
    await handle;
    expect(observer.status().cluster).toBeUndefined();
    const metrics = await observer.registry.metrics();
    expect(metrics).not.toContain('worker_id');
    expect(metrics).not.toContain('tributary_cluster_');
    await observer.close();
  });
});
