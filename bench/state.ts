/**
 * Keyed state that grows (issue 17): sequence source → keyBy → value state of a 64-character
 * string and a count per key → discarding sink; parallelism 2, checkpoints every 1 s to a local
 * directory. The first `keys` records create every key once; after that only a hot set of
 * `changed × keys` keys is updated, so at most that fraction of the keys changes per interval.
 *
 * Every (keys, snapshot mode) pair runs in its own child process (clean peak RSS and CPU time),
 * one after the other in the same run, so the full-snapshot path and the incremental one are
 * measured side by side under the same machine load.
 *
 *   npm run bench:state -- [--keys 10000,1000000,4000000] [--records N] [--changed 0.05]
 *                          [--modes full,incremental] [--backend heap|lmdb|heap,lmdb]
 *                          [--heap-mb 512] [--restore] [--records-per-key N] [--rounds 1]
 *                          [--min-pause-ms 0]
 *   (--backend takes a list: each (keys, mode) runs once per backend, side by side; --heap-mb caps
 *   the Node heap of the job processes; --restore then resumes each finished job from its last
 *   checkpoint with parallelism 3 — key groups move — and prints how long restoring took;
 *   --rounds R repeats each keys count R times, alternating the modes A/B/A/B; heap runs also
 *   time restoring the last checkpoint's keyed state in-process: "restore ms", "restore reads";
 *   --min-pause-ms sets checkpoint.minPauseMs, Flink's minimum pause between the end of one
 *   checkpoint and the start of the next: the interval alone counts from the previous trigger)
 *   (STATE_BENCH_VERBOSE=1 prints every checkpoint's duration and size)
 */
import { fork } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STATE_PIECES_DIR, readCheckpointFile } from '../src/checkpoint/checkpoint-storage.js';
import { restoreSubtask } from '../src/checkpoint/restore.js';
import type { StateValue } from '../src/checkpoint/state-codec.js';
import { keyGroupRange } from '../src/runtime/key-groups.js';
import { HeapKeyedStateBackend } from '../src/runtime/keyed-state.js';
import { StreamEnvironment } from '../src/runtime/stream-environment.js';
import { readChains } from '../src/state/incremental-snapshots.js';
import { fromStoredRef, type PieceRef } from '../src/state/state-pieces.js';
import type { Sink } from '../src/sink/sink.js';
import { SequenceSource } from '../src/source/sequence/sequence-source.js';
import { fmt, percentile } from './support.js';

const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};

interface RunSpec {
  readonly keys: number;
  readonly records: number;
  readonly changed: number;
  readonly mode: 'full' | 'incremental';
  readonly backend: 'heap' | 'lmdb';
  readonly restore: boolean;
  readonly minPauseMs: number;
}

interface RunResult extends RunSpec {
  readonly seconds: number;
  /** restoring the last checkpoint's keyed state into fresh backends (both subtasks) */
  readonly restoreMs: number;
  /** bytes of keyed state read by that restore (inline state or the pieces of the chains) */
  readonly restoreBytes: number;
  /** a V8 heap's worth of the live state: heap used after a full GC with the state vs without */
  readonly liveStateBytes: number;
  readonly cpuSeconds: number;
  readonly checkpointMs: number[];
  /** durations of the checkpoints whose interval came after every key existed (≤ `changed`) */
  readonly steadyMs: number[];
  readonly largestCheckpointBytes: number;
  readonly totalCheckpointBytes: number;
  readonly dirBytes: number;
  readonly peakRssBytes: number;
  /** wall time of resuming the finished job from its last checkpoint (parallelism 3) */
  readonly restoreSeconds: number | undefined;
}

const PAD = 'x'.repeat(56);
const PARALLELISM = 2;
const MAX_PARALLELISM = 128;

