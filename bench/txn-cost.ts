import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireClient } from '../src/pravega/client/client-registry.js';
import { bytesSerializer } from '../src/pravega/client/serializer.js';
import { startRealPravega } from '../tools/pravega-server/index.js';
import { fmt } from './support.js';

/**
 * What one Pravega transaction costs the server, apart from its events: on a real server started
 * here (its CPU is this run's alone), begins, writes `--events` events over 16 routing keys into,
 * and commits `--txns` transactions on a stream of 4 segments, one after the other, and prints the
 * server's CPU seconds per transaction; then the same events without transactions, for scale.
 * `npm run bench:txn-cost [-- --txns N] [--events N]`
 */
const argv = process.argv.slice(2);
const arg = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const TXNS = Number(arg('--txns') ?? 100);
const EVENTS = Number(arg('--events') ?? 16);

function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8')
        .trim()
        .replace(/\d+/g, 'N');
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      // the thread ended
    }
  }
  return out;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const server = await startRealPravega({ heapMb: 8192, runtime: 'jvm' });
const pid = Number(readFileSync(join(server.workDir, 'server.pid'), 'utf8').trim());
try {
  const shared = await acquireClient(server.controllerUri);
  const client = shared.client;
  const scope = `txncost${Date.now()}`;
  await client.createScope(scope);
  const payload = randomBytes(100);
  const run = async (label: string, transactional: boolean, count: number) => {
    const stream = `${scope}/${label}`;
    await client.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 4 } });
    const cpu0 = cpuSeconds(pid);
    const threads0 = threadCpu(pid);
    const started = performance.now();
    if (transactional) {
      const writer = client.createTransactionalWriter(stream, bytesSerializer, { leaseMs: 60_000 });
      for (let t = 0; t < count; t++) {
        const txn = await writer.beginTxn();
        for (let i = 0; i < EVENTS; i++) void txn.write(payload, `k${i % 16}`);
        await txn.commit();
      }
      await writer.close();
    } else {
      const writer = await client.createWriter(stream, bytesSerializer);
      for (let t = 0; t < count; t++) {
        for (let i = 0; i < EVENTS; i++) void writer.write(payload, `k${i % 16}`);
        await writer.flush();
      }
      await writer.close();
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    const threads = [...threadCpu(pid)]
      .map(([n, c]) => [n, c - (threads0.get(n) ?? 0)] as const)
      .filter(([, d]) => d >= 0.05)
      .sort((a, b) => b[1] - a[1]);
    console.log(
      `  ${label}: server threads (CPU s) ${threads.map(([n, d]) => `${n} ${fmt(d, 2)}`).join(', ')}`,
    );
    return { seconds, cpu };
  };
  await run('warmup', true, Math.min(TXNS, 30));
  const t = await run('txns', true, TXNS);
  const p = await run('plain', false, TXNS);
  console.log(
    `${fmt(TXNS)} transactions of ${EVENTS} events (4 segments): ${fmt(t.seconds, 2)} s, server CPU ${fmt(t.cpu, 2)} s = ${fmt((t.cpu * 1000) / TXNS, 1)} ms per transaction`,
  );
  console.log(
    `the same events as ${fmt(TXNS)} flushed batches without transactions: ${fmt(p.seconds, 2)} s, server CPU ${fmt(p.cpu, 2)} s = ${fmt((p.cpu * 1000) / TXNS, 1)} ms per batch`,
  );
  await shared.release();
} finally {
  await server.stop();
}
