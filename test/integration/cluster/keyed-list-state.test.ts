import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import type { StateValue } from '../../../src/checkpoint/state-codec.js';
import { ClusterWorker, type ClusterWorkerEvent } from '../../../src/cluster/cluster-worker.js';
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { StreamOperator, type OperatorSnapshot } from '../../../src/runtime/operator.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { PravegaSource } from '../../../src/source/pravega/pravega-source.js';
import { createFixedStreams, produce } from '../../support/e2e.js';
import { randomScope } from '../../support/endpoints.js';
import type { Seq } from '../../support/sequences.js';
import { CollectSink } from '../../unit/helpers/collect-sink.js';

const EVENTS = 100;

/** A user operator with list state: the number of records it has passed on (one item). */
class RunningCount extends StreamOperator {
  count = 0;
  restored: readonly StateValue[] | undefined;

  constructor(private readonly seen: RunningCount[]) {
    super();
  }

  override open(): void {
    this.seen.push(this);
    this.restored = this.ctx.restored?.items;
    const first = this.restored?.[0];
    this.count = typeof first === 'number' ? first : 0;
  }

  processBatch(values: readonly unknown[], timestamps: readonly number[] | undefined): void {
    this.count += values.length;
    this.output.emitBatch(values, timestamps);
  }

  override snapshotState(): OperatorSnapshot {
    return { items: [this.count] };
  }
}

/**
 * A keyed cluster job restarted as a whole restores the list state of its user operators too
 * (docs/scale-out.md §6 item 1), from the job's state stream: the restarted worker's operator
 * starts from the count of the last completed checkpoint, not from zero.
 */
describe('keyed cluster job restarted: list state of user operators (real server)', () => {
  it('a user operator gets back its list state of the last completed checkpoint', async () => {
    const uri = inject('pravega').controllerUri;
    const scope = randomScope('keyedlist');
    const job = 'keyed-list';
    const client = await PravegaClient.connect(uri);
    const seen: RunningCount[] = [];
    const start = (completed: number[]): Promise<ClusterWorker> => {
      const env = StreamEnvironment.create({
        parallelism: 1,
        maxParallelism: 8,
        pravega: uri,
        checkpoint: { timeoutMs: 30_000 },
        metricsIntervalMs: 0,
      });
      env
        .fromSource(PravegaSource.forStream(`${scope}/in`).json<Seq>(), {
          name: 'input',
          uid: 'input',
        })
        .transform<Seq>('running count', () => new RunningCount(seen), {
          name: 'running',
          uid: 'running',
        })
        .keyBy((s) => s.key)
        .process<Seq>((s, _ctx, out) => out.collect(s), { name: 'keyed', uid: 'keyed' })
        .sinkTo(new CollectSink<Seq>(), { name: 'out', uid: 'out' });
      return ClusterWorker.start(env, job, {
        pravega: uri,
        scope,
        checkpointIntervalMs: 300,
        heartbeatMs: 150,
        deadAfterMs: 1_500,
        onEvent: (e: ClusterWorkerEvent) => {
          if (e.type === 'checkpoint-completed') completed.push(e.record.id);
        },
      });
    };
    try {
      await createFixedStreams(client, scope, { in: 1 });
      await produce(client, `${scope}/in`, { keys: 2, perKey: EVENTS / 2 });
      const completedA: number[] = [];
      const a = await start(completedA);
      // every event counted, then a checkpoint completed after that
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline && (seen[0]?.count ?? 0) < EVENTS) await sleep(50);
      expect(seen[0]?.count).toBe(EVENTS);
      const mark = completedA.length;
      while (Date.now() < deadline && completedA.length < mark + 2) await sleep(50);
      expect(completedA.length).toBeGreaterThanOrEqual(mark + 2);
      expect(seen[0]?.restored).toBeUndefined();
      // the worker stops; a new one restarts the whole job from its last completed checkpoint
      await a.close();
      const completedB: number[] = [];
      const b = await start(completedB);
      try {
        expect(seen).toHaveLength(2);
        expect(seen[1]!.restored).toEqual([EVENTS]);
        expect(seen[1]!.count).toBe(EVENTS);
      } finally {
        await b.close();
      }
      const ended = await ClusterWorker.endJob(uri, scope, job, { quietMs: 2_000 });
      expect(ended.stateStreamRemoved).toBe(`${scope}/_tributary-state-${job}`);
    } finally {
      await client.close();
    }
  }, 240_000);
});
