import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterWorker } from '../src/cluster/cluster-worker.js';
import { PravegaClient } from '../src/pravega/client/pravega-client.js';
import { tailCut } from '../src/pravega/client/stream-cut.js';
import { readerGroupName } from '../src/source/pravega/names.js';
import { exchangeReaderGroupName } from '../src/cluster/exchange/names.js';
import { startRealPravega } from '../tools/pravega-server/index.js';
import {
  WorkerProcess,
  ownership,
  timeUntil,
  type WorkerArgs,
} from '../test/integration/cluster/worker-processes.js';
import { produce } from '../test/support/e2e.js';
import { fmt } from './support.js';

/**
 * Scale-out, the stateless slice (docs/scale-out.md §10): the job Pravega source → map →
 * exactly-once Pravega sink in 1, 2 and 4 worker processes (test/integration/cluster/
 * stateless-worker.ts, parallelism 1 each, checkpoints every second) against one real Pravega
 * server started here. Every worker joins first, then the input (8 segments) is written as fast
 * as this process can; a run is timed from the first write until the output holds every byte of
 * the input (committed). Per worker count (heartbeat 500 ms, dead after 5 s): the median events/s
 * over `--rounds` rounds (counts alternated: 1 2 4, 4 2 1, …), and the CPU per event of the
 * workers together and of the server — on this 2-core machine the server competes with the
 * workers for the cores. Then the hand-off times with 3 workers (heartbeat 250 ms, dead after
 * 2.5 s) under a steady input: SIGKILL of a worker → its segments owned by the others, and a
 * worker added → it owns segments (from its process start, and from its joining the cluster).
 *
 * `--keyed`: the same with the keyed job whose state moves between workers
 * (test/integration/cluster/exchange-count-worker.ts: source → keyByExchange, 8 segments → running
 * count per key in value state → exactly-once sink; its output has the input's bytes), and the
 * hand-off times of the exchange edge's segments (each carrying its key groups' state).
 * `npm run bench:cluster [-- --events N] [--rounds R] [--kills K] [--adds A] [--keyed] [--uri tcp://host:port]`
 */

const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const EVENTS = Number(arg('--events') ?? 200_000);
const ROUNDS = Number(arg('--rounds') ?? 2);
const KILLS = Number(arg('--kills') ?? 4);
const ADDS = Number(arg('--adds') ?? 3);
const KEYED = argv.includes('--keyed');
/** the worker's script: the stateless job's (WorkerProcess's default) or the keyed one's */
const SCRIPT = KEYED
  ? fileURLToPath(new URL('../test/integration/cluster/exchange-count-worker.ts', import.meta.url))
  : undefined;
const spawnWorker = (args: WorkerArgs): WorkerProcess => WorkerProcess.spawn(args, SCRIPT);
const KEYS = 64;
const COUNTS = [1, 2, 4];

function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2;
}

async function streamBytes(client: PravegaClient, scope: string, stream: string): Promise<bigint> {
  const cut = await tailCut(client.controller, client.segmentStore, { scope, stream });
  let sum = 0n;
  for (const offset of cut.positions.values()) sum += offset;
  return sum;
}

interface Setup {
  readonly scope: string;
  readonly args: WorkerArgs;
  readonly group: string;
}

async function setUp(
  client: PravegaClient,
  uri: string,
  tag: string,
  parallelism: number,
  liveness: { heartbeatMs: number; deadAfterMs: number },
): Promise<Setup> {
  const scope = `benchcluster${tag}${Date.now() % 1_000_000}`;
  await client.createScope(scope);
  await client.createStream(`${scope}/in`, { scalingPolicy: { type: 'fixed', minSegments: 8 } });
  await client.createStream(`${scope}/out`, { scalingPolicy: { type: 'fixed', minSegments: 4 } });
  const job = 'bench';
  return {
    scope,
    // where the segments that move are: the input's, or (keyed) the exchange edge's
    group: `${scope}/${KEYED ? exchangeReaderGroupName(job, 'by-key') : readerGroupName(job, 'input')}`,
    args: {
      pravega: uri,
      scope,
      job,
      input: `${scope}/in`,
      output: `${scope}/out`,
      parallelism,
      checkpointIntervalMs: 1_000,
      ...liveness,
    },
  };
}