/** Runs in the child; `dir` (the checkpoint directory) is made and removed by the parent. */
async function runJob(spec: RunSpec, dir: string): Promise<RunResult> {
  try {
    const env = StreamEnvironment.create({
      parallelism: PARALLELISM,
      maxParallelism: MAX_PARALLELISM,
      checkpoint: { intervalMs: 1_000, dir, timeoutMs: 600_000, minPauseMs: spec.minPauseMs },
      state: { backend: spec.backend, snapshots: spec.mode },
      restart: { type: 'none' },
      metricsIntervalMs: 0,
    });
    let sunk = 0;
    let seen = 0; // records the keyed operator processed (both subtasks run in this process)
    const sink: Sink<number> = {
      createWriter: () => ({
        initialize: async () => {},
        writeBatch: (records) => void (sunk += records.length),
        snapshotState: async () => [],
        notifyCheckpointComplete: async () => {},
        close: async () => {},
      }),
    };
    const hot = Math.max(1, Math.floor(spec.keys * spec.changed));
    env
      .fromSource(SequenceSource.bounded(0, spec.records), { name: 'numbers', uid: 'numbers' })
      .keyBy((n) => (n < spec.keys ? n : n % hot))
      .process<number>(
        (n, ctx, out) => {
          seen++;
          const state = ctx.valueState<{ s: string; c: number }>('v');
          const prev = state.value();
          state.update({
            s: prev?.s ?? `${String(ctx.key).padStart(8, '0')}${PAD}`,
            c: (prev?.c ?? 0) + 1,
          });
          if ((n & 1023) === 0) out.collect(n);
        },
        { name: 'state', uid: 'state' },
      )
      .sinkTo(sink, { name: 'discard', uid: 'discard' });
    const checkpointMs: number[] = [];
    const steadyMs: number[] = [];
    // records seen when each checkpoint completed: checkpoint N's interval starts at barrier
    // N-1, taken after checkpoint N-2 completed; if every key existed by then, only hot keys
    // changed in that interval
    const seenAt: number[] = [];
    let largest = 0;
    let total = 0;
    const handle = env.execute(`statebench-${spec.mode}`);
    const restoreJob = async (): Promise<number> => {
      const again = StreamEnvironment.create({
        parallelism: 3,
        checkpoint: { dir, timeoutMs: 600_000 },
        state: { backend: spec.backend, snapshots: spec.mode },
        restart: { type: 'none' },
        metricsIntervalMs: 0,
      });
      again
        .fromSource(SequenceSource.bounded(0, spec.records), { name: 'numbers', uid: 'numbers' })
        .keyBy((n) => n)
        .process<number>(() => {}, { name: 'state', uid: 'state' })
        .sinkTo(sink, { name: 'discard', uid: 'discard' });
      const t0 = performance.now();
      await again.execute(`statebench-${spec.mode}`);
      return (performance.now() - t0) / 1000;
    };
    handle.events$.subscribe((e) => {
      if (e.type !== 'checkpoint-completed') return;
      if (!e.final) checkpointMs.push(e.durationMs);
      if (!e.final && (seenAt.at(-2) ?? 0) >= spec.keys) steadyMs.push(e.durationMs);
      seenAt.push(seen);
      if (process.env['STATE_BENCH_VERBOSE'] !== undefined) {
        const m = process.memoryUsage();
        console.error(
          `  [${spec.mode} ${spec.keys}] checkpoint ${e.checkpointId}: ${e.durationMs} ms, ${e.stateBytes} B, rss ${mib(m.rss)}, heap ${mib(m.heapUsed)}`,
        );
      }
      // the live state's size once every key exists (at the final checkpoint the job still
      // holds it): the V8 heap it takes, after a full GC
      if (e.final) live = settledHeapUsed() - heapBefore;
      largest = Math.max(largest, e.stateBytes);
      total += e.stateBytes;
    });
    const heapBefore = settledHeapUsed();
    let live = 0;
    const cpu0 = process.cpuUsage();
    const started = performance.now();
    await handle;
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (sunk === 0) throw new Error('the sink saw nothing');
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const dirBytes = await dirSize(dir);
    // into heap backends: only where the state fits the heap (not a disk backend's)
    const restore =
      spec.backend === 'heap' ? await restoreKeyedState(dir) : { ms: NaN, bytes: NaN };
    return {
      ...spec,
      seconds,
      restoreMs: restore.ms,
      restoreBytes: restore.bytes,
      liveStateBytes: live,
      cpuSeconds,
      checkpointMs: checkpointMs.sort((a, b) => a - b),
      steadyMs: steadyMs.sort((a, b) => a - b),
      largestCheckpointBytes: largest,
      totalCheckpointBytes: total,
      dirBytes,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      restoreSeconds: spec.restore ? await restoreJob() : undefined,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Heap used after a full GC (needs --expose-gc; the bench starts its children with it). */
function settledHeapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

/**
 * Restores the keyed operator's state from the last checkpoint into fresh backends, the way a
 * restarted job's operators do (chains of pieces read and verified, or inline state decoded).
 */
async function restoreKeyedState(dir: string): Promise<{ ms: number; bytes: number }> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.ckpt')).sort();
  const last = names.at(-1);
  if (last === undefined) return { ms: NaN, bytes: 0 };
  const started = performance.now();
  const data = await readCheckpointFile(join(dir, last));
  let bytes = 0;
  for (let subtask = 0; subtask < PARALLELISM; subtask++) {
    const range = keyGroupRange(subtask, MAX_PARALLELISM, PARALLELISM);
    const restored = restoreSubtask(data, 'state', subtask, PARALLELISM, range);
    const backend = new HeapKeyedStateBackend(MAX_PARALLELISM);
    const chains: { chain: PieceRef[]; what: string }[] = [];
    for (const [group, state] of restored?.keyGroups ?? []) {
      const { chain, state: inline } = state as { chain?: unknown[]; state?: StateValue };
      if (chain !== undefined) {
        const what = `key group ${group}`;
        const refs = chain.map((r) => fromStoredRef(r, join(dir, STATE_PIECES_DIR), what));
        for (const ref of refs) bytes += ref.bytes;
        chains.push({ chain: refs, what });
      } else if (inline !== undefined) {
        backend.restoreKeyGroup(inline);
      }
    }
    await readChains(backend, chains);
  }
  if (names.length > 0 && bytes === 0) bytes = (await stat(join(dir, last))).size;
  return { ms: performance.now() - started, bytes };
}

async function dirSize(dir: string): Promise<number> {
  let bytes = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    bytes += entry.isDirectory() ? await dirSize(path) : (await stat(path)).size;
  }
  return bytes;
}

/** Runs one job in a child process; its checkpoint directory goes even if the child dies (OOM). */
async function inChild(spec: RunSpec): Promise<RunResult> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-statebench-'));
  try {
    return await forkChild(spec, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function forkChild(spec: RunSpec, dir: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--child', JSON.stringify(spec), dir], {
      execArgv: [
        ...process.execArgv,
        '--expose-gc',
        ...(heapMb === undefined ? [] : [`--max-old-space-size=${heapMb}`]),
      ],
    });
    let result: RunResult | undefined;
    // NaN travels as null over IPC (JSON): the disk backend's in-process restore is NaN
    child.on('message', (m) => (result = withNaN(m as RunResult)));
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      result !== undefined
        ? resolve(result)
        : reject(new Error(`bench child exited with ${code ?? signal}`)),
    );
  });
}

