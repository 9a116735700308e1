import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireClient } from '../src/pravega/client/client-registry.js';
import { bytesSerializer } from '../src/pravega/client/serializer.js';
import { tailCut } from '../src/pravega/client/stream-cut.js';
import { StreamEnvironment } from '../src/runtime/stream-environment.js';
import { PravegaSink } from '../src/sink/pravega/pravega-sink.js';
import { PravegaSource } from '../src/source/pravega/pravega-source.js';
import { startRealPravega } from '../tools/pravega-server/index.js';
import { fmt, percentile } from './support.js';

/**
 * The end-to-end job: Pravega source (parallelism 2) → map → Pravega sink (parallelism 2),
 * 100 B events, checkpoints every second — exactly-once and at-least-once, on the embedded store
 * and on a real Pravega server started here. The input is written first; the job is bounded by
 * the input's tail, so the time measured is the job's, start to final commit.
 * `npm run bench:job [-- --events N] [--only embedded|real]`
 */

const argv = process.argv.slice(2);
const arg = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const EVENTS = Number(arg('--events') ?? 1_000_000);
const ONLY = arg('--only');
const SIZE = 100;

async function runJob(
  uri: string,
  guarantee: 'exactly-once' | 'at-least-once',
  round: number,
): Promise<void> {
  const shared = await acquireClient(uri);
  const client = shared.client;
  const scope = `jobbench${Date.now()}r${round}`;
  await client.createScope(scope);
  await client.createStream(`${scope}/in`, { scalingPolicy: { type: 'fixed', minSegments: 4 } });
  await client.createStream(`${scope}/out`, { scalingPolicy: { type: 'fixed', minSegments: 4 } });
  const writer = await client.createWriter(`${scope}/in`, bytesSerializer);
  const payloads = Array.from({ length: 64 }, (_, i) => {
    const p = randomBytes(SIZE);
    p[0] = i % 16;
    return p;
  });
  for (let i = 0; i < EVENTS; i++) {
    void writer.write(payloads[i % 64]!, `k${i % 16}`);
    if (i % 2000 === 1999) await writer.ready();
  }
  await writer.close();
  const end = await tailCut(client.controller, client.segmentStore, { scope, stream: 'in' });

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
  const durations: number[] = [];
  const started = performance.now();
  const handle = env.execute(`jobbench-${guarantee}`);
  handle.events$.subscribe((e) => {
    if (e.type === 'checkpoint-completed' && !e.final) durations.push(e.durationMs);
  });
  const result = await handle.result;
  const seconds = (performance.now() - started) / 1000;
  rmSync(checkpointDir, { recursive: true, force: true });
  await shared.release();
  durations.sort((a, b) => a - b);
  console.log(
    `  ${guarantee.padEnd(13)} ${fmt(EVENTS / seconds)} events/s, ${fmt((EVENTS * SIZE) / seconds / 1e6, 1)} MB/s ` +
      `(${fmt(EVENTS)} events in ${fmt(seconds, 1)} s, ${result.status}; checkpoints p50 ${fmt(percentile(durations, 50))} ms, ` +
      `p99 ${fmt(percentile(durations, 99))} ms over ${durations.length})`,
  );
}

async function onBackend(label: string, uri: string): Promise<void> {
  console.log(`${label}:`);
  await runJob(uri, 'exactly-once', 0);
  await runJob(uri, 'at-least-once', 1);
}

console.log(
  `job benchmark: Pravega source (p=2) → map → Pravega sink (p=2), ${fmt(EVENTS)} × ${SIZE} B events, 1 s checkpoints`,
);
if (ONLY !== 'real') {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-jobbench-store-'));
  await onBackend('embedded store', `embedded:${dir}`);
  rmSync(dir, { recursive: true, force: true });
}
if (ONLY !== 'embedded') {
  const server = await startRealPravega({
    heapMb: 8192,
    runtime: 'jvm',
    log: (l) => console.log(`[pravega] ${l}`),
  });
  try {
    await onBackend(`real Pravega ${server.version}`, server.controllerUri);
  } finally {
    await server.stop();
  }
}