async function startWorkers(args: WorkerArgs, n: number): Promise<WorkerProcess[]> {
  const first = spawnWorker(args);
  await first.whenStarted(120_000);
  const rest = Array.from({ length: n - 1 }, () => spawnWorker(args));
  await Promise.all(rest.map((w) => w.whenStarted(120_000)));
  return [first, ...rest];
}

async function stopWorkers(workers: readonly WorkerProcess[]): Promise<void> {
  for (const w of workers) w.kill();
  await Promise.all(workers.map((w) => w.gone()));
}

interface Run {
  readonly eventsPerSecond: number;
  readonly workerCpuUsPerEvent: number;
  readonly serverCpuUsPerEvent: number;
}

async function throughput(
  client: PravegaClient,
  uri: string,
  n: number,
  serverPid: number | undefined,
): Promise<Run> {
  // the members' default liveness (heartbeat 500 ms, dead after 5 s): no leader changes under load
  const s = await setUp(client, uri, `w${n}`, 1, { heartbeatMs: 500, deadAfterMs: 5_000 });
  // every worker a member first, then the input, as fast as this process writes it
  const workers = await startWorkers(s.args, n);
  const pids = workers.map((w) => w.child.pid);
  const t0 = performance.now();
  const w0 = pids.reduce<number>((sum, pid) => sum + cpuSeconds(pid), 0);
  const s0 = cpuSeconds(serverPid);
  const perKey = Math.ceil(EVENTS / KEYS);
  await produce(client, s.args.input, { keys: KEYS, perKey, ratePerSecond: 10_000_000 });
  const events = KEYS * perKey;
  const written = (performance.now() - t0) / 1000;
  const inputBytes = await streamBytes(client, s.scope, 'in');
  for (;;) {
    if ((await streamBytes(client, s.scope, 'out')) >= inputBytes) break;
    if (workers.every((w) => w.exited))
      throw new Error(`every worker ended:\n${workers[0]?.output}`);
    await sleep(100);
  }
  const seconds = (performance.now() - t0) / 1000;
  const workerCpu = pids.reduce<number>((sum, pid) => sum + cpuSeconds(pid), 0) - w0;
  const serverCpu = cpuSeconds(serverPid) - s0;
  await stopWorkers(workers);
  await endJob(uri, s);
  const run = {
    eventsPerSecond: events / seconds,
    workerCpuUsPerEvent: (workerCpu * 1e6) / events,
    serverCpuUsPerEvent: (serverCpu * 1e6) / events,
  };
  console.log(
    `  ${n} worker(s): ${fmt(events)} events in ${fmt(seconds, 2)} s (written in ${fmt(written, 2)} s) = ${fmt(run.eventsPerSecond)} events/s; CPU/event workers ${fmt(run.workerCpuUsPerEvent, 1)} µs, server ${fmt(run.serverCpuUsPerEvent, 1)} µs`,
  );
  return run;
}