/** Numbers that came back as null over IPC (NaN in the child) are NaN again. */
function withNaN(r: RunResult): RunResult {
  const nan = (n: number | null): number => n ?? NaN;
  return { ...r, restoreMs: nan(r.restoreMs), restoreBytes: nan(r.restoreBytes) };
}

const heapMb = arg('--heap-mb');
const mib = (b: number): string => `${fmt(b / 2 ** 20, 1)} MiB`;

if (argv[0] === '--child') {
  const dir = argv[2];
  if (dir === undefined) throw new Error('bench child: no checkpoint directory given');
  const result = await runJob(JSON.parse(argv[1] ?? '{}') as RunSpec, dir);
  process.send?.(result);
} else {
  const keysList = (arg('--keys') ?? '10000,1000000,4000000').split(',').map(Number);
  const modes = (arg('--modes') ?? 'full,incremental').split(',') as RunSpec['mode'][];
  const changed = Number(arg('--changed') ?? 0.05);
  const backends = (arg('--backend') ?? 'heap').split(',') as RunSpec['backend'][];
  const restore = argv.includes('--restore');
  const minPauseMs = Number(arg('--min-pause-ms') ?? 0);
  const recordsFlag = arg('--records');
  console.log(
    `state benchmark (wall numbers measured under shared-machine load): sequence → keyBy → value state {64-char string, count} → discard; p=2, 1 s checkpoints${minPauseMs > 0 ? ` (min pause ${minPauseMs} ms)` : ''} to local disk, ${changed * 100} % of keys hot after the first pass, backend(s) ${backends.join(', ')}${heapMb === undefined ? '' : `, Node heap capped at ${heapMb} MiB`}`,
  );
  console.log(
    'keys       backend mode         records   records/s   cpu s   ckpts  p50 ms  p99 ms  max ms  steady: n  p50 ms  p99 ms  largest ckpt  total written  peak RSS  live state  RSS/live  restore ms  restore reads  resume s',
  );
  const rounds = Number(arg('--rounds') ?? 1);
  const perKey = arg('--records-per-key');
  // rounds alternate the modes (A/B/A/B) so that both see the same drift in machine load
  for (let round = 0; round < rounds * keysList.length; round++) {
    const keys = keysList[Math.floor(round / rounds)] as number;
    const records = Number(
      recordsFlag ??
        (perKey !== undefined ? Number(perKey) * keys : Math.max(5 * keys, 10_000_000)),
    );
    for (const mode of modes) {
      for (const backend of backends) {
        const spec = { keys, records, changed, mode, backend, restore, minPauseMs };
        const r = await inChild(spec).catch((err: unknown) => err as Error);
        if (r instanceof Error) {
          // e.g. heap state that does not fit under --heap-mb: say so and go on with the others
          console.log(
            `${fmt(keys).padEnd(10)} ${backend.padEnd(7)} ${mode.padEnd(12)} ${fmt(records).padStart(8)}   failed: ${r.message}`,
          );
          continue;
        }
        const c = r.checkpointMs;
        console.log(
          [
            fmt(keys).padEnd(10),
            backend.padEnd(7),
            mode.padEnd(12),
            fmt(records).padStart(8),
            fmt(records / r.seconds).padStart(11),
            fmt(r.cpuSeconds, 1).padStart(7),
            String(c.length).padStart(7),
            fmt(percentile(c, 50)).padStart(7),
            fmt(percentile(c, 99)).padStart(7),
            fmt(c.at(-1) ?? NaN).padStart(7),
            String(r.steadyMs.length).padStart(10),
            fmt(percentile(r.steadyMs, 50)).padStart(7),
            fmt(percentile(r.steadyMs, 99)).padStart(7),
            mib(r.largestCheckpointBytes).padStart(13),
            mib(r.totalCheckpointBytes).padStart(14),
            mib(r.peakRssBytes).padStart(9),
            mib(r.liveStateBytes).padStart(11),
            fmt(r.peakRssBytes / r.liveStateBytes, 2).padStart(9),
            fmt(r.restoreMs).padStart(11),
            (Number.isNaN(r.restoreBytes) ? '-' : mib(r.restoreBytes)).padStart(14),
            (r.restoreSeconds === undefined ? '-' : fmt(r.restoreSeconds, 1)).padStart(9),
          ].join(' '),
        );
      }
    }
  }
}
