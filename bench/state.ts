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
 *                          [--heap-mb 512] [--restore] [--records-per-key N]
 *   (--backend takes a list: each (keys, mode) runs once per backend, side by side; --heap-mb caps
 *   the Node heap of the job processes; --restore then resumes each finished job from its last
 *   checkpoint with parallelism 3 — key groups move — and prints how long restoring took)
 *   (STATE_BENCH_VERBOSE=1 prints every checkpoint's duration and size)
 */
import { fork } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StreamEnvironment } from '../src/runtime/stream-environment.js';
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
}

interface RunResult extends RunSpec {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly checkpointMs: number[];
  readonly largestCheckpointBytes: number;
  readonly totalCheckpointBytes: number;
  readonly dirBytes: number;
  readonly peakRssBytes: number;
  /** wall time of resuming the finished job from its last checkpoint (parallelism 3) */
  readonly restoreSeconds: number | undefined;
}

const PAD = 'x'.repeat(56);

/** Runs in the child; `dir` (the checkpoint directory) is made and removed by the parent. */
async function runJob(spec: RunSpec, dir: string): Promise<RunResult> {
  try {
    const env = StreamEnvironment.create({
      parallelism: 2,
      checkpoint: { intervalMs: 1_000, dir, timeoutMs: 600_000 },
      state: { backend: spec.backend, snapshots: spec.mode },
      restart: { type: 'none' },
      metricsIntervalMs: 0,
    });
    let sunk = 0;
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
      if (process.env['STATE_BENCH_VERBOSE'] !== undefined)
        console.error(
          `  [${spec.mode} ${spec.keys}] checkpoint ${e.checkpointId}: ${e.durationMs} ms, ${e.stateBytes} B`,
        );
      largest = Math.max(largest, e.stateBytes);
      total += e.stateBytes;
    });
    const cpu0 = process.cpuUsage();
    const started = performance.now();
    await handle;
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (sunk === 0) throw new Error('the sink saw nothing');
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const dirBytes = await dirSize(dir);
    return {
      ...spec,
      seconds,
      cpuSeconds,
      checkpointMs: checkpointMs.sort((a, b) => a - b),
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
        ...(heapMb === undefined ? [] : [`--max-old-space-size=${heapMb}`]),
      ],
    });
    let result: RunResult | undefined;
    child.on('message', (m) => (result = m as RunResult));
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      result !== undefined
        ? resolve(result)
        : reject(new Error(`bench child exited with ${code ?? signal}`)),
    );
  });
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
  const recordsFlag = arg('--records');
  console.log(
    `state benchmark (wall numbers measured under shared-machine load): sequence → keyBy → value state {64-char string, count} → discard; p=2, 1 s checkpoints to local disk, ${changed * 100} % of keys hot after the first pass, backend(s) ${backends.join(', ')}${heapMb === undefined ? '' : `, Node heap capped at ${heapMb} MiB`}`,
  );
  console.log(
    'keys       backend mode         records   records/s   cpu s   ckpts  p50 ms  p99 ms  max ms  largest ckpt  total written  peak RSS  restore s',
  );
  for (const keys of keysList) {
    const perKey = arg('--records-per-key');
    const records = Number(
      recordsFlag ??
        (perKey !== undefined ? Number(perKey) * keys : Math.max(5 * keys, 10_000_000)),
    );
    for (const mode of modes) {
      for (const backend of backends) {
        const r = await inChild({ keys, records, changed, mode, backend, restore }).catch(
          (err: unknown) => err as Error,
        );
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
            mib(r.largestCheckpointBytes).padStart(13),
            mib(r.totalCheckpointBytes).padStart(14),
            mib(r.peakRssBytes).padStart(9),
            (r.restoreSeconds === undefined ? '-' : fmt(r.restoreSeconds, 1)).padStart(10),
          ].join(' '),
        );
      }
    }
  }
}
