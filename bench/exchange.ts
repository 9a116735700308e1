/**
 * Cost of a keyBy through a Pravega exchange edge (src/cluster/exchange) against the local keyBy:
 * Pravega source (4 segments, parallelism 2) → keyBy(key) → keyed count (value state) → a counting
 * sink, the same events both ways, runs alternated (local, exchange, local, exchange, …) in one
 * process. Prints events/s, the job process's CPU per event (with the embedded store, the store's
 * work is in it) and, when this script started the server, the server's CPU per event; then the
 * medians and the exchange's cost relative to the local edge.
 *
 *   npm run bench:exchange -- [events] [rounds] [--uri embedded | --uri tcp://host:port]
 *
 * Without --uri a real Pravega server is started for the run (a local JVM).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyByExchange } from '../src/cluster/exchange/index.js';
import { acquireClient } from '../src/pravega/client/client-registry.js';
import { jsonSerializer } from '../src/pravega/client/serializer.js';
import { tailCut } from '../src/pravega/client/stream-cut.js';
import type { DataStream } from '../src/runtime/data-stream.js';
import { StreamEnvironment } from '../src/runtime/stream-environment.js';
import type { Sink } from '../src/sink/sink.js';
import { PravegaSource } from '../src/source/pravega/pravega-source.js';
import { startRealPravega } from '../tools/pravega-server/index.js';
import { fmt } from './support.js';

interface Event {
  key: string;
  seq: number;
}

const positional = process.argv
  .slice(2)
  .filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--uri');
const EVENTS = Number(positional[0] ?? 200_000);
const ROUNDS = Number(positional[1] ?? 2);
const KEYS = 1_000;
const uriArg = process.argv.indexOf('--uri');
const given = uriArg >= 0 ? process.argv[uriArg + 1] : undefined;

function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

async function target(): Promise<{
  uri: string;
  pid?: number;
  stop: () => Promise<void>;
  label: string;
}> {
  if (given === 'embedded') {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-exchange-'));
    return {
      uri: `embedded:${dir}`,
      stop: async () => undefined,
      label: `embedded store (${dir})`,
    };
  }
  if (given !== undefined) return { uri: given, stop: async () => undefined, label: given };
  const server = await startRealPravega({ heapMb: 4096, runtime: 'jvm', log: () => undefined });
  let pid: number | undefined;
  try {
    pid = Number(readFileSync(join(server.workDir, 'server.pid'), 'utf8').trim()) || undefined;
  } catch {
    pid = undefined;
  }
  return {
    uri: server.controllerUri,
    ...(pid !== undefined ? { pid } : {}),
    stop: () => server.stop(),
    label: `real Pravega ${server.version} (local JVM started for this run)`,
  };
}

interface Result {
  readonly eventsPerSecond: number;
  readonly cpuMicrosPerEvent: number;
  readonly serverMicrosPerEvent: number | undefined;
  readonly checkpoints: number;
}

async function runJob(
  uri: string,
  scope: string,
  end: Awaited<ReturnType<typeof tailCut>>,
  exchange: boolean,
  round: number,
  serverPid: number | undefined,
): Promise<Result> {
  const env = StreamEnvironment.create({
    parallelism: 2,
    pravega: uri,
    checkpoint: { intervalMs: 200, timeoutMs: 60_000 },
    restart: { type: 'none' },
    metricsIntervalMs: 0,
  });
  let counted = 0;
  const sink: Sink<number> = {
    createWriter: () => ({
      initialize: async () => {},
      writeBatch: (records) => {
        for (const n of records) counted += n;
      },
      snapshotState: async () => [],
      notifyCheckpointComplete: async () => {},
      close: async () => {},
    }),
  };
  const input: DataStream<Event> = env.fromSource(
    PravegaSource.forStream(`${scope}/in`, { end }).json<Event>(),
    { uid: 'in' },
  );
  const keyed = exchange
    ? keyByExchange(env, input, (e) => e.key, { scope, uid: 'by-key', eventTime: false })
    : input.keyBy((e) => e.key);
  keyed
    .process<number>(
      (_e, ctx, out) => {
        const state = ctx.valueState<number>('n');
        const n = (state.value() ?? 0) + 1;
        state.update(n);
        // one record out per 100 in: the sink's cost stays small
        if (n % 100 === 0) out.collect(100);
      },
      { uid: 'count' },
    )
    .sinkTo(sink, { uid: 'sink' });
  let checkpoints = 0;
  const server0 = cpuSecondsOf(serverPid);
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const handle = env.execute(`bench-exchange-${exchange ? 'x' : 'local'}-${round}`);
  handle.events$.subscribe((e) => {
    if (e.type === 'checkpoint-completed') checkpoints++;
  });
  const result = await handle.result;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const server1 = cpuSecondsOf(serverPid);
  if (result.status !== 'finished') throw new Error(`job ended ${result.status}`);
  const expected = Math.floor(EVENTS / KEYS / 100) * 100 * KEYS;
  if (counted !== expected) throw new Error(`counted ${counted}, expected ${expected}`);
  return {
    eventsPerSecond: EVENTS / seconds,
    cpuMicrosPerEvent: (cpu.user + cpu.system) / EVENTS,
    serverMicrosPerEvent:
      server0 !== undefined && server1 !== undefined
        ? ((server1 - server0) * 1e6) / EVENTS
        : undefined,
    checkpoints,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function line(name: string, r: Result): string {
  const server =
    r.serverMicrosPerEvent === undefined
      ? ''
      : `, server CPU ${fmt(r.serverMicrosPerEvent, 2)} µs/event`;
  return `${name.padEnd(9)} ${fmt(r.eventsPerSecond).padStart(9)} events/s, job CPU ${fmt(r.cpuMicrosPerEvent, 2)} µs/event${server}, ${r.checkpoints} checkpoints`;
}

const where = await target();
console.log(
  `exchange bench: ${fmt(EVENTS)} events (${KEYS} keys), ${ROUNDS} round(s) of local/exchange alternated, on ${where.label}; the machine may be shared`,
);
try {
  const scope = `benchx${Date.now() % 1_000_000}`;
  const shared = await acquireClient(where.uri);
  let end;
  try {
    const client = shared.client;
    await client.createScope(scope);
    await client.createStream(`${scope}/in`, { scalingPolicy: { type: 'fixed', minSegments: 4 } });
    const writer = await client.createWriter(`${scope}/in`, jsonSerializer<Event>());
    for (let i = 0; i < EVENTS; i++) {
      const key = `k${i % KEYS}`;
      void writer.write({ key, seq: Math.floor(i / KEYS) }, key);
      if (i % 10_000 === 0) await writer.ready();
    }
    await writer.close();
    end = await tailCut(client.controller, client.segmentStore, { scope, stream: 'in' });
  } finally {
    await shared.release();
  }
  const results: { local: Result[]; exchange: Result[] } = { local: [], exchange: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const exchange of [false, true]) {
      const r = await runJob(where.uri, scope, end, exchange, round, where.pid);
      results[exchange ? 'exchange' : 'local'].push(r);
      console.log(line(exchange ? 'exchange' : 'local', r));
    }
  }
  const med = (rs: Result[]): Result => ({
    eventsPerSecond: median(rs.map((r) => r.eventsPerSecond)),
    cpuMicrosPerEvent: median(rs.map((r) => r.cpuMicrosPerEvent)),
    serverMicrosPerEvent: rs.every((r) => r.serverMicrosPerEvent !== undefined)
      ? median(rs.map((r) => r.serverMicrosPerEvent!))
      : undefined,
    checkpoints: median(rs.map((r) => r.checkpoints)),
  });
  const local = med(results.local);
  const exchange = med(results.exchange);
  console.log('medians:');
  console.log(line('local', local));
  console.log(line('exchange', exchange));
  const serverCost =
    exchange.serverMicrosPerEvent !== undefined && local.serverMicrosPerEvent !== undefined
      ? `, +${fmt(exchange.serverMicrosPerEvent - local.serverMicrosPerEvent, 2)} µs server CPU per event`
      : '';
  console.log(
    `exchange cost: ${fmt(exchange.eventsPerSecond / local.eventsPerSecond, 2)}× the throughput, +${fmt(exchange.cpuMicrosPerEvent - local.cpuMicrosPerEvent, 2)} µs job CPU per event (${fmt(exchange.cpuMicrosPerEvent / local.cpuMicrosPerEvent, 2)}×)${serverCost}`,
  );
} finally {
  await where.stop();
}
process.exit(0);
