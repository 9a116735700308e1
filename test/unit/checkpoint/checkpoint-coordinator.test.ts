import { describe, expect, it } from 'vitest';
import type { CheckpointData, CheckpointRef } from '../../../src/checkpoint/checkpoint-data.js';
import type { CheckpointEvent } from '../../../src/checkpoint/checkpoint-events.js';
import {
  CheckpointCoordinator,
  type CheckpointHook,
  type CheckpointingOptions,
} from '../../../src/checkpoint/checkpoint-coordinator.js';
import {
  InMemoryCheckpointStore,
  type CheckpointStore,
} from '../../../src/checkpoint/checkpoint-storage.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await sleep(2);
  }
}

function harness(
  options: Partial<CheckpointingOptions>,
  store: CheckpointStore = new InMemoryCheckpointStore(3),
) {
  const log: string[] = [];
  const events: CheckpointEvent[] = [];
  const hook: CheckpointHook = {
    uid: 'source',
    triggerCheckpoint: (id) => {
      log.push(`hook trigger ${id}`);
      return Promise.resolve({ id });
    },
    notifyCheckpointComplete: async (id) => void log.push(`hook complete ${id}`),
    notifyCheckpointAborted: async (id) => void log.push(`hook aborted ${id}`),
  };
  let finals = 0;
  const coordinator = new CheckpointCoordinator({
    jobName: 'job',
    lineageStart: 1,
    options: {
      intervalMs: undefined,
      minPauseMs: 0,
      timeoutMs: 5_000,
      maxConcurrent: 1,
      ...options,
    },
    store,
    firstCheckpointId: 1,
    tasks: [0, 1].map((subtask) => ({
      subtask,
      parallelism: 2,
      notifyCheckpointComplete: (id: number) => void log.push(`task ${subtask} complete ${id}`),
      notifyCheckpointAborted: (id: number) => void log.push(`task ${subtask} aborted ${id}`),
    })),
    hooks: [hook],
    onEvent: (e) => events.push(e),
    onWarning: (m) => log.push(`warning ${m}`),
    onFailure: (err) => log.push(`failure ${String(err)}`),
    onCompleted: (data) => log.push(`completed ${data.checkpointId}`),
    onFinalCompleted: () => {
      finals++;
      log.push('final done');
    },
  });
  const ack = (id: number, task: number): void =>
    coordinator.acknowledge(id, task, { op: { items: [task], keyGroups: [] } });
  const triggered = (): number[] =>
    events.filter((e) => e.type === 'checkpoint-triggered').map((e) => e.checkpointId);
  return { coordinator, log, events, ack, triggered, finals: () => finals };
}

/**
 * Acks the newest triggered checkpoint on every task until one completes (an ack may come after a
 * short timeout on a loaded machine: then the next checkpoint is tried). Returns its id.
 */
async function ackNewest(h: ReturnType<typeof harness>): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (let last = 0; ;) {
    await until(() => (h.triggered().at(-1) ?? 0) > last);
    last = h.triggered().at(-1) ?? 0;
    h.ack(last, 0);
    h.ack(last, 1);
    const id = last;
    await until(
      () =>
        h.log.includes(`completed ${id}`) ||
        h.events.some((e) => e.type === 'checkpoint-aborted' && e.checkpointId === id),
    );
    if (h.log.includes(`completed ${id}`)) return id;
    if (Date.now() > deadline) throw new Error('no checkpoint completed within 30 s');
  }
}

