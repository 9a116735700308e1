import { describe, expect, it } from 'vitest';
import type { CheckpointData } from '../../../src/checkpoint/checkpoint-data.js';
import type { CheckpointEvent } from '../../../src/checkpoint/checkpoint-events.js';
import { CheckpointCoordinator } from '../../../src/checkpoint/checkpoint-coordinator.js';
import { InMemoryCheckpointStore } from '../../../src/checkpoint/checkpoint-storage.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await sleep(2);
  }
}

/** A coordinator whose completion is decided outside (runtime/external-checkpoints.ts). */
function harness() {
  const log: string[] = [];
  const events: CheckpointEvent[] = [];
  const pieces: CheckpointData[] = [];
  const decisions = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  const coordinator = new CheckpointCoordinator({
    jobName: 'job',
    lineageStart: 1,
    // an interval that would trigger on its own were it not external
    options: { intervalMs: 5, minPauseMs: 0, timeoutMs: 5_000, maxConcurrent: 1 },
    store: new InMemoryCheckpointStore(3),
    firstCheckpointId: 1,
    tasks: [0, 1].map((subtask) => ({
      subtask,
      parallelism: 2,
      notifyCheckpointComplete: (id: number) => void log.push(`task ${subtask} complete ${id}`),
      notifyCheckpointAborted: (id: number) => void log.push(`task ${subtask} aborted ${id}`),
    })),
    hooks: [],
    onEvent: (e) => events.push(e),
    onWarning: (m) => log.push(`warning ${m}`),
    onFailure: (err) => log.push(`failure ${String(err)}`),
    onCompleted: (data) => log.push(`completed ${data.checkpointId}`),
    onFinalCompleted: () => log.push('final done'),
    externalCompletion: (id, piece) => {
      pieces.push(piece);
      return new Promise<void>((resolve, reject) => decisions.set(id, { resolve, reject }));
    },
  });
  const ack = (id: number, task: number): void =>
    coordinator.acknowledge(id, task, { op: { items: [task], keyGroups: [] } });
  return { coordinator, log, events, pieces, decisions, ack };
}

describe('checkpoints completed outside the process', () => {
  it('start only by id, wait for the outside before anyone is told, and keep early acks', async () => {
    const h = harness();
    h.coordinator.start();
    await sleep(30);
    expect(h.events).toEqual([]); // no periodic trigger of its own
    // a marker reached task 0 before the outside said "checkpoint 7"
    h.ack(7, 0);
    h.coordinator.triggerExternal(7);
    h.ack(7, 1);
    await until(() => h.decisions.has(7));
    expect(h.pieces[0]?.checkpointId).toBe(7);
    expect(h.pieces[0]?.operators['op']?.subtasks.length).toBe(2);
    await sleep(20);
    expect(h.log.filter((l) => l.includes('complete') || l.includes('completed'))).toEqual([]);
    h.decisions.get(7)!.resolve();
    await until(() => h.log.includes('task 1 complete 7'));
    expect(h.log).toContain('completed 7');
    expect(h.coordinator.latestCompletedId).toBe(7);
    h.coordinator.stop('test over');
  });

  it('a rejection aborts the checkpoint here; an older id is ignored, a newer one supersedes', async () => {
    const h = harness();
    h.coordinator.start();
    h.coordinator.triggerExternal(3);
    h.ack(3, 0);
    h.ack(3, 1);
    await until(() => h.decisions.has(3));
    h.decisions.get(3)!.reject(new Error('worker w2 was declared dead before acknowledging'));
    await until(() => h.log.includes('task 1 aborted 3'));
    expect(h.coordinator.latestCompletedId).toBe(0);
    const aborted = h.events.find((e) => e.type === 'checkpoint-aborted');
    expect(aborted?.type === 'checkpoint-aborted' && aborted.reason).toContain('declared dead');
    // not counted as this job's failures: no failure however many
    for (let id = 4; id < 10; id++) {
      h.coordinator.triggerExternal(id);
      h.coordinator.abortExternal(id, 'cluster checkpoint aborted');
    }
    expect(h.log.some((l) => l.startsWith('failure'))).toBe(false);
    h.coordinator.triggerExternal(2); // older: ignored
    h.coordinator.triggerExternal(11);
    h.coordinator.triggerExternal(12); // 11 is superseded
    const triggered = h.events
      .filter((e) => e.type === 'checkpoint-triggered')
      .map((e) => e.checkpointId);
    expect(triggered).not.toContain(2);
    expect(h.log).toContain('task 0 aborted 11');
    h.ack(12, 0);
    h.ack(12, 1);
    await until(() => h.decisions.has(12));
    h.decisions.get(12)!.resolve();
    await until(() => h.coordinator.latestCompletedId === 12);
    h.coordinator.stop('test over');
  });
});
