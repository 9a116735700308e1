import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { PerformanceObserver, performance as perf } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireClient } from '../src/pravega/client/client-registry.js';
import { tailCut } from '../src/pravega/client/stream-cut.js';
import { StreamEnvironment } from '../src/runtime/stream-environment.js';
import { PravegaSink } from '../src/sink/pravega/pravega-sink.js';
import { PravegaSource } from '../src/source/pravega/pravega-source.js';
import { startRealPravega } from '../tools/pravega-server/index.js';
import { buildFlinkJob, runFlinkJob } from './flink-job.js';
import { countCalls, perInterval } from './job-calls.js';
import { fmt, percentile } from './support.js';

/**
 * The end-to-end job: Pravega source (parallelism 2) → map → Pravega sink (parallelism 2),
 * 100 B events, checkpoints every second — exactly-once and at-least-once, alternated for
 * `--rounds` rounds, on the embedded store and on a real Pravega server started here (its CPU is
 * this run's alone). The input is written first; the job is bounded by the input's tail, so the
 * time measured is the job's, start to final commit. Per guarantee it prints the median of
 * events/s, this process's CPU seconds, the server's CPU seconds (real server), peak RSS and
 * checkpoint p50/p99, then the ratios exactly-once / at-least-once. On a loaded machine trust
 * the CPU seconds and ratios more than events/s.
 * On the real server the server CPU is also given without its JIT compiler threads (a fresh JVM
 * still compiles during the first runs): the ratio without them is about the work. Each Tributary
 * run prints what it asked of the server per checkpoint interval (transactions, transaction
 * segments, append sessions and blocks, pings, commits, status polls), counted in this process.
 * `npm run bench:job [-- --events N] [--rounds R] [--only embedded|real] [--guarantee exactly-once|at-least-once] [--server-threads] [--warmup-events N] [--warmup-runs N] [--flink [--flink-deadline-s S]] [--memory-trace] [--uri tcp://host:port] [--cpu-prof DIR] [--timeline]`
 * `--timeline` prints per second: events/s into the sink, process CPU % (main thread's own CPU %,
 * from /proc), main-thread busy % and
 * GC ms (is a slow long run slow all along, or slower later? idle, GC or work?).
 * `--cpu-prof DIR` writes a CPU profile of each measured Tributary run (the job alone: not the
 * input, not the warm-up) to DIR, for Chrome DevTools or `node --cpu-prof`-style tools.
 */

const argv = process.argv.slice(2);
const arg = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const EVENTS = Number(arg('--events') ?? 1_000_000);
/** a first, unreported run of each guarantee: JIT warm-up of this process and of the server */
const WARMUP_EVENTS = Number(arg('--warmup-events') ?? Math.min(EVENTS, 300_000));
/** warm-up runs of each guarantee (default: 2 on a real server started here, whose JIT is cold; else 1) */
const WARMUP_RUNS = arg('--warmup-runs');
const ROUNDS = Number(arg('--rounds') ?? 3);
const ONLY = arg('--only');
const GUARANTEE = arg('--guarantee');
/** print the real server's CPU seconds per thread (name) for each run */
const SERVER_THREADS = argv.includes('--server-threads');
/** also run the job on Flink + the Pravega connector (bench/flink) against the same real server */
const FLINK = argv.includes('--flink');
/** print RSS and heap every 2 s of each run (is memory flat over a long run?) */
const MEMORY_TRACE = argv.includes('--memory-trace');
/** run the real-server side against this server instead of starting one (its CPU is not measured) */
const URI = arg('--uri');
/** write a CPU profile of each measured run of the job (this process) into this directory */
const CPU_PROF_DIR = arg('--cpu-prof');
/**
 * print one line per second of each measured run: events into the sink that second, this
 * process's CPU share, the main thread's event-loop utilization (1 − idle) and GC time — where a
 * long run loses its rate
 */
const TIMELINE = argv.includes('--timeline');
const SIZE = 100;

