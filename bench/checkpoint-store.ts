/**
 * How long storing a checkpoint file takes while the tasks keep the event loop busy — the last
 * step on every checkpoint's path. Each file operation awaited on the task's thread costs one
 * event-loop turn, and a turn lasts as long as the tasks' slices; with keyed state's worker
 * thread running, the store writes, fsyncs and renames the file there in one step.
 *
 * The event loop is kept busy by a spinning "task" (`--turn-ms` of CPU per turn, then
 * setImmediate). The checkpoint is shaped like a keyed job's (p=2, 128 key groups, chains of
 * piece references). Both paths run in this process, alternated A/B/A/B.
 *
 *   npx tsx bench/checkpoint-store.ts [--stores 40] [--turn-ms 20] [--rounds 2]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckpointData } from '../src/checkpoint/checkpoint-data.js';
import { FileCheckpointStore } from '../src/checkpoint/checkpoint-storage.js';
import { foldThread } from '../src/state/fold-thread.js';
import { fmt, percentile } from './support.js';

const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const stores = Number(arg('--stores') ?? 40);
const turnMs = Number(arg('--turn-ms') ?? 20);
const rounds = Number(arg('--rounds') ?? 2);

function checkpoint(id: number): CheckpointData {
  const ref = (n: number): Record<string, unknown> => ({
    f: `${String(id - n).padStart(12, '0')}-0-state-1a2b3c4d.piece`,
    o: n * 1000,
    n: 150_000,
    h: 'ab'.repeat(32),
    k: n === 0 ? 'full' : 'delta',
  });
  const subtask = (s: number): { items: unknown[]; keyGroups: [number, unknown][] } => ({
    items: [],
    keyGroups: Array.from({ length: 64 }, (_, g) => [
      s * 64 + g,
      { chain: [0, 1, 2, 3, 4].map(ref) },
    ]),
  });
  return {
    checkpointId: id,
    jobName: 'bench',
    triggeredAt: Date.now(),
    completedAt: Date.now(),
    operators: { state: { parallelism: 2, subtasks: [subtask(0), subtask(1)] } },
    enumerators: {},
  } as CheckpointData;
}

/** Spins `turnMs` per event-loop turn until stopped (the tasks' slices). */
function busyLoop(): () => void {
  let running = true;
  const turn = (): void => {
    if (!running) return;
    const end = performance.now() + turnMs;
    while (performance.now() < end);
    setImmediate(turn);
  };
  setImmediate(turn);
  return () => {
    running = false;
  };
}

async function measure(worker: boolean): Promise<number[]> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-storebench-'));
  if (worker) foldThread.hold();
  const stop = busyLoop();
  try {
    const store = await FileCheckpointStore.open(dir, 3);
    await store.store(checkpoint(1)); // not timed: starts the worker thread (a job's first piece does)
    const ms: number[] = [];
    for (let id = 2; id <= stores + 1; id++) {
      const t0 = performance.now();
      await store.store(checkpoint(id));
      ms.push(performance.now() - t0);
    }
    await store.settled();
    return ms.sort((a, b) => a - b);
  } finally {
    stop();
    if (worker) foldThread.release();
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(
  `checkpoint store latency (shared machine) with the event loop busy ${turnMs} ms per turn, ${stores} stores per row`,
);
console.log('path                  p50 ms  p99 ms  max ms');
for (let round = 0; round < rounds; round++) {
  for (const worker of [false, true]) {
    const ms = await measure(worker);
    console.log(
      [
        (worker ? 'worker thread' : 'task thread').padEnd(20),
        fmt(percentile(ms, 50)).padStart(7),
        fmt(percentile(ms, 99)).padStart(7),
        fmt(ms.at(-1) ?? NaN).padStart(7),
      ].join(' '),
    );
  }
}