async function handOff(client: PravegaClient, uri: string): Promise<void> {
  const s = await setUp(client, uri, 'handoff', 2, { heartbeatMs: 250, deadAfterMs: 2_500 });
  const live = await startWorkers(s.args, 3);
  const all = [...live];
  let producing = true;
  const producer = (async () => {
    while (producing) {
      await produce(client, s.args.input, { keys: KEYS, perKey: 50, ratePerSecond: 2_000 });
    }
  })();
  const killed: number[] = [];
  try {
    for (let k = 0; k < KILLS; k++) {
      await sleep(2_000 + Math.floor(Math.random() * 2_000));
      const victim = live.splice(Math.floor(Math.random() * live.length), 1)[0]!;
      const id = victim.workerId!;
      const at = Date.now();
      victim.kill();
      const ms = await timeUntil(
        async () => {
          const o = await ownership(client, s.group);
          return !o.byWorker.has(id) && o.unassigned === 0;
        },
        at,
        60_000,
      );
      killed.push(ms ?? NaN);
      const replacement = spawnWorker(s.args);
      all.push(replacement);
      await replacement.whenStarted(120_000);
      live.push(replacement);
    }
    console.log(
      `  killed → its segments owned by the others: ${killed.map((ms) => fmt(ms)).join(', ')} ms (median ${fmt(median(killed))} ms; deadAfterMs 2 500, heartbeat 250, checkpoints every 1 000 ms)`,
    );
    // a fourth worker added, then killed again (its segments go back), ADDS times
    const owning: number[] = [];
    const starting: number[] = [];
    for (let a = 0; a < ADDS; a++) {
      await sleep(2_000);
      const spawnedAt = Date.now();
      const added = spawnWorker(s.args);
      all.push(added);
      const id = await added.whenStarted(120_000);
      const joinedAt = Date.now();
      starting.push(joinedAt - spawnedAt);
      const ms = await timeUntil(
        async () => ((await ownership(client, s.group)).byWorker.get(id) ?? 0) > 0,
        joinedAt,
        60_000,
      );
      owning.push(ms ?? NaN);
      added.kill();
      await added.gone();
      await timeUntil(
        async () => {
          const o = await ownership(client, s.group);
          return !o.byWorker.has(id) && o.unassigned === 0;
        },
        Date.now(),
        60_000,
      );
    }
    console.log(
      `  added → owns segments: ${owning.map((ms) => fmt(ms)).join(', ')} ms after it joined the cluster (median ${fmt(median(owning))} ms; process start to joined: median ${fmt(median(starting))} ms)`,
    );
  } finally {
    producing = false;
    await producer;
    await stopWorkers(all);
    await endJob(uri, s);
  }
}

/** Everything the run left on the server: reader groups, table, (keyed) edge and state streams. */
async function endJob(uri: string, s: Setup): Promise<void> {
  if (KEYED) await ClusterWorker.endJob(uri, s.scope, s.args.job, { quietMs: 1_000 });
  else await ClusterWorker.purge(uri, s.scope, s.args.job, [s.group]);
}

const given = arg('--uri');
let uri: string;
let serverPid: number | undefined;
let stop = async (): Promise<void> => undefined;
let label: string;
if (given !== undefined) {
  uri = given;
  label = `${given} (server CPU not measured)`;
} else {
  const server = await startRealPravega({
    heapMb: 4096,
    runtime: 'jvm',
    log: (l) => console.log(`[pravega] ${l}`),
  });
  uri = server.controllerUri;
  stop = () => server.stop();
  try {
    serverPid =
      Number(readFileSync(join(server.workDir, 'server.pid'), 'utf8').trim()) || undefined;
  } catch {
    serverPid = undefined;
  }
  label = `real Pravega ${server.version}, local JVM started here (pid ${serverPid ?? '?'})`;
}
const client = await PravegaClient.connect(uri);
try {
  console.log(
    `bench:cluster${KEYED ? ' --keyed (state moving with the exchange segments)' : ''}: ${fmt(EVENTS)} events, ${ROUNDS} round(s), on ${label}`,
  );
  const runs = new Map<number, Run[]>(COUNTS.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? COUNTS : [...COUNTS].reverse();
    console.log(`round ${round + 1}: ${order.join(' ')}`);
    for (const n of order) runs.get(n)!.push(await throughput(client, uri, n, serverPid));
  }
  console.log('medians:');
  console.log(
    '| workers | events/s | worker CPU µs/event | server CPU µs/event | total CPU µs/event |',
  );
  console.log(
    '| ------: | -------: | ------------------: | ------------------: | -----------------: |',
  );
  for (const n of COUNTS) {
    const r = runs.get(n)!;
    const w = median(r.map((x) => x.workerCpuUsPerEvent));
    const sv = median(r.map((x) => x.serverCpuUsPerEvent));
    console.log(
      `| ${n} | ${fmt(median(r.map((x) => x.eventsPerSecond)))} | ${fmt(w, 1)} | ${fmt(sv, 1)} | ${fmt(w + sv, 1)} |`,
    );
  }
  console.log(`hand-off (3 workers, parallelism 2 each, ${KILLS} kills):`);
  await handOff(client, uri);
} finally {
  await client.close();
  await stop();
}