type Guarantee = 'exactly-once' | 'at-least-once';
/** a guarantee on Tributary, or the same on Flink (`flink exactly-once`) */
type Variant = Guarantee | `flink ${Guarantee}`;
/** Flink runs that hang are killed after this long, and reported as failures */
const FLINK_DEADLINE_MS = Number(arg('--flink-deadline-s') ?? 600) * 1000;

interface RunResult {
  readonly eventsPerSecond: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly serverCpuSeconds: number | undefined;
  /** of which the server's JIT compiler threads */
  readonly serverJitSeconds: number | undefined;
  readonly peakRssMiB: number;
  /** JS heap used and Buffer memory at their peaks (this process only; NaN for Flink) */
  readonly peakHeapMiB: number;
  readonly peakBuffersMiB: number;
  readonly checkpointP50: number;
  readonly checkpointP99: number;
  readonly checkpoints: number;
  readonly transactions: number;
  readonly status: string;
}

/** utime + stime of a process in seconds, from /proc (Linux); undefined elsewhere. */
function processCpuSeconds(
  pid: number | undefined,
  path = `/proc/${pid}/stat`,
): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** CPU seconds of this process's main thread (its task id is the pid), from /proc (Linux). */
function mainThreadCpuSeconds(): number | undefined {
  return processCpuSeconds(process.pid, `/proc/${process.pid}/task/${process.pid}/stat`);
}

/** CPU seconds of each thread of this process, by thread id (Linux). */
function ownThreadsCpuSeconds(): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${process.pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const seconds = processCpuSeconds(Number(tid), `/proc/${process.pid}/task/${tid}/stat`);
    if (seconds !== undefined) out.set(Number(tid), seconds);
  }
  return out;
}

/** CPU seconds per thread name (digits folded) of a process, from /proc/<pid>/task. */
function threadCpuSeconds(pid: number | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (pid === undefined) return out;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8')
        .trim()
        .replace(/\d+/g, 'N');
      const seconds = processCpuSeconds(Number(tid), `/proc/${pid}/task/${tid}/stat`) ?? 0;
      out.set(name, (out.get(name) ?? 0) + seconds);
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** The input, written by bench/job-input.ts in a child process (this one holds only the job). */
async function writeInput(uri: string, scope: string, events: number): Promise<void> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'job-input.ts');
  const child = spawn(
    process.execPath,
    [...process.execArgv, script, uri, scope, String(events), String(SIZE)],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`writing the input failed (bench/job-input.ts exit ${code})`);
}