describe('CheckpointCoordinator', () => {
  it('completes only when every task and hook is in, stores first, then notifies', async () => {
    let stored: CheckpointData | undefined;
    const store: CheckpointStore = {
      store: async (data): Promise<CheckpointRef> => {
        await sleep(20);
        stored = data;
        return { checkpointId: data.checkpointId, path: undefined, bytes: 1 };
      },
      latest: async () => ({ data: stored, skipped: [] }),
      highestId: async () => 0,
    };
    const h = harness({}, store);
    h.coordinator.start();
    const done = h.coordinator.triggerCheckpoint();
    await until(() => h.triggered().length === 1);
    h.ack(1, 0);
    h.ack(1, 0); // duplicate ack: ignored
    h.ack(7, 1); // unknown checkpoint: ignored
    await sleep(5);
    expect(h.log.some((l) => l.startsWith('completed'))).toBe(false);
    h.ack(1, 1);
    expect(await done).toBe(1);
    expect(stored?.operators['op']?.subtasks).toEqual([
      { items: [0], keyGroups: [] },
      { items: [1], keyGroups: [] },
    ]);
    expect(stored?.enumerators['source']).toEqual({ id: 1 });
    expect(h.log.slice(1)).toEqual([
      'completed 1',
      'task 0 complete 1',
      'task 1 complete 1',
      'hook complete 1',
    ]);
    h.coordinator.stop('test over');
  });

  it('never has more than maxConcurrent in flight; a completion subsumes older pending ones', async () => {
    const h = harness({ intervalMs: 5, maxConcurrent: 2 });
    h.coordinator.start();
    await until(() => h.triggered().length === 2);
    await sleep(30);
    expect(h.triggered()).toEqual([1, 2]);
    h.ack(2, 0);
    h.ack(2, 1);
    await until(() => h.log.includes('completed 2'));
    await until(() => h.log.includes('task 0 aborted 1'));
    const aborted = h.events.find((e) => e.type === 'checkpoint-aborted');
    expect(aborted?.type === 'checkpoint-aborted' && aborted.reason).toBe(
      'subsumed by checkpoint 2',
    );
    await until(() => h.triggered().length >= 3);
    h.coordinator.stop('test over');
  });

  it('waits the min pause after a checkpoint ends, but not for the final checkpoint', async () => {
    // a long pause: the check that nothing is triggered yet cannot race it on a loaded machine
    const h = harness({ intervalMs: 1, minPauseMs: 5_000 });
    h.coordinator.start();
    await until(() => h.triggered().length === 1);
    h.ack(1, 0);
    h.ack(1, 1);
    await until(() => h.log.includes('completed 1'));
    await sleep(50);
    expect(h.triggered()).toEqual([1]); // still pausing
    h.coordinator.requestFinalCheckpoint();
    await until(() => h.triggered().length === 2);
    const final = h.events.find((e) => e.type === 'checkpoint-triggered' && e.checkpointId === 2);
    expect(final?.final).toBe(true);
    h.ack(2, 0);
    h.ack(2, 1);
    await until(() => h.finals() === 1);
    await sleep(250);
    expect(h.triggered()).toEqual([1, 2]); // nothing after the final checkpoint
    h.coordinator.stop('test over');
  });

  it('aborts on timeout, tells everyone, and the next checkpoint can complete', async () => {
    const h = harness({ intervalMs: 10, timeoutMs: 300 });
    h.coordinator.start();
    await until(() => h.events.some((e) => e.type === 'checkpoint-aborted'));
    expect(h.log).toContain('task 0 aborted 1');
    expect(h.log).toContain('hook aborted 1');
    const next = await ackNewest(h);
    expect(next).toBeGreaterThanOrEqual(2);
    expect(h.coordinator.latestCompletedId).toBe(next);
    h.coordinator.stop('test over');
  });
  it('fails the job once more than tolerableFailures checkpoints fail in a row; a completion resets the count', async () => {
    // the acks of the third must land within its timeout: generous for a loaded machine
    const h = harness({ intervalMs: 5, timeoutMs: 1_000, tolerableFailures: 2 });
    h.coordinator.start();
    // two time out, the third completes: the count starts again
    await until(() => h.events.filter((e) => e.type === 'checkpoint-aborted').length >= 2);
    await until(() => h.triggered().length >= 3);
    const third = h.triggered()[2] as number;
    h.ack(third, 0);
    h.ack(third, 1);
    await until(() => h.log.includes(`completed ${third}`));
    expect(h.log.some((l) => l.startsWith('failure'))).toBe(false);
    // three more time out: the third of them is one too many
    await until(() => h.log.some((l) => l.startsWith('failure')));
    const aborted = h.events.filter((e) => e.type === 'checkpoint-aborted');
    expect(aborted.length).toBe(5);
    expect(h.log.find((l) => l.startsWith('failure'))).toMatch(
      /3 checkpoints failed in a row \(checkpoint.tolerableFailures is 2\)/,
    );
    h.coordinator.stop('test over');
  });
});