async function runJob(
  uri: string,
  variant: Variant,
  round: number,
  serverPid: number | undefined,
  events = EVENTS,
): Promise<RunResult | string | undefined> {
  const warmup = round < 0;
  const flink = variant.startsWith('flink ');
  const guarantee = variant.replace('flink ', '') as Guarantee;
  const scope = `jobbench${Date.now()}r${round}${flink ? 'f' : ''}${guarantee === 'exactly-once' ? 'eo' : 'alo'}`;
  await writeInput(uri, scope, events);
  if (flink) return runFlink(uri, scope, guarantee, round, serverPid, events);
  const shared = await acquireClient(uri);
  const end = await tailCut(shared.client.controller, shared.client.segmentStore, {
    scope,
    stream: 'in',
  });

  const checkpointDir = mkdtempSync(join(tmpdir(), 'tributary-jobbench-'));
  const env = StreamEnvironment.create({
    parallelism: 2,
    pravega: uri,
    checkpoint: { intervalMs: 1_000, dir: checkpointDir },
    restart: { type: 'none' },
  });
  const sink = PravegaSink.forStream(`${scope}/out`)
    .bytes()
    .routingKey((p) => `k${p[0]!}`);
  env
    .fromSource(PravegaSource.forStream(`${scope}/in`, { end }).bytes(), { name: 'in' })
    .map((p) => p, { name: 'map' })
    .sinkTo(guarantee === 'exactly-once' ? sink.exactlyOnce() : sink.atLeastOnce(), {
      name: 'out',
    });
  global.gc?.();
  const durations: number[] = [];
  let transactions = 0;
  let peakRss = process.memoryUsage.rss();
  let peakHeap = 0;
  let peakBuffers = 0;
  let ticks = 0;
  const sampler = setInterval(() => {
    // RSS is cheap to read; the full memoryUsage() walks the heap (~1–2 % of the main thread at
    // every 50 ms in a CPU profile of the job), so heap and buffers are read every 250 ms
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    if (ticks++ % 5 !== 0) return;
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
    if (MEMORY_TRACE && performance.now() - lastTrace >= 2000) {
      lastTrace = performance.now();
      console.log(
        `      ${fmt((lastTrace - started) / 1000, 0)} s: RSS ${fmt(m.rss / 2 ** 20)} MiB, heap ${fmt(m.heapUsed / 2 ** 20)} MiB, buffers ${fmt(m.arrayBuffers / 2 ** 20)} MiB`,
      );
    }
  }, 50);
  let lastTrace = performance.now();
  const cpu0 = process.cpuUsage();
  const server0 = processCpuSeconds(serverPid);
  const threads0 = serverPid !== undefined ? threadCpuSeconds(serverPid) : undefined;
  const calls = countCalls(shared.client);
  const profiler = CPU_PROF_DIR !== undefined && !warmup ? await startProfiler() : undefined;
  const started = performance.now();
  const timeline = TIMELINE && !warmup ? new Timeline(started) : undefined;
  const handle = env.execute(`jobbench-${guarantee}`);
  handle.events$.subscribe((e) => {
    if (e.type === 'checkpoint-completed' && !e.final) durations.push(e.durationMs);
    if (e.type === 'transaction' && e.action === 'committed') transactions++;
    if (e.type === 'metrics' && timeline !== undefined) {
      timeline.sample(e.operators.find((o) => o.name === 'out')?.recordsIn ?? 0);
    }
  });
  let result: Awaited<typeof handle.result>;
  try {
    result = await handle.result;
  } catch (err) {
    // a failed run (e.g. the server stopped serving a segment on a loaded machine) is reported
    // as a failure, like Flink's, and the other runs go on
    clearInterval(sampler);
    calls.uninstall();
    if (profiler !== undefined) profiler.disconnect();
    rmSync(checkpointDir, { recursive: true, force: true });
    for (const stream of ['in', 'out']) {
      await shared.client.sealStream(`${scope}/${stream}`).catch(() => undefined);
      await shared.client.deleteStream(`${scope}/${stream}`).catch(() => undefined);
    }
    await shared.release();
    const failure = `${guarantee} round ${round}: ${(err as Error).message.slice(0, 300)}`;
    console.log(`    ${warmup ? 'warm-up' : `round ${round}`} ${variant}: FAILED, ${failure}`);
    return failure;
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  timeline?.stop(events, (cpu.user + cpu.system) / 1e6);
  if (profiler !== undefined) {
    const file = join(CPU_PROF_DIR!, `job-${guarantee}-round${round}.cpuprofile`);
    await stopProfiler(profiler, file);
    console.log(`    CPU profile: ${file}`);
  }
  const server1 = processCpuSeconds(serverPid);
  calls.uninstall();
  let serverJit: number | undefined;
  if (threads0 !== undefined) {
    const threads1 = threadCpuSeconds(serverPid);
    const deltas = [...threads1]
      .map(([name, s]) => [name, s - (threads0.get(name) ?? 0)] as const)
      .sort((a, b) => b[1] - a[1]);
    serverJit = deltas
      .filter(([name]) => /CompilerThre/.test(name))
      .reduce((sum, [, d]) => sum + d, 0);
    if (SERVER_THREADS && !warmup) {
      console.log(
        `    server threads (CPU s): ${deltas
          .filter(([, d]) => d >= 0.05)
          .map(([n, d]) => `${n} ${fmt(d, 2)}`)
          .join(', ')}`,
      );
    }
  }
  if (!warmup)
    console.log(`    asked of the server, ${perInterval(calls.counts, durations.length + 1)}`);
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  rmSync(checkpointDir, { recursive: true, force: true });
  // drop the streams so that later rounds run on a server holding no more than this one did
  for (const stream of ['in', 'out']) {
    await shared.client.sealStream(`${scope}/${stream}`).catch(() => undefined);
    await shared.client.deleteStream(`${scope}/${stream}`).catch(() => undefined);
  }
  await shared.release();
  durations.sort((a, b) => a - b);
  if (warmup) {
    const jit =
      serverJit === undefined || server0 === undefined || server1 === undefined
        ? ''
        : `, server CPU ${fmt(server1 - server0, 2)} s of which JIT ${fmt(serverJit, 2)} s`;
    console.log(
      `    warm-up ${guarantee}: ${fmt(events)} events in ${fmt(seconds, 2)} s, ${result.status}${jit}`,
    );
    return undefined;
  }
  const run: RunResult = {
    eventsPerSecond: EVENTS / seconds,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    serverCpuSeconds:
      server0 === undefined || server1 === undefined ? undefined : server1 - server0,
    serverJitSeconds: serverJit,
    peakRssMiB: peakRss / 2 ** 20,
    peakHeapMiB: peakHeap / 2 ** 20,
    peakBuffersMiB: peakBuffers / 2 ** 20,
    checkpointP50: percentile(durations, 50),
    checkpointP99: percentile(durations, 99),
    checkpoints: durations.length,
    transactions,
    status: result.status,
  };
  console.log(`    round ${round} ${variant.padEnd(19)} ${line(run)}`);
  return run;
}

/** Per-second lines of one run (`--timeline`), fed by the job's metrics events (every 1 s). */
class Timeline {
  private lastTime: number;
  private lastRecords = 0;
  private lastCpu = process.cpuUsage();
  private lastElu = perf.eventLoopUtilization();
  /** the main thread's own CPU (the rest of the process's is thread-pool I/O, GC helpers, JIT) */
  private lastMainCpu = mainThreadCpuSeconds();
  private readonly mainCpu0 = this.lastMainCpu;
  private readonly threads0 = ownThreadsCpuSeconds();
  private gcMs = 0;
  private readonly gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) this.gcMs += entry.duration;
  });

  constructor(private readonly started: number) {
    this.lastTime = started;
    this.gc.observe({ entryTypes: ['gc'] });
  }

  sample(records: number): void {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const elu = perf.eventLoopUtilization();
    const dt = now - this.lastTime;
    if (dt <= 0) return;
    const busy = perf.eventLoopUtilization(elu, this.lastElu).utilization;
    const cpuMs = (cpu.user - this.lastCpu.user + cpu.system - this.lastCpu.system) / 1000;
    const mainCpu = mainThreadCpuSeconds();
    const main =
      mainCpu === undefined || this.lastMainCpu === undefined
        ? ''
        : ` (main thread ${fmt(((mainCpu - this.lastMainCpu) * 1e5) / dt)} %)`;
    console.log(
      `      t=${fmt((now - this.started) / 1000, 1)} s: ${fmt(((records - this.lastRecords) * 1000) / dt)} events/s ` +
        `(${fmt(records)} in all), CPU ${fmt((cpuMs * 100) / dt)} %${main}, main thread busy ${fmt(busy * 100)} %, ` +
        `GC ${fmt(this.gcMs)} ms, RSS ${fmt(process.memoryUsage.rss() / 2 ** 20)} MiB`,
    );
    this.lastTime = now;
    this.lastRecords = records;
    this.lastCpu = cpu;
    this.lastElu = elu;
    this.lastMainCpu = mainCpu;
    this.gcMs = 0;
  }

  /** Stops, and prints the main thread's share of the run's CPU. */
  stop(events: number, processCpuSeconds: number): void {
    this.gc.disconnect();
    const end = mainThreadCpuSeconds();
    if (end === undefined || this.mainCpu0 === undefined) return;
    const main = end - this.mainCpu0;
    console.log(
      `      main thread CPU ${fmt(main, 2)} s (${fmt((main * 1e6) / events, 2)} µs/event) of the process's ${fmt(processCpuSeconds, 2)} s`,
    );
    const others = [...ownThreadsCpuSeconds()]
      .filter(([tid]) => tid !== process.pid)
      .map(([tid, sec]) => sec - (this.threads0.get(tid) ?? 0))
      .filter((d) => d >= 0.05)
      .sort((a, b) => b - a);
    console.log(
      `      other threads (thread pool, GC, JIT; CPU s each): ${others.map((d) => fmt(d, 2)).join(', ')}`,
    );
  }
}

async function startProfiler(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return session;
}

async function stopProfiler(session: Session, file: string): Promise<void> {
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(profile));
}

async function runFlink(
  uri: string,
  scope: string,
  guarantee: Guarantee,
  round: number,
  serverPid: number | undefined,
  events: number,
): Promise<RunResult | string | undefined> {
  const server0 = processCpuSeconds(serverPid);
  const outcome = await runFlinkJob(uri, scope, guarantee, FLINK_DEADLINE_MS);
  const server1 = processCpuSeconds(serverPid);
  const label = round < 0 ? `warm-up flink ${guarantee}` : `round ${round} flink ${guarantee}`;
  if ('failure' in outcome) {
    console.log(`    ${label}: FAILED, ${outcome.failure}`);
    return outcome.failure;
  }
  if (round < 0) {
    console.log(`    ${label}: ${fmt(events)} events in ${fmt(outcome.seconds, 2)} s`);
    return undefined;
  }
  const run: RunResult = {
    eventsPerSecond: events / outcome.seconds,
    seconds: outcome.seconds,
    cpuSeconds: outcome.cpuSeconds,
    serverCpuSeconds:
      server0 === undefined || server1 === undefined ? undefined : server1 - server0,
    serverJitSeconds: undefined,
    peakRssMiB: outcome.peakRssBytes / 2 ** 20,
    peakHeapMiB: NaN,
    peakBuffersMiB: NaN,
    checkpointP50: NaN,
    checkpointP99: NaN,
    checkpoints: NaN,
    transactions: NaN,
    status: 'finished',
  };
  console.log(`    round ${round} ${`flink ${guarantee}`.padEnd(19)} ${line(run)}`);
  return run;
}

const ms = (n: number) => (Number.isNaN(n) ? 'n/a' : `${fmt(n)} ms`);

function line(r: RunResult): string {
  const server =
    r.serverCpuSeconds === undefined
      ? ''
      : `, server CPU ${fmt(r.serverCpuSeconds, 2)} s (${fmt((r.serverCpuSeconds * 1e6) / EVENTS, 2)} µs/event` +
        (r.serverJitSeconds === undefined
          ? ')'
          : `; without JIT ${fmt(r.serverCpuSeconds - r.serverJitSeconds, 2)} s, ${fmt(((r.serverCpuSeconds - r.serverJitSeconds) * 1e6) / EVENTS, 2)} µs/event)`);
  return (
    `${fmt(r.eventsPerSecond)} events/s (${fmt(r.seconds, 2)} s, ${r.status}), ` +
    `CPU ${fmt(r.cpuSeconds, 2)} s (${fmt((r.cpuSeconds * 1e6) / EVENTS, 2)} µs/event)${server}, ` +
    `peak RSS ${fmt(r.peakRssMiB)} MiB` +
    (Number.isNaN(r.peakHeapMiB)
      ? ''
      : ` (heap ${fmt(r.peakHeapMiB)}, buffers ${fmt(r.peakBuffersMiB)})`) +
    `, checkpoints p50 ${ms(r.checkpointP50)} p99 ${ms(r.checkpointP99)}` +
    (Number.isNaN(r.checkpoints) ? '' : ` over ${r.checkpoints}, ${r.transactions} txns committed`)
  );
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function summarize(runs: readonly RunResult[]): RunResult {
  const server = runs.map((r) => r.serverCpuSeconds);
  const jit = runs.map((r) => r.serverJitSeconds);
  return {
    eventsPerSecond: median(runs.map((r) => r.eventsPerSecond)),
    seconds: median(runs.map((r) => r.seconds)),
    cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
    serverCpuSeconds: server.every((s) => s !== undefined) ? median(server) : undefined,
    serverJitSeconds: jit.every((s) => s !== undefined) ? median(jit) : undefined,
    peakRssMiB: Math.max(...runs.map((r) => r.peakRssMiB)),
    peakHeapMiB: Math.max(...runs.map((r) => r.peakHeapMiB)),
    peakBuffersMiB: Math.max(...runs.map((r) => r.peakBuffersMiB)),
    checkpointP50: median(runs.map((r) => r.checkpointP50)),
    checkpointP99: median(runs.map((r) => r.checkpointP99)),
    checkpoints: median(runs.map((r) => r.checkpoints)),
    transactions: median(runs.map((r) => r.transactions)),
    status: runs.every((r) => r.status === 'finished') ? 'finished' : 'NOT ALL FINISHED',
  };
}

async function onBackend(
  label: string,
  uriFor: () => string,
  serverPid?: number,
  withFlink = false,
): Promise<void> {
  console.log(`${label}:`);
  const guarantees: Guarantee[] =
    GUARANTEE === undefined ? ['exactly-once', 'at-least-once'] : [GUARANTEE as Guarantee];
  const variants: Variant[] = withFlink
    ? [...guarantees, ...guarantees.map((g): Variant => `flink ${g}`)]
    : guarantees;
  const runs = new Map<Variant, RunResult[]>(variants.map((g) => [g, []]));
  /** the runs of each round, for the ratios of runs made back to back */
  const byRound = new Map<Variant, Map<number, RunResult>>(variants.map((g) => [g, new Map()]));
  const failures = new Map<Variant, string[]>(variants.map((g) => [g, []]));
  const record = (v: Variant, r: RunResult | string | undefined, round: number) => {
    if (typeof r === 'string') failures.get(v)!.push(r);
    else if (r !== undefined) {
      runs.get(v)!.push(r);
      byRound.get(v)!.set(round, r);
    }
  };
  const warmupRuns = Number(WARMUP_RUNS ?? (serverPid !== undefined ? 2 : 1));
  if (WARMUP_EVENTS > 0) {
    for (let i = 0; i < warmupRuns; i++) {
      for (const v of variants) await runJob(uriFor(), v, -1, serverPid, WARMUP_EVENTS);
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    // alternate which variant goes first, so none always gets the warmer or quieter slot
    const order = round % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) record(v, await runJob(uriFor(), v, round, serverPid), round);
  }
  const summaries = new Map(
    [...runs].filter(([, r]) => r.length > 0).map(([v, r]) => [v, summarize(r)]),
  );
  console.log(`  median of ${ROUNDS} round(s) (peak RSS: max):`);
  for (const v of variants) {
    const s = summaries.get(v);
    const failed = failures.get(v)!;
    const note =
      failed.length > 0
        ? ` — FAILED in ${failed.length} of ${ROUNDS} runs: ${failed.join('; ')}`
        : '';
    console.log(`    ${v.padEnd(19)} ${s ? line(s) : 'no successful run'}${note}`);
  }
  for (const g of guarantees) {
    const ours = summaries.get(g);
    const theirs = summaries.get(`flink ${g}`);
    if (ours && theirs) {
      const server =
        ours.serverCpuSeconds !== undefined && theirs.serverCpuSeconds
          ? `, server CPU ${fmt(ours.serverCpuSeconds / theirs.serverCpuSeconds, 2)}×`
          : '';
      console.log(
        `  Tributary / Flink, ${g}: events/s ${fmt(ours.eventsPerSecond / theirs.eventsPerSecond, 2)}×, ` +
          `process CPU ${fmt(ours.cpuSeconds / theirs.cpuSeconds, 2)}×${server}, peak RSS ${fmt(ours.peakRssMiB / theirs.peakRssMiB, 2)}×`,
      );
    }
  }
  // ratios of the two runs of each round (run back to back, so under about the same load), then
  // their median: steadier on a shared machine than a ratio of medians
  const eoRuns = byRound.get('exactly-once') ?? new Map<number, RunResult>();
  const aloRuns = byRound.get('at-least-once') ?? new Map<number, RunResult>();
  const pairs = [...eoRuns.keys()].filter((r) => aloRuns.has(r));
  if (pairs.length > 0) {
    const per = (f: (eo: RunResult, alo: RunResult) => number) =>
      pairs.map((r) => f(eoRuns.get(r)!, aloRuns.get(r)!));
    const show = (values: number[], digits: number, unit: string) =>
      `${fmt(median(values), digits)}${unit} (rounds: ${values.map((v) => fmt(v, digits)).join(', ')})`;
    const rate = per((e, a) => e.eventsPerSecond / a.eventsPerSecond);
    const cpu = per((e, a) => e.cpuSeconds / a.cpuSeconds);
    const server = per((e, a) =>
      e.serverCpuSeconds !== undefined && a.serverCpuSeconds
        ? e.serverCpuSeconds / a.serverCpuSeconds
        : NaN,
    );
    const serverWork = per((e, a) =>
      e.serverCpuSeconds !== undefined &&
      a.serverCpuSeconds !== undefined &&
      e.serverJitSeconds !== undefined &&
      a.serverJitSeconds !== undefined
        ? (e.serverCpuSeconds - e.serverJitSeconds) / (a.serverCpuSeconds - a.serverJitSeconds)
        : NaN,
    );
    const p50 = per((e, a) => e.checkpointP50 - a.checkpointP50);
    console.log(
      `  exactly-once / at-least-once, median of per-round ratios: events/s ${show(rate, 2, '×')} (target ≥ 0.8×), ` +
        `process CPU/event ${show(cpu, 2, '×')}` +
        (server.some((v) => Number.isNaN(v))
          ? ''
          : `, server CPU/event ${show(server, 2, '×')} (target ≤ 1.5×)`) +
        (serverWork.some((v) => Number.isNaN(v))
          ? ''
          : `, server CPU/event without JIT threads ${show(serverWork, 2, '×')}`) +
        (p50.some((v) => Number.isNaN(v))
          ? ', checkpoint p50 difference: none (a run completed no checkpoint; run more events)'
          : `, checkpoint p50 difference ${show(p50, 0, ' ms')} (target ≤ +100 ms)`),
    );
  }
}

/** Builds the Flink side; a build failure is reported and the bench goes on without it. */
function flinkBuilt(): boolean {
  const started = performance.now();
  try {
    buildFlinkJob();
    console.log(
      `  Flink job built (bench/flink) in ${fmt((performance.now() - started) / 1000, 1)} s`,
    );
    return true;
  } catch (err) {
    console.log(`  Flink: FAILED to build, no Flink runs: ${(err as Error).message}`);
    return false;
  }
}

console.log(
  `job benchmark: Pravega source (p=2) → map → Pravega sink (p=2), ${fmt(EVENTS)} × ${SIZE} B events, 1 s checkpoints, ${ROUNDS} round(s)`,
);
if (ONLY !== 'real') {
  // a fresh store per run: no run pays for the data of the ones before it
  const dirs: string[] = [];
  await onBackend('embedded store', () => {
    dirs.push(mkdtempSync(join(tmpdir(), 'tributary-jobbench-store-')));
    return `embedded:${dirs.at(-1)!}`;
  });
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
if (ONLY !== 'embedded' && URI !== undefined) {
  // a server already running (e.g. the shared one): no server CPU (other work shares it)
  await onBackend(`real Pravega at ${URI} (not started here: no server CPU)`, () => URI);
} else if (ONLY !== 'embedded') {
  const server = await startRealPravega({
    heapMb: 8192,
    runtime: 'jvm',
    log: (l) => console.log(`[pravega] ${l}`),
  });
  let pid: number | undefined;
  try {
    pid = Number(readFileSync(join(server.workDir, 'server.pid'), 'utf8').trim()) || undefined;
  } catch {
    pid = undefined;
  }
  try {
    await onBackend(
      `real Pravega ${server.version} (server pid ${pid ?? '?'})`,
      () => server.controllerUri,
      pid,
      FLINK && flinkBuilt(),
    );
  } finally {
    await server.stop();
  }
}
